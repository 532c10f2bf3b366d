/** @module core/retry.test
 * Retry-After forms, both backoff schedules' bounds per retry under a seeded rng, the failure
 * budget, and the retry loop on fake timers (waits, Retry-After, give-up, abort). */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRng } from './rng.js';
import { RetryBudget, backoffMs, retryAfterMs, retryLoop, sourceBackoffMs, type TryOutcome } from './retry.js';

const NOW = Date.parse('2024-03-01T12:00:00Z');

describe('retryAfterMs', () => {
  const cases: Array<[string, string | null | undefined, number | undefined]> = [
    ['whole seconds', '7', 7000],
    ['fractional seconds', '1.5', 1500],
    ['seconds with spaces', ' 3 ', 3000],
    ['zero seconds', '0', 0],
    ['HTTP-date 30 s ahead', 'Fri, 01 Mar 2024 12:00:30 GMT', 30_000],
    ['HTTP-date in the past', 'Fri, 01 Mar 2024 11:00:00 GMT', 0],
    ['absent header', null, undefined],
    ['undefined', undefined, undefined],
    ['empty', '', undefined],
    ['garbage word', 'soon', undefined],
    ['negative seconds', '-5', undefined],
    ['negative fraction', '-1.5', undefined],
    ['exponent form', '1e3', undefined],
  ];
  it.each(cases)('%s: %j → %j', (_name, value, want) => {
    expect(retryAfterMs(value, NOW)).toBe(want);
  });
});

describe('backoff schedules', () => {
  // [retry n, low, high] in ms: the sources' schedule (docs/data.md), min(2^(n−1) + u, 60) s with u ∈ [0, 1).
  const source: Array<[number, number, number]> = [
    [1, 1000, 2000], [2, 2000, 3000], [3, 4000, 5000], [4, 8000, 9000], [5, 16_000, 17_000], [6, 32_000, 33_000], [7, 60_000, 60_000], [12, 60_000, 60_000],
  ];
  it.each(source)('source retry %i waits within [%i, %i] ms for seeded draws', (n, low, high) => {
    const rng = createRng(42 + n);
    for (let i = 0; i < 200; i++) {
      const d = sourceBackoffMs(n, rng.next());
      expect(d).toBeGreaterThanOrEqual(low);
      expect(d).toBeLessThanOrEqual(high);
    }
  });

  // The runner's: base 1000 ms, max 60 s; d = min(base·2^(n−1), max), wait in [d/2, d].
  const runner: Array<[number, number, number]> = [[1, 500, 1000], [2, 1000, 2000], [3, 2000, 4000], [6, 16_000, 32_000], [7, 30_000, 60_000], [20, 30_000, 60_000]];
  it.each(runner)('runner retry %i waits within [%i, %i] ms for seeded draws', (n, low, high) => {
    const rng = createRng(7 * n);
    for (let i = 0; i < 200; i++) {
      const d = backoffMs(n, 1000, 60_000, rng.next());
      expect(d).toBeGreaterThanOrEqual(low);
      expect(d).toBeLessThanOrEqual(high);
    }
  });

  it('gives the same delays for the same seed and other delays for another', () => {
    const delays = (seed: number): number[] => {
      const rng = createRng(seed);
      return [1, 2, 3, 4, 5].map((n) => sourceBackoffMs(n, rng.next()));
    };
    expect(delays(3)).toEqual(delays(3));
    expect(delays(3)).not.toEqual(delays(4));
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => sourceBackoffMs(n, 0.5))).toEqual([1500, 2500, 4500, 8500, 16500, 32500, 60000, 60000]);
  });
});

describe('RetryBudget', () => {
  it('grants `retries` steps, then null; progress resets the count', () => {
    const b = new RetryBudget(2, sourceBackoffMs, () => 0.25);
    expect(b.next()).toEqual({ retry: 1, delayMs: 1250 });
    expect(b.next()).toEqual({ retry: 2, delayMs: 2250 });
    expect(b.next()).toBeNull();
    b.progressed();
    expect(b.next()).toEqual({ retry: 1, delayMs: 1250 });
  });

  it('draws jitter only when the backoff applies (not under Retry-After or wait: false)', () => {
    const random = vi.fn(() => 0.5);
    const b = new RetryBudget(5, sourceBackoffMs, random);
    expect(b.next({ retryAfterMs: 7000 })).toEqual({ retry: 1, delayMs: 7000 });
    expect(b.next({ wait: false })).toEqual({ retry: 2, delayMs: 0 });
    expect(random).not.toHaveBeenCalled();
    expect(b.next()).toEqual({ retry: 3, delayMs: 4500 });
    expect(random).toHaveBeenCalledTimes(1);
  });
});

describe('retryLoop (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: NOW });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const fail = (n: number, retryAfterMs?: number): TryOutcome<string> => ({ ok: false, error: new Error(`try ${n}`), retryAfterMs });

  it('waits the backoff between tries and returns the first success', async () => {
    const startedAt: number[] = [];
    const p = retryLoop(async (n) => {
      startedAt.push(Date.now() - NOW);
      return n < 2 ? fail(n) : { ok: true, value: 'done' };
    }, { retries: 5, backoff: sourceBackoffMs, random: () => 0.5 });
    await vi.runAllTimersAsync();
    await expect(p).resolves.toBe('done');
    expect(startedAt).toEqual([0, 1500, 1500 + 2500]);
  });

  it('waits what Retry-After asked instead of the backoff', async () => {
    const startedAt: number[] = [];
    const p = retryLoop(async (n) => {
      startedAt.push(Date.now() - NOW);
      return n === 0 ? fail(n, 7000) : { ok: true, value: 'ok' };
    }, { retries: 5, backoff: sourceBackoffMs, random: () => 0.5 });
    await vi.runAllTimersAsync();
    await expect(p).resolves.toBe('ok');
    expect(startedAt).toEqual([0, 7000]);
  });

  it('gives up after 1 + retries tries with the last error, reporting each wait', async () => {
    const errors: unknown[] = [];
    const steps: Array<[number, number]> = [];
    const p = retryLoop(async (n) => {
      const out = fail(n);
      errors.push(out.ok ? null : out.error);
      return out;
    }, { retries: 3, backoff: sourceBackoffMs, random: () => 0, onRetry: (s) => steps.push([s.retry, s.delayMs]) });
    const settled = p.then(() => null, (err: unknown) => err);
    await vi.runAllTimersAsync();
    const err = await settled;
    expect(errors).toHaveLength(4);
    expect(err).toBe(errors[3]);
    expect(steps).toEqual([[1, 1000], [2, 2000], [3, 4000]]);
  });

  it('rethrows a fatal error at once, without retrying', async () => {
    const attempt = vi.fn(async (): Promise<TryOutcome<string>> => {
      throw new Error('fatal');
    });
    await expect(retryLoop(attempt, { retries: 5, backoff: sourceBackoffMs, random: () => 0.5 })).rejects.toThrow('fatal');
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it('stops at once with the abort reason when aborted during a wait', async () => {
    const ac = new AbortController();
    const attempt = vi.fn(async (n: number) => fail(n));
    const p = retryLoop(attempt, { retries: 5, backoff: sourceBackoffMs, random: () => 0.5, signal: ac.signal });
    const settled = p.then(() => null, (err: unknown) => err);
    await vi.advanceTimersByTimeAsync(100); // inside the first 1.5 s wait
    ac.abort(new Error('cancelled'));
    await vi.advanceTimersByTimeAsync(0);
    expect(((await settled) as Error).message).toBe('cancelled');
    expect(attempt).toHaveBeenCalledTimes(1);
    expect(Date.now() - NOW).toBe(100); // the wait did not run out
    expect(vi.getTimerCount()).toBe(0); // and its timer is gone
  });

  it('does not try at all when already aborted', async () => {
    const attempt = vi.fn(async (n: number) => fail(n));
    await expect(retryLoop(attempt, { retries: 5, backoff: sourceBackoffMs, random: () => 0.5, signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(attempt).not.toHaveBeenCalled();
  });
});
