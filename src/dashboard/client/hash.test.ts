/** The hash route: a path segment that is no valid percent-encoding is kept as typed (it threw, and the page stayed blank). */
import { describe, expect, it } from 'vitest';
import { parseHash } from './hash.js';

describe('parseHash', () => {
  it('reads the view, its decoded segments and its query', () => {
    const r = parseHash('#/models/gbdt%2F1?q=rf');
    expect([r.name, r.params, r.query.get('q')]).toEqual(['models', ['gbdt/1'], 'rf']);
    expect(parseHash('').name).toBe('runs');
  });

  it('keeps a segment with a stray % as typed instead of throwing (URIError: URI malformed)', () => {
    expect(parseHash('#/symbols/50%').params).toEqual(['50%']);
    expect(parseHash('#/models/a%E0b/x%20y').params).toEqual(['a%E0b', 'x y']);
  });
});
