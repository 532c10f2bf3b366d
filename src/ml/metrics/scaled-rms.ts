/** @module ml/metrics/scaled-rms
 * sqrt(mean(d²)) where the squares overflow (errors near 1e200) or underflow (near 1e-300): computed as
 * s·sqrt(mean((d/s)²)), s the largest |d|. Pure. */

/** The root mean square of `err(0) … err(n − 1)` without squaring them directly. */
export function scaledRms(n: number, err: (k: number) => number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s = Math.max(s, Math.abs(err(k)));
  if (!Number.isFinite(s)) return s;
  let se = 0;
  for (let k = 0; k < n; k++) se += (err(k) / s) ** 2;
  return s * Math.sqrt(se / n);
}
