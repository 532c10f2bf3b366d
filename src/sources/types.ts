/** @module sources/types
 * The Source interface every adapter implements, and the manifest each fetch writes to
 * raw/<source-id>/manifest.json (files, sizes, hashes, rows, fetched-at, source version). */
import type { Logger } from '../core/log.js';
import type { Progress } from '../core/progress.js';
import type { Workspace } from '../core/workspace.js';

export interface ManifestFile {
  /** Path relative to the manifest's root (a folder path, or a zip entry name). */
  path: string;
  size: number;
  mtime_ms: number;
  /** sha256 of the file's bytes, or null when not computed (dir sources without --checksum). */
  sha256: string | null;
  /** Data rows (lines after the header), or null when not counted. */
  rows: number | null;
  /** Dir sources: the resolved absolute path, when a symlink leads to the file. */
  real_path?: string;
}

/** A folder entry a dir source could not follow (broken link, loop, not a file), with why. */
export interface SkippedFile {
  path: string;
  reason: string;
}

export interface Manifest {
  format: 1;
  /** Source id: the folder name under raw/ (synthetic, dir, zip, kaggle, yahoo). */
  source: string;
  /** The --source value as given, resolved (e.g. dir:/abs/path). */
  source_spec: string;
  /** What identifies this version of the data at its origin (generator params, kaggle version, mtimes). */
  source_version: string;
  fetched_at: string;
  /** How ingest reads it: files under a folder, or entries inside a zip read by streaming. */
  layout: 'dir' | 'zip';
  /** Absolute path of the folder or the archive. */
  root: string;
  files: ManifestFile[];
  bytes: number;
  /** Dir and zip sources: entries skipped, each with its reason (absent when none). */
  skipped?: SkippedFile[];
}

export interface FetchContext {
  ws: Workspace;
  log: Logger;
  progress: Progress;
  signal?: AbortSignal;
  /** The clock, passed in (tests fix it). */
  now: () => Date;
  /** Environment variables (credentials), passed in: nothing below cli/ reads process.env. */
  env: Readonly<Record<string, string | undefined>>;
  /** The user's home folder (for ~/.kaggle), passed in for tests. */
  homeDir: string;
  /** Compute sha256 of every file even where it costs a full read (dir sources). */
  checksum: boolean;
}

export interface FetchResult {
  manifest: Manifest;
  /** Path of the written manifest.json. */
  manifestPath: string;
  /** True when nothing changed at the origin and nothing was fetched again. */
  cached: boolean;
}

/** A data source adapter. */
export interface Source {
  /** The folder name under raw/. */
  readonly id: string;
  fetch(ctx: FetchContext): Promise<FetchResult>;
}
