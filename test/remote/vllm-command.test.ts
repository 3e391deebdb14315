import { describe, expect, it } from 'vitest';

import { deployRecipeSchema } from '../../src/config/schema.js';
import { buildServerCommand } from '../../src/remote/vllm-command.js';

const phi4 = deployRecipeSchema.parse({
  kind: 'deploy',
  model: 'microsoft/Phi-4-multimodal-instruct',
  port: 8000,
  maxModelLen: 8192,
  gpuMemoryUtilization: 0.85,
  trustRemoteCode: true,
});

describe('buildServerCommand', () => {
  it('builds vllm serve with trust-remote-code', () => {
    expect(buildServerCommand({ recipe: phi4, python: '/opt/venv/bin/python', gpus: 1, port: 8000 })).toEqual([
      '/opt/venv/bin/vllm',
      'serve',
      'microsoft/Phi-4-multimodal-instruct',
      '--host',
      '0.0.0.0',
      '--port',
      '8000',
      '--max-model-len',
      '8192',
      '--gpu-memory-utilization',
      '0.85',
      '--trust-remote-code',
    ]);
  });

  it('uses vllm on PATH for a bare interpreter', () => {
    expect(buildServerCommand({ recipe: phi4, python: 'python3', gpus: 1, port: 8000 })[0]).toBe('vllm');
  });

  it('splits the model over the VM GPUs', () => {
    const argv = buildServerCommand({ recipe: phi4, python: 'python3', gpus: 2, port: 8001 });
    expect(argv.slice(argv.indexOf('--tensor-parallel-size'), argv.indexOf('--tensor-parallel-size') + 2)).toEqual(['--tensor-parallel-size', '2']);
    expect(argv[argv.indexOf('--port') + 1]).toBe('8001');
  });

  it('serves an adapter as a LoRA module', () => {
    const recipe = deployRecipeSchema.parse({ kind: 'deploy', model: 'microsoft/Phi-4-mini-instruct', servedModelName: 'medical-phi4' });
    const argv = buildServerCommand({ recipe, python: 'python3', gpus: 1, port: 8000, adapter: '/home/u/trainops/runs/42/output' });
    expect(argv).toContain('--enable-lora');
    expect(argv[argv.indexOf('--lora-modules') + 1]).toBe('medical-phi4-adapter=/home/u/trainops/runs/42/output');
    expect(argv[argv.indexOf('--served-model-name') + 1]).toBe('medical-phi4');
    expect(argv).not.toContain('--trust-remote-code');
  });

  it('fills placeholders of a custom command', () => {
    const recipe = deployRecipeSchema.parse({
      kind: 'deploy',
      model: 'demo',
      host: '127.0.0.1',
      command: ['{python}', 'server.py', '--port={port}', '--model', '{served_model_name}', '--bind', '{host}', '--lora', '{adapter}'],
    });
    expect(buildServerCommand({ recipe, python: '/venv/bin/python', gpus: 0, port: 9001, adapter: '/a b' })).toEqual([
      '/venv/bin/python',
      'server.py',
      '--port=9001',
      '--model',
      'demo',
      '--bind',
      '127.0.0.1',
      '--lora',
      '/a b',
    ]);
  });
});
