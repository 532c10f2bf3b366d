/** @module sources/workspace-fetch
 * Fetching a workspace's source (`stockpipe fetch`): the remembered source unless the user named
 * another (sources/workspace-source), landed under raw/<source-id>/ with its manifest and recorded in
 * source.json. Another source than the remembered one needs `switchSource`
 * (SP_ERR_SOURCE_MISMATCH). Returns the command's --json data. */
import { ensureWritableDir } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { Progress } from '../core/progress.js';
import type { Workspace } from '../core/workspace.js';
import { sourceFor } from './index.js';
import type { Config } from '../core/config.js';
import { chooseSource, rememberSource, sourceMismatch, sourceOf, type SourceChoice, type SourceSwitch } from './workspace-source.js';

/** `stockpipe fetch --json` data. */
export interface FetchData {
  source: string;
  source_spec: string;
  path: string;
  manifest: string;
  files: number;
  bytes: number;
  cached: boolean;
  seconds: number;
  /** Dir sources: entries not followed (broken symlink, loop, not a file), each with its reason. */
  skipped: { path: string; reason: string }[];
  /** The switch this fetch recorded in source.json (from null: the workspace's first source), or null. */
  source_switch: SourceSwitch | null;
}

export interface FetchWorkspaceOptions {
  ws: Workspace;
  /** The config's `fetch` settings and which of them the user set (the others may come from source.json). */
  fetch: Config['fetch'];
  explicitFetch: ReadonlySet<string>;
  switchSource: boolean;
  log: Logger;
  progress: Progress;
  now: () => Date;
  env: Readonly<Record<string, string | undefined>>;
  homeDir: string;
}

export async function fetchWorkspace(o: FetchWorkspaceOptions): Promise<FetchData> {
  const t0 = performance.now();
  const choice = await chooseSource(o.ws, o.fetch, o.explicitFetch);
  const source = sourceFor(choice.fetch.source, choice.fetch);
  if (choice.switching && !o.switchSource) {
    throw sourceMismatch(o.ws, choice.remembered!, choice.identity, switchHint(choice, o.explicitFetch));
  }
  await ensureWritableDir(o.ws.root);
  const r = await source.fetch({ ws: o.ws, log: o.log, progress: o.progress, now: o.now, env: o.env, homeDir: o.homeDir, checksum: choice.fetch.checksum });
  const sw = await rememberSource(o.ws, choice.remembered, sourceOf(choice.fetch), o.now(), 'fetch');
  return {
    source: r.manifest.source,
    source_spec: r.manifest.source_spec,
    path: r.manifest.root,
    manifest: r.manifestPath,
    files: r.manifest.files.length,
    bytes: r.manifest.bytes,
    cached: r.cached,
    seconds: Math.round(performance.now() - t0) / 1000,
    skipped: r.manifest.skipped ?? [],
    source_switch: sw,
  };
}

/** The synthetic generator's flags (fetch.seed, …) by config key. */
const SYNTHETIC_FLAGS: Record<string, string> = { seed: '--seed', symbols: '--symbols', years: '--years', start: '--start' };

/**
 * SP_ERR_SOURCE_MISMATCH's hint: the fetch that makes the switch. Another synthetic generator
 * setting (`fetch --symbols 6` on a workspace of 12) is a switch too: the hint spells the settings
 * the user set that differ from the remembered ones (`--source synthetic --switch-source` alone
 * fetched the remembered 12 again, and so did `run --source synthetic`, which takes no such flag).
 */
function switchHint(choice: SourceChoice, explicit: ReadonlySet<string>): string {
  const source = choice.fetch.source;
  const remembered = choice.remembered!;
  if (source === 'synthetic' && remembered.spec === 'synthetic') {
    const flags = Object.entries(SYNTHETIC_FLAGS)
      .filter(([k]) => explicit.has(k) && choice.fetch[k as keyof typeof choice.fetch] !== remembered.params[k])
      .map(([k, flag]) => `${flag} ${String(choice.fetch[k as keyof typeof choice.fetch])}`);
    return `Switch on purpose: \`stockpipe fetch --source synthetic ${flags.length ? `${flags.join(' ')} ` : ''}--switch-source\`.`;
  }
  return `Switch on purpose: \`stockpipe fetch --source ${source} --switch-source\` (or \`stockpipe run --source ${source}\`).`;
}
