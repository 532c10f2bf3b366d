import { describe, expect, it } from 'vitest';
import { manifestVersion } from './manifest-version.js';
import type { Manifest } from './types.js';

const manifest = (over: Partial<Manifest> = {}): Manifest => ({
  format: 1, source: 'dir', source_spec: 'dir:/d', source_version: 'v1', fetched_at: '2026-01-01T00:00:00Z', layout: 'dir', root: '/d', bytes: 30,
  files: [{ path: 'stocks/A.csv', size: 10, mtime_ms: 1, sha256: null, rows: 2 }, { path: 'stocks/B.csv', size: 20, mtime_ms: 2, sha256: 'c'.repeat(64), rows: 3 }],
  ...over,
});

describe('manifestVersion', () => {
  it('is one version however often the same data is fetched, and another when a file changes', () => {
    const a = manifestVersion(manifest(), 'raw/dir/manifest.json');
    expect(a).toMatchObject({ kind: 'raw', path: 'raw/dir/manifest.json', rows: 5 });
    expect(a.details?.files).toEqual([{ path: 'stocks/A.csv', size: 10, sha256: null, rows: 2 }, { path: 'stocks/B.csv', size: 20, sha256: 'c'.repeat(64), rows: 3 }]);
    expect(manifestVersion(manifest({ fetched_at: '2026-02-02T00:00:00Z' }), 'x').hash).toBe(a.hash);
    const grown = manifest();
    grown.files[0]!.size = 11;
    expect(manifestVersion(grown, 'x').hash).not.toBe(a.hash);
    expect(manifestVersion(manifest({ source_version: 'v2' }), 'x').hash).not.toBe(a.hash);
    const uncounted = manifest();
    uncounted.files[1]!.rows = null;
    expect(manifestVersion(uncounted, 'x').rows).toBeUndefined();
  });
});
