/** @module cli/cancel.test
 * A second SIGTERM is the same cancellation: the listener stays after the first (with none left, Node's
 * default action killed the runner mid-cancel and the run ended abandoned — POST /runs/:id/cancel
 * sent twice); Ctrl-C keeps its once-only listener. The listeners are called directly, never by a signal. */
import { describe, expect, it } from 'vitest';
import { cancelOnSignals } from './cancel.js';

const added = (sig: NodeJS.Signals, before: readonly unknown[]): ((...a: unknown[]) => void)[] =>
  process.rawListeners(sig).filter((l) => !before.includes(l)) as ((...a: unknown[]) => void)[];

describe('cancelOnSignals', () => {
  it('dispose removes both listeners when nothing was cancelled', () => {
    const term = process.rawListeners('SIGTERM');
    const int = process.rawListeners('SIGINT');
    cancelOnSignals().dispose();
    expect([added('SIGTERM', term).length, added('SIGINT', int).length]).toEqual([0, 0]);
  });

  it('aborts on SIGTERM and keeps listening for another, also after dispose (the process is ending); Ctrl-C once', () => {
    const term = process.rawListeners('SIGTERM');
    const int = process.rawListeners('SIGINT');
    const c = cancelOnSignals();
    try {
      const [onTerm] = added('SIGTERM', term);
      expect(onTerm).toBeTypeOf('function');
      onTerm!('SIGTERM');
      expect(c.signal.aborted).toBe(true);
      expect(added('SIGTERM', term)).toHaveLength(1); // still there for a second SIGTERM
      added('SIGTERM', term)[0]!('SIGTERM');
      expect(added('SIGTERM', term)).toHaveLength(1);
      const [onInt] = added('SIGINT', int);
      onInt!('SIGINT');
      expect(added('SIGINT', int)).toHaveLength(0); // a second Ctrl-C gets Node's default: exit
    } finally {
      c.dispose();
    }
    expect([added('SIGTERM', term).length, added('SIGINT', int).length]).toEqual([1, 0]);
    for (const l of added('SIGTERM', term)) process.removeListener('SIGTERM', l); // this test's own process goes on
  });
});
