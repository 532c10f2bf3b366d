/** @module core/at-most
 * Runs an async function over a list with at most `n` calls in flight, in list order (each free lane
 * takes the next item): the work-queue the commands wrote out by hand for file probes, file hashes and
 * alert deliveries. Pure. */

/** Calls `fn(item, index)` for every item, at most `n` at a time; resolves when all have settled, rejects with the first rejection. */
export async function forEachAtMost<T>(items: readonly T[], n: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(0, Math.min(n, items.length)) }, lane));
}
