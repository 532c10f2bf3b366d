/** @module registry/alias-kinds
 * Which model kinds an alias takes (docs/models.md: "an alias only ever points at a model of its kind"):
 * `champion` takes volume models (gbdt, rf, polyreg, naive; what GET /predict serves),
 * `forecast_champion` forecast models (what `stockpipe forecast` reads); any other alias takes the
 * kind family of the first model it ever pointed at (its first history row), any kind while new.
 * Pure: the store (store.ts setAlias) looks up the first kind and enforces the rule on every move,
 * so no caller (CLI, API, pipelines, --force) can break it. */
import { StockpipeError } from '../core/errors.js';
import type { ModelKind } from './types.js';

/** The two model families: a volume model answers /predict, a forecast model the day-ahead forecast. */
export type KindFamily = 'volume' | 'forecast';

/** The alias of the day-ahead model `stockpipe forecast` reads, the daily pipeline retrains and monitoring judges. */
export const FORECAST_ALIAS = 'forecast_champion';

/** Aliases whose family is fixed whatever their history. */
export const FIXED_ALIAS_FAMILIES: Readonly<Record<string, KindFamily>> = { champion: 'volume', [FORECAST_ALIAS]: 'forecast' };

const FAMILY_KINDS: Record<KindFamily, string> = { volume: 'gbdt, rf, polyreg, naive', forecast: 'forecast' };

export function kindFamily(kind: ModelKind | string): KindFamily {
  return kind === 'forecast' ? 'forecast' : 'volume';
}

/** The alias a promotion names when none is given: the family's champion (`champion` for a volume model, `forecast_champion` for a day-ahead one). */
export function championAliasOf(kind: ModelKind | string): string {
  return kindFamily(kind) === 'forecast' ? FORECAST_ALIAS : 'champion';
}

/** The family `alias` takes and why, or null when it takes any kind (a new, non-fixed alias). */
export function aliasFamily(alias: string, firstKind: ModelKind | null): { family: KindFamily; why: string } | null {
  const fixed = FIXED_ALIAS_FAMILIES[alias];
  if (fixed !== undefined) return { family: fixed, why: `'${alias}' always takes ${fixed} models` };
  if (firstKind === null) return null;
  const family = kindFamily(firstKind);
  return { family, why: `'${alias}' first pointed at a ${firstKind} model, so it takes ${family} models` };
}

/** SP_ERR_PROMOTE_KIND when `alias` does not take a model of `model.kind` (whoever asks, forced or not). */
export function assertAliasTakes(alias: string, model: { id: string; kind: ModelKind | string }, firstKind: ModelKind | null): void {
  const rule = aliasFamily(alias, firstKind);
  if (rule === null || rule.family === kindFamily(model.kind)) return;
  throw new StockpipeError('SP_ERR_PROMOTE_KIND', `cannot point '${alias}' at ${model.id}: it is a ${model.kind} model${model.kind === kindFamily(model.kind) ? '' : ` (${kindFamily(model.kind)})`} and ${rule.why} (${FAMILY_KINDS[rule.family]})`, {
    hint: `Promote a ${rule.family} model to '${alias}'${model.kind === 'forecast' ? " (a forecast model goes to 'forecast_champion')" : rule.family === 'forecast' ? " (a volume model goes to 'champion')" : ''}; --force does not override the kind.`,
  });
}
