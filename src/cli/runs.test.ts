import { describe, expect, it } from 'vitest';
import { noRunsText } from './runs.js';

describe('runs list, an empty page', () => {
  it('says why: past the last run, nothing matching the filters, or nothing yet (with the pipeline to run)', () => {
    expect(noRunsText({ pipeline: 'train' }, 1)).toBe('no runs on this page (1 in all): use a smaller --offset');
    expect(noRunsText({ pipeline: 'train', status: 'failed' }, 0)).toBe('no failed train pipeline runs');
    expect(noRunsText({ backfill: 'b1' }, 0)).toBe('no pipeline runs in backfill b1');
    expect(noRunsText({ pipeline: 'daily' }, 0)).toBe('no daily pipeline runs yet: try `stockpipe run daily`');
    expect(noRunsText({}, 0)).toBe('no pipeline runs yet: try `stockpipe run train`');
  });
});
