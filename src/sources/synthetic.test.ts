import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTradingDay } from '../core/calendar.js';
import { silentProgress } from '../core/progress.js';
import { createRng } from '../core/rng.js';
import {
  META_HEADER,
  PRICE_HEADER,
  estimateSyntheticRows,
  generateSynthetic,
  resolveSyntheticOptions,
  syntheticSource,
} from './synthetic.js';
import type { FetchContext } from './types.js';
import { Workspace } from '../core/workspace.js';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'sp-synthetic-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Python-style float text: String() plus '.0' on whole numbers (what pandas writes). */
function pyFloat(x: number): string {
  const s = String(x);
  return /^-?\d+$/.test(s) ? `${s}.0` : s;
}

async function hashTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(path.slice(dir.length + 1), createHash('sha256').update(await readFile(path)).digest('hex'));
  }
  return out;
}

interface Scan {
  symbols: Map<string, 'stock' | 'etf'>;
  rows: number;
  emptyRows: string[];
  negativeAdjRows: number;
  negativeAdjSymbols: Set<string>;
  zeroOpen: number;
  zeroVolume: number;
  megaVolume: number;
  oneRowFiles: number;
  headerOnlyFiles: number;
  floatVolumeFiles: number;
  bomFiles: number;
  crlfFiles: number;
  malformed: string[];
  dashTickers: number;
  adjDiffers: number;
  problems: string[];
  metaSymbols: Set<string>;
  metaLines: string[];
}

/** Reads a generated folder the way a careful reader would and counts every quirk. */
async function scan(root: string): Promise<Scan> {
  const s: Scan = {
    symbols: new Map(), rows: 0, emptyRows: [], negativeAdjRows: 0, negativeAdjSymbols: new Set(), zeroOpen: 0,
    zeroVolume: 0, megaVolume: 0, oneRowFiles: 0, headerOnlyFiles: 0, floatVolumeFiles: 0, bomFiles: 0, crlfFiles: 0,
    malformed: [], dashTickers: 0, adjDiffers: 0, problems: [], metaSymbols: new Set(), metaLines: [],
  };
  for (const asset of ['stocks', 'etfs'] as const) {
    for (const name of (await readdir(join(root, asset))).sort()) {
      const symbol = name.replace(/\.csv$/, '');
      s.symbols.set(symbol, asset === 'etfs' ? 'etf' : 'stock');
      if (!/^[A-Z]{1,5}(-[A-Z])?$/.test(symbol)) s.problems.push(`bad ticker ${symbol}`);
      if (symbol.includes('-')) s.dashTickers++;
      let text = (await readFile(join(root, asset, name))).toString('latin1');
      if (text.startsWith('\xef\xbb\xbf')) {
        s.bomFiles++;
        text = text.slice(3);
      }
      if (text.includes('\r\n')) {
        s.crlfFiles++;
        if (text.replace(/\r\n/g, '').includes('\r') || /[^\r]\n/.test(text)) s.problems.push(`${name}: mixed line ends`);
        text = text.replace(/\r\n/g, '\n');
      }
      const lines = text.split('\n');
      if (lines.pop() !== '') s.problems.push(`${name}: no final newline`);
      if (lines[0] !== PRICE_HEADER) s.problems.push(`${name}: header ${lines[0]}`);
      const data = lines.slice(1);
      s.rows += data.length;
      if (data.length === 0) s.headerOnlyFiles++;
      if (data.length === 1) s.oneRowFiles++;
      let prevDate = '';
      let floatVolumes = 0;
      let last: string[] | undefined;
      data.forEach((line, i) => {
        const f = line.split(',');
        const date = f[0]!;
        if (date <= prevDate) s.problems.push(`${name}:${i + 2} dates not ascending`);
        prevDate = date;
        if (f.length !== 7) {
          s.malformed.push(`${asset}/${name}:${i + 2}`);
          return;
        }
        if (f.slice(1).every((v) => v === '')) {
          s.emptyRows.push(`${symbol} ${line}`);
          if (isTradingDay(date)) s.problems.push(`${name}: empty row on trading day ${date}`);
          return;
        }
        if (!isTradingDay(date)) s.problems.push(`${name}: ${date} is no trading day`);
        const [o, h, l, c, a] = f.slice(1, 6).map(Number) as [number, number, number, number, number];
        for (const txt of f.slice(1, 6)) {
          const x = Number(txt);
          if (Math.fround(x) !== x || pyFloat(x) !== txt) s.problems.push(`${name}: price text ${txt}`);
        }
        const volText = f[6]!;
        if (!/^\d+(\.0)?$/.test(volText)) s.problems.push(`${name}: volume ${volText}`);
        if (volText.endsWith('.0')) floatVolumes++;
        const v = Number(volText);
        if (a < 0) {
          s.negativeAdjRows++;
          s.negativeAdjSymbols.add(symbol);
        }
        if (o === 0) s.zeroOpen++;
        else if (h < Math.max(o, c) || l > Math.min(o, c)) s.problems.push(`${name}: high/low ${line}`);
        if (v === 0) s.zeroVolume++;
        if (v > 2 ** 31) s.megaVolume++;
        if (a !== c) s.adjDiffers++;
        last = f;
      });
      if (last !== undefined && last[4] !== last[5]) s.problems.push(`${name}: last Adj Close ≠ Close`);
      if (floatVolumes > 0 && floatVolumes !== data.length - s.malformed.filter((m) => m.includes(`/${name}:`)).length - data.filter((d) => d.endsWith(',,,,,,')).length) {
        s.problems.push(`${name}: float volumes in part of the file`);
      }
      if (floatVolumes > 0) s.floatVolumeFiles++;
    }
  }
  const meta = (await readFile(join(root, 'symbols_valid_meta.csv'), 'utf8')).split('\n');
  if (meta.pop() !== '') s.problems.push('metadata: no final newline');
  if (meta[0] !== META_HEADER) s.problems.push(`metadata header ${meta[0]}`);
  s.metaLines = meta.slice(1);
  for (const line of s.metaLines) s.metaSymbols.add(line.split(',')[1]!);
  return s;
}

function expectAllQuirks(s: Scan): void {
  expect(s.problems).toEqual([]);
  expect(s.emptyRows.length).toBeGreaterThanOrEqual(1);
  for (const e of s.emptyRows) expect(e).toMatch(/^\S+ \d{4}-\d{2}-\d{2},,,,,,$/);
  expect(s.negativeAdjSymbols.size).toBe(1);
  expect(s.negativeAdjRows).toBeGreaterThanOrEqual(1);
  expect(s.negativeAdjRows).toBeLessThanOrEqual(5);
  expect(s.zeroOpen).toBeGreaterThanOrEqual(1);
  expect(s.zeroVolume).toBeGreaterThanOrEqual(1);
  expect(s.megaVolume).toBeGreaterThanOrEqual(1);
  expect(s.oneRowFiles).toBeGreaterThanOrEqual(1);
  expect(s.headerOnlyFiles).toBe(1);
  expect(s.floatVolumeFiles).toBeGreaterThanOrEqual(1);
  expect(s.bomFiles).toBe(1);
  expect(s.crlfFiles).toBe(1);
  expect(s.malformed).toHaveLength(1);
  expect(s.dashTickers).toBeGreaterThanOrEqual(1);
  expect(s.adjDiffers).toBeGreaterThan(0);
  const etfs = [...s.symbols.values()].filter((a) => a === 'etf').length;
  expect(etfs / s.symbols.size).toBeGreaterThan(0.15);
  expect(etfs / s.symbols.size).toBeLessThan(0.35);
  // About a third of the symbols lack metadata; some metadata rows have no file.
  const missing = [...s.symbols.keys()].filter((sym) => !s.metaSymbols.has(sym)).length;
  expect(missing / s.symbols.size).toBeGreaterThan(0.25);
  expect(missing / s.symbols.size).toBeLessThan(0.42);
  const orphans = [...s.metaSymbols].filter((sym) => !s.symbols.has(sym));
  expect(orphans.some((sym) => sym.includes('$'))).toBe(true);
  expect(orphans.some((sym) => sym.includes('.'))).toBe(true);
  expect(s.metaLines.some((l) => /^Y,[^,]+,"[^"]*, [^"]*",/.test(l))).toBe(true); // a quoted name with a comma
}

describe('generateSynthetic', () => {
  it('is byte-identical for the same seed and differs for another', async () => {
    const opts = { seed: 42, symbols: 20, years: 2, start: '2010-01-04' };
    const a = await generateSynthetic(join(scratch, 'det-a'), opts);
    await generateSynthetic(join(scratch, 'det-b'), opts);
    const [ha, hb] = await Promise.all([hashTree(join(scratch, 'det-a')), hashTree(join(scratch, 'det-b'))]);
    expect(ha.size).toBe(21);
    expect([...ha.entries()].sort()).toEqual([...hb.entries()].sort());
    for (const f of a.files) expect(f.sha256).toBe(ha.get(f.path));
    await generateSynthetic(join(scratch, 'det-c'), { ...opts, seed: 43 });
    const hc = await hashTree(join(scratch, 'det-c'));
    expect([...hc.entries()].sort()).not.toEqual([...ha.entries()].sort());
  });

  it('has every real-data quirk at --symbols 20', async () => {
    const dir = join(scratch, 'small');
    const result = await generateSynthetic(dir, { symbols: 20, years: 3 });
    const s = await scan(dir);
    expectAllQuirks(s);
    expect(s.symbols.size).toBe(20);
    expect(result.rows).toBe(s.rows);
    expect(result.files.find((f) => f.path === 'symbols_valid_meta.csv')?.rows).toBe(s.metaLines.length);
    expect(result.files.map((f) => f.path)).toEqual(result.files.map((f) => f.path).sort());
  });

  it('has every quirk at the default size and the rows estimateSyntheticRows expects', async () => {
    const dir = join(scratch, 'default');
    const result = await generateSynthetic(dir, {});
    const s = await scan(dir);
    expectAllQuirks(s);
    expect(s.symbols.size).toBe(500);
    const expected = estimateSyntheticRows(resolveSyntheticOptions({}));
    expect(Math.abs(result.rows - expected) / expected).toBeLessThan(0.08);
    const total = result.files.reduce((n, f) => n + f.size, 0);
    expect(result.bytes).toBe(total);
  });

  it('rejects bad options with SP_ERR_CONFIG_INVALID', async () => {
    for (const bad of [{ symbols: 0 }, { symbols: 1.5 }, { years: -1 }, { start: '2010-02-30' }, { seed: Number.NaN }]) {
      await expect(generateSynthetic(join(scratch, 'bad'), bad)).rejects.toMatchObject({ code: 'SP_ERR_CONFIG_INVALID' });
    }
  });

  it('treats undefined options as defaults', () => {
    expect(resolveSyntheticOptions({ seed: undefined, symbols: 20 })).toEqual({ seed: 42, symbols: 20, years: 10, start: '2010-01-04' });
  });

  it('works for a single symbol', async () => {
    const r = await generateSynthetic(join(scratch, 'one'), { symbols: 1, years: 0.5 });
    expect(r.files).toHaveLength(2);
  });
});

describe('syntheticSource', () => {
  const ctxFor = (workspace: string, signal?: AbortSignal): FetchContext => ({
    ws: new Workspace(workspace),
    log: pino({ level: 'silent' }),
    progress: silentProgress,
    now: () => new Date('2024-05-01T12:00:00Z'),
    env: {},
    homeDir: workspace,
    checksum: false,
    ...(signal ? { signal } : {}),
  });

  it('writes a manifest and serves the second fetch from cache', async () => {
    const workspace = join(scratch, 'ws');
    const opts = { seed: 7, symbols: 20, years: 1, start: '2015-01-02' };
    const first = await syntheticSource(opts).fetch(ctxFor(workspace));
    expect(first.cached).toBe(false);
    const m = first.manifest;
    expect(m.source).toBe('synthetic');
    expect(m.source_spec).toBe('synthetic:seed=7,symbols=20,years=1,start=2015-01-02');
    expect(m.source_version).toContain(m.source_spec);
    expect(m.layout).toBe('dir');
    expect(m.root).toBe(join(workspace, 'raw', 'synthetic', 'data'));
    expect(m.fetched_at).toBe('2024-05-01T12:00:00.000Z');
    expect(m.files).toHaveLength(21);
    expect(m.bytes).toBe(m.files.reduce((n, f) => n + f.size, 0));
    const hashes = await hashTree(m.root);
    for (const f of m.files) {
      expect(f.sha256).toBe(hashes.get(f.path));
      const st = await stat(join(m.root, f.path));
      expect(f.size).toBe(st.size);
      expect(f.mtime_ms).toBe(st.mtimeMs);
      const lines = (await readFile(join(m.root, f.path), 'utf8')).split(/\r?\n/).length - 2;
      expect(f.rows).toBe(lines);
    }
    expect(JSON.parse(await readFile(first.manifestPath, 'utf8'))).toEqual(m);
    expect(await readdir(join(workspace, 'raw', 'synthetic'))).toEqual(['data', 'manifest.json']);

    const second = await syntheticSource(opts).fetch(ctxFor(workspace));
    expect(second.cached).toBe(true);
    expect(second.manifest).toEqual(m);
    const st = await stat(join(m.root, m.files[0]!.path));
    expect(st.mtimeMs).toBe(m.files[0]!.mtime_ms); // not rewritten

    // Other options → regenerated in place of the old folder.
    const third = await syntheticSource({ ...opts, seed: 8 }).fetch(ctxFor(workspace));
    expect(third.cached).toBe(false);
    expect(third.manifest.source_version).not.toBe(m.source_version);
    expect(await readdir(join(workspace, 'raw', 'synthetic'))).toEqual(['data', 'manifest.json']);

    // A missing file → regenerated.
    const victim = third.manifest.files[1]!;
    await rm(join(third.manifest.root, victim.path));
    const fourth = await syntheticSource({ ...opts, seed: 8 }).fetch(ctxFor(workspace));
    expect(fourth.cached).toBe(false);
    expect(fourth.manifest.files).toEqual(third.manifest.files.map((f) => ({ ...f, mtime_ms: expect.any(Number) })));
  });

  it('stops mid-way on abort and leaves nothing half-written', async () => {
    const workspace = join(scratch, 'ws-abort-mid');
    const controller = new AbortController();
    const ctx = ctxFor(workspace, controller.signal);
    ctx.progress = { start() {}, update(done) { if (done >= 5) controller.abort(); }, stop() {} };
    await expect(syntheticSource({ symbols: 200, years: 1 }).fetch(ctx)).rejects.toMatchObject({ name: 'AbortError' });
    expect(await readdir(join(workspace, 'raw', 'synthetic'))).toEqual([]);
  });

  it('leaves nothing half-written when aborted', async () => {
    const workspace = join(scratch, 'ws-abort');
    const controller = new AbortController();
    controller.abort();
    await expect(syntheticSource({ symbols: 20, years: 1 }).fetch(ctxFor(workspace, controller.signal))).rejects.toMatchObject({ name: 'AbortError' });
    expect(await readdir(join(workspace, 'raw', 'synthetic'))).toEqual([]);
  });
});

describe('core/rng (as the generator uses it)', () => {
  it('repeats for a seed and spreads draws sensibly', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(42 + 2 ** 32); // seeds beyond 32 bits stay distinct
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c.next())).not.toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const n = 200_000;
    const z = createRng(1).fillNormal(new Float64Array(n));
    const mean = z.reduce((s, v) => s + v, 0) / n;
    const variance = z.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
    const r = createRng(2);
    const t = Array.from({ length: n }, () => r.studentT(4));
    const kurtosis = t.reduce((s, v) => s + v ** 4, 0) / n / (t.reduce((s, v) => s + v * v, 0) / n) ** 2;
    expect(kurtosis).toBeGreaterThan(4); // heavier tails than a normal (3)
    const ints = new Set(Array.from({ length: 1000 }, () => r.int(7)));
    expect([...ints].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
