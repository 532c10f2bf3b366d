/** The import rules of ARCHITECTURE.md, checked on src/'s import graph (test/helpers/import-graph):
 * no import cycle between files or between folders, nothing imports cli/, core/ imports nothing
 * else from src/, only db/ imports @duckdb/node-api, and only core/zod imports zod. */
import { describe, expect, it } from 'vitest';
import { importCycles, importGraph, importsOf, sourceFiles } from './helpers/import-graph.js';

const files = sourceFiles();
const graph = importGraph();
const folder = (f: string): string => (f.includes('/') ? f.slice(0, f.indexOf('/')) : f);

/** folder → the other folders it imports, with one file-level example per edge. */
function folderGraph(): { graph: Map<string, string[]>; example: Map<string, string> } {
  const g = new Map<string, string[]>();
  const example = new Map<string, string>();
  for (const [f, targets] of graph) {
    const from = folder(f);
    if (!g.has(from)) g.set(from, []);
    for (const t of targets) {
      const to = folder(t);
      if (to === from) continue;
      if (!g.get(from)!.includes(to)) g.get(from)!.push(to);
      if (!example.has(`${from}→${to}`)) example.set(`${from}→${to}`, `${f} → ${t}`);
    }
  }
  return { graph: g, example };
}

describe('importCycles', () => {
  it.each([
    ['a chain', { a: ['b'], b: ['c'], c: [] }, []],
    ['two files', { a: ['b'], b: ['a'], c: ['a'] }, [['a', 'b']]],
    ['a self-import', { a: ['a'] }, [['a']]],
    ['a triangle and a pair', { a: ['b'], b: ['c'], c: ['a'], d: ['e'], e: ['d', 'a'] }, [['a', 'b', 'c'], ['d', 'e']]],
  ])('%s', (_name, g, want) => {
    expect(importCycles(new Map(Object.entries(g)))).toEqual(want);
  });
});

describe('src/ import graph', () => {
  it('reads the imports (the graph is not empty, and knows serve/app imports dashboard/routes)', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(graph.get('serve/app.ts')).toContain('dashboard/routes.ts');
  });

  it('has no cycle between files (type-only imports included)', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('has no cycle between folders (serve ↔ dashboard, etl ↔ sources, …)', () => {
    const { graph: g, example } = folderGraph();
    const cycles = importCycles(g).map((c) => c.flatMap((a) => c.filter((b) => g.get(a)!.includes(b)).map((b) => example.get(`${a}→${b}`)!)));
    expect(cycles).toEqual([]);
  });

  it.each([
    ['nothing outside cli/ imports cli/', (f: string, t: string) => folder(t) === 'cli' && folder(f) !== 'cli'],
    ['core/ imports nothing else from src/', (f: string, t: string) => folder(f) === 'core' && folder(t) !== 'core'],
  ])('%s', (_rule, broken) => {
    const offending = [...graph].flatMap(([f, targets]) => targets.filter((t) => broken(f, t)).map((t) => `${f} → ${t}`));
    expect(offending).toEqual([]);
  });

  it("only core/zod imports 'zod' (it sets zod up before any schema is made; the others take z from it)", () => {
    const offending = files.filter((f) => f !== 'core/zod.ts' && importsOf(f).some((e) => e.spec === 'zod' || e.spec.startsWith('zod/')));
    expect(offending).toEqual([]);
    expect(importsOf('core/zod.ts').map((e) => e.spec)).toContain('zod');
    expect(files.filter((f) => importsOf(f).some((e) => e.target === 'core/zod.ts')).length).toBeGreaterThan(10);
  });

  it('only db/ imports @duckdb/node-api (statically or with import())', () => {
    const offending = files.filter((f) => folder(f) !== 'db' && importsOf(f).some((e) => e.spec.startsWith('@duckdb/')));
    expect(offending).toEqual([]);
    expect(files.filter((f) => importsOf(f).some((e) => e.spec === '@duckdb/node-api')).length).toBeGreaterThan(0);
  });
});
