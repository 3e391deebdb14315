import { suggestName } from './suggest.js';

/**
 * Cross-reference checks of the config: names used in one section that another section
 * must define (VMs, recipes, team members, earlier stages). They read the config as
 * plain data and check each value where they use it, so they also run on a file whose
 * other parts fail the schema, and one run of the loader reports both kinds of problem.
 * A reference is checked only when the section it points into can be read, so one
 * broken section does not turn every reference to it into a second error.
 */
export interface ReferenceIssue {
  path: (string | number)[];
  message: string;
}

type Data = Record<string, unknown>;

/** Lists every reference in `config` (raw YAML data or a parsed Config) that names nothing defined. */
export function findReferenceIssues(config: unknown): ReferenceIssue[] {
  if (!isObject(config)) return [];
  const issues: ReferenceIssue[] = [];
  const members = readMembers(config.team);
  const vmNames = isObject(config.vms) ? new Set(Object.keys(config.vms)) : undefined;
  const recipes = isObject(config.recipes) ? config.recipes : undefined;

  const checkMember = (path: (string | number)[], id: unknown): void => {
    if (members && typeof id === 'string' && !members.has(id)) {
      const suggestion = suggestName(id, [...members.keys()]);
      const hint = suggestion === undefined ? '' : `; did you mean ${suggestion} (${members.get(suggestion)})?`;
      issues.push({ path, message: `${id} is not in team.members${hint}` });
    }
  };
  const checkVm = (path: (string | number)[], name: unknown): void => {
    if (vmNames && typeof name === 'string' && !vmNames.has(name)) {
      issues.push({ path, message: `unknown VM "${name}"; define it under vms or use one of: ${listOf(vmNames)}` });
    }
  };

  const oncall = isObject(config.team) && isObject(config.team.oncall) ? config.team.oncall : undefined;
  if (oncall && Array.isArray(oncall.rotation)) {
    oncall.rotation.forEach((id, index) => checkMember(['team', 'oncall', 'rotation', index], id));
  }

  if (isObject(config.vms)) {
    for (const [name, vm] of Object.entries(config.vms)) {
      if (isObject(vm)) checkMember(['vms', name, 'owner'], vm.owner);
    }
  }

  if (recipes) {
    for (const [name, recipe] of Object.entries(recipes)) {
      if (!isObject(recipe)) continue;
      checkVm(['recipes', name, 'vm'], recipe.vm);
      issues.push(...deployAfterIssues(name, recipe, recipes));
      issues.push(...stageIssues(name, recipe));
    }
  }

  const items = isObject(config.plan) && Array.isArray(config.plan.items) ? config.plan.items : [];
  items.forEach((item: unknown, index) => {
    if (!isObject(item)) return;
    const path = ['plan', 'items', index];
    checkMember([...path, 'owner'], item.owner);
    checkVm([...path, 'vm'], item.vm);
    if (recipes && typeof item.recipe === 'string' && !(item.recipe in recipes)) {
      issues.push({ path: [...path, 'recipe'], message: unknownRecipe(item.recipe, recipes) });
    }
  });

  return issues;
}

/** Checks that `deployAfter` names a recipe of kind deploy. */
function deployAfterIssues(name: string, recipe: Data, recipes: Data): ReferenceIssue[] {
  const target = recipe.deployAfter;
  if (typeof target !== 'string') return [];
  const path = ['recipes', name, 'deployAfter'];
  const deployed = recipes[target];

  if (!(target in recipes)) {
    const deployNames = Object.keys(recipes).filter((other) => isObject(recipes[other]) && recipes[other].kind === 'deploy');
    const message = `unknown recipe "${target}"; ${didYouMean(target, deployNames)}define a deploy recipe under recipes or use one of: ${listOf(deployNames)}`;
    return [{ path, message }];
  }
  // A target whose kind is missing or misspelt already fails the schema at its own path.
  if (isObject(deployed) && typeof deployed.kind === 'string' && deployed.kind !== 'deploy') {
    return [{ path, message: `recipe "${target}" is a ${deployed.kind} recipe; deployAfter needs a recipe of kind deploy` }];
  }
  return [];
}

/**
 * Checks that each chained stage's `from` names an earlier stage by its `stage` value
 * (sft, dpo, grpo) or by its index, which is how the trainer resolves it.
 */
function stageIssues(name: string, recipe: Data): ReferenceIssue[] {
  if (!Array.isArray(recipe.stages)) return [];
  const issues: ReferenceIssue[] = [];
  const earlier: string[] = [];

  recipe.stages.forEach((stage: unknown, index) => {
    if (!isObject(stage)) return;
    const from = stage.from;
    if (typeof from === 'string' && !earlier.includes(from)) {
      const choices = earlier.length > 0 ? `use one of: ${earlier.join(', ')}` : 'the first stage starts from the base model, so remove from';
      issues.push({ path: ['recipes', name, 'stages', index, 'from'], message: `"${from}" is not an earlier stage; ${choices}` });
    }
    earlier.push(String(index));
    if (typeof stage.stage === 'string') earlier.push(stage.stage);
  });
  return issues;
}

/** Reads team members as a map from user id to display name. */
function readMembers(team: unknown): Map<string, string> | undefined {
  if (!isObject(team) || !Array.isArray(team.members)) return undefined;
  const members = new Map<string, string>();
  for (const member of team.members as unknown[]) {
    if (isObject(member) && typeof member.id === 'string') members.set(member.id, typeof member.name === 'string' ? member.name : member.id);
  }
  return members;
}

function unknownRecipe(name: string, recipes: Data): string {
  return `unknown recipe "${name}"; define it under recipes or use one of: ${listOf(Object.keys(recipes))}`;
}

/** Returns `did you mean X? ` for the name closest to `typed`, or an empty string when none is close. */
function didYouMean(typed: string, names: readonly string[]): string {
  const suggestion = suggestName(typed, names);
  return suggestion === undefined ? '' : `did you mean ${suggestion}? Otherwise `;
}

function listOf(names: Iterable<string>): string {
  const list = [...names];
  return list.length > 0 ? list.join(', ') : '(none defined)';
}

function isObject(value: unknown): value is Data {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
