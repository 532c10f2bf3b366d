/** @module etl/ingest-workspace
 * Ingesting a workspace's fetched source (`stockpipe ingest`): the newest fetched source (or
 * `sourceId`) → etl/ingest → tables/prices.parquet + report. A fetched source other than the
 * workspace's remembered one (source.json) is refused with SP_ERR_SOURCE_MISMATCH unless
 * `switchSource`; a first source or a switch is recorded. Returns the command's --json data. */
import { ensureWritableDir } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { Progress } from '../core/progress.js';
import { latestManifest } from '../sources/manifest.js';
import { rememberedSource, rememberSource, sourceMismatch, sourceOfManifest } from '../sources/workspace-source.js';
import { ingest, type IngestReport } from './ingest.js';

export interface IngestWorkspaceOptions {
  workspace: string;
  /** The fetched source to ingest (default: the newest). */
  sourceId?: string;
  strict: boolean;
  threads: number;
  memoryLimit: string;
  force: boolean;
  switchSource?: boolean;
  now: () => Date;
  log: Logger;
  progress: Progress;
}

export async function ingestWorkspace(o: IngestWorkspaceOptions): Promise<IngestReport> {
  await ensureWritableDir(o.workspace);
  const manifest = await latestManifest(o.workspace, o.sourceId);
  const before = await rememberedSource(o.workspace);
  const next = sourceOfManifest(manifest);
  if (before !== null && before.identity !== next.identity && o.switchSource !== true) {
    throw sourceMismatch(o.workspace, before, next.identity, `Ingest the workspace's own source (\`stockpipe ingest --from ${before.spec.split(':')[0]}\`), or switch on purpose: \`stockpipe ingest --from ${manifest.source} --switch-source\`.`);
  }
  const r = await ingest({
    workspace: o.workspace,
    manifest,
    threads: o.threads,
    strict: o.strict,
    memoryLimit: o.memoryLimit,
    force: o.force,
    log: o.log,
    progress: o.progress,
  });
  // The same source keeps what fetch recorded (its settings); a first source or a switch is recorded.
  if (before === null || before.identity !== next.identity) await rememberSource(o.workspace, before, next, o.now(), 'ingest');
  return r;
}
