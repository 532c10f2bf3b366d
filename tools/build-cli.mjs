#!/usr/bin/env node
/** @module tools/build-cli
 * Bundles the command line into dist/bin/: each entry (main, task-main, serve-worker) one CommonJS
 * file `<entry>.bundle.js` holding src/ and the pure-JS packages every command loads at start (zod
 * and @duckdb/node-api above all: hundreds of small modules between them), run by a three-line
 * `<entry>.js` through tools/bundle-loader with V8's code cache of the bundle, made here by running
 * the entry once (`--version`). Native and server-side packages (DuckDB's bindings, better-sqlite3,
 * Fastify, BullMQ, …) stay in node_modules, loaded as before. A command starts ≈ 0.1 s sooner than
 * from tsc's dist/cli/ (which keeps working: the bundle is the same code). The worker threads (the ETL's
 * feature-worker.js and parse-worker.js, gbdt's hist-worker.js, tune's trial-worker.js) are bundled
 * beside them; run from tsc's dist/, they load their scripts from there.
 * Run by `npm run build`, `npm install` (prepare), `npm test` and `npm run bench`. */
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
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
mkdirSync(out, { recursive: true });
// dist/bin/ is CommonJS: V8's code cache (tools/bundle-loader) is for scripts, not ES modules (node 20).
writeFileSync(join(out, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
/** Each entry one CommonJS file: `import.meta.url` is the entry's own file in dist/bin/ (the paths
 * the code finds beside it: package.json two folders up, task-main.js, the ETL workers, build.json). */
const common = (name) => ({
  bundle: true, format: 'cjs', platform: 'node', target: 'node20',
  // import() of a bundled module becomes its lazy init, of a package a require(): the code cache's
  // script has no loader for import() (every package loaded here has a CommonJS entry).
  supported: { 'dynamic-import': false },
  external: [...external, '@duckdb/node-bindings'],
  define: { 'import.meta.url': '__spImportMetaUrl', __SP_BUNDLE__: JSON.stringify(name) },
  banner: { js: `var __spImportMetaUrl = require('node:url').pathToFileURL(require('node:path').join(__dirname, ${JSON.stringify(`${name}.js`)})).href;` },
  plugins: [zodEnglishOnly],
  sourcemap: true, logLevel: 'warning',
});
const ENTRIES = { main: join(root, 'src', 'cli', 'main.ts'), 'task-main': join(root, 'src', 'cli', 'task-main.ts'), 'serve-worker': join(root, 'src', 'cli', 'serve-worker.ts') };
// The worker threads too (core/worker-script finds them here): each loaded @duckdb/node-api's
// CommonJS files (the features worker) or its modules one by one from dist/ at its start.
const WORKERS = {
  'feature-worker': join(root, 'src', 'features', 'feature-worker.ts'),
  'parse-worker': join(root, 'src', 'etl', 'parse-worker.ts'),
  'hist-worker': join(root, 'src', 'ml', 'gbdt', 'hist-worker.ts'),
  'trial-worker': join(root, 'src', 'ml', 'tune', 'trial-worker.ts'),
};
await Promise.all([
  ...Object.entries(ENTRIES).map(([name, entry]) => build({ ...common(name), entryPoints: [entry], outfile: join(out, `${name}.bundle.js`) })),
  ...Object.entries(WORKERS).map(([name, entry]) => build({ ...common(name), entryPoints: [entry], outfile: join(out, `${name}.js`) })),
]);
for (const name of Object.keys(ENTRIES)) {
  // The bundle runs wrapped in a function (tools/bundle-loader): its `#!` line would not parse there.
  const file = join(out, `${name}.bundle.js`);
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^#!.*/, '//'));
  writeFileSync(join(out, `${name}.js`), `#!/usr/bin/env node\n'use strict';\n// tools/build-cli: runs ${name}.bundle.js (tools/bundle-loader).\nrequire('./bundle-loader.js')(__dirname, ${JSON.stringify(name)});\n`);
  chmodSync(join(out, `${name}.js`), 0o755);
}
copyFileSync(join(root, 'tools', 'bundle-loader.cjs'), join(out, 'bundle-loader.js'));
// The build's id (core/build): a hash of every script of dist/bin/, in name order. The runner puts
// it in each job it queues; a worker of another build refuses the job.
const hash = createHash('sha256');
for (const f of readdirSync(out).filter((n) => n.endsWith('.js')).sort()) hash.update(`${f}\0`).update(readFileSync(join(out, f))).update('\0');
writeFileSync(join(out, 'build.json'), `${JSON.stringify({ id: hash.digest('hex').slice(0, 16) })}\n`);
// V8's code cache of each bundle, made by running the entry once (`--version`: the program's
// modules loaded and its start run). serve-worker runs only under `serve --workers`' primary: it
// has none and compiles from source (a server starts once). A cache V8 rejects is not used.
for (const name of ['main', 'task-main']) {
  const r = spawnSync(process.execPath, [join(out, `${name}.js`), '--version'], { env: { ...process.env, STOCKPIPE_WRITE_CODE_CACHE: '1' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dist/bin/${name}.js --version failed (${r.status}): ${r.stderr}`);
}
if (!process.argv.includes('--quiet')) process.stdout.write(`dist/bin: the command line bundled\n`);
