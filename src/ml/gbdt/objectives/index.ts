/** @module ml/gbdt/objectives
 * Objective registry by name: the trainer and the worker kernels look objectives up here, so a
 * new objective is one file plus one line below. */
import type { Objective } from './objective.js';
import { l2 } from './l2.js';
import { poisson } from './poisson.js';
import { tweedie, TWEEDIE_DEFAULT_POWER } from './tweedie.js';

export type { Objective } from './objective.js';
export { TWEEDIE_DEFAULT_POWER } from './tweedie.js';

/** Each objective by name; tweedie is made for its variance power. */
const OBJECTIVES = { l2: () => l2, poisson: () => poisson, tweedie: (power: number) => tweedie(power) } as const satisfies Record<string, (power: number) => Objective>;
export type ObjectiveName = keyof typeof OBJECTIVES;
export const OBJECTIVE_NAMES = Object.keys(OBJECTIVES) as ObjectiveName[];

export function isObjectiveName(name: string): name is ObjectiveName {
  return Object.hasOwn(OBJECTIVES, name);
}

/** The objective called `name` (names are validated with the training params); `tweediePower`: tweedie's ρ. */
export function getObjective(name: string, tweediePower: number = TWEEDIE_DEFAULT_POWER): Objective {
  if (!isObjectiveName(name)) throw new Error(`unknown objective ${JSON.stringify(name)}`);
  return OBJECTIVES[name](tweediePower);
}
