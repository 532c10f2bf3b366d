/** @module ml/gbdt/objectives/huber
 * Huber loss with threshold δ on the target as given (identity link), r = p − y: ½r² for |r| ≤ δ,
 * δ(|r| − ½δ) beyond — squared error for small residuals, absolute error for large ones, so a few
 * large residuals (volume spikes on the log scale) pull the fit less; small δ approaches the median.
 * g = r clipped to ±δ; h = 1 for every row, as LightGBM's huber: an upper bound of the curvature
 * (which is 0 beyond δ), so a Newton step never overshoots — the exact hessian there would make a
 * leaf of outliers take a step of r³/δ² and diverge. */
import type { Objective } from './objective.js';

export const HUBER_DEFAULT_DELTA = 1;

const cache = new Map<number, Objective>();

/** The Huber objective of threshold `delta` > 0 (checked by ml/gbdt/params). */
export function huber(delta: number = HUBER_DEFAULT_DELTA): Objective {
  const hit = cache.get(delta);
  if (hit) return hit;
  const clip = (r: number): number => (r > delta ? delta : r < -delta ? -delta : r);
  const o: Objective = {
    name: 'huber',
    link: 'identity',
    constantHessian: 1,
    initScore(y, w, init) {
      // The minimiser of Σ w·huber(c − r): fixed-point steps c ← c − Σ w·clip(c − r) / Σ w (the loss is
      // 1-smooth, so each step descends), from the weighted mean.
      const n = y.length;
      if (n === 0) return 0;
      let sw = 0;
      let c = 0;
      for (let i = 0; i < n; i++) {
        const wi = w ? w[i]! : 1;
        sw += wi;
        c += wi * (y[i]! - (init ? init[i]! : 0));
      }
      if (!(sw > 0)) return 0;
      c /= sw;
      for (let it = 0; it < 1000; it++) {
        let g = 0;
        for (let i = 0; i < n; i++) g += (w ? w[i]! : 1) * clip(c - (y[i]! - (init ? init[i]! : 0)));
        const step = g / sw;
        c -= step;
        if (Math.abs(step) < 1e-13 * (1 + Math.abs(c))) break;
      }
      return c;
    },
    grad: (y: number, p: number): number => clip(p - y),
    hess: (): number => 1,
    loss: (y: number, p: number): number => {
      const a = Math.abs(p - y);
      return a <= delta ? 0.5 * a * a : delta * (a - 0.5 * delta);
    },
  };
  cache.set(delta, o);
  return o;
}
