/**
 * Turns failures of Azure Resource Manager and of @azure/identity into one error type
 * with a `kind` that callers switch on and the message catalog renders (keys
 * `vm.azure_error.<kind>` in `src/bot/messages/vm.ts`). The English `message` is for
 * logs. Neither carries the bearer token or the client secret: RestError keeps the
 * request non-enumerable, and only its code, status and message are copied here.
 */
import type { MessageParams } from '../bot/i18n.js';

export type AzureErrorKind =
  | 'not_found'
  | 'authorization_failed'
  | 'quota_exceeded'
  | 'allocation_failed'
  | 'throttled'
  | 'conflict'
  | 'credential_unavailable'
  | 'operation_failed'
  | 'unknown';

export type AzureOperation = 'instance_view' | 'start' | 'deallocate';

export interface AzureVmTarget {
  vmName: string;
  subscriptionId: string;
  resourceGroup: string;
  /** Name of the VM in Azure, when it differs from the key in `vms`. */
  azureName: string;
}

export class AzureVmError extends Error {
  readonly code = 'AZURE_VM_ERROR';

  constructor(
    readonly kind: AzureErrorKind,
    readonly target: AzureVmTarget,
    readonly operation: AzureOperation,
    detail: string,
    readonly extra: { statusCode?: number; azureCode?: string; retryAfterSeconds?: number } = {},
    options?: { cause?: unknown },
  ) {
    super(`Azure ${operation} of VM "${target.vmName}" failed (${kind}): ${detail}`, options);
    this.name = 'AzureVmError';
  }

  /** Parameters for the `vm.azure_error.<kind>` catalog message. */
  get messageParams(): MessageParams {
    return {
      vm: this.target.vmName,
      azureName: this.target.azureName,
      resourceGroup: this.target.resourceGroup,
      subscription: this.target.subscriptionId,
      operation: this.operation,
      retryAfter: this.extra.retryAfterSeconds ?? 60,
      azureCode: this.extra.azureCode ?? String(this.extra.statusCode ?? ''),
    };
  }

  get messageKey(): string {
    return `vm.azure_error.${this.kind}`;
  }
}

/** Thrown by the credential wrapper when no token arrives: no credential, or too slow. */
export class AzureCredentialError extends Error {
  readonly code = 'AZURE_CREDENTIAL_UNAVAILABLE';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AzureCredentialError';
  }
}

const QUOTA_CODES = new Set(['QuotaExceeded', 'OperationNotAllowed', 'SkuNotAvailable', 'ReadOnlyDisabledSubscription']);
const ALLOCATION_CODES = new Set(['AllocationFailed', 'ZonalAllocationFailed', 'OverconstrainedAllocationRequest', 'OverconstrainedZonalAllocationRequest']);
const NOT_FOUND_CODES = new Set(['ResourceNotFound', 'ResourceGroupNotFound', 'NotFound', 'SubscriptionNotFound']);
const AUTHORIZATION_CODES = new Set(['AuthorizationFailed', 'InvalidAuthenticationToken', 'InvalidAuthenticationTokenTenant', 'LinkedAuthorizationFailed']);

interface RestLikeError {
  name: string;
  message: string;
  statusCode?: number;
  code?: string;
  response?: { headers?: { get(name: string): string | undefined } };
}

function isRestLike(error: unknown): error is RestLikeError {
  return error instanceof Error && error.name === 'RestError';
}

/** Classifies any failure of an Azure call on `target` into an AzureVmError. */
export function toAzureVmError(error: unknown, target: AzureVmTarget, operation: AzureOperation): AzureVmError {
  if (error instanceof AzureVmError) return error;

  if (error instanceof AzureCredentialError || isIdentityError(error)) {
    return new AzureVmError('credential_unavailable', target, operation, (error as Error).message, {}, { cause: error });
  }

  if (isRestLike(error)) {
    const statusCode = error.statusCode;
    const azureCode = error.code;
    const extra = { statusCode, azureCode };
    const kind = classifyRest(statusCode, azureCode, error.message);
    if (kind === 'throttled') {
      const retryAfterSeconds = parseRetryAfter(error.response?.headers?.get('retry-after'));
      return new AzureVmError(kind, target, operation, error.message, { ...extra, retryAfterSeconds }, { cause: error });
    }
    return new AzureVmError(kind, target, operation, error.message, extra, { cause: error });
  }

  // A long-running operation that ends in Failed surfaces from @azure/core-lro as a plain
  // Error: "The long-running operation has failed. <code>. <message>".
  if (error instanceof Error) {
    const lro = /long-running operation has failed\.\s*([A-Za-z]+)\./.exec(error.message);
    if (lro) {
      const azureCode = lro[1];
      const kind = ALLOCATION_CODES.has(azureCode!) ? 'allocation_failed' : QUOTA_CODES.has(azureCode!) ? 'quota_exceeded' : 'operation_failed';
      return new AzureVmError(kind, target, operation, error.message, { azureCode }, { cause: error });
    }
    return new AzureVmError('unknown', target, operation, error.message, {}, { cause: error });
  }
  return new AzureVmError('unknown', target, operation, String(error));
}

function classifyRest(statusCode: number | undefined, azureCode: string | undefined, message: string): AzureErrorKind {
  if (statusCode === 429) return 'throttled';
  if (azureCode && NOT_FOUND_CODES.has(azureCode)) return 'not_found';
  if (azureCode && AUTHORIZATION_CODES.has(azureCode)) return 'authorization_failed';
  if (azureCode && ALLOCATION_CODES.has(azureCode)) return 'allocation_failed';
  if (azureCode === 'OperationNotAllowed' && !/quota/i.test(message)) return 'conflict';
  if (azureCode && QUOTA_CODES.has(azureCode)) return 'quota_exceeded';
  if (statusCode === 404) return 'not_found';
  if (statusCode === 401 || statusCode === 403) return 'authorization_failed';
  if (statusCode === 409) return 'conflict';
  return 'unknown';
}

function isIdentityError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return ['CredentialUnavailableError', 'AuthenticationError', 'AggregateAuthenticationError', 'AuthenticationRequiredError'].includes(error.name);
}

/** Reads Retry-After as seconds: an integer or an HTTP date (RFC 9110, section 10.2.3). */
export function parseRetryAfter(value: string | undefined, now: Date = new Date()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now.getTime()) / 1000));
}
