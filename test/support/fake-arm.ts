/**
 * A local fake of Azure Resource Manager for the compute calls the bot makes, over HTTPS
 * on 127.0.0.1 (the Azure SDK refuses to send a bearer token over plain HTTP):
 *
 *   GET  .../virtualMachines/{vm}/instanceView     power state in `statuses`
 *   POST .../virtualMachines/{vm}/start            202 + Azure-AsyncOperation/Location
 *   POST .../virtualMachines/{vm}/deallocate       202 + Azure-AsyncOperation/Location
 *   GET  .../operations/{id}, .../operationResults/{id}   InProgress for `pollsPerOperation` polls
 *
 *   const arm = await startFakeArm({ pollsPerOperation: 3 });
 *   arm.addVm('yanshiyiliao', 'deallocated');
 *   arm.fail('yanshiyiliao', { status: 429, retryAfterSeconds: 1, times: 1 });
 *   const control = new AzureVmControl({ vms, credential: staticTestCredential(), endpoint: arm.url, trustedCa: arm.ca });
 *
 * The self-signed certificate (subjectAltName IP:127.0.0.1) is made with the openssl CLI
 * at start and trusted only by clients given `arm.ca`.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import type { AccessToken, TokenCredential } from '@azure/identity';

import type { PowerState } from '../../src/remote/vm-control.js';

const execFileAsync = promisify(execFile);

export const TEST_TOKEN = 'fake-arm-test-token';

/** A TokenCredential that returns a fixed token, valid for an hour. */
export function staticTestCredential(token = TEST_TOKEN): TokenCredential & { calls: number } {
  const credential = {
    calls: 0,
    async getToken(): Promise<AccessToken> {
      credential.calls += 1;
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  return credential;
}

export type FakeArmOperation = 'instance_view' | 'start' | 'deallocate';

export interface FakeArmFailure {
  status: number;
  /** ARM error code in the body (default from status: ResourceNotFound, AuthorizationFailed, ...). */
  code?: string;
  message?: string;
  retryAfterSeconds?: number;
  /** Only these operations fail (default all). */
  operations?: FakeArmOperation[];
  /** Number of requests that fail before the VM responds normally again (default unlimited). */
  times?: number;
}

export interface RecordedArmRequest {
  method: string;
  path: string;
  vm?: string;
  operation?: FakeArmOperation | 'poll';
  status: number;
  authorization?: string;
}

interface VmState {
  powerState: PowerState;
  subscriptionId?: string;
  resourceGroup?: string;
  failures: FakeArmFailure[];
  /** The next start/deallocate operation ends Failed with this ARM error code. */
  failOperationWith?: string;
}

interface Operation {
  vm: string;
  kind: 'start' | 'deallocate';
  pollsLeft: number;
  failedWith?: string;
  done: boolean;
}

export interface FakeArm {
  url: string;
  /** PEM of the server certificate, to pass as `trustedCa`. */
  ca: string;
  requests: RecordedArmRequest[];
  addVm(vmName: string, powerState: PowerState): void;
  /** Changes the power state from outside, as the portal or a spot eviction would. */
  setPowerState(vmName: string, powerState: PowerState): void;
  powerState(vmName: string): PowerState | undefined;
  fail(vmName: string, failure: FakeArmFailure): void;
  /** Makes the next start or deallocate of `vmName` end Failed with `code` (AllocationFailed...). */
  failNextOperation(vmName: string, code: string): void;
  clearFailures(vmName: string): void;
  stop(): Promise<void>;
}

export interface FakeArmOptions {
  /** Polls that return InProgress before an operation succeeds (default 2). */
  pollsPerOperation?: number;
}

const DEFAULT_CODES: Record<number, string> = {
  404: 'ResourceNotFound',
  403: 'AuthorizationFailed',
  409: 'OperationNotAllowed',
  429: 'TooManyRequests',
};

const VM_PATH = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)\/(instanceView|start|deallocate)$/i;
const OPERATION_PATH = /^\/subscriptions\/[^/]+\/providers\/Microsoft\.Compute\/locations\/[^/]+\/(operations|operationResults)\/([^/]+)$/i;

export async function startFakeArm(options: FakeArmOptions = {}): Promise<FakeArm> {
  const pollsPerOperation = options.pollsPerOperation ?? 2;
  const { key, cert } = await makeCertificate();
  const vms = new Map<string, VmState>();
  const operations = new Map<string, Operation>();
  const requests: RecordedArmRequest[] = [];
  let baseUrl = '';

  const server = https.createServer({ key, cert }, (request, response) => {
    const url = new URL(request.url ?? '/', 'https://127.0.0.1');
    const record: RecordedArmRequest = {
      method: request.method ?? 'GET',
      path: url.pathname,
      status: 0,
      authorization: request.headers.authorization,
    };
    requests.push(record);

    const send = (status: number, body?: unknown, headers: Record<string, string> = {}): void => {
      record.status = status;
      response.writeHead(status, { 'content-type': 'application/json', 'x-ms-request-id': randomUUID(), ...headers });
      response.end(body === undefined ? '' : JSON.stringify(body));
    };

    request.resume();
    request.on('end', () => {
      if (request.headers.authorization !== `Bearer ${TEST_TOKEN}`) {
        send(401, { error: { code: 'InvalidAuthenticationToken', message: 'The access token is invalid.' } });
        return;
      }

      const operationMatch = OPERATION_PATH.exec(url.pathname);
      if (operationMatch && request.method === 'GET') {
        record.operation = 'poll';
        const operation = operations.get(operationMatch[2]!);
        if (!operation) return send(404, { error: { code: 'NotFound', message: 'operation not found' } });
        record.vm = operation.vm;
        advance(operation);
        if (operationMatch[1] === 'operationResults') {
          return operation.done ? send(200) : send(202, undefined, { location: `${baseUrl}${url.pathname}` });
        }
        let status = 'Succeeded';
        if (!operation.done) status = 'InProgress';
        else if (operation.failedWith) status = 'Failed';
        const body: Record<string, unknown> = { name: operationMatch[2], status };
        if (operation.failedWith) body.error = { code: operation.failedWith, message: `Operation failed with ${operation.failedWith}.` };
        return send(200, body);
      }

      const vmMatch = VM_PATH.exec(url.pathname);
      if (!vmMatch) return send(404, { error: { code: 'NotFound', message: `no route for ${url.pathname}` } });
      const [, subscriptionId, resourceGroup, vmName, action] = vmMatch;
      const operationKind = (action!.toLowerCase() === 'instanceview' ? 'instance_view' : action!.toLowerCase()) as FakeArmOperation;
      record.vm = vmName;
      record.operation = operationKind;

      const vm = vms.get(vmName!);
      if (!vm) {
        return send(404, {
          error: { code: 'ResourceNotFound', message: `The Resource 'Microsoft.Compute/virtualMachines/${vmName}' under resource group '${resourceGroup}' was not found.` },
        });
      }
      vm.subscriptionId = subscriptionId;
      vm.resourceGroup = resourceGroup;

      const failure = vm.failures.find((candidate) => !candidate.operations || candidate.operations.includes(operationKind));
      if (failure) {
        if (failure.times !== undefined) {
          failure.times -= 1;
          if (failure.times <= 0) vm.failures.splice(vm.failures.indexOf(failure), 1);
        }
        const code = failure.code ?? DEFAULT_CODES[failure.status] ?? 'InternalError';
        const headers: Record<string, string> = failure.retryAfterSeconds !== undefined ? { 'retry-after': String(failure.retryAfterSeconds) } : {};
        return send(failure.status, { error: { code, message: failure.message ?? `${code} for ${vmName}` } }, headers);
      }

      if (request.method === 'GET' && operationKind === 'instance_view') {
        return send(200, {
          computerName: vmName,
          statuses: [
            { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded' },
            { code: `PowerState/${vm.powerState}`, level: 'Info', displayStatus: `VM ${vm.powerState}` },
          ],
        });
      }
      if (request.method === 'POST' && (operationKind === 'start' || operationKind === 'deallocate')) {
        const id = randomUUID();
        const operation: Operation = { vm: vmName!, kind: operationKind, pollsLeft: pollsPerOperation, done: false };
        if (vm.failOperationWith) {
          operation.failedWith = vm.failOperationWith;
          vm.failOperationWith = undefined;
        }
        operations.set(id, operation);
        vm.powerState = operationKind === 'start' ? 'starting' : 'deallocating';
        const operationsBase = `${baseUrl}/subscriptions/${subscriptionId}/providers/Microsoft.Compute/locations/eastasia`;
        return send(202, undefined, {
          'azure-asyncoperation': `${operationsBase}/operations/${id}?api-version=2026-03-01`,
          location: `${operationsBase}/operationResults/${id}?api-version=2026-03-01`,
        });
      }
      return send(405, { error: { code: 'MethodNotAllowed', message: `${request.method} ${url.pathname}` } });
    });
  });

  function advance(operation: Operation): void {
    if (operation.done) return;
    operation.pollsLeft -= 1;
    if (operation.pollsLeft > 0) return;
    operation.done = true;
    const vm = vms.get(operation.vm);
    if (!vm) return;
    if (operation.failedWith) vm.powerState = operation.kind === 'start' ? 'stopped' : 'running';
    else vm.powerState = operation.kind === 'start' ? 'running' : 'deallocated';
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `https://127.0.0.1:${port}`;

  const state = (vmName: string): VmState => {
    const vm = vms.get(vmName);
    if (!vm) throw new Error(`fake ARM has no VM "${vmName}"; call addVm first`);
    return vm;
  };

  return {
    url: baseUrl,
    ca: cert,
    requests,
    addVm: (vmName, powerState) => {
      vms.set(vmName, { powerState, failures: [] });
    },
    setPowerState: (vmName, powerState) => {
      state(vmName).powerState = powerState;
    },
    powerState: (vmName) => vms.get(vmName)?.powerState,
    fail: (vmName, failure) => {
      state(vmName).failures.push({ ...failure });
    },
    failNextOperation: (vmName, code) => {
      state(vmName).failOperationWith = code;
    },
    clearFailures: (vmName) => {
      state(vmName).failures = [];
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function makeCertificate(): Promise<{ key: string; cert: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fake-arm-'));
  try {
    const keyPath = path.join(dir, 'key.pem');
    const certPath = path.join(dir, 'cert.pem');
    await execFileAsync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyPath, '-out', certPath, '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ]);
    return { key: await readFile(keyPath, 'utf8'), cert: await readFile(certPath, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
