#!/usr/bin/env node
/** @module tools/build-cli
 * Bundles the command line into dist/bin/ (main.js, task-main.js, serve-worker.js and their shared
 * chunks): src/ and the pure-JS packages every command loads at start (zod and @duckdb/node-api
 * above all: hundreds of small modules between them) in a few ES modules. Native and server-side
 * packages (DuckDB's bindings, better-sqlite3, Fastify, BullMQ, …) stay in node_modules, loaded as
 * before. A command starts ≈ 0.04 s sooner than from tsc's dist/cli/ (which keeps working: the
 * bundle is the same code). The worker threads (the ETL's feature-worker.js and parse-worker.js,
 * gbdt's hist-worker.js, tune's trial-worker.js) are bundled beside them; run from tsc's dist/,
 * they load their scripts from there.
 * Run by `npm run build`, `npm install` (prepare), `npm test` and `npm run bench`. */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
await build({
  // The worker threads too (core/worker-script finds them here): each loaded @duckdb/node-api's
  // CommonJS files (the features worker) or its modules one by one from dist/ at its start.
  entryPoints: {
    ...Object.fromEntries(['main', 'task-main', 'serve-worker'].map((n) => [n, join(root, 'src', 'cli', `${n}.ts`)])),
    'feature-worker': join(root, 'src', 'features', 'feature-worker.ts'),
    'parse-worker': join(root, 'src', 'etl', 'parse-worker.ts'),
    'hist-worker': join(root, 'src', 'ml', 'gbdt', 'hist-worker.ts'),
    'trial-worker': join(root, 'src', 'ml', 'tune', 'trial-worker.ts'),
  },
  outdir: out,
  bundle: true, splitting: true, format: 'esm', platform: 'node', target: 'node20',
  external: [...external, '@duckdb/node-bindings'],
  // @duckdb/node-api is CommonJS: its require() calls need one in an ES module.
  banner: { js: "import { createRequire as __spCreateRequire } from 'node:module'; const require = __spCreateRequire(import.meta.url);" },
  plugins: [zodEnglishOnly],
  sourcemap: true, logLevel: 'warning',
});
// The build's id (core/build): a hash of every script of dist/bin/, in name order. The runner puts
// it in each job it queues; a worker of another build refuses the job.
const hash = createHash('sha256');
for (const f of readdirSync(out).filter((n) => n.endsWith('.js')).sort()) hash.update(`${f}\0`).update(readFileSync(join(out, f))).update('\0');
writeFileSync(join(out, 'build.json'), `${JSON.stringify({ id: hash.digest('hex').slice(0, 16) })}\n`);
if (!process.argv.includes('--quiet')) process.stdout.write(`dist/bin: the command line bundled\n`);
