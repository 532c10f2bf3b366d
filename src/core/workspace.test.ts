import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expandHome, layout, toWorkspace, Workspace } from './workspace.js';

const ROOT = join(sep, 'data', 'sp-ws');
const ws = new Workspace(ROOT, { threads: 3, memoryLimit: '2GB' });

describe('Workspace paths', () => {
  // Every path the workspace gives, next to the name it has on disk (the README's "Workspace layout").
  const cases: [string, string, string][] = [
    ['source record', ws.sourceRecord, 'source.json'],
    ['raw root', ws.rawRoot, 'raw'],
    ['raw folder of a source', ws.rawDir('synthetic'), 'raw/synthetic'],
    ['manifest of a source', ws.manifest('dir'), 'raw/dir/manifest.json'],
    ['tables folder', ws.tablesDir, 'tables'],
    ['prices view', ws.tableDir('prices'), 'tables/prices'],
    ['prices head', ws.tableHead('prices'), 'tables/prices/_snapshot.json'],
    ['prices report', ws.pricesReport, 'tables/prices.report.json'],
    ['tableReport(prices)', ws.tableReport('prices'), 'tables/prices.report.json'],
    ['features view', ws.tableDir('features'), 'tables/features'],
    ['features head', ws.tableHead('features'), 'tables/features/_snapshot.json'],
    ['store folder', ws.storeDir, 'store'],
    ['prices store', ws.storeTableDir('prices'), 'store/prices'],
    ['features store', ws.storeTableDir('features'), 'store/features'],
    ['validation folder', ws.validationDir, 'validation'],
    ['current prices reference', ws.currentReference('prices'), 'validation/reference.json'],
    ['current features reference', ws.currentReference('features'), 'validation/reference-features.json'],
    ['versioned prices reference', ws.versionedReference('prices', 3), 'validation/reference-v3.json'],
    ['versioned features reference', ws.versionedReference('features', 1), 'validation/reference-features-v1.json'],
    ['latest validation', ws.latestValidation, 'validation/latest.json'],
    ['validation report', ws.validationReport('20260102T030405000Z'), 'validation/report-20260102T030405000Z.json'],
    ['features report', ws.featuresReport, 'tables/features.report.json'],
    ['models folder', ws.modelsDir, 'models'],
    ['model folder', ws.modelDir('gbdt-1'), 'models/gbdt-1'],
    ['model file', ws.modelFile('gbdt-1', 'model.json'), 'models/gbdt-1/model.json'],
    ['model card', ws.modelFile('gbdt-1', 'card.md'), 'models/gbdt-1/card.md'],
    ['runs folder', ws.runsDir, 'runs'],
    ['run folder', ws.runDir('r1'), 'runs/r1'],
    ['task log', ws.taskLog('r1', 'ingest'), 'runs/r1/ingest.log'],
    ['pipeline folder', ws.pipelineDir, 'pipeline'],
    ['run lock', ws.runLock, 'pipeline/run.lock'],
    ['hash memo', ws.hashMemo, 'pipeline/hash-memo.json'],
    ['scheduler state', ws.schedulerState, 'pipeline/scheduler-state.json'],
    ['scheduler runs', ws.schedulerRuns, 'pipeline/scheduler-runs.json'],
    ['scheduler log', ws.schedulerLog('daily', '20260102T030405000Z'), 'pipeline/scheduler/daily-20260102T030405000Z.log'],
    ['registry', ws.registryPath, 'stockpipe.db'],
    ['tmp folder', ws.tmpDir, 'tmp'],
    ['DuckDB spill', ws.duckdbTempDir, 'tmp/duckdb'],
    ['feature reader spill', ws.duckdbReaderTempDir, 'tmp/duckdb-reader'],
  ];
  it.each(cases)('%s', (_name, path, rel) => {
    expect(path).toBe(join(ROOT, ...rel.split('/')));
    expect(ws.contains(path)).toBe(true);
    expect(ws.relative(path)).toBe(rel);
  });

  it('the relative layout names the same files', () => {
    expect(ws.path(layout.tableHead('prices'))).toBe(ws.tableHead('prices'));
    expect(ws.path(layout.storeTableDir('features'))).toBe(ws.storeTableDir('features'));
    expect(ws.path(layout.modelFile('m', 'model.json'))).toBe(ws.modelFile('m', 'model.json'));
    expect(ws.path(layout.taskLog('r', 't'))).toBe(ws.taskLog('r', 't'));
  });

  it('resolves a relative root; paths outside stay absolute', () => {
    expect(new Workspace('rel-ws').root).toBe(join(process.cwd(), 'rel-ws'));
    expect(ws.contains(join(sep, 'data', 'other', 'x'))).toBe(false);
    expect(ws.contains(join(ROOT, '..', 'sp-ws2'))).toBe(false);
    expect(ws.relative(join(sep, 'elsewhere', 'm'))).toBe(join(sep, 'elsewhere', 'm'));
    expect(ws.path(join(sep, 'elsewhere', 'm'))).toBe(join(sep, 'elsewhere', 'm'));
  });
});

describe('Workspace resources', () => {
  const cases: [string, Workspace, { tempDir: string; memoryLimit: string; threads: number }][] = [
    ['the command settings', ws, { tempDir: join(ROOT, 'tmp', 'duckdb'), memoryLimit: '2GB', threads: 3 }],
    ['threads 0 → at least one', new Workspace(ROOT, { threads: 0, memoryLimit: '1GB' }), { tempDir: join(ROOT, 'tmp', 'duckdb'), memoryLimit: '1GB', threads: 1 }],
    ['defaults', new Workspace(ROOT), { tempDir: join(ROOT, 'tmp', 'duckdb'), memoryLimit: '1GB', threads: 1 }],
  ];
  it.each(cases)('duckdbSettings: %s', (_n, w, want) => {
    expect(w.duckdbSettings()).toEqual(want);
  });

  it('narrowed and reader settings', () => {
    expect(ws.duckdbSettings({ threads: 1 })).toEqual({ tempDir: ws.duckdbTempDir, memoryLimit: '2GB', threads: 1 });
    expect(ws.readerDuckdbSettings()).toEqual({ tempDir: ws.duckdbReaderTempDir, memoryLimit: '2GB', threads: 1 });
  });

  it('toWorkspace keeps a Workspace and wraps a folder', () => {
    expect(toWorkspace(ws)).toBe(ws);
    expect(toWorkspace(ROOT).registryPath).toBe(ws.registryPath);
  });
});

// The layout has one owner: a path join onto a workspace-layout name anywhere else in src/ fails here.
describe('no workspace paths joined by hand', () => {
  const SRC = join(dirname(fileURLToPath(import.meta.url)), '..');
  const NAMES = ['source.json', 'raw', 'tables', 'store', 'validation', 'features', 'models', 'runs', 'pipeline', 'stockpipe.db', 'tmp', 'prices.parquet', 'features.parquet', 'manifest.json', 'run.lock', 'hash-memo.json', 'scheduler-state.json', 'scheduler-runs.json', '_snapshot.json'];
  const JOINED = new RegExp(`(?:join|resolve)\\([^)]*'(?:${NAMES.map((n) => n.replace('.', '\\.')).join('|')})'`);
  const LITERAL = /['`](?:tables|store|features|models|validation|runs|raw|pipeline)\/[\w${}.-]+/;

  async function sources(dir: string): Promise<string[]> {
    const out: string[] = [];
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory() && e.name !== 'client') out.push(...await sources(p));
      else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(p);
    }
    return out;
  }

  it('src/ joins no layout name outside core/workspace.ts', async () => {
    const hits: string[] = [];
    for (const file of await sources(SRC)) {
      if (file.endsWith(join('core', 'workspace.ts'))) continue;
      const lines = (await readFile(file, 'utf8')).split('\n');
      lines.forEach((line, i) => {
        const code = line.replace(/^\s*(\*|\/\/).*$/, '');
        const lit = LITERAL.exec(code);
        if (JOINED.test(code) || (lit !== null && !lit[0].endsWith('.js'))) hits.push(`${relative(SRC, file)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(hits).toEqual([]);
  });
});

describe('expandHome', () => {
  it('reads ~ and a leading ~/ as the home folder, and leaves every other path as written', () => {
    const home = join(sep, 'home', 'ann');
    expect(expandHome('~', home)).toBe(home);
    expect(expandHome('~/data/sp', home)).toBe(join(home, 'data', 'sp'));
    for (const p of ['./stockpipe-data', '/srv/sp', 'data/~', '~ann/data', '~data']) expect(expandHome(p, home)).toBe(p);
  });
});
