/** @module features/feature-protocol
 * Messages between features/build and its reader worker. */
import type { MessagePort } from 'node:worker_threads';
import type { BarsBatch } from '../db/bars-writer.js';

export interface FeatureWorkerInit {
  /** SELECTs run one after another, each giving d, Open, High, Low, Close, Adj Close, v, a in (Symbol, Date) order. */
  queries: string[];
  /** Rows per symbol, in the queries' order. */
  lengths: number[];
  /** Security Name index per symbol (-1 = null). */
  nameIdx: number[];
  window: number;
  /** Also compute the extended (lagged) columns, features/lagged. */
  extended: boolean;
  memoryLimit: string;
  tempDir: string;
  lookahead: number;
  control: SharedArrayBuffer;
  port: MessagePort;
}

export type FeatureMessage =
  | { index: number; ok: true; batch: BarsBatch; withFeatures: number }
  | { index: number; ok: false; message: string };
