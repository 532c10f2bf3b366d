/** @module ml/gbdt/objectives/l2
 * Squared error. Gradient and hessian are those of ½(p − y)² (g = p − y, h = 1, as in LightGBM);
 * the reported loss is the mean squared error (p − y)². */
import type { Objective } from './objective.js';

export const l2: Objective = {
  name: 'l2',
  link: 'identity',
  constantHessian: 1,
  initScore(y: ArrayLike<number>, w?: ArrayLike<number>, init?: ArrayLike<number>): number {
    // The (weighted) mean of y − init.
    if (w) {
      let s = 0;
      let sw = 0;
      for (let i = 0; i < y.length; i++) {
        s += (y[i]! - (init ? init[i]! : 0)) * w[i]!;
        sw += w[i]!;
      }
      return sw > 0 ? s / sw : 0;
    }
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! - (init ? init[i]! : 0);
    return y.length > 0 ? s / y.length : 0;
  },
  grad: (y: number, p: number): number => p - y,
  hess: (): number => 1,
  loss: (y: number, p: number): number => (p - y) * (p - y),
};
