#!/usr/bin/env node
/** @module tools/build-dashboard
 * Builds the dashboard page into dist/dashboard/: app.js (esbuild bundle of
 * src/dashboard/client/main.ts with uPlot, minified, ES2020), app.css (uPlot's CSS + ours) and
 * index.html (copied). Prints the sizes. Run by `npm run build` and `npm install` (prepare). */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src', 'dashboard');
const out = join(root, 'dist', 'dashboard');
await mkdir(out, { recursive: true });

async function writeAtomic(file, data) {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

const result = await build({
  entryPoints: [join(src, 'client', 'main.ts')],
  bundle: true, minify: true, format: 'esm', target: 'es2020', platform: 'browser',
  write: false, legalComments: 'none', logLevel: 'warning', outfile: join(out, 'app.js'),
});
for (const f of result.outputFiles) await writeAtomic(f.path, f.contents);
const uplotCss = await readFile(join(root, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'), 'utf8');
const ours = await readFile(join(src, 'client', 'style.css'), 'utf8');
const css = (await build({ stdin: { contents: `${uplotCss}\n${ours}`, loader: 'css' }, minify: true, write: false, logLevel: 'warning' })).outputFiles[0].contents;
await writeAtomic(join(out, 'app.css'), css);
await writeAtomic(join(out, 'index.html'), await readFile(join(src, 'index.html')));

const sizes = [];
for (const name of ['app.js', 'app.css', 'index.html']) {
  const body = await readFile(join(out, name));
  sizes.push(`${name} ${(body.length / 1024).toFixed(1)} KiB (${(gzipSync(body).length / 1024).toFixed(1)} KiB gzip)`);
}
if (!process.argv.includes('--quiet')) process.stdout.write(`dashboard → ${out}: ${sizes.join(', ')}\n`);
