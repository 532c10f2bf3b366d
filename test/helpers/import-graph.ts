/** @module test/helpers/import-graph
 * The import graph of src/ (static imports, `export … from`, string-literal `import()`), read with
 * the TypeScript parser, and its cycles (strongly connected components). Used by the layering test
 * and runnable by hand: `npx tsx test/helpers/import-graph.ts` prints every cycle. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

export interface ImportEdge {
  /** The specifier as written ('../core/errors.js', 'fastify'). */
  spec: string;
  /** The imported src/ file (posix, relative to src/), or null for a package or node: module. */
  target: string | null;
  typeOnly: boolean;
}

/** Every .ts file under src/ (posix, relative to src/), tests and the browser bundle excluded. */
export function sourceFiles(root = SRC): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (p !== join(root, 'dashboard', 'client')) walk(p);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) {
        out.push(relative(root, p).split(sep).join('/'));
      }
    }
  };
  walk(root);
  return out.sort();
}

const parsed = new Map<string, ImportEdge[]>();

/** The imports of one file (`file` relative to `root`), parsed once. */
export function importsOf(file: string, root = SRC): ImportEdge[] {
  const abs = join(root, file);
  const known = parsed.get(abs);
  if (known !== undefined) return known;
  const sf = ts.createSourceFile(abs, readFileSync(abs, 'utf8'), ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const add = (spec: string, typeOnly: boolean): void => {
    let target: string | null = null;
    if (spec.startsWith('.')) target = relative(root, resolve(dirname(abs), spec.replace(/\.js$/, '.ts'))).split(sep).join('/');
    edges.push({ spec, target, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const c = node.importClause;
      const typeOnly = c !== undefined && (c.isTypeOnly || (c.name === undefined && c.namedBindings !== undefined && ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.length > 0 && c.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] !== undefined && ts.isStringLiteralLike(node.arguments[0])) {
      add(node.arguments[0].text, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  parsed.set(abs, edges);
  return edges;
}

/** file → the src/ files it imports (type-only imports included: a cycle of types is still a cycle). */
export function importGraph(root = SRC): Map<string, string[]> {
  const files = sourceFiles(root);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const f of files) graph.set(f, [...new Set(importsOf(f, root).map((e) => e.target).filter((t): t is string => t !== null && known.has(t)))]);
  return graph;
}

/** The graph's cycles: each strongly connected component with more than one file (or a self-import), sorted. */
export function importCycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm, iterative enough for a few hundred files (recursion depth = longest path).
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) strong(v);
  return out.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const graph = importGraph();
  const cycles = importCycles(graph);
  for (const c of cycles) {
    process.stdout.write(`cycle (${c.length} files):\n`);
    for (const f of c) process.stdout.write(`  ${f} → ${(graph.get(f) ?? []).filter((t) => c.includes(t)).join(', ')}\n`);
  }
  process.stdout.write(`${cycles.length} cycle(s) in ${graph.size} files\n`);
}
