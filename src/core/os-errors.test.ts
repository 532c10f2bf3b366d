import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { StockpipeError } from './errors.js';
import { diskFullError, resourceError, resourceKind } from './os-errors.js';

const errno = (code: string, path?: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: failed, write`), { code, ...(path === undefined ? {} : { path }) });
const WS = '/data/ws';

describe('machine failures that are the user\'s', () => {
  // [what, error, expected code (undefined: not the user's, stays SP_ERR_INTERNAL)]
  const cases: [string, unknown, string | undefined][] = [
    ['ENOSPC errno', errno('ENOSPC', `${WS}/tables/x`), 'SP_ERR_DISK_FULL'],
    ['EDQUOT errno', errno('EDQUOT', `${WS}/tables/x`), 'SP_ERR_DISK_FULL'],
    ['DuckDB IO error text', new Error(`IO Error: Could not write file "${WS}/features/.f.tmp": No space left on device`), 'SP_ERR_DISK_FULL'],
    ['worker-forwarded ENOSPC text', new Error('ENOSPC: no space left on device, write'), 'SP_ERR_DISK_FULL'],
    ['ENOSPC as the cause', new Error('copy failed', { cause: errno('ENOSPC') }), 'SP_ERR_DISK_FULL'],
    ['EROFS in the workspace', errno('EROFS', `${WS}/validation/latest.json`), 'SP_ERR_WORKSPACE_UNWRITABLE'],
    ['EACCES in the workspace', errno('EACCES', `${WS}/tables/prices.parquet`), 'SP_ERR_WORKSPACE_UNWRITABLE'],
    ['EPERM naming no file', errno('EPERM'), 'SP_ERR_WORKSPACE_UNWRITABLE'],
    ['EACCES outside the workspace', errno('EACCES', '/etc/shadow'), undefined],
    ['EMFILE', errno('EMFILE', `${WS}/raw/a.csv`), 'SP_ERR_TOO_MANY_FILES'],
    ['ENFILE text', new Error('ENFILE: file table overflow'), 'SP_ERR_TOO_MANY_FILES'],
    ['ENOMEM', errno('ENOMEM'), 'SP_ERR_OUT_OF_MEMORY'],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'x')"), undefined],
    ['a string', 'boom', undefined],
    ['a coded error passes through', new StockpipeError('SP_ERR_USAGE', 'no space left on device'), undefined],
  ];
  it.each(cases)('%s → %s', (_what, err, code) => {
    expect(resourceError(err, { workspace: WS, memoryLimit: '1GB', threads: 2 })?.code).toBe(code);
  });

  it('a full disk names the folder and the bytes needed, saying whether they are an estimate', () => {
    const exact = diskFullError('/data/ws/tables', errno('ENOSPC'), { bytes: 1234, basis: 'the size of report.json', exact: true });
    expect(exact.code).toBe('SP_ERR_DISK_FULL');
    expect(exact.message).toContain('/data/ws/tables');
    expect(exact.message).toContain('1234 bytes');
    expect(exact.message).not.toContain('estimate');
    const estimate = diskFullError('/data/ws/tables', errno('ENOSPC'), { bytes: 99, basis: 'the size of the previous prices.parquet', exact: false });
    expect(estimate.message).toContain('estimated as the size of the previous prices.parquet');
    expect(estimate.hint).toContain('99 bytes');
  });

  // Probed: `export --out F` over a 4-byte F on a disk with 3 MB free said "needs about 4 bytes" and "Free at least 4 bytes".
  it('an estimate no larger than the space free is not given as what is needed: the output needs more than the space free', () => {
    const e = diskFullError(tmpdir(), errno('ENOSPC'), { bytes: 4, basis: 'the size of the previous out.csv', exact: false });
    expect(e.code).toBe('SP_ERR_DISK_FULL');
    expect(e.message).not.toContain('needs about 4 bytes');
    expect(e.message).toContain('needs more than');
    expect(e.hint).toMatch(/^Free more than /);
    expect(e.hint).not.toContain('at least 4 bytes');
  });

  // Probed: `export prices --out /mnt/ro/a.csv` on a read-only (or full) file system hinted "or pass --workspace with a writable folder", which moves nothing of an --out.
  it('a user\'s output file (--out) is hinted another file, not another --workspace', () => {
    for (const [code, kind] of [['EROFS', 'writable folder'], ['EACCES', 'folder you can write'], ['ENOSPC', 'larger disk']] as const) {
      const e = resourceError(errno(code, '/mnt/ro/.a.csv.tmp-1-x'), { folder: '/mnt/ro', output: '--out' })!;
      expect(e.hint, code).toContain(`give --out a file`);
      expect(e.hint, code).toContain(kind);
      expect(e.hint, code).not.toContain('--workspace');
      // The workspace's own outputs keep the --workspace hint.
      expect(resourceError(errno(code, `${WS}/tables/x`), { workspace: WS })!.hint, code).toContain('--workspace');
    }
  });

  it('out of memory names the limit and the threads in the hint', () => {
    const e = resourceError(errno('ENOMEM'), { memoryLimit: '1KB', threads: 3 })!;
    expect(e.hint).toContain('--memory-limit (now 1KB');
    expect(e.hint).toContain('--threads (now 3)');
    expect(resourceKind(errno('ENOENT'))).toBeUndefined();
  });
});
