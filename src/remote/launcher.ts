/**
 * Launches a run detached on a host, exactly once per attempt, and inspects or signals it.
 *
 * The run directory is the lock. `mkdir attempt-<n>.lock` is atomic, so of two workers
 * racing on one attempt (BullMQ delivers at least once) one launches and the other
 * attaches. The whole launch is a single remote `sh` script, so a dropped connection
 * cannot leave a lock without a process. sshd gives the script no terminal, so no
 * SIGHUP arrives, and its only write to the connection is the last line, after `pid`.
 *
 * The process runs under `setsid` in its own session and process group, with all three
 * standard streams redirected, so it outlives the SSH connection. A wrapper shell waits
 * for it and writes `exit_code` whatever the cause of the end. The wrapper traps TERM,
 * INT and HUP with a no-op, so a /cancel that signals the whole group still gets the
 * real exit code (a trap with a command, unlike an ignored signal, resets to default
 * in the child on exec). Run-dir files are listed in docs/protocol.md.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';

import { RemoteCommandError, stderrTail } from './errors.js';
import type { Host } from './host.js';
import { quoteArg, quoteCommand } from './shell-quote.js';

export interface LaunchSpec {
  /** Run directory, such as `~/trainops/runs/42`; `~` is resolved on the host. */
  runDir: string;
  /** Remote code folder from `syncCode`, put on PYTHONPATH. */
  codeDir?: string;
  /** Python interpreter on the host (`vms.<name>.python`). */
  python: string;
  /** Contents of run.json, written when this call launches the attempt. */
  runJson?: Record<string, unknown>;
  /** Extra environment variables for the process. */
  env?: Readonly<Record<string, string>>;
  /** GPUs to use; above 1 the default trainer command runs under torch.distributed.run. */
  gpus?: number;
  /** Argv that replaces the trainer command (a vLLM server, `trainops_trainer check-data`). */
  command?: readonly string[];
  /** Attempt number, from 1; a higher number archives the previous attempt's pid and exit_code. */
  attempt: number;
}

export type LaunchResult =
  | { attached: false; attempt: number; pid: number }
  | { attached: true; attempt: number; pid: number | null };

/** Thrown when a newer attempt already owns the run directory. */
export class AttemptSupersededError extends Error {
  readonly code = 'ATTEMPT_SUPERSEDED';

  constructor(readonly requestedAttempt: number, readonly currentAttempt: number) {
    super(`attempt ${requestedAttempt} was not launched because attempt ${currentAttempt} already owns the run directory`);
    this.name = 'AttemptSupersededError';
  }
}

/** Thrown when the previous attempt's process is still alive: signal it with signalRun first. */
export class PreviousAttemptRunningError extends Error {
  readonly code = 'PREVIOUS_ATTEMPT_RUNNING';

  constructor(readonly previousAttempt: number, readonly pid: number) {
    super(`attempt ${previousAttempt} (pid ${pid}) is still running; cancel it before launching a new attempt`);
    this.name = 'PreviousAttemptRunningError';
  }
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

// Arguments: $1 run dir, $2 attempt, $3 staged run.json or empty, $4 wrapper script.
// Prints one status line: launched PID | attached PID | superseded N | running N PID.
const LAUNCH_SCRIPT = `
set -e
run_dir=$1; attempt=$2; staged=$3; wrapper=$4
mkdir -p "$run_dir"
cd "$run_dir"
current=0
if [ -f attempt ]; then current=$(cat attempt); fi
discard_staged() { if [ -n "$staged" ]; then rm -f "$staged"; fi; }
if [ "$current" -gt "$attempt" ]; then discard_staged; echo "superseded $current"; exit 0; fi
if ! mkdir "attempt-$attempt.lock" 2>/dev/null; then
  discard_staged
  echo "attached $(cat pid 2>/dev/null || true)"
  exit 0
fi
if [ "$current" -gt 0 ] && [ "$current" -lt "$attempt" ]; then
  old_pid=$(cat pid 2>/dev/null || true)
  if [ ! -e exit_code ] && [ -n "$old_pid" ] && kill -0 "$old_pid" 2>/dev/null; then
    rmdir "attempt-$attempt.lock"; discard_staged; echo "running $current $old_pid"; exit 0
  fi
  mkdir -p "attempt-$current"
  for f in pid exit_code run.json; do if [ -e "$f" ]; then mv -f "$f" "attempt-$current/$f"; fi; done
fi
if [ -n "$staged" ]; then mv -f "$staged" run.json; fi
echo "$attempt" > attempt.tmp && mv -f attempt.tmp attempt
# The offset gets a colon (+08:00), as in the trainer's log lines; POSIX date has no %:z.
started=$(date '+%Y-%m-%dT%H:%M:%S%z' | sed 's/\\([0-9][0-9]\\)$/:\\1/')
echo "=== attempt $attempt started $started ===" >> train.log
setsid sh -c "$wrapper" >/dev/null 2>&1 </dev/null &
echo $! > pid.tmp && mv -f pid.tmp pid
echo "launched $!"
`;

/**
 * Launches `spec.attempt` of the run unless it was launched already, in which case it
 * returns `{ attached: true }` and starts nothing.
 */
export async function launchRun(host: Host, spec: LaunchSpec): Promise<LaunchResult> {
  if (!Number.isInteger(spec.attempt) || spec.attempt < 1) throw new RangeError(`attempt must be an integer from 1, not ${spec.attempt}`);
  const runDir = await host.resolvePath(spec.runDir);
  const codeDir = spec.codeDir === undefined ? undefined : await host.resolvePath(spec.codeDir);

  let staged = '';
  if (spec.runJson !== undefined) {
    staged = path.posix.join(runDir, `.run.json.attempt-${spec.attempt}-${randomBytes(4).toString('hex')}`);
    await host.writeFile(staged, `${JSON.stringify(spec.runJson, null, 2)}\n`);
  }

  const wrapper = buildWrapper(runDir, buildCommand(spec, runDir), buildEnv(spec, codeDir));
  const result = await host.exec(['sh', '-c', LAUNCH_SCRIPT, 'launch-run', runDir, String(spec.attempt), staged, wrapper]);
  if (result.code !== 0) throw new RemoteCommandError(host.vmName, 'sh', result.code, stderrTail(result.stderr));

  const [status, first, second] = result.stdout.trim().split(/\s+/);
  switch (status) {
    case 'launched':
      return { attached: false, attempt: spec.attempt, pid: Number(first) };
    case 'attached':
      return { attached: true, attempt: spec.attempt, pid: first ? Number(first) : null };
    case 'superseded':
      throw new AttemptSupersededError(spec.attempt, Number(first));
    case 'running':
      throw new PreviousAttemptRunningError(Number(first), Number(second));
    default:
      throw new RemoteCommandError(host.vmName, 'sh', result.code, `unexpected launch output: ${result.stdout.slice(0, 200)}`);
  }
}

/** Returns the argv the run executes: `spec.command`, or the trainer (under torch.distributed.run for several GPUs). */
export function buildCommand(spec: Pick<LaunchSpec, 'python' | 'gpus' | 'command'>, runDir: string): string[] {
  if (spec.command !== undefined) {
    if (spec.command.length === 0) throw new RangeError('command must not be empty');
    return [...spec.command];
  }
  const trainer = ['-m', 'trainops_trainer', 'train', '--config', path.posix.join(runDir, 'run.json')];
  const gpus = spec.gpus ?? 1;
  if (gpus > 1) return [spec.python, '-m', 'torch.distributed.run', '--standalone', `--nproc_per_node=${gpus}`, ...trainer];
  return [spec.python, ...trainer];
}

function buildEnv(spec: LaunchSpec, codeDir: string | undefined): string[] {
  const env: Record<string, string> = { PYTHONUNBUFFERED: '1', ...(codeDir === undefined ? {} : { PYTHONPATH: codeDir }), ...spec.env };
  return Object.entries(env).map(([name, value]) => {
    if (!ENV_NAME.test(name)) throw new RangeError(`invalid environment variable name: ${JSON.stringify(name)}`);
    return `${name}=${value}`;
  });
}

/** Builds the script the detached `sh` runs: the command with its output in train.log, then exit_code. */
function buildWrapper(runDir: string, command: readonly string[], env: readonly string[]): string {
  return [
    'trap : TERM INT HUP',
    `cd ${quoteArg(runDir)} || exit 1`,
    `${quoteCommand(['env', ...env, ...command])} >>train.log 2>&1 </dev/null`,
    'echo $? > exit_code.tmp && mv -f exit_code.tmp exit_code',
  ].join('\n');
}

/** State of the current attempt, as read from the run directory. */
export interface RemoteRunState {
  /** False when the run directory does not exist. */
  exists: boolean;
  /** Current attempt number, 0 before the first launch. */
  attempt: number;
  pid: number | null;
  /**
   * No exit_code yet and `kill -0 pid` succeeds. NOTE: after a VM reboot another
   * process may hold the same pid, and this check does not compare start times.
   */
  alive: boolean;
  /** Contents of exit_code, null until the wrapper writes it. */
  exitCode: number | null;
}

// Prints four lines: attempt, pid, alive (1 or 0), exit code; or "missing".
const STATUS_SCRIPT = `
cd "$1" 2>/dev/null || { echo missing; exit 0; }
attempt=$(cat attempt 2>/dev/null || echo 0)
pid=$(cat pid 2>/dev/null || true)
code=$(cat exit_code 2>/dev/null || true)
alive=0
if [ -z "$code" ] && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then alive=1; fi
printf '%s\\n%s\\n%s\\n%s\\n' "$attempt" "$pid" "$alive" "$code"
`;

/** Reads the current attempt's pid, whether it is alive, and its exit code if written. */
export async function readRunStatus(host: Host, runDir: string): Promise<RemoteRunState> {
  const resolved = await host.resolvePath(runDir);
  const result = await host.exec(['sh', '-c', STATUS_SCRIPT, 'run-status', resolved]);
  if (result.code !== 0) throw new RemoteCommandError(host.vmName, 'sh', result.code, stderrTail(result.stderr));
  if (result.stdout.trim() === 'missing') return { exists: false, attempt: 0, pid: null, alive: false, exitCode: null };

  const [attempt = '0', pid = '', alive = '0', exitCode = ''] = result.stdout.split('\n');
  return {
    exists: true,
    attempt: Number(attempt) || 0,
    pid: parseInteger(pid),
    alive: alive === '1',
    exitCode: parseInteger(exitCode),
  };
}

/**
 * Reads exit_code over the file channel (SFTP for SSH hosts), which costs no command
 * channel, so followers can check it on every poll. Null until the wrapper writes it.
 */
export async function readExitCode(host: Host, runDir: string): Promise<number | null> {
  const file = await host.readFileRange(path.posix.join(runDir, 'exit_code'), 0, 64);
  return file.exists ? parseInteger(file.data.toString('utf8')) : null;
}

// Arguments: $1 run dir, $2 signal name. Prints "signalled PID", "ended" or "not-started".
// After KILL the wrapper cannot write exit_code, so this script writes 137 (128 + SIGKILL) for it.
const SIGNAL_SCRIPT = `
cd "$1" || exit 1
pid=$(cat pid 2>/dev/null || true)
if [ -z "$pid" ]; then echo not-started; exit 0; fi
if [ -e exit_code ]; then echo ended; exit 0; fi
if ! kill -s "$2" -- "-$pid" 2>/dev/null; then echo ended; exit 0; fi
if [ "$2" = KILL ] && [ ! -e exit_code ]; then echo 137 > exit_code.tmp && mv -f exit_code.tmp exit_code; fi
echo "signalled $pid"
`;

export type SignalOutcome = 'signalled' | 'ended' | 'not-started';

/**
 * Sends TERM or KILL to the run's whole process group (the negative pid), which
 * reaches every torch.distributed.run worker too. Used by /cancel: TERM first, so the
 * trainer can write its `end` event, and KILL if it does not stop.
 */
export async function signalRun(host: Host, runDir: string, signal: 'TERM' | 'KILL'): Promise<SignalOutcome> {
  const resolved = await host.resolvePath(runDir);
  const result = await host.exec(['sh', '-c', SIGNAL_SCRIPT, 'signal-run', resolved, signal]);
  if (result.code !== 0) throw new RemoteCommandError(host.vmName, 'sh', result.code, stderrTail(result.stderr));
  const outcome = result.stdout.trim().split(/\s+/)[0];
  if (outcome === 'signalled' || outcome === 'ended' || outcome === 'not-started') return outcome;
  throw new RemoteCommandError(host.vmName, 'sh', result.code, `unexpected signal output: ${result.stdout.slice(0, 200)}`);
}

function parseInteger(text: string): number | null {
  const trimmed = text.trim();
  return /^-?\d+$/.test(trimmed) ? Number(trimmed) : null;
}
