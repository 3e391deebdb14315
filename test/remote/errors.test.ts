import { describe, expect, it } from 'vitest';

import {
  HostUnreachableError,
  RemoteCommandError,
  isConnectionError,
  redactSecrets,
  stderrTail,
} from '../../src/remote/errors.js';

const CANARY_KEY = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAACANARYCANARYCANARY',
  '-----END OPENSSH PRIVATE KEY-----',
].join('\n');

describe('redactSecrets', () => {
  it('removes a PEM private key', () => {
    const text = redactSecrets(`Cannot parse privateKey: ${CANARY_KEY} trailing`);
    expect(text).not.toContain('CANARY');
    expect(text).toContain('[redacted key]');
    expect(text).toContain('trailing');
  });

  it('removes a PEM block cut short', () => {
    expect(redactSecrets('-----BEGIN RSA PRIVATE KEY-----\nMIICANARY')).not.toContain('CANARY');
  });

  it('removes password and passphrase values', () => {
    const text = redactSecrets('password=canary-pw1 passphrase: canary-pp2 PASSWD=canary-3');
    expect(text).not.toMatch(/canary/);
  });
});

describe('remote errors', () => {
  it('HostUnreachableError redacts its detail', () => {
    const error = new HostUnreachableError('gpu1', `handshake failed, key ${CANARY_KEY}`);
    expect(error.code).toBe('HOST_UNREACHABLE');
    expect(error.message).not.toContain('CANARY');
  });

  it('RemoteCommandError names only argv[0]', () => {
    const error = new RemoteCommandError('gpu1', 'python3', 2, stderrTail(`Traceback\n${'x'.repeat(2000)}\nValueError: bad`));
    expect(error.code).toBe('REMOTE_COMMAND_FAILED');
    expect(error.message).toContain('python3 failed on VM "gpu1" with exit code 2');
    expect(error.stderrTail.endsWith('ValueError: bad')).toBe(true);
    expect(error.stderrTail.length).toBeLessThanOrEqual(501);
  });
});

describe('isConnectionError', () => {
  const cases: ReadonlyArray<[string, unknown, boolean]> = [
    ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), true],
    ['ssh2 socket level', Object.assign(new Error('x'), { level: 'client-socket' }), true],
    ['node-ssh timeout', new Error('No response from server'), true],
    ['not connected', new Error('Not connected to server'), true],
    ['HostUnreachableError', new HostUnreachableError('gpu1', 'down'), true],
    ['auth failure', Object.assign(new Error('All configured authentication methods failed'), { level: 'client-authentication' }), false],
    ['sftp missing file', Object.assign(new Error('No such file'), { code: 2 }), false],
    ['session limit', new Error('(SSH) Channel open failure: open failed'), false],
    ['not an error', 'ECONNRESET', false],
  ];

  it.each(cases)('%s', (_name, error, expected) => {
    expect(isConnectionError(error)).toBe(expected);
  });
});
