import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StockpipeError } from '../core/errors.js';
import { openRegistry, type ModelKind, type Registry } from './store.js';
import { parseTag, parseTagFilter, searchModels, tagModel, tagsOf } from './tags.js';

let ws: string;
let reg: Registry;
let t = 0;

async function register(id: string, kind: ModelKind): Promise<void> {
  const dir = join(ws, 'models', id);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), '{}');
  reg.registerModel({ model_id: id, kind, path: dir, metrics: { [kind]: { rmse_log: 0.5 } }, test_slice: null });
}

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (err instanceof StockpipeError) return err.code;
    throw err;
  }
  return 'no error';
};

beforeEach(async () => {
  ws = await mkdtemp(join(tmpdir(), 'sp-tags-'));
  t = Date.parse('2024-01-01T00:00:00Z');
  reg = openRegistry(ws, { now: () => new Date((t += 1000)) });
  await register('gbdt-a', 'gbdt');
  await register('gbdt-b', 'gbdt');
  await register('forecast-c', 'forecast');
  reg.setAlias('champion', 'gbdt-a', 'manual');
});
afterEach(async () => {
  reg.close();
  await rm(ws, { recursive: true, force: true });
});

describe('model tags', () => {
  it('parses key=value (a value may hold "=") and refuses malformed ones with SP_ERR_TAG_INVALID', () => {
    expect(parseTag('stage=staging')).toEqual({ key: 'stage', value: 'staging' });
    expect(parseTag('note=a=b')).toEqual({ key: 'note', value: 'a=b' });
    expect(parseTagFilter('stage')).toEqual({ key: 'stage', value: null });
    for (const bad of ['stage', '=x', '1a=x', 'a b=x', 'k=', `k=${'x'.repeat(257)}`, 'k=a\nb', 'k=a\ud800b', 'k=a\udc00', 'k=\ud83d']) expect(codeOf(() => parseTag(bad)), bad).toBe('SP_ERR_TAG_INVALID');
    expect(parseTag('k=ché😀')).toEqual({ key: 'k', value: 'ché😀' }); // a surrogate pair is one character
    expect(codeOf(() => parseTagFilter('bad key'))).toBe('SP_ERR_TAG_INVALID');
  });

  it('counts a value\'s length in characters: 256 emoji fit, 257 are refused naming 257', () => {
    expect(parseTag(`k=${'😀'.repeat(256)}`).value).toBe('😀'.repeat(256));
    expect(() => parseTag(`k=${'😀'.repeat(257)}`)).toThrow(/the value has 257 characters \(at most 256\)/);
  });

  it('sets, replaces and removes tags in one transaction, by id or alias', () => {
    expect(tagModel(reg, 'champion', { stage: 'staging', owner: 'ana' }).tags).toEqual({ owner: 'ana', stage: 'staging' });
    const after = tagModel(reg, 'gbdt-a', { stage: 'production' }, ['owner', 'absent']);
    expect(after).toEqual({ model_id: 'gbdt-a', tags: { stage: 'production' }, set: ['stage'], removed: ['owner'] });
    expect(codeOf(() => tagModel(reg, 'nope', { a: 'b' }))).toBe('SP_ERR_MODEL_NOT_FOUND');
    // a bad tag among good ones changes nothing
    expect(codeOf(() => tagModel(reg, 'gbdt-a', { ok: 'x', 'bad key': 'y' }))).toBe('SP_ERR_TAG_INVALID');
    expect(tagsOf(reg, ['gbdt-a', 'gbdt-b']).get('gbdt-a')).toEqual({ stage: 'production' });
    expect(tagsOf(reg, ['gbdt-a', 'gbdt-b']).has('gbdt-b')).toBe(false);
  });

  it('searches by tag, tag value, kind, alias and free text over id, alias and tags', () => {
    tagModel(reg, 'gbdt-a', { stage: 'production' });
    tagModel(reg, 'gbdt-b', { stage: 'staging', dataset: 'kaggle-v3' });
    const ids = (s: Parameters<typeof searchModels>[1]): string[] => searchModels(reg, s).models.map((m) => m.id);
    expect(ids({})).toEqual(['forecast-c', 'gbdt-b', 'gbdt-a']);
    expect(ids({ tag: 'stage' })).toEqual(['gbdt-b', 'gbdt-a']);
    expect(ids({ tag: 'stage=staging' })).toEqual(['gbdt-b']);
    expect(ids({ kind: 'forecast' })).toEqual(['forecast-c']);
    expect(ids({ alias: 'champion' })).toEqual(['gbdt-a']);
    expect(ids({ q: 'CHAMP' })).toEqual(['gbdt-a']);
    expect(ids({ q: 'kaggle' })).toEqual(['gbdt-b']);
    expect(ids({ q: 'gbdt' })).toEqual(['gbdt-b', 'gbdt-a']);
    expect(ids({ q: '%' })).toEqual([]);
    expect(ids({ q: 'gbdt', tag: 'stage=production' })).toEqual(['gbdt-a']);
    const page = searchModels(reg, { limit: 1, offset: 1 });
    expect([page.total, page.models.map((m) => m.id)]).toEqual([3, ['gbdt-b']]);
    expect(searchModels(reg, { tag: 'dataset' }).models[0]!.tags).toEqual({ dataset: 'kaggle-v3', stage: 'staging' });
  });
});
