/** @module ml/gbdt/objectives/poisson
 * Poisson regression with the log link on a raw, non-negative target: μ = exp(p), loss = the
 * Poisson negative log-likelihood up to terms of y alone, μ − y·p (LightGBM's and XGBoost's
 * `poisson`); g = μ − y, h = μ. Rows with large y and small μ take huge Newton steps (h → 0):
 * the trainer bounds each leaf's step with `max_delta_step` (ml/gbdt/params). */
import type { Objective } from './objective.js';

/** The constant c minimising Σ w·(e^(c+o) − y·(c+o)): c = log(Σ w·y / Σ w·e^o). */
export function logLinkScore(y: ArrayLike<number>, w: ArrayLike<number> | undefined, init: ArrayLike<number> | undefined, yPow: number, muPow: number): number {
  // Tweedie's optimum has the same form: e^c = Σ w·y·e^((1−ρ)o) / Σ w·e^((2−ρ)o) (Poisson: ρ = 1).
  let num = 0;
  let den = 0;
  for (let i = 0; i < y.length; i++) {
    const wi = w ? w[i]! : 1;
    const o = init ? init[i]! : 0;
    num += wi * y[i]! * Math.exp(yPow * o);
    den += wi * Math.exp(muPow * o);
  }
  // An all-zero target has no finite optimum: a tiny mean stands in for it.
  return den > 0 ? Math.log(Math.max(num, 1e-12 * den) / den) : 0;
}

export const poisson: Objective = {
  name: 'poisson',
  link: 'log',
  constantHessian: null,
  initScore: (y, w, init) => logLinkScore(y, w, init, 0, 1),
  grad: (y: number, p: number): number => Math.exp(p) - y,
  hess: (_y: number, p: number): number => Math.exp(p),
  loss: (y: number, p: number): number => Math.exp(p) - y * p,
};
