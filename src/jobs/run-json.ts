/**
 * Builds the run.json a train run hands the trainer (docs/protocol.md): the recipe's
 * `hyperparameters`, then the person's overrides written to their `field`, then the
 * keys the bot owns, which always win.
 */
import type { TrainRecipe } from '../config/schema.js';
import type { OverrideValue } from './run-types.js';

export type RunJson = Record<string, unknown>;

export interface RunJsonInput {
  runId: string;
  recipe: TrainRecipe;
  /** Override name (as typed: `lr`) -> already validated value. */
  overrides: Record<string, OverrideValue>;
  /** Absolute run directory on the host: `<workdir>/runs/<id>`. */
  runDir: string;
  /** `latest`/undefined (resume from the newest checkpoint if any), `scratch`, or a checkpoint path. */
  resumeFrom?: string;
}

export class UnknownOverrideError extends Error {
  constructor(
    readonly override: string,
    readonly recipe: string,
  ) {
    super(`override "${override}" is not allowed by recipe ${recipe}`);
    this.name = 'UnknownOverrideError';
  }
}

export function buildRunJson(input: RunJsonInput, recipeName: string): RunJson {
  const { recipe } = input;
  const runJson: RunJson = { ...recipe.hyperparameters };

  for (const [name, value] of Object.entries(input.overrides)) {
    const spec = recipe.overrides[name];
    if (!spec) throw new UnknownOverrideError(name, recipeName);
    runJson[spec.field] = value;
  }

  if (recipe.stages && recipe.stages.length > 0) {
    runJson.stages = recipe.stages.map((stage) => ({
      ...stage.hyperparameters,
      stage: stage.stage,
      ...(stage.from === undefined ? {} : { from: stage.from }),
      ...(stage.dataset === undefined ? {} : { dataset: stage.dataset }),
      ...(stage.format === undefined ? {} : { format: stage.format }),
    }));
  }

  const owned: RunJson = {
    run_id: input.runId,
    stage: recipe.stages?.[0]?.stage ?? 'sft',
    model: recipe.model,
    dataset: recipe.dataset,
    output_dir: `${input.runDir}/output`,
    events_path: `${input.runDir}/events.jsonl`,
    resume: resumePolicy(input.resumeFrom),
  };
  if (recipe.format !== undefined) owned.format = recipe.format;
  else delete runJson.format;

  return { ...runJson, ...owned };
}

function resumePolicy(resumeFrom: string | undefined): string {
  if (resumeFrom === undefined || resumeFrom === 'latest') return 'auto';
  if (resumeFrom === 'scratch') return 'none';
  return resumeFrom;
}
