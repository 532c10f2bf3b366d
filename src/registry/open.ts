/** @module registry/open
 * Opens a workspace's store (core/workspace's registryPath): WAL, busy timeout, foreign keys, migrations; maps SQLite failures
 * to SP_ERR_REGISTRY with the path and a hint. The typed API over the connection is store.ts. */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { StockpipeError } from '../core/errors.js';
import { unwritable } from '../core/fs.js';
import { diskFullError } from '../core/os-errors.js';
import { layout } from '../core/workspace.js';
import { assertNotNewer, migrate, SCHEMA_VERSION, schemaVersion } from './schema.js';

/** How long a statement waits for another process's write lock before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 10_000;

function hintFor(sqliteCode: string, file: string): string | undefined {
  if (/^SQLITE_(BUSY|LOCKED)/.test(sqliteCode)) {
    return `Another stockpipe process held the write lock on ${file} for over ${BUSY_TIMEOUT_MS / 1000} s; retry when it finishes.`;
  }
  if (/^SQLITE_(NOTADB|CORRUPT)/.test(sqliteCode)) {
    return `${file} is not a valid SQLite database: move it (and any -wal/-shm beside it) aside to start an empty registry, or restore a backup.`;
  }
  if (/^SQLITE_(READONLY|CANTOPEN|IOERR|PERM|FULL)/.test(sqliteCode)) {
    return `Check that ${file} and its folder exist, are readable and writable, and that the disk has space.`;
  }
  return undefined;
}

/** SQLite errors become SP_ERR_REGISTRY naming the file; StockpipeErrors and bugs pass through. */
export function registryError(file: string, what: string, err: unknown): unknown {
  if (!(err instanceof Database.SqliteError)) return err;
  // SHMSIZE: the shared-memory file beside a store nobody holds open could not be sized (no space left).
  if (err.code.startsWith('SQLITE_FULL') || err.code === 'SQLITE_IOERR_SHMSIZE') return diskFullError(dirname(file), err);
  return new StockpipeError('SP_ERR_REGISTRY', `registry ${file}: ${what}: ${err.message} (${err.code})`, { hint: hintFor(err.code, file), cause: err });
}

function configure(db: Database.Database, readonly: boolean): void {
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  if (!readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL'); // durable in WAL mode except for the last commit on power loss
  }
  db.pragma('foreign_keys = ON');
}

function openWritable(file: string, now: () => Date): Database.Database {
  try {
    mkdirSync(dirname(file), { recursive: true });
  } catch (err) {
    throw new StockpipeError('SP_ERR_WORKSPACE_UNWRITABLE', `cannot create ${dirname(file)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  // SQLite opens a store it may not write read-only without a word (a -wal file beside it on read-only media, a file this user
  // may only read), and the command's first write then failed as a damaged store: said as unwritable before any work instead.
  if (existsSync(file) && unwritable(file)) {
    throw new StockpipeError('SP_ERR_WORKSPACE_UNWRITABLE', `cannot write the registry ${file}: it is read-only for this process`, {
      hint: 'Commands that only read (serve, models list, export, runs) work on a read-only workspace; run the ones that write on a writable copy.',
    });
  }
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  try {
    configure(db, false);
    const v = schemaVersion(db);
    assertNotNewer(file, v);
    if (v < SCHEMA_VERSION) migrate(db, file, now);
    return db;
  } catch (err) {
    db.close();
    // A store on read-only media (or a folder this user may only read): said as such, not as a damaged store.
    if (err instanceof Database.SqliteError && /^SQLITE_(CANTOPEN|READONLY)/.test(err.code) && unwritable(dirname(file))) {
      throw new StockpipeError('SP_ERR_WORKSPACE_UNWRITABLE', `cannot write the registry ${file}: its folder is read-only for this process (${err.code})`, {
        hint: 'Commands that only read (serve, models list, export, runs) work on a read-only workspace; run the ones that write on a writable copy.',
        cause: err,
      });
    }
    throw err;
  }
}

/** What SQLite says when a WAL-mode store's -shm file cannot be made beside it (readOnlyMediaCopy's case). */
const NO_SHM_CODES = new Set(['SQLITE_CANTOPEN', 'SQLITE_READONLY_DIRECTORY', 'SQLITE_READONLY_CANTINIT']);

/**
 * A store on read-only media (a `:ro` volume, a snapshot, a folder this user may only read): SQLite
 * cannot open a WAL-mode database read-only when its -shm file is absent and cannot be created, which
 * is always so there once the last writer closed it cleanly (that removes the -wal and -shm files).
 * With no -wal file every commit is in the main file, so a copy of it in memory is the whole store:
 * its header's WAL marks (bytes 18–19) are set back to the rollback journal's, an older schema is
 * migrated in the copy only, and the copy is query-only. Null when that is not the case (a -wal file
 * there holds commits the main file lacks; the folder is writable; not a WAL-mode SQLite file): the
 * open's own error stands. The copy is the store at open time; registry/reader reopens it when the
 * file changes.
 */
function readOnlyMediaCopy(file: string, now: () => Date): Database.Database | null {
  if (!unwritable(dirname(file))) return null;
  // A writer elsewhere (the writable path of a bind mount) may open, commit and checkpoint while the
  // file is read: the copy is kept only when no -wal file was there before or after the read and the
  // file's size and time of change did not move during it; else it is read again (three tries).
  for (let attempt = 0; attempt < 3; attempt++) {
    if (existsSync(`${file}-wal`)) return null;
    const before = statSync(file);
    const bytes = readFileSync(file);
    const after = statSync(file);
    if (existsSync(`${file}-wal`)) return null;
    if (before.size !== after.size || before.mtimeMs !== after.mtimeMs || bytes.length !== after.size) continue;
    if (bytes.length < 100 || bytes.toString('latin1', 0, 16) !== 'SQLite format 3\u0000' || bytes[18] !== 2 || bytes[19] !== 2) return null;
    return memoryCopy(bytes, file, now);
  }
  return null;
}

/** A query-only store in memory from a WAL-mode store's bytes (its header's WAL marks set back to the rollback journal's), an older schema migrated there. */
function memoryCopy(bytes: Buffer, file: string, now: () => Date): Database.Database {
  bytes[18] = 1;
  bytes[19] = 1;
  const db = new Database(bytes);
  try {
    configure(db, true);
    const v = schemaVersion(db);
    assertNotNewer(file, v);
    if (v < SCHEMA_VERSION) migrate(db, file, now);
    db.pragma('query_only = ON');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** The size of a file (0 when it is gone or not a file this process may stat). */
function sizeOrZero(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // gone or unreadable: nothing SQLite could read either
  }
}

/** Whether a folder of the workspace holds anything (false when it is gone or unreadable). */
function holdsEntries(dir: string): boolean {
  try {
    return readdirSync(dir).length > 0;
  } catch {
    return false; // gone or unreadable: no evidence of data
  }
}

/**
 * A store of 0 bytes (and no commits in a -wal file beside it) in a workspace whose store/ or models/
 * hold files: a registry truncated by a full disk, a bad copy or a `> stockpipe.db`. SQLite opens such a
 * file as a new empty database without a word: every command then read the workspace as one without
 * snapshots or models (monitor hinted fetch and ingest), and the tables' files as nobody's. Refused
 * before anything is written to it, so the file is as it was for a restore.
 */
function assertNotEmptied(file: string): void {
  if (!existsSync(file) || sizeOrZero(file) > 0 || sizeOrZero(`${file}-wal`) > 0) return;
  const root = dirname(file);
  const held = [layout.storeDir, layout.modelsDir].filter((d) => holdsEntries(join(root, d)));
  if (held.length === 0) return;
  throw new StockpipeError('SP_ERR_REGISTRY', `registry ${file} is empty (0 bytes) while the workspace's ${held.join('/ and ')}/ hold files: the registry was truncated, and opening it would start a new empty one that knows none of them`, {
    hint: `Restore ${file} from a backup (or the copy the truncation came from); to start over instead, move the workspace aside and run \`stockpipe run train\` in a new one.`,
  });
}

/**
 * A configured, migrated connection. Read-only: a missing store reads as an empty one (in memory, so
 * nothing is created); an older store is migrated once by a short writable connection first; a store
 * on read-only media is read from a copy in memory (readOnlyMediaCopy).
 */
export function connect(file: string, readonly: boolean, now: () => Date): Database.Database {
  try {
    assertNotEmptied(file);
    if (!readonly) return openWritable(file, now);
    if (!existsSync(file)) {
      const mem = new Database(':memory:');
      configure(mem, true);
      migrate(mem, file, now);
      mem.pragma('query_only = ON');
      return mem;
    }
    const db = new Database(file, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    let v: number;
    try {
      configure(db, true);
      v = schemaVersion(db);
      assertNotNewer(file, v);
    } catch (err) {
      db.close();
      // Read-only media say CANTOPEN; a folder this user may only read says READONLY_DIRECTORY (SQLite
      // cannot make the -shm file there), or READONLY_CANTINIT: the same case, and the copy checks the folder.
      const copy = err instanceof Database.SqliteError && NO_SHM_CODES.has(err.code) ? readOnlyMediaCopy(file, now) : null;
      if (copy !== null) return copy;
      throw err;
    }
    if (v === SCHEMA_VERSION) return db;
    // An older store this process may not write (read-only media with a -wal file beside it, a file it may only read): migrated in
    // a copy in memory, read through this connection so that the commits in the -wal file are in it.
    if (unwritable(file) || unwritable(dirname(file))) {
      try {
        return memoryCopy(db.serialize(), file, now);
      } finally {
        db.close();
      }
    }
    db.close();
    openWritable(file, now).close();
    return connect(file, true, now);
  } catch (err) {
    throw registryError(file, 'cannot open', err);
  }
}
