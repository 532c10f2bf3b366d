/** @module sources/synthetic/source
 * The `synthetic` Source (the default): generates raw/synthetic/data once per option set into a
 * temp folder, swaps it in, writes the manifest; a later fetch with the same options and intact
 * files is served from cache. Generation is generate.ts's. */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StockpipeError } from '../../core/errors.js';
import { processAlive, realPathOf, statOrNull } from '../../core/fs.js';
import { beforeCommit } from '../../core/commit-guard.js';
import { readManifest, writeManifest } from '../manifest.js';
import type { FetchContext, FetchResult, Manifest, Source } from '../types.js';
import { generateSynthetic, type SyntheticResult } from './generate.js';
import { resolveSyntheticOptions, syntheticSourceVersion, syntheticSpec, type SyntheticOptions } from './options.js';

/** True when every manifest file is present in `root` with its recorded size. */
async function intact(manifest: Manifest, root: string): Promise<boolean> {
  for (const f of manifest.files) {
    const st = await statOrNull(join(root, f.path)); // missing → regenerate
    if (st === null || !st.isFile() || st.size !== f.size) return false;
  }
  return manifest.files.length > 0;
}

/** Removes data.tmp-<pid> / data.old-<pid> folders left by runs that died. */
async function removeStale(raw: string): Promise<void> {
  const names = await readdir(raw);
  for (const name of names) {
    const m = /^data\.(?:tmp|old)-(\d+)$/.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && processAlive(pid)) continue; // another fetch is running
    await rm(join(raw, name), { recursive: true, force: true });
  }
}

/** The `synthetic` source (the default): generates raw/synthetic/data once per option set. */
export function syntheticSource(opts: Partial<SyntheticOptions> = {}): Source {
  const o = resolveSyntheticOptions(opts);
  return {
    id: 'synthetic',
    async fetch(ctx: FetchContext): Promise<FetchResult> {
      const log = ctx.log.child({ source: 'synthetic' });
      const raw = resolve(ctx.ws.rawDir('synthetic'));
      const root = join(raw, 'data');
      const version = syntheticSourceVersion(o);
      let previous: Manifest | null = null;
      try {
        previous = await readManifest(ctx.ws, 'synthetic');
      } catch (err) {
        if (!(err instanceof StockpipeError && err.code === 'SP_ERR_NO_RAW_DATA')) throw err;
        log.warn({ err: err.message }, 'unreadable synthetic manifest; regenerating');
      }
      if (previous !== null && previous.source_version === version && (await intact(previous, root))) {
        let manifest = previous;
        let path = ctx.ws.manifest('synthetic');
        // The workspace moved (copied elsewhere): same files, new absolute path. The same folder by another
        // spelling (a symlink to the workspace) keeps the manifest as it is: rewriting it made every task after
        // fetch miss the pipeline's cache, and `run train` registered the same model again at each switch of path.
        if (previous.root !== root && (await realPathOf(previous.root)) !== (await realPathOf(root))) {
          manifest = { ...previous, root };
          path = await writeManifest(ctx.ws, manifest);
        }
        log.info({ files: manifest.files.length, root }, 'synthetic data unchanged (cached)');
        return { manifest, manifestPath: path, cached: true };
      }
      await mkdir(raw, { recursive: true });
      await removeStale(raw);
      const tmp = join(raw, `data.tmp-${process.pid}`);
      const old = join(raw, `data.old-${process.pid}`);
      await rm(tmp, { recursive: true, force: true });
      const startedMs = ctx.now().getTime();
      let result: SyntheticResult;
      ctx.progress.start('synthetic: files', o.symbols + 1);
      try {
        result = await generateSynthetic(tmp, o, (done) => ctx.progress.update(done), ctx.signal);
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        throw err;
      } finally {
        ctx.progress.stop();
      }
      // Swap in the new folder; the previous one is removed only now.
      const hadOld = (await statOrNull(root)) !== null;
      beforeCommit();
      if (hadOld) await rename(root, old);
      await rename(tmp, root);
      if (hadOld) await rm(old, { recursive: true, force: true });
      const manifest: Manifest = {
        format: 1,
        source: 'synthetic',
        source_spec: syntheticSpec(o),
        source_version: version,
        fetched_at: ctx.now().toISOString(),
        layout: 'dir',
        root,
        files: result.files,
        bytes: result.bytes,
      };
      const path = await writeManifest(ctx.ws, manifest);
      log.info({ files: result.files.length, rows: result.rows, bytes: result.bytes, ms: ctx.now().getTime() - startedMs }, 'synthetic data generated');
      return { manifest, manifestPath: path, cached: false };
    },
  };
}
