import { describe, expect, it } from 'vitest';
import { collectGarbage } from './gc.js';

describe('collectGarbage', () => {
  it('returns the memory of typed arrays let go of to the system at once', () => {
    const rss = (): number => process.memoryUsage().rss;
    let arrays: Float32Array[] | null = Array.from({ length: 4 }, () => new Float32Array(25_000_000).fill(1)); // 400 MB, resident
    const held = rss();
    expect(arrays.length).toBe(4);
    arrays = null;
    collectGarbage();
    expect(held - rss()).toBeGreaterThan(300e6);
    // Without a runtime gc of its own the process stays without one (the flag was set for a new context only).
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe('undefined');
  });
});
