import { describe, expect, it } from 'vitest';

import { createAzureCredential, incompleteServicePrincipal, TimeLimitedCredential } from '../../src/remote/azure-credential.js';
import { AzureCredentialError } from '../../src/remote/azure-errors.js';

const CANARY_SECRET = 'canary-secret-7f3a91';

describe('createAzureCredential', () => {
  it('rejects an incomplete service principal', () => {
    const create = () => createAzureCredential({ clientId: 'app-id', clientSecret: CANARY_SECRET });
    expect(create).toThrow(AzureCredentialError);
    expect(create).toThrow(/AZURE_TENANT_ID missing/);
  });

  it('never puts the secret in the message', () => {
    try {
      createAzureCredential({ tenantId: 'tenant', clientSecret: CANARY_SECRET });
      expect.unreachable('should have thrown');
    } catch (error) {
      expect((error as Error).message).not.toContain(CANARY_SECRET);
      expect((error as Error).message).toContain('AZURE_CLIENT_ID');
    }
  });

  it('accepts a full service principal', () => {
    const credential = createAzureCredential({ tenantId: '00000000-0000-0000-0000-00000000000a', clientId: 'app-id', clientSecret: CANARY_SECRET });
    expect(credential).toBeInstanceOf(TimeLimitedCredential);
  });

  it('falls back to DefaultAzureCredential', () => {
    expect(createAzureCredential({})).toBeInstanceOf(TimeLimitedCredential);
    expect(createAzureCredential({ clientId: 'user-assigned-identity' })).toBeInstanceOf(TimeLimitedCredential);
  });
});

describe('TimeLimitedCredential', () => {
  it('times out and names the variables', async () => {
    let aborted = false;
    const slow = {
      getToken: (_scopes: string | string[], options?: { abortSignal?: AbortSignal }) =>
        new Promise<null>(() => {
          options?.abortSignal?.addEventListener('abort', () => {
            aborted = true;
          });
        }),
    };
    const credential = new TimeLimitedCredential(slow, 30, 'DefaultAzureCredential');

    const error = (await credential.getToken('https://management.azure.com/.default').catch((caught: unknown) => caught)) as Error;

    expect(error).toBeInstanceOf(AzureCredentialError);
    expect(error.message).toMatch(/within 0.03 s/);
    expect(error.message).toContain('AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET');
    expect(aborted).toBe(true);
  });

  it('wraps a credential failure', async () => {
    const failing = {
      getToken: async () => {
        const error = new Error('EnvironmentCredential is unavailable.\nmore detail');
        error.name = 'CredentialUnavailableError';
        throw error;
      },
    };
    const credential = new TimeLimitedCredential(failing, 1000, 'DefaultAzureCredential');

    const error = (await credential.getToken('scope').catch((caught: unknown) => caught)) as Error;

    expect(error).toBeInstanceOf(AzureCredentialError);
    expect(error.message).toContain('EnvironmentCredential is unavailable');
    expect(error.message).not.toContain('more detail');
  });

  it('returns the token', async () => {
    const token = { token: 'abc', expiresOnTimestamp: Date.now() + 60_000 };
    const credential = new TimeLimitedCredential({ getToken: async () => token }, 1000, 'test');
    expect(await credential.getToken('scope')).toBe(token);
  });
});

describe('incompleteServicePrincipal', () => {
  it.each([
    [{}, undefined],
    [{ clientId: 'managed-identity' }, undefined],
    [{ tenantId: 't', clientId: 'c', clientSecret: CANARY_SECRET }, undefined],
    [{ clientSecret: CANARY_SECRET }, 'AZURE_TENANT_ID, AZURE_CLIENT_ID missing'],
    [{ tenantId: 't', clientId: 'c' }, 'AZURE_CLIENT_SECRET missing'],
  ])('%j', (env, expected) => {
    const problem = incompleteServicePrincipal(env);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(expected);
  });
});
