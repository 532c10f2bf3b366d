/** @module core/gc
 * A full garbage collection on request. V8 frees the memory of a large typed array only when a
 * collection finds it unreachable, and it does not count that memory as heap pressure: a process
 * that lets go of gigabytes of typed arrays (the day-ahead model's inputs once binned) keeps them
 * resident until something else makes V8 collect — often after the next large allocation, which
 * then stacks on top. `collectGarbage` runs a collection now: `gc` as Node exposes it with
 * --expose-gc, else one obtained by setting that flag at run time for a new context only. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

function resolveGc(): (() => void) | null {
  const own = (globalThis as { gc?: () => void }).gc;
  if (typeof own === 'function') return own;
  try {
    setFlagsFromString('--expose-gc');
    const fn = runInNewContext('gc') as unknown;
    return typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    return null;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** Runs a full garbage collection, twice: V8 frees unreachable array buffers on a background
 * sweeper after a collection, and the next collection finishes that sweep (measured: one call
 * returns little, two return it all). A no-op where the runtime offers none. */
export function collectGarbage(): void {
  gc ??= resolveGc();
  gc?.();
  gc?.();
}
