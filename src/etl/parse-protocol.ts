/** @module etl/parse-protocol
 * Messages and shared-counter slots between the parse pool and its workers. */
import type { MessagePort } from 'node:worker_threads';
import type { ParsedBars } from './csv-parse.js';

/** Int32 slots of the shared control buffer. */
export const CTRL_NEXT = 0; // next file index to claim
export const CTRL_CONSUMED = 1; // files the consumer has taken
export const CTRL_SIGNAL = 2; // bumped after each posted result
export const CTRL_SLOTS = 4;

export interface WorkerInit {
  root: string;
  layout: 'dir' | 'zip';
  files: string[];
  lookahead: number;
  ctrl: SharedArrayBuffer;
  port: MessagePort;
}

export type ParseResult =
  | { index: number; ok: true; parsed: ParsedBars; bytes: number }
  | { index: number; ok: false; kind: 'header' | 'missing' | 'read'; message: string };
