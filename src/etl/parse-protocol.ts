/** @module etl/parse-protocol
 * Messages between the parse pool and its workers. */
import type { MessagePort } from 'node:worker_threads';
import type { ParsedBars } from './csv-parse.js';

export interface WorkerInit {
  root: string;
  layout: 'dir' | 'zip';
  files: string[];
  lookahead: number;
  control: SharedArrayBuffer;
  port: MessagePort;
}

export type ParseResult =
  | { index: number; ok: true; parsed: ParsedBars; bytes: number }
  | { index: number; ok: false; kind: 'header' | 'missing' | 'read' | 'zip' | 'too_large'; message: string };
