/** @module ml/gbdt/model-json
 * model.json for tree models (docs/model-format.md): deterministic writing (same model → the same
 * bytes; numbers in shortest round-trip form) and strict reading, where anything malformed throws
 * SP_ERR_MODEL_FORMAT naming the field. */
import { StockpipeError } from '../../core/errors.js';
import type { Aggregation, ModelKind, TargetTransform, TreeArrays, TreeModel } from './model-types.js';

export const MODEL_FORMAT = 'stockpipe-trees';
export const MODEL_FORMAT_VERSION = 1;
const KINDS: readonly ModelKind[] = ['gbdt', 'rf'];
const AGGREGATIONS: readonly Aggregation[] = ['sum', 'mean'];
const TRANSFORMS: readonly TargetTransform[] = ['identity', 'log1p', 'log'];
const TREE_KEYS = ['feature', 'threshold', 'left', 'right', 'value'] as const;

const num = (x: number): string => {
  if (!Number.isFinite(x)) throw new StockpipeError('SP_ERR_MODEL_FORMAT', `cannot write model.json: non-finite number ${x}`);
  return JSON.stringify(x);
};
const arr = (a: ArrayLike<number>): string => `[${Array.prototype.map.call(a, (x: number) => num(x)).join(',')}]`;

/** model.json text: top-level fields one per line, one tree per line, trailing newline. */
export function toJSON(model: TreeModel): string {
  const params = Object.keys(model.params)
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(model.params[k])}`)
    .join(',');
  // gain (optional, after the five scoring arrays) is written when the tree has it.
  const trees = model.trees.map((t) => `  {${TREE_KEYS.map((k) => `"${k}":${arr(t[k])}`).join(',')}${t.gain ? `,"gain":${arr(t.gain)}` : ''}}`);
  return [
    '{',
    ` "format": ${JSON.stringify(MODEL_FORMAT)},`,
    ` "format_version": ${MODEL_FORMAT_VERSION},`,
    ` "kind": ${JSON.stringify(model.kind)},`,
    ` "feature_names": ${JSON.stringify(model.featureNames)},`,
    ` "base_score": ${num(model.baseScore)},`,
    ` "aggregation": ${JSON.stringify(model.aggregation)},`,
    ` "nan_rule": "right",`,
    ` "target_transform": ${JSON.stringify(model.targetTransform)},`,
    ...(model.offset ? [` "offset": {"feature":${model.offset.feature},"transform":${JSON.stringify(model.offset.transform)}},`] : []),
    ` "params": {${params}},`,
    ` "trees": [${trees.length ? `\n${trees.join(',\n')}\n ` : ''}]`,
    '}',
    '',
  ].join('\n');
}

function bad(where: string, what: string): never {
  throw new StockpipeError('SP_ERR_MODEL_FORMAT', `${where}: ${what}`);
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function oneOf<T extends string>(where: string, field: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) bad(where, `${field} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')} (got ${JSON.stringify(v)})`);
  return v as T;
}

function numbers(where: string, path: string, v: unknown, integer: boolean): number[] {
  if (!Array.isArray(v)) bad(where, `${path} must be an array of numbers`);
  for (let i = 0; i < v.length; i++) {
    const x: unknown = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x) || (integer && !Number.isInteger(x))) bad(where, `${path}[${i}] must be a finite ${integer ? 'integer' : 'number'} (got ${JSON.stringify(x)})`);
  }
  return v as number[];
}

function readTree(where: string, k: number, v: unknown, nFeatures: number): TreeArrays {
  const p = `trees[${k}]`;
  if (!isObj(v)) bad(where, `${p} must be an object`);
  for (const key of TREE_KEYS) if (!(key in v)) bad(where, `${p}.${key} is missing`);
  const feature = numbers(where, `${p}.feature`, v.feature, true);
  const threshold = numbers(where, `${p}.threshold`, v.threshold, false);
  const left = numbers(where, `${p}.left`, v.left, true);
  const right = numbers(where, `${p}.right`, v.right, true);
  const value = numbers(where, `${p}.value`, v.value, false);
  const n = feature.length;
  if (n === 0) bad(where, `${p} has no nodes`);
  for (const key of ['threshold', 'left', 'right', 'value'] as const) {
    const len = (v[key] as unknown[]).length;
    if (len !== n) bad(where, `${p}.${key} has ${len} entries, feature has ${n}`);
  }
  const parents = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const f = feature[i]!;
    if (f === -1) {
      if (left[i] !== -1 || right[i] !== -1) bad(where, `${p} node ${i} is a leaf (feature -1) but has children ${left[i]}/${right[i]}`);
      continue;
    }
    if (f < 0 || f >= nFeatures) bad(where, `${p}.feature[${i}] = ${f} is out of range (model has ${nFeatures} features)`);
    for (const [side, c] of [['left', left[i]!], ['right', right[i]!]] as const) {
      if (c <= i || c >= n) bad(where, `${p}.${side}[${i}] = ${c} is out of range (must be in ${i + 1}..${n - 1})`);
      if (parents[c]! > 0) bad(where, `${p} node ${c} has more than one parent`);
      parents[c] = 1;
    }
  }
  for (let i = 1; i < n; i++) if (parents[i] === 0) bad(where, `${p} node ${i} is unreachable`);
  const tree: TreeArrays = { feature: Int32Array.from(feature), threshold: Float64Array.from(threshold), left: Int32Array.from(left), right: Int32Array.from(right), value: Float64Array.from(value) };
  // Optional (models written before it have none): split gains, informational.
  if ('gain' in v && v.gain !== undefined) {
    const gain = numbers(where, `${p}.gain`, v.gain, false);
    if (gain.length !== n) bad(where, `${p}.gain has ${gain.length} entries, feature has ${n}`);
    if (gain.some((g) => g < 0)) bad(where, `${p}.gain has a negative entry`);
    tree.gain = Float64Array.from(gain);
  }
  return tree;
}

/** Parses and validates model.json (text or an already parsed value); `where` names it in errors. */
export function fromJSON(input: unknown, where = 'model.json'): TreeModel {
  let json: unknown = input;
  if (typeof input === 'string') {
    try {
      json = JSON.parse(input);
    } catch (err) {
      throw new StockpipeError('SP_ERR_MODEL_FORMAT', `${where} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  if (!isObj(json)) bad(where, 'the top level must be a JSON object');
  if (json.format !== MODEL_FORMAT) bad(where, `format must be ${JSON.stringify(MODEL_FORMAT)} (got ${JSON.stringify(json.format)})`);
  if (json.format_version !== MODEL_FORMAT_VERSION) bad(where, `format_version ${JSON.stringify(json.format_version)} is not supported (this reader knows ${MODEL_FORMAT_VERSION})`);
  const kind = oneOf(where, 'kind', json.kind, KINDS);
  const aggregation = oneOf(where, 'aggregation', json.aggregation, AGGREGATIONS);
  oneOf(where, 'nan_rule', json.nan_rule, ['right']);
  const targetTransform = oneOf(where, 'target_transform', json.target_transform, TRANSFORMS);
  const names = json.feature_names;
  if (!Array.isArray(names) || names.length === 0 || !names.every((s) => typeof s === 'string')) bad(where, 'feature_names must be a non-empty array of strings');
  if (new Set(names).size !== names.length) bad(where, 'feature_names has duplicates');
  if (typeof json.base_score !== 'number' || !Number.isFinite(json.base_score)) bad(where, `base_score must be a finite number (got ${JSON.stringify(json.base_score)})`);
  if (!isObj(json.params)) bad(where, 'params must be an object');
  for (const [k, v] of Object.entries(json.params)) if (v !== null && !['number', 'string', 'boolean'].includes(typeof v)) bad(where, `params.${k} must be a number, string, boolean or null`);
  if (!Array.isArray(json.trees)) bad(where, 'trees must be an array');
  if (aggregation === 'mean' && json.trees.length === 0) bad(where, 'aggregation "mean" needs at least one tree');
  const trees = json.trees.map((t, k) => readTree(where, k, t, names.length));
  let offset: TreeModel['offset'] = null;
  if (json.offset !== undefined && json.offset !== null) {
    const o = json.offset;
    if (!isObj(o)) bad(where, 'offset must be an object {feature, transform}');
    if (typeof o.feature !== 'number' || !Number.isInteger(o.feature) || o.feature < 0 || o.feature >= names.length) bad(where, `offset.feature must be a feature index below ${names.length} (got ${JSON.stringify(o.feature)})`);
    offset = { feature: o.feature, transform: oneOf(where, 'offset.transform', o.transform, ['identity', 'log1p'] as const) };
  }
  const model: TreeModel = { kind, featureNames: names as string[], baseScore: json.base_score, aggregation, targetTransform, params: json.params as TreeModel['params'], trees };
  if (offset) model.offset = offset;
  return model;
}
