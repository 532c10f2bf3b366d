/** @module ml/gbdt/test-data
 * Seeded synthetic regression sets for the engine's tests (not used by production code). */
import { createRng } from '../../core/rng.js';
import type { TrainSet } from './dataset.js';

/** y = sin(x0) + 0.5·x1² + noise·N(0,1), x0 ~ U(0, 10), x1 ~ N(0, 1). */
export function synthetic(n: number, seed: number, noise = 0.1): TrainSet & { columns: Float64Array[]; y: Float64Array } {
  const rng = createRng(seed);
  const x0 = new Float64Array(n);
  const x1 = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x0[i] = rng.next() * 10;
    x1[i] = rng.normal();
    y[i] = Math.sin(x0[i]!) + 0.5 * x1[i]! * x1[i]! + noise * rng.normal();
  }
  return { columns: [x0, x1], y, featureNames: ['x0', 'x1'] };
}

export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
}

export function variance(y: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < y.length; i++) m += y[i]!;
  m /= y.length;
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (y[i]! - m) ** 2;
  return s / y.length;
}
