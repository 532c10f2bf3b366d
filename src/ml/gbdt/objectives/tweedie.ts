/** @module ml/gbdt/objectives/tweedie
 * Tweedie regression with the log link on a raw, non-negative target, variance power ρ in (1, 2):
 * μ = exp(p), loss = the Tweedie negative log-likelihood up to terms of y alone,
 * −y·e^((1−ρ)p)/(1−ρ) + e^((2−ρ)p)/(2−ρ) (LightGBM's and XGBoost's `tweedie`);
 * g = −y·e^((1−ρ)p) + e^((2−ρ)p), h = −(1−ρ)·y·e^((1−ρ)p) + (2−ρ)·e^((2−ρ)p). */
import type { Objective } from './objective.js';
import { logLinkScore } from './poisson.js';

export const TWEEDIE_DEFAULT_POWER = 1.5;

const cache = new Map<number, Objective>();

/** The Tweedie objective of variance power `rho` (checked by ml/gbdt/params: 1 < ρ < 2). */
export function tweedie(rho: number = TWEEDIE_DEFAULT_POWER): Objective {
  const hit = cache.get(rho);
  if (hit) return hit;
  const a = 1 - rho;
  const b = 2 - rho;
  const o: Objective = {
    name: 'tweedie',
    link: 'log',
    constantHessian: null,
    initScore: (y, w, init) => logLinkScore(y, w, init, a, b),
    grad: (y: number, p: number): number => -y * Math.exp(a * p) + Math.exp(b * p),
    hess: (y: number, p: number): number => -a * y * Math.exp(a * p) + b * Math.exp(b * p),
    loss: (y: number, p: number): number => (-y * Math.exp(a * p)) / a + Math.exp(b * p) / b,
  };
  cache.set(rho, o);
  return o;
}
