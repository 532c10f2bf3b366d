/** @module cli/cancel
 * How a long command (run, backfill) is cancelled: by the caller's AbortSignal when it gives one
 * (tests, the scheduler), else by Ctrl-C or SIGTERM (any number of them; a second Ctrl-C exits at once).
 * `dispose()` removes the process listeners, but the SIGTERM one of a cancelled run: the process is ending. */

export interface Cancellation {
  signal: AbortSignal;
  dispose(): void;
}

export function cancelOnSignals(given?: AbortSignal): Cancellation {
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  if (given) given.addEventListener('abort', onSignal, { once: true });
  else {
    process.once('SIGINT', onSignal); // a second Ctrl-C ends the process at once (the run is then abandoned, resumable)
    // Every SIGTERM is the same cancellation: `runs cancel` or POST /runs/:id/cancel sent twice (a double
    // click) must not kill the runner mid-cancel, which a second signal without a listener did.
    process.on('SIGTERM', onSignal);
  }
  return {
    signal: abort.signal,
    dispose() {
      process.removeListener('SIGINT', onSignal);
      // Once cancelled, a SIGTERM that comes while the process ends (writing its result, closing) is
      // still the same cancellation, not Node's default death (the second cancel of a double click).
      if (!abort.signal.aborted) process.removeListener('SIGTERM', onSignal);
    },
  };
}
