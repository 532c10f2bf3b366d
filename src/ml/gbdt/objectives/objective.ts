/** @module ml/gbdt/objectives/objective
 * The objective interface of the tree engine: per-row gradient, hessian and loss, plus the base
 * score and the link. Row-level functions so the worker kernels inline them; the registry maps names to them. */

/** A twice-differentiable loss l(y, p) on the raw model output p. */
export interface Objective {
  readonly name: string;
  /** 'identity': the raw output is the prediction (of the target as given); 'log': the raw output is
   * the log of the prediction (Poisson, Tweedie on a raw, non-negative target). */
  readonly link: 'identity' | 'log';
  /** The hessian when it is the same for every row (then no hessian array is stored), else null. */
  readonly constantHessian: number | null;
  /** The constant c that minimises the (weighted, when `w` is given) loss of p = c + init[i] (init:
   * a per-row start, absent = 0): the model's base_score. */
  initScore(y: ArrayLike<number>, w?: ArrayLike<number>, init?: ArrayLike<number>): number;
  /** dl/dp for one row. */
  grad(y: number, p: number): number;
  /** d²l/dp² for one row (called only when constantHessian is null). */
  hess(y: number, p: number): number;
  /** The per-row loss; train_loss/valid_loss are its mean. */
  loss(y: number, p: number): number;
}
