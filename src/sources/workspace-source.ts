/** @module sources/workspace-source
 * The source a workspace remembers (docs/data.md: "A workspace remembers its source; `run` uses it;
 * switching needs `--source`"): <workspace>/source.json holds the current source (its spec and the
 * parameters that define its data) and an append-only list of switches (time, from, to, by).
 * chooseSource turns the config (plus which fetch keys the user set) into the source to fetch and
 * says whether that is a switch; the caller (cli/) decides whether the switch was asked for.
 * A source's identity: synthetic → its generator parameters (seed, symbols, years, start: each
 * changes every value or the ticker set); dir:/zip: → the absolute path; kaggle → owner/slug;
 * yahoo → 'yahoo' (its tickers and start are remembered, not identity: the user names them). */
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Config } from '../core/config.js';
import { StockpipeError } from '../core/errors.js';
import { pathInside, realOutputPath, realPathOf, statOrNull, writeFileAtomic } from '../core/fs.js';
import type { Workspace } from '../core/workspace.js';
import { latestManifest } from './manifest.js';
import { syntheticSpec } from './synthetic.js';
import type { Manifest } from './types.js';

type FetchConfig = Config['fetch'];

/** The fetch settings remembered per source kind (the others keep their config value). */
const REMEMBERED: Record<string, readonly (keyof FetchConfig)[]> = {
  synthetic: ['seed', 'symbols', 'years', 'start'],
  yahoo: ['tickers', 'start'],
};

export interface CurrentSource {
  /** Identity key: what must match for data to be "the same source". */
  identity: string;
  /** The --source value, normalized (dir:/abs/path, kaggle:owner/slug, synthetic, yahoo). */
  spec: string;
  /** Remembered fetch settings of that kind (synthetic generator options, yahoo tickers). */
  params: Record<string, unknown>;
  /** When this identity became the workspace's source. */
  since: string;
}

export interface SourceSwitch {
  at: string;
  /** Null for the first source of the workspace. */
  from: string | null;
  to: string;
  /** The command that recorded it: fetch or ingest (a pipeline's fetch task is a fetch). */
  by: string;
}

export interface SourceRecord {
  format: 1;
  current: CurrentSource;
  history: SourceSwitch[];
}

/** <workspace>/source.json, or null when the workspace has none yet. */
export async function readSourceRecord(ws: Workspace): Promise<SourceRecord | null> {
  const path = ws.sourceRecord;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null; // a new workspace (or not a folder: the caller says so)
    throw err;
  }
  try {
    const r = JSON.parse(text) as SourceRecord;
    if (r.format !== 1 || typeof r.current?.identity !== 'string' || typeof r.current.spec !== 'string' || !Array.isArray(r.history)) throw new Error('missing format, current or history');
    return r;
  } catch (err) {
    throw new StockpipeError('SP_ERR_CONFIG_INVALID', `${path} is not a stockpipe source record: ${(err as Error).message}`, { hint: `Remove ${path}; the next fetch records the source it fetches.`, cause: err });
  }
}

const kindOf = (spec: string): string => (spec.includes(':') ? spec.slice(0, spec.indexOf(':')) : spec);

/** The normalized spec of a --source value: absolute paths, kaggle's dataset spelled out. */
export function normalizeSpec(spec: string, cfg: FetchConfig, cwd = process.cwd()): string {
  const kind = kindOf(spec);
  const arg = spec.slice(kind.length + 1);
  if ((kind === 'dir' || kind === 'zip') && arg !== '') return `${kind}:${resolve(cwd, arg)}`;
  if (kind === 'kaggle') return `kaggle:${arg !== '' ? arg : cfg.kaggle_dataset}`;
  return spec;
}

/** The identity of a source with these settings (see the module header). */
export function sourceIdentity(cfg: FetchConfig): string {
  const spec = normalizeSpec(cfg.source, cfg);
  if (spec === 'synthetic') return syntheticSpec({ seed: cfg.seed, symbols: cfg.symbols, years: cfg.years, start: cfg.start });
  if (kindOf(spec) === 'yahoo') return 'yahoo';
  return spec;
}

/** The identity of the data a manifest describes (its source_spec already spells it, but for yahoo's tickers). */
export function manifestIdentity(m: Manifest): string {
  return m.source === 'yahoo' ? 'yahoo' : m.source_spec;
}

function paramsOf(cfg: FetchConfig): Record<string, unknown> {
  return Object.fromEntries((REMEMBERED[kindOf(cfg.source)] ?? []).filter((k) => cfg[k] !== undefined).map((k) => [k, cfg[k]]));
}

/** What a workspace without source.json but with fetched data holds (workspaces made before it existed). */
function fromManifest(m: Manifest): CurrentSource {
  const params: Record<string, unknown> = {};
  let spec = m.source_spec;
  if (m.source === 'synthetic') {
    spec = 'synthetic';
    for (const kv of m.source_spec.slice('synthetic:'.length).split(',')) {
      const [k, v] = kv.split('=');
      if (k === 'start') params.start = v;
      else if (k === 'seed' || k === 'symbols' || k === 'years') params[k] = Number(v);
    }
  } else if (m.source === 'yahoo') {
    spec = 'yahoo';
    params.tickers = m.source_spec.slice('yahoo:'.length).split(',');
  }
  return { identity: manifestIdentity(m), spec, params, since: m.fetched_at };
}

/** The remembered source: source.json, else the newest fetched manifest, else null (a new workspace). */
export async function rememberedSource(ws: Workspace): Promise<CurrentSource | null> {
  const rec = await readSourceRecord(ws);
  if (rec !== null) return rec.current;
  if (!(await statOrNull(ws.rawRoot))?.isDirectory()) return null;
  try {
    return fromManifest(await latestManifest(ws));
  } catch (err) {
    if (err instanceof StockpipeError && err.code === 'SP_ERR_NO_RAW_DATA') return null;
    throw err;
  }
}

export interface SourceChoice {
  /** The fetch settings to use: the remembered source and parameters unless the user set others. */
  fetch: FetchConfig;
  identity: string;
  remembered: CurrentSource | null;
  /** The choice is another source than the remembered one (a switch, to be asked for). */
  switching: boolean;
}

/**
 * The source to fetch. `explicit` names the fetch keys the user set (flag, STOCKPIPE_* variable
 * or config file); every other remembered setting comes from the workspace, so a default never
 * replaces it. With nothing remembered, the config (and its defaults) decides.
 */
export async function chooseSource(ws: Workspace, cfg: FetchConfig, explicit: ReadonlySet<string>): Promise<SourceChoice> {
  const remembered = await rememberedSource(ws);
  const fetch: FetchConfig = { ...cfg };
  if (remembered !== null) {
    if (!explicit.has('source')) fetch.source = remembered.spec;
    if (kindOf(fetch.source) === kindOf(remembered.spec)) {
      for (const k of REMEMBERED[kindOf(remembered.spec)] ?? []) {
        if (!explicit.has(k) && remembered.params[k] !== undefined) (fetch as Record<string, unknown>)[k] = remembered.params[k];
      }
    }
  }
  fetch.source = normalizeSpec(fetch.source, fetch);
  const identity = sourceIdentity(fetch);
  return { fetch, identity, remembered, switching: remembered !== null && remembered.identity !== identity };
}

/** SP_ERR_SOURCE_MISMATCH: another source than the workspace's, without the switch being asked for. */
export function sourceMismatch(ws: Workspace, remembered: CurrentSource, identity: string, how: string): StockpipeError {
  return new StockpipeError('SP_ERR_SOURCE_MISMATCH', `workspace ${ws.root} holds data from '${remembered.identity}' (since ${remembered.since}); refusing to replace it with '${identity}' without an explicit switch`, {
    hint: `${how} Without it, drop the source settings (\`stockpipe run\` and \`stockpipe fetch\` use the remembered source) or use another --workspace.`,
  });
}

/** What to record for these fetch settings. */
export function sourceOf(fetch: FetchConfig): Omit<CurrentSource, 'since'> {
  return { identity: sourceIdentity(fetch), spec: normalizeSpec(fetch.source, fetch), params: paramsOf(fetch) };
}

/** What to record for the data a manifest describes (ingest of a fetched source). */
export function sourceOfManifest(m: Manifest): Omit<CurrentSource, 'since'> {
  const { since: _since, ...rest } = fromManifest(m);
  return rest;
}

/**
 * Records `next` as the workspace's source (atomically). `before` is what the workspace remembered
 * before the command ran (chooseSource's `remembered`): a first source or another identity appends
 * a switch to the history; the same identity with other remembered settings (yahoo tickers) only
 * updates them. Returns the switch appended, or null.
 */
export async function rememberSource(ws: Workspace, before: CurrentSource | null, next: Omit<CurrentSource, 'since'>, at: Date, by: string): Promise<SourceSwitch | null> {
  const rec = await readSourceRecord(ws);
  const same = before !== null && before.identity === next.identity;
  const current: CurrentSource = { ...next, since: same ? before.since : at.toISOString() };
  const entry: SourceSwitch | null = same ? null : { at: at.toISOString(), from: before?.identity ?? null, to: next.identity, by };
  if (rec !== null && entry === null && JSON.stringify(rec.current) === JSON.stringify(current)) return null;
  const record: SourceRecord = { format: 1, current, history: [...(rec?.history ?? []), ...(entry ? [entry] : [])] };
  await writeFileAtomic(ws.sourceRecord, `${JSON.stringify(record, null, 2)}\n`);
  return entry;
}

/**
 * Refuses (SP_ERR_USAGE) a user's output file (`export --out`, `features --as-of --out`) inside the
 * folder of the workspace's `dir:` source, symlinks resolved: `fetch` and `ingest` read every CSV
 * there, so an export written into it became source data, or replaced a symbol's own file (found by
 * probing: `export prices --symbols BB --out <source>/stocks/AA.csv`, then fetch and ingest, gave AA
 * the bars of BB). A workspace whose source record cannot be read is not checked here (its own
 * commands say what is wrong with it).
 */
export async function refuseSourceFolderOutput(ws: Workspace, out: string, flag = '--out'): Promise<void> {
  let src: CurrentSource | null;
  try {
    src = await rememberedSource(ws);
  } catch (err) {
    if (err instanceof StockpipeError) return;
    throw err;
  }
  if (src === null || kindOf(src.spec) !== 'dir') return;
  const root = src.spec.slice('dir:'.length);
  if (pathInside(await realPathOf(root), await realOutputPath(out)) === null) return;
  throw new StockpipeError('SP_ERR_USAGE', `${flag} ${out} lies in the folder of this workspace's source (${src.spec}), which fetch and ingest read: the file would become source data, or replace a symbol's own`, {
    hint: `Write the file outside ${root}, e.g. --out ./${basename(out)}.`,
  });
}
