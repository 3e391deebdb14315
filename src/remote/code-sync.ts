/**
 * Ships the Python trainer (`python/`) to a host, once per version of its contents.
 *
 * The tree is hashed (sorted relative paths and file contents, sha256), and uploaded to
 * `<workdir>/code/<hash>/` only when `<workdir>/code/<hash>/.complete` is missing. The
 * upload lands in a private folder that `mv -T` renames into place. rename(2) makes
 * that atomic, and it fails when another worker's copy is already there. So a code
 * folder is never partial and never replaced under a running trainer.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { RemoteCommandError, stderrTail } from './errors.js';
import type { Host } from './host.js';

/** Folders never shipped: caches at any depth, and the trainer's tests and build output at the top. */
const SKIPPED_DIRECTORIES = new Set(['__pycache__', '.pytest_cache', '.mypy_cache', '.ruff_cache', '.git']);
const SKIPPED_TOP_DIRECTORIES = new Set(['tests', 'build', 'dist']);
const SKIPPED_FILE = /\.(pyc|pyo)$|^\.DS_Store$/;
const COMPLETE_MARKER = '.complete';
const HASH_CHARS = 16;

export interface CodeTree {
  /** First 16 hex digits of the sha256 over the sorted files. */
  hash: string;
  /** Relative POSIX paths, sorted. */
  files: string[];
}

export interface SyncResult {
  /** Absolute remote folder to put on PYTHONPATH. */
  codeDir: string;
  hash: string;
  /** False when the host already had this version. */
  uploaded: boolean;
}

/** Hashes the files of `localDir` that would be shipped, in sorted path order. */
export async function hashCodeTree(localDir: string): Promise<CodeTree> {
  const files = (await listFiles(localDir, '')).sort();
  const hash = createHash('sha256');
  for (const file of files) {
    const content = await readFile(path.join(localDir, file));
    // Length-prefixed fields, so no choice of names and contents hashes like another.
    hash.update(`${Buffer.byteLength(file)}:${file}\0${content.length}:`);
    hash.update(content);
  }
  return { hash: hash.digest('hex').slice(0, HASH_CHARS), files };
}

/**
 * Uploads in progress per host object and code folder, so runs launched together on one
 * VM share one upload. Without it, each of 25 runs launched at once on one VM uploaded the
 * whole tree, because none had finished when the others checked for the marker.
 */
const uploadsInProgress = new WeakMap<Host, Map<string, Promise<SyncResult>>>();

/**
 * Uploads `localDir` to `<workdir>/code/<hash>/` unless the host already has it complete.
 * A call while the same host is uploading the same version waits for that upload and
 * returns `uploaded: false`.
 */
export async function syncCode(host: Host, options: { localDir: string; workdir: string }): Promise<SyncResult> {
  const tree = await hashCodeTree(options.localDir);
  const codeRoot = path.posix.join(await host.resolvePath(options.workdir), 'code');
  const codeDir = path.posix.join(codeRoot, tree.hash);

  const uploads = uploadsInProgress.get(host) ?? new Map<string, Promise<SyncResult>>();
  uploadsInProgress.set(host, uploads);
  const running = uploads.get(codeDir);
  if (running) return { ...(await running), uploaded: false };

  const upload = uploadUnlessComplete(host, options.localDir, tree, codeRoot, codeDir);
  uploads.set(codeDir, upload);
  try {
    return await upload;
  } finally {
    uploads.delete(codeDir);
  }
}

async function uploadUnlessComplete(host: Host, localDir: string, tree: CodeTree, codeRoot: string, codeDir: string): Promise<SyncResult> {
  const marker = await host.readFileRange(path.posix.join(codeDir, COMPLETE_MARKER), 0, 0);
  if (marker.exists) return { codeDir, hash: tree.hash, uploaded: false };

  const staging = await stageTree(localDir, tree);
  const upload = path.posix.join(codeRoot, `.upload-${tree.hash}-${randomBytes(4).toString('hex')}`);
  try {
    await host.putDirectory(staging, upload);
    const result = await host.exec(['sh', '-c', INSTALL_SCRIPT, 'install-code', upload, codeDir]);
    if (result.code !== 0) throw new RemoteCommandError(host.vmName, 'sh', result.code, stderrTail(result.stderr));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { codeDir, hash: tree.hash, uploaded: true };
}

// $1 upload folder, $2 code folder. A code folder without the marker is debris from an
// older, interrupted scheme: it is moved aside. If another worker won the rename, its
// identical copy stays and this upload is dropped.
const INSTALL_SCRIPT = `
if [ -e "$2" ] && [ ! -e "$2/${COMPLETE_MARKER}" ]; then mv -f "$2" "$2.stale-$$" && rm -rf "$2.stale-$$"; fi
mv -T "$1" "$2" 2>/dev/null || rm -rf "$1"
test -e "$2/${COMPLETE_MARKER}"
`;

/** Returns the repository's `python/` folder, found by walking up from this module. */
export function findPythonRoot(start: string = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'python');
    if (existsSync(path.join(candidate, 'trainops_trainer'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`no python/trainops_trainer folder above ${start}`);
  }
}

/** Copies exactly the hashed files, plus the marker, into a local temporary folder. */
async function stageTree(localDir: string, tree: CodeTree): Promise<string> {
  const staging = await mkdtemp(path.join(os.tmpdir(), 'trainops-code-'));
  for (const file of tree.files) {
    const target = path.join(staging, file);
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(path.join(localDir, file), target);
  }
  await writeFile(path.join(staging, COMPLETE_MARKER), `${tree.hash}\n`);
  return staging;
}

async function listFiles(root: string, relative: string): Promise<string[]> {
  const entries = await readdir(path.join(root, relative), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const entryPath = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) {
      const skipped =
        SKIPPED_DIRECTORIES.has(entry.name) || entry.name.endsWith('.egg-info') || (relative === '' && SKIPPED_TOP_DIRECTORIES.has(entry.name));
      if (!skipped) files.push(...(await listFiles(root, entryPath)));
    } else if (entry.isFile() && !SKIPPED_FILE.test(entry.name)) {
      files.push(entryPath);
    }
  }
  return files;
}
