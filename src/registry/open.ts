/** @module registry/open
 * Opens a workspace's store (core/workspace's registryPath): WAL, busy timeout, foreign keys, migrations; maps SQLite failures
 * to SP_ERR_REGISTRY with the path and a hint. The typed API over the connection is store.ts. */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StockpipeError } from '../core/errors.js';
import { diskFullError } from '../core/os-errors.js';
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
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  try {
    configure(db, false);
    const v = schemaVersion(db);
    assertNotNewer(file, v);
    if (v < SCHEMA_VERSION) migrate(db, file, now);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * A configured, migrated connection. Read-only: a missing store reads as an empty one (in memory, so
 * nothing is created); an older store is migrated once by a short writable connection first.
 */
export function connect(file: string, readonly: boolean, now: () => Date): Database.Database {
  try {
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
      throw err;
    }
    if (v === SCHEMA_VERSION) return db;
    db.close();
    openWritable(file, now).close();
    return connect(file, true, now);
  } catch (err) {
    throw registryError(file, 'cannot open', err);
  }
}
