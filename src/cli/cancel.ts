/** @module cli/cancel
 * How a long command (run, backfill) is cancelled: by the caller's AbortSignal when it gives one
 * (tests, the scheduler), else by Ctrl-C or SIGTERM. `dispose()` removes the process listeners. */

export interface Cancellation {
  signal: AbortSignal;
  dispose(): void;
}

export function cancelOnSignals(given?: AbortSignal): Cancellation {
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  if (given) given.addEventListener('abort', onSignal, { once: true });
  else {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  return {
    signal: abort.signal,
    dispose() {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}
