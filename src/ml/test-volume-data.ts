/** @module ml/test-volume-data
 * A seeded synthetic volume dataset for the protocol's tests (not used by production code):
 * `symbols` series of `days` consecutive days each, ordered by symbol then date as the loader orders
 * them; Volume depends on both features, so trees have something to learn. */
import { createRng } from '../core/rng.js';
import type { VolumeDataset } from './dataset.js';

export function syntheticVolumeData(symbols: number, days: number, seed = 1, firstDay = 18_000): VolumeDataset {
  const rng = createRng(seed);
  const rows = symbols * days;
  const ds: VolumeDataset = { path: 'synthetic', dataHash: `synthetic-${symbols}-${days}-${seed}`, rows, day: new Int32Array(rows), vma: new Float64Array(rows), acm: new Float64Array(rows), volume: new Float64Array(rows), isStock: new Uint8Array(rows) };
  let r = 0;
  for (let s = 0; s < symbols; s++) {
    const level = 1e4 * Math.exp(3 * rng.next());
    for (let d = 0; d < days; d++, r++) {
      ds.day[r] = firstDay + d;
      ds.vma[r] = level * Math.exp(0.3 * rng.normal());
      ds.acm[r] = 5 + 100 * rng.next();
      const effect = ds.acm[r]! > 60 ? 0.4 : -0.2;
      ds.volume[r] = Math.round(ds.vma[r]! * Math.exp(effect + 0.0005 * d + 0.5 * rng.normal()));
      ds.isStock[r] = s % 3 === 0 ? 0 : 1;
    }
  }
  return ds;
}
