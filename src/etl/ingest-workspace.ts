/** @module etl/ingest-workspace
 * Ingesting a workspace's fetched source (`stockpipe ingest`): the newest fetched source (or
 * `sourceId`) → etl/ingest → tables/prices.parquet + report. A fetched source other than the
 * workspace's remembered one (source.json) is refused with SP_ERR_SOURCE_MISMATCH unless
 * `switchSource`; a first source or a switch is recorded. Returns the command's --json data. */
import { ensureWritableDir } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { Progress } from '../core/progress.js';
import type { Workspace } from '../core/workspace.js';
import { latestManifest } from '../sources/manifest.js';
import type { Manifest } from '../sources/types.js';
import { rememberedSource, rememberSource, sourceMismatch, sourceOfManifest } from '../sources/workspace-source.js';
import { ingest, type IngestReport } from './ingest.js';
import { SourceChangedError } from './ingest-report.js';

export interface IngestWorkspaceOptions {
  /** The workspace (with its threads and DuckDB settings). */
  ws: Workspace;
  /** The fetched source to ingest (default: the newest). */
  sourceId?: string;
  strict: boolean;
  force: boolean;
  /** A full ingest also prepares the features with these settings (features/prepare). */
  prepareFeatures?: { window: number; extended: boolean };
  switchSource?: boolean;
  now: () => Date;
  log: Logger;
  progress: Progress;
}

/**
 * Checks that `manifest` is the workspace's source (SP_ERR_SOURCE_MISMATCH unless `switchSource`);
 * returns what records it once the ingest succeeded (a first source or a switch).
 */
export async function checkIngestSource(ws: Workspace, manifest: Manifest, switchSource: boolean | undefined): Promise<(at: Date) => Promise<void>> {
  const before = await rememberedSource(ws);
  const next = sourceOfManifest(manifest);
  if (before !== null && before.identity !== next.identity && switchSource !== true) {
    throw sourceMismatch(ws, before, next.identity, `Ingest the workspace's own source (\`stockpipe ingest --from ${before.spec.split(':')[0]}\`), or switch on purpose: \`stockpipe ingest --from ${manifest.source} --switch-source\`.`);
  }
  // The same source keeps what fetch recorded (its settings); a first source or a switch is recorded.
  return async (at) => {
    if (before === null || before.identity !== next.identity) await rememberSource(ws, before, next, at, 'ingest');
  };
}

export async function ingestWorkspace(o: IngestWorkspaceOptions): Promise<IngestReport> {
  await ensureWritableDir(o.ws.root);
  const manifest = await latestManifest(o.ws, o.sourceId);
  const before = await rememberedSource(o.ws);
  const remember = await checkIngestSource(o.ws, manifest, o.switchSource);
  let r: IngestReport;
  try {
    r = await ingest({
      ws: o.ws,
      manifest,
      strict: o.strict,
      force: o.force,
      ...(o.prepareFeatures === undefined ? {} : { prepareFeatures: o.prepareFeatures }),
      log: o.log,
      progress: o.progress,
    });
  } catch (err) {
    throw fetchAgainHint(err, manifest, before !== null && before.identity !== sourceOfManifest(manifest).identity);
  }
  await remember(o.now());
  return r;
}

/**
 * A source changed since its fetch is hinted "Run `stockpipe fetch` again", which fetches the
 * workspace's own source: right for it, but for another one ingested with --switch-source (a `dir:`
 * or `zip:` folder the user went back to) that fetch leaves its manifest as it was, and the ingest
 * fails the same way again. The hint then names that source and the switch.
 */
function fetchAgainHint(err: unknown, m: Manifest, switching: boolean): unknown {
  if (!switching || !(err instanceof SourceChangedError) || (m.source !== 'dir' && m.source !== 'zip')) return err;
  return err.refetchedBy(`\`stockpipe fetch --source ${m.source_spec} --switch-source\``, "It is not the workspace's source: that fetch switches to it, as this ingest would; then run `stockpipe ingest`.");
}
