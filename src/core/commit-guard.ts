/** @module core/commit-guard
 * The last check before an output becomes visible (a temp file renamed into place, a registry
 * write committed). A pipeline task's process installs one that ends the process when its runner
 * died (cli/main via core/runner-watch), so an orphaned task never commits. Elsewhere it is a no-op.
 * What to check and how to stop is the installer's; callers only call `beforeCommit()`. */

let guard: (() => void) | null = null;

/** Installs the check (null removes it). It must not return when committing is not allowed. */
export function setCommitGuard(fn: (() => void) | null): void {
  guard = fn;
}

/** Called right before a rename into place or a registry commit. */
export function beforeCommit(): void {
  guard?.();
}
