#!/usr/bin/env node
/** @module tools/build-cli
 * Bundles the command line into dist/bin/: src/ and the pure-JS packages every command loads at
 * start (zod and @duckdb/node-api above all: hundreds of small modules between them). Native and
 * server-side packages (DuckDB's bindings, better-sqlite3, Fastify, BullMQ, …) stay in node_modules,
 * loaded as before. Two builds of the same code:
 * - ES module chunks (main-esm.js, serve-worker.js, …): what `serve` runs. A server starts once,
 *   and its request path is faster in them than in one file (esbuild's lazy module wrappers turn
 *   module constants into variables: BENCHMARKS.md, "Command start from V8's code cache").
 * - One CommonJS file per entry (main.bundle.cjs, task-main.bundle.cjs), run by tools/bundle-loader
 *   compiled from V8's code cache of it, made here by running the entry once (`--version`): every
 *   other command, and every pipeline task's process. Node 20 keeps no compiled code for ES modules,
 *   so this starts a command ≈ 0.05 s sooner.
 * main.js picks one of the two by its arguments; task-main.js always runs its bundle. tsc's
 * dist/cli/ keeps working (the same code). The worker threads (the ETL's feature-worker.js and
 * parse-worker.js, gbdt's hist-worker.js, tune's trial-worker.js) are ES modules bundled beside them
 * (core/worker-script finds them here); run from tsc's dist/, they load their scripts from there.
 * Run by `npm run build`, `npm install` (prepare), `npm test` and `npm run bench`. */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bin');
const BUNDLED = new Set(['zod', '@duckdb/node-api', 'commander', 'pino', 'croner', 'cli-progress', 'yauzl']);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = Object.keys(pkg.dependencies).filter((d) => !BUNDLED.has(d)).flatMap((d) => [d, `${d}/*`]);
/** zod's `z.locales` (error messages in some 50 languages, half of zod's code) reduced to English,
 * the one zod's own messages use and the only one stockpipe sets: every command parsed and compiled
 * the other 370 KB at its start. */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    // A module of that name beside zod's locales (it exists only here): the bundle names it by its
    // path relative to the project, so the build is the same wherever the project lies (core/build).
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (/[\\/]zod[\\/]v4[\\/](classic[\\/]external|core[\\/]index)\.js$/.test(args.importer) ? { path: join(dirname(args.importer), '..', 'locales', 'english-only.js') } : undefined));
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]english-only\.js$/ }, () => ({ contents: "export { default as en } from './en.js';", loader: 'js' }));
  },
};
rmSync(out, { recursive: true, force: true });
const EXTERNAL = [...external, '@duckdb/node-bindings'];
await build({
  // The worker threads too (core/worker-script finds them here): each loaded @duckdb/node-api's
  // CommonJS files (the features worker) or its modules one by one from dist/ at its start.
  entryPoints: {
    'main-esm': join(root, 'src', 'cli', 'main.ts'),
    'serve-worker': join(root, 'src', 'cli', 'serve-worker.ts'),
    'feature-worker': join(root, 'src', 'features', 'feature-worker.ts'),
    'parse-worker': join(root, 'src', 'etl', 'parse-worker.ts'),
    'hist-worker': join(root, 'src', 'ml', 'gbdt', 'hist-worker.ts'),
    'trial-worker': join(root, 'src', 'ml', 'tune', 'trial-worker.ts'),
  },
  outdir: out,
  bundle: true, splitting: true, format: 'esm', platform: 'node', target: 'node20',
  external: EXTERNAL,
  // @duckdb/node-api is CommonJS: its require() calls need one in an ES module.
  banner: { js: "import { createRequire as __spCreateRequire } from 'node:module'; const require = __spCreateRequire(import.meta.url);" },
  plugins: [zodEnglishOnly],
  sourcemap: true, logLevel: 'warning',
});
// One CommonJS file per entry, for V8's code cache (tools/bundle-loader). `import.meta.url` is the
// bundle's own file in dist/bin/, beside the ES module build: the paths the code finds next to it
// (package.json two folders up, main.js, task-main.js, the worker threads, build.json) are the same.
const BUNDLES = { main: join(root, 'src', 'cli', 'main.ts'), 'task-main': join(root, 'src', 'cli', 'task-main.ts') };
await Promise.all(Object.entries(BUNDLES).map(([name, entry]) => build({
  entryPoints: [entry], outfile: join(out, `${name}.bundle.cjs`),
  bundle: true, format: 'cjs', platform: 'node', target: 'node20',
  // import() of a bundled module becomes its lazy init, of a package a require(): a script compiled
  // by vm.Script has no loader for import() (every package loaded here has a CommonJS entry).
  supported: { 'dynamic-import': false },
  external: EXTERNAL,
  define: { 'import.meta.url': '__spImportMetaUrl' },
  banner: { js: "var __spImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [zodEnglishOnly],
  sourcemap: true, logLevel: 'warning',
})));
for (const name of Object.keys(BUNDLES)) {
  // The bundle runs wrapped in a function (tools/bundle-loader): its `#!` line would not parse there.
  const file = join(out, `${name}.bundle.cjs`);
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^#!.*/, '//'));
}
copyFileSync(join(root, 'tools', 'bundle-loader.cjs'), join(out, 'bundle-loader.cjs'));
/** An entry of dist/bin/: a small ES module saying what it runs, then `body`. */
function writeEntry(name, what, body) {
  const file = join(out, `${name}.js`);
  writeFileSync(file, `#!/usr/bin/env node\n// tools/build-cli: ${what}\nimport { createRequire } from 'node:module';\n\nconst runBundle = (name) => createRequire(import.meta.url)('./bundle-loader.cjs')(name);\n${body}\n`);
  chmodSync(file, 0o755);
}
writeEntry('main', "the command line. `serve` runs the ES module build (main-esm.js and its chunks); every other\n// command main.bundle.cjs, compiled from V8's code cache by bundle-loader.cjs.",
  "if (process.argv.slice(2).includes('serve')) (await import('./main-esm.js')).runMain();\nelse runBundle('main').runMain();");
writeEntry('task-main', "a pipeline task's process: task-main.bundle.cjs, compiled from V8's code cache by bundle-loader.cjs.", "runBundle('task-main');");
// The build's id (core/build): a hash of every script of dist/bin/, in name order. The runner puts
// it in each job it queues; a worker of another build refuses the job.
const hash = createHash('sha256');
for (const f of readdirSync(out).filter((n) => n.endsWith('.js') || n.endsWith('.cjs')).sort()) hash.update(`${f}\0`).update(readFileSync(join(out, f))).update('\0');
writeFileSync(join(out, 'build.json'), `${JSON.stringify({ id: hash.digest('hex').slice(0, 16) })}\n`);
// V8's code cache of each bundle, made by running its entry once (`--version`: the program's modules
// loaded and its start run). A cache V8 rejects (another node, other V8 flags) is not used.
for (const name of Object.keys(BUNDLES)) {
  const r = spawnSync(process.execPath, [join(out, `${name}.js`), '--version'], { env: { ...process.env, STOCKPIPE_WRITE_CODE_CACHE: '1' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dist/bin/${name}.js --version failed (${r.status}): ${r.stderr}`);
}
if (!process.argv.includes('--quiet')) process.stdout.write(`dist/bin: the command line bundled\n`);
