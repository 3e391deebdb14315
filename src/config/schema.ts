import { z } from 'zod';

import { findHyperparameterIssues } from './hyperparameters.js';
import { findReferenceIssues } from './references.js';

/**
 * Schema of the YAML config file (`TRAINOPS_CONFIG`, default `config/trainops.yaml`).
 * Secrets never live here: they come from the environment (see `src/config/env.ts`).
 * Every field has a description, which the generated JSON Schema shows in editors.
 */

const userId = z
  .string()
  .regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id such as U012ABCDEF')
  .describe('Slack user id (U…)');

/** Names that reach remote paths and commands: recipe and VM names, stage names. */
const safeName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'use lowercase letters, digits, ".", "_" or "-" (at most 63)');

const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24-hour)');

export const roleSchema = z.enum(['admin', 'oncall', 'member']);

export const memberSchema = z.object({
  id: userId,
  name: z.string().min(1).describe('Display name used in messages'),
  roles: z.array(roleSchema).default(['member']).describe('admin, oncall, member'),
  locale: z.enum(['zh-CN', 'en']).optional().describe('Overrides the team locale for this person'),
});

export const oncallSchema = z.object({
  rotation: z.array(userId).default([]).describe('On-call order; each person serves one week'),
  handoverWeekday: z.number().int().min(1).max(7).default(1).describe('ISO weekday of the hand-over (1 = Monday)'),
  handoverTime: clockTime.default('10:00').describe('Local time of the hand-over'),
  rotationStart: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .default('2026-01-05')
    .describe('A hand-over date on which rotation[0] started (YYYY-MM-DD)'),
  ackMinutes: z.number().positive().default(15).describe('Minutes before an unacknowledged failure pages the next person'),
});

export const teamSchema = z.object({
  members: z.array(memberSchema).min(1).describe('Only these people may use the bot'),
  oncall: oncallSchema.default(oncallSchema.parse({})),
});

export const sshSchema = z.object({
  host: z.string().min(1).describe('Host name or address of the VM'),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'must be a POSIX user name'),
  keyPath: z.string().min(1).describe('Path of the private key on the bot machine'),
  hostKey: z
    .string()
    .regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'must be an OpenSSH SHA256 fingerprint (ssh-keygen -lf)')
    .describe('Pinned host key fingerprint; connections to any other key are refused'),
  keepaliveSeconds: z.number().int().positive().default(15),
  readyTimeoutSeconds: z.number().int().positive().default(20),
});

export const azureVmSchema = z.object({
  subscriptionId: z.string().min(1),
  resourceGroup: z.string().min(1),
  vmName: z.string().min(1).describe('VM name in Azure, if different from the key in `vms`'),
});

export const autoStopSchema = z.object({
  enabled: z.boolean().default(false),
  idleMinutes: z.number().positive().default(60).describe('Idle minutes before the warning'),
  graceMinutes: z.number().positive().default(10).describe('Minutes between the warning and the deallocation'),
});

export const vmSchema = z
  .object({
    transport: z.enum(['ssh', 'local']).default('ssh').describe('local runs on the bot machine without SSH'),
    ssh: sshSchema.optional(),
    gpus: z.number().int().min(0).default(1),
    gpuModel: z.string().optional().describe('For people: "H100", "A100 80GB"'),
    python: z.string().default('python3').describe('Python interpreter on the VM (a venv path is best)'),
    workdir: z.string().default('~/trainops').describe('Folder on the VM for code and runs'),
    owner: userId.optional().describe('Person responsible for this VM (may stop it)'),
    azure: azureVmSchema.optional().describe('Azure identity; without it the VM is assumed always on'),
    autoStop: autoStopSchema.default(autoStopSchema.parse({})),
    hourlyCost: z.number().nonnegative().optional().describe('Cost per hour, for savings reports'),
  })
  .superRefine(
    (vm, ctx) => {
      // The value may be partly invalid here (see `when`), so `transport` is compared, not trusted.
      if (vm.transport === 'ssh' && !vm.ssh) {
        ctx.addIssue({ code: 'custom', path: ['ssh'], message: 'required when transport is ssh' });
      }
    },
    // Also runs when another field of this VM is invalid, so a missing ssh block is reported in the same pass.
    { when: (payload) => isObject(payload.value) },
  );

/** A field a person may override on the command line, such as `lr=1e-4`. */
export const overrideSchema = z.object({
  field: z.string().regex(/^[a-z_][a-z0-9_]*$/).describe('Trainer option the value is written to'),
  type: z.enum(['number', 'integer', 'boolean', 'enum', 'string']),
  min: z.number().optional(),
  max: z.number().optional(),
  values: z.array(z.string()).optional().describe('Allowed values for enum'),
  maxLength: z.number().int().positive().default(200).describe('For string'),
  description: z.string().optional(),
});

export const failureClassSchema = z.enum([
  'out_of_memory',
  'diverged',
  'data_error',
  'config_error',
  'killed',
  'unreachable',
  'evicted',
  'cancelled',
  'no_end_event',
  'unknown',
]);

export const restartPolicySchema = z.object({
  retryOn: z.array(failureClassSchema).default(['unreachable', 'evicted', 'killed']),
  maxAutoRestarts: z.number().int().min(0).default(2),
  waitSeconds: z.number().min(0).default(60),
});

const hyperparameters = z
  .record(z.string().regex(/^[a-z_][a-z0-9_]*$/), z.union([z.string(), z.number(), z.boolean(), z.array(z.string()), z.null()]))
  .default({})
  .describe('Trainer options written to run.json as they are');

/** The trainer's data formats (its `--format` choices): three SFT layouts, DPO pairs and GRPO prompts. */
export const dataFormatSchema = z
  .enum(['medical-r1', 'instruction', 'chat', 'preference', 'prompt'])
  .describe('Data format; detected from the columns when omitted');

export const trainStageSchema = z.object({
  stage: z.enum(['sft', 'dpo', 'grpo']),
  from: z.string().optional().describe('Earlier stage whose adapter this stage starts from'),
  dataset: z.string().optional(),
  format: dataFormatSchema.optional(),
  hyperparameters,
});

export const trainRecipeSchema = z.object({
  kind: z.literal('train'),
  description: z.string().optional(),
  model: z.string().min(1).describe('Hub id or path on the VM'),
  dataset: z.string().min(1).describe('Data file or saved dataset folder on the VM'),
  format: dataFormatSchema.optional(),
  vm: safeName.optional().describe('Default VM when the command names none'),
  hyperparameters,
  overrides: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), overrideSchema).default({}),
  stages: z.array(trainStageSchema).optional().describe('Chained stages (SFT then RL); the first stage may omit dataset'),
  restart: restartPolicySchema.default(restartPolicySchema.parse({})),
  deployAfter: safeName.optional().describe('Deploy recipe run when training succeeds'),
});

export const deployRecipeSchema = z.object({
  kind: z.literal('deploy'),
  description: z.string().optional(),
  model: z.string().min(1),
  adapter: z.string().optional().describe('Adapter path on the VM'),
  vm: safeName.optional(),
  port: z.number().int().min(1024).max(65535).default(8000),
  maxModelLen: z.number().int().positive().default(4096),
  gpuMemoryUtilization: z.number().gt(0).max(1).default(0.9),
  trustRemoteCode: z.boolean().default(false),
  servedModelName: z.string().optional(),
  host: z.string().min(1).default('0.0.0.0').describe('Address the server binds on the VM (vLLM default: every interface)'),
  tensorParallelSize: z.number().int().positive().optional().describe('GPUs the model is split over; default the VM\'s GPU count'),
  extraArgs: z.array(z.string()).default([]).describe('More `vllm serve` arguments, appended as they are'),
  command: z
    .array(z.string())
    .min(1)
    .optional()
    .describe('Server argv replacing vllm serve; {python}, {model}, {adapter}, {port}, {host} and {served_model_name} are filled in'),
  healthTimeoutSeconds: z.number().positive().default(900).describe('Seconds the server has to answer /health and /v1/models'),
  healthPollSeconds: z.number().positive().default(5).describe('Seconds between health probes on the VM'),
  smokePrompt: z.string().min(1).default('你好，请用一句话介绍你自己。').describe('Prompt of the smoke-test completion'),
  replace: z
    .enum(['after_healthy', 'stop_first'])
    .default('after_healthy')
    .describe('after_healthy keeps the old server until the new one answers (both must fit in GPU memory); stop_first frees the GPU first'),
  restart: restartPolicySchema.default(restartPolicySchema.parse({})),
});

export const datasetRecipeSchema = z.object({
  kind: z.literal('dataset'),
  description: z.string().optional(),
  path: z.string().min(1).describe('Data file or folder on the VM'),
  format: dataFormatSchema.optional(),
  model: z.string().optional().describe('Tokenizer for length statistics'),
  maxLength: z.number().int().positive().default(512),
  rewards: z
    .string()
    .regex(/^[a-z]+(:[0-9.]+)?(,[a-z]+(:[0-9.]+)?)*$/)
    .optional()
    .describe('GRPO rewards the prompt rows will feed (`format:0.5,answer:1`); with answer or judge, rows without a reference answer are problems'),
  vm: safeName.optional(),
  targetRows: z.object({ min: z.number().int().min(0), max: z.number().int().positive() }).optional(),
});

export const benchRecipeSchema = z.object({
  kind: z.literal('bench'),
  description: z.string().optional(),
  vm: safeName.optional(),
  minBytes: z.number().int().positive().default(1024),
  maxBytes: z.number().int().positive().default(256 * 1024 * 1024),
  iterations: z.number().int().positive().default(20).describe('Timed iterations per message size'),
  warmup: z.number().int().min(0).default(5).describe('Untimed iterations per message size before timing'),
});

export const recipeSchema = z.discriminatedUnion('kind', [
  trainRecipeSchema,
  deployRecipeSchema,
  datasetRecipeSchema,
  benchRecipeSchema,
]);

export const planSchema = z.object({
  dueHour: z.number().int().min(0).max(23).default(18).describe('Due hour for a day given without a time'),
  reminders: z
    .object({
      dayBeforeAt: clockTime.nullable().default('10:00').describe('Reminder on the day before the due day'),
      hoursBefore: z.array(z.number().positive()).default([2]).describe('Reminders this many hours before due'),
      atDue: z.boolean().default(true),
      overdueMorningAt: clockTime.nullable().default('09:30').describe('Overdue notice each working morning'),
    })
    .default({ dayBeforeAt: '10:00', hoursBefore: [2], atDue: true, overdueMorningAt: '09:30' }),
  digest: z
    .object({
      mondayAt: clockTime.nullable().default('09:30'),
      fridayAt: clockTime.nullable().default('17:00'),
    })
    .default({ mondayAt: '09:30', fridayAt: '17:00' }),
  items: z
    .array(
      z.object({
        number: z.string().regex(/^\d+(\.\d+)*$/),
        title: z.string().min(1),
        due: z.string().min(1).describe('As the team writes it: 周一, 周二、三, 2026-12-08 18:00'),
        owner: userId.optional(),
        vm: safeName.optional(),
        recipe: safeName.optional(),
        kind: z.enum(['train', 'deploy', 'train_deploy', 'dataset', 'other']).optional(),
      }),
    )
    .default([])
    .describe('Items to seed this week with'),
});

export const slackSchema = z.object({
  mode: z.enum(['socket', 'http', 'console']).default('socket').describe('console plays Slack in the terminal'),
  port: z.number().int().min(1).max(65535).default(3000).describe('HTTP receiver port'),
  channel: z.string().min(1).describe('Default channel for runs, reminders and digests (id such as C0123)'),
  progressEverySeconds: z.number().positive().default(60).describe('Minimum seconds between progress replies in a thread'),
  progressEverySteps: z.number().int().positive().optional().describe('Also post at most once per this many steps'),
});

export const configSchema = z
  .object({
    locale: z.enum(['zh-CN', 'en']).default('zh-CN'),
    timezone: z
      .string()
      .default('Asia/Shanghai')
      .refine(isKnownTimeZone, 'unknown IANA time zone (for example Asia/Shanghai)'),
    redisPrefix: z.string().regex(/^[a-zA-Z0-9:_-]+$/).default('trainops'),
    slack: slackSchema,
    team: teamSchema,
    vms: z.record(safeName, vmSchema).refine((vms) => Object.keys(vms).length > 0, 'define at least one VM'),
    recipes: z.record(safeName, recipeSchema).default({}),
    plan: planSchema.default(planSchema.parse({})),
    runs: z
      .object({
        lostAfterSeconds: z.number().positive().default(600).describe('Unreachable this long marks a run lost'),
        pollSeconds: z.number().positive().default(2).describe('How often the follower reads new events'),
        maxConcurrentPerWorker: z.number().int().positive().default(100),
      })
      .default({ lostAfterSeconds: 600, pollSeconds: 2, maxConcurrentPerWorker: 100 }),
  })
  .superRefine(
    (config, ctx) => {
      // A value that already failed the schema is not also reported as a dangling reference or a bad trainer option.
      const invalidPaths = new Set(ctx.issues.map((issue) => pathKey(issue.path ?? [])));
      for (const issue of [...findReferenceIssues(config), ...findHyperparameterIssues(config)]) {
        if (!invalidPaths.has(pathKey(issue.path))) ctx.addIssue({ code: 'custom', ...issue });
      }
    },
    // Runs even when other parts of the file fail the schema, so one pass reports both kinds of problem.
    { when: () => true },
  );

function pathKey(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isKnownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type VmConfig = z.infer<typeof vmSchema>;
export type Recipe = z.infer<typeof recipeSchema>;
export type TrainRecipe = z.infer<typeof trainRecipeSchema>;
export type DeployRecipe = z.infer<typeof deployRecipeSchema>;
export type DatasetRecipe = z.infer<typeof datasetRecipeSchema>;
export type BenchRecipe = z.infer<typeof benchRecipeSchema>;
export type OverrideSpec = z.infer<typeof overrideSchema>;
export type Role = z.infer<typeof roleSchema>;
export type Member = z.infer<typeof memberSchema>;
export type FailureClass = z.infer<typeof failureClassSchema>;
export type RestartPolicy = z.infer<typeof restartPolicySchema>;
export type Locale = Config['locale'];
