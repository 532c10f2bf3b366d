import { describe, expect, it } from 'vitest';
import { restartDelay, type RestartPolicy } from './cluster.js';

const policy: RestartPolicy = { baseDelayMs: 200, maxDelayMs: 1000, maxRestarts: 4, windowMs: 60_000 };

describe('restartDelay', () => {
  it('doubles the delay with each exit in the window, up to the maximum', () => {
    const now = 1_000_000;
    expect(restartDelay([now], now, policy)).toBe(200);
    expect(restartDelay([now - 2, now], now, policy)).toBe(400);
    expect(restartDelay([now - 3, now - 2, now], now, policy)).toBe(800);
    expect(restartDelay([now - 4, now - 3, now - 2, now], now, policy)).toBe(1000);
  });

  it('gives up past maxRestarts exits within the window', () => {
    const now = 1_000_000;
    expect(restartDelay([1, 2, 3, 4, 5].map((i) => now - i), now, policy)).toBeNull();
  });

  it('forgets exits older than the window', () => {
    const now = 1_000_000;
    const old = [1, 2, 3, 4, 5].map((i) => now - 60_000 - i);
    expect(restartDelay([...old, now], now, policy)).toBe(200);
  });
});
