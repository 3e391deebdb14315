/**
 * The Azure credential of the bot. A service principal from the environment
 * (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`) when all three are set;
 * otherwise `DefaultAzureCredential` (managed identity, Azure CLI login, workload
 * identity, ...). Either is wrapped so that getting a token has a time limit: without
 * it, a machine with no credential at all can spend a minute probing the instance
 * metadata endpoint before failing, while the person waits for `/vm start`.
 */
import {
  ClientSecretCredential,
  DefaultAzureCredential,
  type AccessToken,
  type GetTokenOptions,
  type TokenCredential,
} from '@azure/identity';

import type { AzureCredentialEnv } from '../config/env.js';
import { AzureCredentialError } from './azure-errors.js';

export const SERVICE_PRINCIPAL_VARIABLES = ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET'] as const;

const HOW_TO_FIX =
  'set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal with the ' +
  '"Virtual Machine Contributor" role on the resource group, or give the bot machine a managed identity, ' +
  'or sign in with `az login`';

export interface AzureCredentialOptions {
  /** Time limit for one token request, in milliseconds (default 20 s). */
  tokenTimeoutMs?: number;
  /** The credential to wrap instead of the one chosen from `env` (tests pass a static one). */
  inner?: TokenCredential;
}

/**
 * Chooses the credential from `env` and wraps it with the token time limit. Throws
 * AzureCredentialError at once when the service principal variables are set only in part.
 */
export function createAzureCredential(env: AzureCredentialEnv, options: AzureCredentialOptions = {}): TokenCredential {
  const timeoutMs = options.tokenTimeoutMs ?? 20_000;
  if (options.inner) return new TimeLimitedCredential(options.inner, timeoutMs, 'the given credential');

  if (env.tenantId !== undefined && env.clientId !== undefined && env.clientSecret !== undefined) {
    const principal = new ClientSecretCredential(env.tenantId, env.clientId, env.clientSecret);
    return new TimeLimitedCredential(principal, timeoutMs, 'the service principal from AZURE_CLIENT_ID');
  }
  const problem = incompleteServicePrincipal(env);
  if (problem) throw new AzureCredentialError(problem);

  const chain = new DefaultAzureCredential(env.clientId ? { managedIdentityClientId: env.clientId } : {});
  return new TimeLimitedCredential(chain, timeoutMs, 'DefaultAzureCredential');
}

/**
 * Describes a half-configured service principal (a secret, or a tenant and client id,
 * without the rest), or returns undefined. AZURE_CLIENT_ID alone is not one: it is how
 * a user-assigned managed identity is chosen.
 */
export function incompleteServicePrincipal(env: AzureCredentialEnv): string | undefined {
  const present = { AZURE_TENANT_ID: env.tenantId, AZURE_CLIENT_ID: env.clientId, AZURE_CLIENT_SECRET: env.clientSecret };
  const missing = SERVICE_PRINCIPAL_VARIABLES.filter((name) => present[name] === undefined);
  if (missing.length === 0) return undefined;
  if (env.clientSecret === undefined && !(env.tenantId !== undefined && env.clientId !== undefined)) return undefined;
  return `Azure service principal is incomplete: ${missing.join(', ')} missing; ${HOW_TO_FIX}`;
}

/** A TokenCredential that gives up after `timeoutMs` and explains which variables to set. */
export class TimeLimitedCredential implements TokenCredential {
  constructor(
    private readonly inner: TokenCredential,
    private readonly timeoutMs: number,
    private readonly description: string,
  ) {}

  async getToken(scopes: string | string[], options: GetTokenOptions = {}): Promise<AccessToken | null> {
    const controller = new AbortController();
    const outer = options.abortSignal;
    const onOuterAbort = (): void => controller.abort();
    outer?.addEventListener('abort', onOuterAbort, { once: true });

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new AzureCredentialError(`no Azure token from ${this.description} within ${this.timeoutMs / 1000} s; ${HOW_TO_FIX}`));
      }, this.timeoutMs);
    });

    try {
      const token = await Promise.race([this.inner.getToken(scopes, { ...options, abortSignal: controller.signal }), timeout]);
      if (token === null) throw new AzureCredentialError(`${this.description} returned no Azure token; ${HOW_TO_FIX}`);
      return token;
    } catch (error) {
      if (error instanceof AzureCredentialError) throw error;
      throw new AzureCredentialError(`${this.description} could not get an Azure token (${firstLine(error)}); ${HOW_TO_FIX}`, { cause: error });
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    }
  }
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.slice(0, 300);
}
