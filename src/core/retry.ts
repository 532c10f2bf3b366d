/** @module core/retry
 * Retrying, written once: the two backoff schedules (the sources' one (docs/data.md) and the pipeline
 * runner's), a Retry-After parser (delay-seconds or HTTP-date), an abortable sleep, a failure budget
 * and a retry loop with an AbortSignal. The jitter u ∈ [0, 1) always comes from the caller (a seeded
 * rng in the runner and in tests) and waiting from an injectable sleep, so tests use fake timers or
 * no waits at all. What is retryable, and what to log or throw, stays with each caller. */

import { randomBytes } from 'node:crypto';

/** A backoff schedule: the wait in ms before retry `n` (1-based) given a jitter draw u ∈ [0, 1). */
export type Backoff = (n: number, u: number) => number;

/** Waits `ms`; an injected one lets tests skip or fake the wait. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * The sources' schedule (docs/data.md; kaggle, yahoo): retry n waits min(2^(n−1) + u, capS) seconds, u a jitter in [0, 1) s:
 * about 1, 2, 4, 8, 16 … s, never above capS (60).
 */
export function sourceBackoffMs(n: number, u: number, capS = 60): number {
  return Math.round(Math.min(2 ** (n - 1) + u, capS) * 1000);
}

/** The pipeline runner's: retry n waits min(base·2^(n−1), max) with its upper half jittered. */
export function backoffMs(n: number, baseMs: number, maxMs: number, u: number): number {
  const d = Math.min(baseMs * 2 ** (n - 1), maxMs);
  return Math.round(d / 2 + (d / 2) * u);
}

/**
 * A Retry-After header value in ms: delay-seconds ('7', '1.5') or an HTTP-date (the time left
 * after `nowMs`, 0 when past). Undefined when absent or unreadable (the backoff applies then); an
 * HTTP-date names its day or month, so '-5' is unreadable (V8's Date.parse reads it as a year).
 */
export function retryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  const s = value?.trim();
  if (!s) return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  if (!/[A-Za-z]{3}/.test(s)) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - nowMs);
}

/** Unseeded jitter in [0, 1) for production sources (tests and the runner pass a seeded one). */
export function randomJitter(): number {
  return randomBytes(4).readUInt32BE(0) / 2 ** 32;
}

/** Waits `ms`, or less when `signal` aborts (it resolves then; the caller checks the signal). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The next wait a budget grants: retry number (1-based) and delay. */
export interface RetryStep {
  retry: number;
  delayMs: number;
}

/**
 * Counts failures in a row against `retries` and says how long to wait before the next try. The
 * jitter is drawn only when the backoff applies (not under Retry-After or `wait: false`).
 */
export class RetryBudget {
  private failed = 0;
  constructor(readonly retries: number, private readonly backoff: Backoff, private readonly random: () => number) {}

  /** Records a failure: the step to take, or null when the retries are used up. */
  next(opts: { retryAfterMs?: number | undefined; wait?: boolean } = {}): RetryStep | null {
    if (this.failed >= this.retries) return null;
    const retry = ++this.failed;
    const delayMs = opts.wait === false ? 0 : (opts.retryAfterMs ?? this.backoff(retry, this.random()));
    return { retry, delayMs };
  }

  /** A try that made progress resets the count: only failures in a row use the budget up. */
  progressed(): void {
    this.failed = 0;
  }
}

/** What one try ended with: a value, or a failure worth another try (a fatal error is thrown). */
export type TryOutcome<T> = { ok: true; value: T } | { ok: false; error: unknown; retryAfterMs?: number | undefined };

export interface RetryLoopOptions {
  /** Tries after the first one. */
  retries: number;
  backoff: Backoff;
  /** Jitter draws in [0, 1). */
  random: () => number;
  /** Checked before every try and after every wait; an abort rejects with its reason. */
  signal?: AbortSignal | undefined;
  /** Default: abortableSleep (a timer, so fake timers drive it). */
  sleep?: Sleep | undefined;
  /** Called before each wait, e.g. to log it. */
  onRetry?: ((step: RetryStep, error: unknown) => void) | undefined;
}

/**
 * Runs `attempt` (given its 0-based number) until it succeeds, throws (fatal), or has failed
 * 1 + retries times; then the last failure's error is thrown.
 */
export async function retryLoop<T>(attempt: (n: number) => Promise<TryOutcome<T>>, opts: RetryLoopOptions): Promise<T> {
  const budget = new RetryBudget(opts.retries, opts.backoff, opts.random);
  const sleep = opts.sleep ?? abortableSleep;
  for (let n = 0; ; n++) {
    opts.signal?.throwIfAborted();
    const out = await attempt(n);
    if (out.ok) return out.value;
    const step = budget.next({ retryAfterMs: out.retryAfterMs });
    if (step === null) throw out.error;
    opts.onRetry?.(step, out.error);
    await sleep(step.delayMs, opts.signal);
  }
}
