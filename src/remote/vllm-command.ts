/**
 * The argv that starts a deployment's server: `vllm serve` built from the deploy recipe,
 * or the recipe's own `command` with its placeholders filled in. Pure, so the exact
 * argv is tested without a GPU; the launcher quotes it for the remote shell.
 */
import path from 'node:path';

import type { DeployRecipe } from '../config/schema.js';

export interface ServerCommandInput {
  recipe: DeployRecipe;
  /** Python interpreter on the VM (`vms.<name>.python`); `vllm` is looked up beside it. */
  python: string;
  /** GPUs on the VM, the default tensor parallel size. */
  gpus: number;
  /** Port chosen for this deployment (the recipe's port, or the next one while an old server holds it). */
  port: number;
  /** Adapter path on the VM: the recipe's, or a finished run's output (`from #42`). */
  adapter?: string;
}

/** Name the adapter is served under when the recipe names none: the model list shows it. */
export const DEFAULT_ADAPTER_NAME = 'adapter';

const PLACEHOLDER = /\{(python|model|adapter|port|host|served_model_name)\}/g;

/** Returns the server argv for a deployment. */
export function buildServerCommand(input: ServerCommandInput): string[] {
  const { recipe } = input;
  if (recipe.command !== undefined) return fillPlaceholders(recipe.command, input);
  return buildVllmServeArgv(input);
}

/**
 * `vllm serve MODEL --host H --port P --max-model-len N --gpu-memory-utilization F ...`.
 * With an adapter, LoRA is enabled and the adapter is served as its own model name
 * beside the base model, which is how vLLM serves PEFT adapters without merging them.
 */
export function buildVllmServeArgv(input: ServerCommandInput): string[] {
  const { recipe } = input;
  const argv = [vllmExecutable(input.python), 'serve', recipe.model, '--host', recipe.host, '--port', String(input.port)];
  argv.push('--max-model-len', String(recipe.maxModelLen));
  argv.push('--gpu-memory-utilization', String(recipe.gpuMemoryUtilization));

  const tensorParallelSize = recipe.tensorParallelSize ?? Math.max(1, input.gpus);
  if (tensorParallelSize > 1) argv.push('--tensor-parallel-size', String(tensorParallelSize));
  if (recipe.trustRemoteCode) argv.push('--trust-remote-code');
  if (recipe.servedModelName !== undefined) argv.push('--served-model-name', recipe.servedModelName);

  if (input.adapter !== undefined) {
    const adapterName = recipe.servedModelName !== undefined ? `${recipe.servedModelName}-${DEFAULT_ADAPTER_NAME}` : DEFAULT_ADAPTER_NAME;
    argv.push('--enable-lora', '--lora-modules', `${adapterName}=${input.adapter}`);
  }

  argv.push(...recipe.extraArgs);
  return argv;
}

/** The `vllm` console script of the interpreter's environment, or `vllm` on PATH for a bare `python3`. */
function vllmExecutable(python: string): string {
  if (!python.includes('/')) return 'vllm';
  return path.posix.join(path.posix.dirname(python), 'vllm');
}

function fillPlaceholders(command: readonly string[], input: ServerCommandInput): string[] {
  const values: Record<string, string> = {
    python: input.python,
    model: input.recipe.model,
    adapter: input.adapter ?? '',
    port: String(input.port),
    host: input.recipe.host,
    served_model_name: input.recipe.servedModelName ?? input.recipe.model,
  };
  return command.map((arg) => arg.replace(PLACEHOLDER, (_whole, name: string) => values[name] ?? ''));
}
