import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { commitQuery, priceRowsQuery } from '../../test/helpers/store.js';
import { failureOf } from '../../test/helpers/failure.js';
import { tempDir } from '../../test/helpers/temp.js';
import { Workspace } from '../core/workspace.js';
import { listSnapshotsReadable, liveFiles, parseAsOf } from '../registry/catalog.js';
import { openRegistry } from '../registry/store.js';
import { asOfLabel, onDiskIn, tableAt } from './read.js';

describe('--as-of in errors', () => {
  it('names a plain date as the start of its day in UTC, another time with its instant, a snapshot id as given', () => {
    const label = (t: string): string | undefined => asOfLabel(t, parseAsOf(t));
    expect(label('2026-12-07')).toBe('2026-12-07 (read as 2026-12-07T00:00:00.000Z: a date alone is the start of that day in UTC)');
    expect(label('2026-12-07T15:30:00+01:00')).toBe('2026-12-07T15:30:00+01:00 (2026-12-07T14:30:00.000Z)');
    expect(label('2026-12-07T14:30:00.000Z')).toBe('2026-12-07T14:30:00.000Z');
    expect(label('12')).toBe('12');
    expect(asOfLabel({ snapshot: 3 }, { snapshot: 3 })).toBe('snapshot 3');
    expect(asOfLabel(undefined, undefined)).toBeUndefined();
  });

  it('says which instant a date was read as when the table had no snapshot then', async () => {
    const ws = new Workspace(await tempDir('read'));
    const reg = openRegistry(ws);
    try {
      const f = await failureOf(() => tableAt(ws, reg, 'prices', '2026-12-07'));
      expect(f.code).toBe('SP_ERR_PRICES_MISSING');
      expect(f.message).toContain('had no snapshot as of 2026-12-07 (read as 2026-12-07T00:00:00.000Z: a date alone is the start of that day in UTC)');
    } finally {
      reg.close();
    }
  });
});

describe('snapshots: readable', () => {
  it('says a snapshot listing a data file deleted by hand is not readable (missing_file), as reading it fails; the others stay readable', async () => {
    const dir = await tempDir('read-missing');
    const ws = new Workspace(dir);
    const first = await commitQuery(dir, 'prices', priceRowsQuery(['AA', 'BB'], 5, 0));
    const second = await commitQuery(dir, 'prices', priceRowsQuery(['AA', 'BB'], 5, 1));
    const reg = openRegistry(ws);
    try {
      const gone = liveFiles(reg, first)[0]!;
      await rm(ws.path(gone.path));
      const listed = listSnapshotsReadable(reg, 'prices', { onDisk: onDiskIn(ws) });
      expect(listed.map((s) => [s.id, s.readable, s.missing_file])).toEqual([[second.id, true, null], [first.id, false, gone.path]]);
      // Read --as-of, an older snapshot is hinted another snapshot: a new one (ingest --force) does not bring it back.
      const f = await failureOf(() => tableAt(ws, reg, 'prices', String(first.id)));
      expect(f.code).toBe('SP_ERR_PRICES_MISSING');
      expect(f.hint).toContain('`stockpipe snapshots prices` lists which are readable');
      expect(f.hint).toContain('does not bring this one back');
      // Without onDisk (the catalog alone) nothing is stat'ed.
      expect(listSnapshotsReadable(reg, 'prices').every((s) => s.readable)).toBe(true);
    } finally {
      reg.close();
    }
  });
});
