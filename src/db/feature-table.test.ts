import { describe, expect, it } from 'vitest';
import type { Workspace } from '../core/workspace.js';
import { FeatureTableReader, type TableLocation } from './feature-table.js';

/** DuckDB is opened only by a read; these cases end before one. */
const ws = { duckdbSettings: () => ({ threads: 1, memoryLimit: '64MB', tempDir: '/nonexistent' }) } as unknown as Workspace;

describe('FeatureTableReader.featureRows (a volume model\'s test slice, for its residuals)', () => {
  it('says why there are no rows: no features table, no such snapshot, or no feature columns', async () => {
    const none = new FeatureTableReader(ws, () => null);
    expect(await none.featureRows('2020-01-01', '2020-12-31')).toBe('there is no features table (run `stockpipe features`)');
    expect(await none.featureRows('2020-01-01', '2020-12-31', '7')).toBe('the features table has no snapshot 7 (vacuum may have removed it)');
    const bare = new FeatureTableReader(ws, (): TableLocation => ({ hasFeatures: false, version: '3', source: 'x' }));
    expect(await bare.featureRows('2020-01-01', '2020-12-31', '3')).toBe('the features table has no feature columns');
  });
});
