/**
 * vitest globalSetup: checks once, before any test file runs, that the real components
 * the integration tests start are installed, and names the Debian package otherwise.
 * It only looks for the executables, so it costs a few milliseconds.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';

const REQUIRED: ReadonlyArray<{ executable: string; debianPackage: string }> = [
  { executable: 'redis-server', debianPackage: 'redis-server' },
  { executable: '/usr/sbin/sshd', debianPackage: 'openssh-server' },
  { executable: 'ssh-keygen', debianPackage: 'openssh-client' },
];

export default async function setup(): Promise<void> {
  const missing: string[] = [];
  for (const { executable, debianPackage } of REQUIRED) {
    if (!(await isExecutable(executable))) missing.push(`${executable} (Debian package ${debianPackage})`);
  }
  if (missing.length > 0) {
    const packages = REQUIRED.filter(({ executable }) => missing.some((line) => line.startsWith(executable))).map(
      ({ debianPackage }) => debianPackage,
    );
    throw new Error(
      `Integration tests need real servers, and these are missing: ${missing.join(', ')}. ` +
        `Install them with: apt-get install ${packages.join(' ')}`,
    );
  }
}

async function isExecutable(executable: string): Promise<boolean> {
  const candidates = executable.includes('/')
    ? [executable]
    : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, executable));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return true;
    } catch {
      // Not in this PATH entry.
    }
  }
  return false;
}
