/** @module sources/synthetic/volume-model
 * Daily share volume: log-volume follows an AR(1) around the symbol's median, is busier on big
 * price moves and has rare spikes; zero-volume symbols are thin and sometimes do not trade.
 * The day loop that calls it (and owns the random draws) is price-model.ts's. */
import type { Rng } from '../../core/rng.js';
import type { Quirk } from './quirks.js';

/** One symbol's volume parameters and the AR(1) state. */
export interface VolumeModel {
  logMed: number;
  volSd: number;
  /** Chance of a zero-volume day (0 unless the zero-volume quirk). */
  zeroVolP: number;
  /** Deviation of log-volume from logMed (the AR(1) state), 0 at the first row. */
  dev: number;
}

/** Draws a symbol's volume parameters (3 to 5 draws from `rng`, in this order). */
export function drawVolumeModel(rng: Rng, etf: boolean, q: ReadonlySet<Quirk>): VolumeModel {
  let logMed = etf ? Math.log(6e4) + 1.8 * rng.normal() : Math.log(4e5) + 1.5 * rng.normal();
  if (q.has('zero-volume')) logMed = Math.log(2e3) + 0.5 * rng.normal();
  if (q.has('mega-volume')) logMed = Math.log(1.6e9) + 0.1 * rng.normal();
  logMed = Math.max(logMed, Math.log(50));
  const volSd = 0.35 + 0.15 * rng.next();
  const zeroVolP = q.has('zero-volume') ? 0.05 : 0;
  return { logMed, volSd, zeroVolP, dev: 0 };
}

/**
 * Volume of day j, advancing the AR(1) state. `z` is the day's price shock; the day's draws are
 * normals[5j+2 … 5j+4] and uniforms[2j+1] (shared with the price model); a zero-volume day takes one
 * more draw from `rng`.
 */
export function volumeOfDay(m: VolumeModel, z: number, normals: Float64Array, uniforms: Float64Array, j: number, rng: Rng): number {
  // Log-volume: AR(1) around the symbol's median, busier on big moves, rare spikes.
  m.dev = 0.7 * m.dev + m.volSd * 0.714 * normals[5 * j + 4]!;
  let lv = m.logMed + m.dev + 0.25 * (Math.abs(z) - 0.8);
  if (uniforms[2 * j + 1]! < 0.01) lv += Math.abs(normals[5 * j + 2]! + normals[5 * j + 3]!);
  if (lv > 23.7) lv = 23.7; // ≈ 2e10 shares: the tail stays heavy but plausible
  return m.zeroVolP > 0 && rng.next() < m.zeroVolP ? 0 : Math.floor(Math.exp(lv) + 0.5);
}
