/** The Data view's snapshot list says which snapshots can still be read, as `stockpipe snapshots` does
 * (it listed vacuumed ones like the others, under "Any snapshot can be read or exported as it was"). */
import { describe, expect, it } from 'vitest';
import { readableText } from './data-tables.js';

describe('readableText', () => {
  it('says yes, no (vacuumed) or no (file missing) as the CLI does', () => {
    expect(readableText({ readable: true, missing_file: null })).toBe('yes');
    expect(readableText({ readable: false, missing_file: null })).toBe('no (vacuumed)');
    expect(readableText({ readable: false, missing_file: 'store/prices/bucket=00/s000001-000-aa.parquet' })).toBe('no (file missing)');
  });
});
