import type { Config, Recipe } from '../config/schema.js';

/**
 * Names for the examples in help and usage messages, taken from the loaded config so
 * that a copied example works: for each recipe kind the first recipe and its VM (else
 * the first VM), and the first team member. Placeholders stand in where the config
 * has no such recipe.
 */
export interface ExampleNames {
  readonly recipe: string;
  readonly vm: string;
  readonly deployRecipe: string;
  readonly deployVm: string;
  readonly datasetRecipe: string;
  readonly datasetVm: string;
  readonly benchVm: string;
  readonly member: string;
}

export function exampleNames(config: Pick<Config, 'recipes' | 'vms' | 'team'>): ExampleNames {
  const train = firstOfKind(config, 'train');
  const deploy = firstOfKind(config, 'deploy');
  const dataset = firstOfKind(config, 'dataset');
  const bench = firstOfKind(config, 'bench');
  return {
    recipe: train.recipe,
    vm: train.vm,
    deployRecipe: deploy.recipe,
    deployVm: deploy.vm,
    datasetRecipe: dataset.recipe,
    datasetVm: dataset.vm,
    benchVm: bench.vm,
    member: config.team.members[0]?.name ?? 'someone',
  };
}

function firstOfKind(config: Pick<Config, 'recipes' | 'vms'>, kind: Recipe['kind']): { recipe: string; vm: string } {
  const found = Object.entries(config.recipes).find(([, recipe]) => recipe.kind === kind);
  const ownVm = found?.[1].vm;
  const vm = ownVm !== undefined && Object.hasOwn(config.vms, ownVm) ? ownVm : Object.keys(config.vms)[0];
  return { recipe: found?.[0] ?? '<recipe>', vm: vm ?? '<vm>' };
}
