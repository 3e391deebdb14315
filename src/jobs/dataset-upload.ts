/**
 * Checks a data file uploaded to Slack (a JSONL or CSV shared in the channel with
 * `/dataset check` as its comment) on the bot machine. It downloads
 * `url_private_download` with the bot token, runs the trainer's `check-data --json` in
 * the bot machine's Python, and returns the report. Called after the event is acknowledged, since a
 * download and a tokenizer load take longer than Slack's 3 s window.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { DatasetRecipe } from '../config/schema.js';
import type { CheckDataReport } from './dataset-report.js';
import { parseCheckDataOutput } from './dataset-report.js';
import { checkDataArguments } from './dataset-worker.js';

/** The fields of a Slack file object this check reads. */
export interface SharedFile {
  name: string;
  /** `url_private_download`: needs `Authorization: Bearer <bot token>`. */
  urlPrivateDownload: string;
  size?: number;
}

export interface UploadCheckOptions {
  /** Bot token (`SLACK_BOT_TOKEN`), sent only to `urlPrivateDownload`. */
  token: string;
  /** Python with the trainer's dependencies (`TRAINOPS_PYTHON`, else the venv of scripts/python-env.sh). */
  python: string;
  /** Folder that contains `trainops_trainer`; the check runs there. */
  pythonRoot: string;
  /** Tokenizer model, length limit and format; the defaults of a dataset recipe apply. */
  recipe?: Pick<DatasetRecipe, 'model' | 'maxLength' | 'format' | 'rewards'>;
  /** Largest file accepted, in bytes (default 200 MiB). */
  maxBytes?: number;
  /** Limit for the check itself, in ms (default 10 min). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** File types `check-data` reads; Slack files carry their name, so the suffix decides. */
export const UPLOAD_SUFFIXES = ['.jsonl', '.json', '.csv'] as const;
const DEFAULT_MAX_BYTES = 200 * 1024 * 1024;

function errorReport(file: SharedFile, message: string): CheckDataReport {
  return { report_version: 1, path: file.name, ok: false, error: { type: 'data_error', message } };
}

export async function checkSharedFile(file: SharedFile, options: UploadCheckOptions): Promise<CheckDataReport> {
  const suffix = path.extname(file.name).toLowerCase();
  if (!(UPLOAD_SUFFIXES as readonly string[]).includes(suffix)) {
    return errorReport(file, `${file.name}: unknown file type "${suffix || '(none)'}"; upload a ${UPLOAD_SUFFIXES.join(', ')} file`);
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (file.size !== undefined && file.size > maxBytes) {
    return errorReport(file, `${file.name} is ${file.size} bytes, over the ${maxBytes}-byte limit for uploads; check it on a VM with /dataset check`);
  }

  const response = await (options.fetch ?? fetch)(file.urlPrivateDownload, { headers: { Authorization: `Bearer ${options.token}` } });
  if (!response.ok) return errorReport(file, `downloading ${file.name} from Slack failed with HTTP ${response.status}`);
  const content = Buffer.from(await response.arrayBuffer());
  // Slack serves its HTML login page with status 200 for a file URL fetched without access.
  if ((response.headers.get('content-type') ?? '').startsWith('text/html')) {
    return errorReport(file, `Slack sent a web page instead of ${file.name}; the bot token needs the files:read scope`);
  }
  if (content.length > maxBytes) return errorReport(file, `${file.name} is over the ${maxBytes}-byte limit for uploads`);

  const dir = await mkdtemp(path.join(os.tmpdir(), 'trainops-upload-'));
  try {
    // The name comes from Slack: keep only its suffix so no path or shell character reaches the disk or argv.
    const localPath = path.join(dir, `upload${suffix}`);
    await writeFile(localPath, content);
    const report = await runCheckData(localPath, options);
    return { ...report, path: file.name };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runCheckData(localPath: string, options: UploadCheckOptions): Promise<CheckDataReport> {
  const argv = checkDataArguments(options.recipe, localPath);

  return new Promise((resolve, reject) => {
    execFile(
      options.python,
      argv,
      // `python -m` puts the working folder on sys.path, so the trainer imports from pythonRoot.
      { cwd: options.pythonRoot, timeout: options.timeoutMs ?? 600_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const report = parseCheckDataOutput(stdout);
        if (report) resolve(report);
        else reject(new Error(`check-data wrote no report (${error?.message ?? 'exit 0'}): ${stderr.slice(-500)}`));
      },
    );
  });
}
