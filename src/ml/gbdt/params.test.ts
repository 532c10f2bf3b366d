/** The boosters' parameter checks: each refused value is named with its range in words. */
import { describe, expect, it } from 'vitest';
import { resolveForestParams, resolveGbdtParams } from './params.js';

describe('a parameter out of its range', () => {
  // Probed: `train --huber-delta 0` said "huber_delta must be a number in [5e-324, 1.7976931348623157e+308] (got 0)".
  it.each([
    ['huber_delta must be a number greater than 0 (got 0)', () => resolveGbdtParams({ objective: 'huber', huber_delta: 0 })],
    ['lambda_l2 must be a number of at least 0 (got -1)', () => resolveGbdtParams({ lambda_l2: -1 })],
    ['feature_fraction must be a number in (0, 1] (got 0)', () => resolveGbdtParams({ feature_fraction: 0 })],
    ['num_leaves must be an integer in [2, 131072] (got 1)', () => resolveGbdtParams({ num_leaves: 1 })],
    ['sample_fraction must be a number in (0, 10] (got 11)', () => resolveForestParams({ sample_fraction: 11 })],
  ])('%s', (message, resolve) => {
    expect(resolve).toThrow(expect.objectContaining({ code: 'SP_ERR_TRAIN_PARAMS', message }));
  });
});
