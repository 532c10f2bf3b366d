/** @module etl/parse-protocol
 * Messages between the parse pool and its workers. */
import type { MessagePort } from 'node:worker_threads';
import { ChangedSinceFetchError, FileTooLargeError } from './bars-file.js';
import { HeaderError, type ParsedBars } from './csv-parse.js';

export interface WorkerInit {
  root: string;
  layout: 'dir' | 'zip';
  files: string[];
  /** A folder's files' sizes as fetched (the manifest's), in `files` order: each is read as it was fetched. */
  sizes?: number[];
  lookahead: number;
  /** Compute each file's features too (a full ingest preparing them, features/prepare). */
  features?: FeatureRequest;
  control: SharedArrayBuffer;
  port: MessagePort;
}

/** The features a parse computes for each file's rows: features/assemble's symbolFeatures settings. */
export interface FeatureRequest {
  window: number;
  extended: boolean;
}

export type ParseResult =
  | { index: number; ok: true; parsed: ParsedBars; bytes: number }
  | { index: number; ok: false; kind: 'header' | 'missing' | 'read' | 'zip' | 'too_large' | 'changed'; message: string };

/** A file's read or parse failure as a result kind (a zip's own errors are the worker's: `isZip`). */
export function failureKind(err: unknown, isZip = false): Extract<ParseResult, { ok: false }>['kind'] {
  if (err instanceof HeaderError) return 'header';
  if (err instanceof FileTooLargeError) return 'too_large';
  if (err instanceof ChangedSinceFetchError) return 'changed';
  if (isZip) return 'zip';
  return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'read';
}
