/**
 * Health probe and smoke test of a deployment, run on the VM itself so no port has to
 * be open between the bot and the VM.
 *
 * The probe is a short stdlib-only Python program passed with `python -c`, with its
 * inputs as separate argv entries. Every VM has the Python that runs the trainer but
 * not necessarily curl. The program also needs no synced trainer code, so it works
 * before any sync and for servers that are not ours. Each call probes once and prints one JSON line;
 * the worker decides how often to call and when to give up.
 */
import { RemoteCommandError, stderrTail } from '../remote/errors.js';
import type { Host } from '../remote/host.js';

const PROBE_SCRIPT = `
import json, sys, time, urllib.error, urllib.request

# The server is on this machine: never route the probe through an http_proxy set for the VM.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

def request(url, body=None, timeout=5.0):
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with opener.open(req, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace"), None
    except urllib.error.HTTPError as error:
        return error.code, "", "HTTP %d" % error.code
    except Exception as error:
        return None, "", "%s: %s" % (type(error).__name__, error)

mode, base = sys.argv[1], sys.argv[2].rstrip("/")
if mode == "probe":
    status, _, error = request(base + "/health")
    result = {"health": status, "error": error}
    if status == 200:
        status, body, error = request(base + "/v1/models")
        result["models_status"], result["error"] = status, error
        if status == 200:
            try:
                result["models"] = [entry.get("id") for entry in json.loads(body).get("data", [])]
            except (ValueError, AttributeError) as parse_error:
                result["error"] = "invalid /v1/models response: %s" % parse_error
    print(json.dumps(result, ensure_ascii=False))
else:
    model, prompt, max_tokens, timeout = sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6])
    attempts = (
        ("/v1/chat/completions", {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens}),
        ("/v1/completions", {"model": model, "prompt": prompt, "max_tokens": max_tokens}),
    )
    errors = []
    for path, body in attempts:
        started = time.monotonic()
        status, text, error = request(base + path, body, timeout)
        latency_ms = (time.monotonic() - started) * 1000
        if status != 200:
            errors.append("%s: %s" % (path, error))
            continue
        try:
            choice = json.loads(text)["choices"][0]
            reply = (choice.get("message") or {}).get("content") or choice.get("text") or ""
        except (ValueError, KeyError, IndexError, TypeError) as parse_error:
            errors.append("%s: invalid response: %s" % (path, parse_error))
            continue
        print(json.dumps({"ok": True, "endpoint": path, "latency_ms": round(latency_ms, 1), "text": reply[:500]}, ensure_ascii=False))
        sys.exit(0)
    print(json.dumps({"ok": False, "error": "; ".join(errors)}, ensure_ascii=False))
`;

export interface ProbeResult {
  /** HTTP status of /health, null when the connection failed or timed out. */
  health: number | null;
  /** Ids from /v1/models once /health answered 200 and the list was readable. */
  models?: string[];
  error: string | null;
}

export type SmokeResult = { ok: true; endpoint: string; latencyMs: number; text: string } | { ok: false; error: string };

/** The base URL the VM itself uses to reach a server bound to `bindHost`. */
export function localBaseUrl(bindHost: string, port: number): string {
  const host = bindHost === '0.0.0.0' || bindHost === '::' ? '127.0.0.1' : bindHost;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Probes /health, then /v1/models, once. */
export async function probeServer(host: Host, python: string, baseUrl: string): Promise<ProbeResult> {
  const output = await runProbe(host, python, ['probe', baseUrl], 30_000);
  const parsed = output as { health?: number | null; models?: unknown; error?: string | null };
  return {
    health: typeof parsed.health === 'number' ? parsed.health : null,
    ...(Array.isArray(parsed.models) ? { models: parsed.models.map(String) } : {}),
    error: parsed.error ?? null,
  };
}

/** Sends one chat completion (falling back to a plain completion) and measures its latency on the VM. */
export async function smokeTest(host: Host, python: string, baseUrl: string, model: string, prompt: string, timeoutSeconds = 120): Promise<SmokeResult> {
  const output = await runProbe(host, python, ['smoke', baseUrl, model, prompt, '32', String(timeoutSeconds)], (timeoutSeconds * 2 + 30) * 1000);
  const parsed = output as { ok?: boolean; endpoint?: string; latency_ms?: number; text?: string; error?: string };
  if (parsed.ok === true) return { ok: true, endpoint: parsed.endpoint ?? '', latencyMs: parsed.latency_ms ?? 0, text: parsed.text ?? '' };
  return { ok: false, error: parsed.error ?? 'no answer' };
}

async function runProbe(host: Host, python: string, args: string[], timeoutMs: number): Promise<unknown> {
  const result = await host.exec([python, '-c', PROBE_SCRIPT, ...args], { timeoutMs });
  const line = result.stdout.trim().split('\n').pop() ?? '';
  if (result.code !== 0 || !line.startsWith('{')) {
    throw new RemoteCommandError(host.vmName, python, result.code, stderrTail(result.stderr) || line.slice(0, 200));
  }
  return JSON.parse(line) as unknown;
}
