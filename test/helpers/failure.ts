/** @module test/helpers/failure
 * What a call that should fail failed with: a StockpipeError's code, message and hint (code `none` when
 * it did not fail; another error's text as its code), for tests that assert on all three. */
import { StockpipeError } from '../../src/core/errors.js';

export interface Failure {
  code: string;
  message: string;
  hint: string;
}

export async function failureOf(p: Promise<unknown> | (() => unknown)): Promise<Failure> {
  try {
    await (typeof p === 'function' ? p() : p);
    return { code: 'none', message: '', hint: '' };
  } catch (e) {
    return e instanceof StockpipeError ? { code: e.code, message: e.message, hint: e.hint ?? '' } : { code: String(e), message: '', hint: '' };
  }
}
