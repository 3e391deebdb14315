import type { Config, Recipe } from '../config/schema.js';

/**
 * Names for the examples in help and usage messages, taken from the loaded config so
 * that a copied example works: for each recipe kind the first recipe and its VM (else
 * the first VM), and the first team member. Placeholders stand in where the config
 * has no such recipe.
 */
export type ExampleNames = {
  readonly recipe: string;
  readonly vm: string;
  readonly deployRecipe: string;
  readonly deployVm: string;
  readonly datasetRecipe: string;
  readonly datasetVm: string;
  readonly benchVm: string;
  readonly member: string;
};

/** Stand-ins for a missing recipe or VM, in the reader's language (`<配方>`, `<虚拟机>`). */
export interface ExamplePlaceholders {
  readonly recipe: string;
  readonly vm: string;
}

const ENGLISH_PLACEHOLDERS: ExamplePlaceholders = { recipe: '<recipe>', vm: '<VM>' };

export function exampleNames(config: Pick<Config, 'recipes' | 'vms' | 'team'>, placeholders: ExamplePlaceholders = ENGLISH_PLACEHOLDERS): ExampleNames {
  const train = firstOfKind(config, 'train', placeholders);
  const deploy = firstOfKind(config, 'deploy', placeholders);
  const dataset = firstOfKind(config, 'dataset', placeholders);
  const bench = firstOfKind(config, 'bench', placeholders);
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

function firstOfKind(config: Pick<Config, 'recipes' | 'vms'>, kind: Recipe['kind'], placeholders: ExamplePlaceholders): { recipe: string; vm: string } {
  const found = Object.entries(config.recipes).find(([, recipe]) => recipe.kind === kind);
  const ownVm = found?.[1].vm;
  const vm = ownVm !== undefined && Object.hasOwn(config.vms, ownVm) ? ownVm : Object.keys(config.vms)[0];
  return { recipe: found?.[0] ?? placeholders.recipe, vm: vm ?? placeholders.vm };
}
