/** @module db/duckdb
 * The only loader of @duckdb/node-api: opening an embedded DuckDB with a workspace's settings
 * (`openDuckDB(ws.duckdbSettings())`: spill folder, memory limit, threads), SQL quoting, and small
 * query helpers. The module is loaded by the first openDuckDB, so commands that never open a
 * database do not pay for it (≈ 0.14 s of start-up); db/'s writers reach it through `duckdbApi()`
 * and `duckdbBindings()`. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as DuckDBApi from '@duckdb/node-api';
import type { DuckDBConnection } from '@duckdb/node-api';
import type DuckDBBindings from '@duckdb/node-bindings';
import { scratchFolder } from '../core/fs.js';
import type { DuckDBSettings } from '../core/workspace.js';

let api: typeof DuckDBApi | null = null;
let bindings: typeof DuckDBBindings | null = null;

/** @duckdb/node-api (and its native bindings, which db/parquet-stream calls directly), loaded once per thread. */
async function loadDuckDBApi(): Promise<typeof DuckDBApi> {
  if (api === null) {
    // Named exports from Node's CommonJS loader; from the bundled command line (tools/build-cli),
    // where esbuild cannot list this CommonJS package's exports, under `default`.
    const m = await import('@duckdb/node-api');
    api = 'DuckDBInstance' in m ? m : (m as { default: typeof DuckDBApi }).default;
  }
  bindings ??= (await import('@duckdb/node-bindings')).default;
  return api;
}

/** @duckdb/node-api for code that runs on an open database (openDuckDB loaded it in this thread). */
export function duckdbApi(): typeof DuckDBApi {
  if (api === null) throw new Error('internal: @duckdb/node-api used before openDuckDB loaded it in this thread');
  return api;
}

/** @duckdb/node-bindings, for code that runs on an open database. */
export function duckdbBindings(): typeof DuckDBBindings {
  if (bindings === null) throw new Error('internal: @duckdb/node-bindings used before openDuckDB loaded it in this thread');
  return bindings;
}

export type { DuckDBConnection };

/** What DuckDB opens with: a Workspace's `duckdbSettings()` (or a worker's copy of them). */
export type DuckDBOptions = DuckDBSettings;

export interface DuckDB {
  connection: DuckDBConnection;
  /** Another connection to the same database (queries on two connections run at the same time); closed by close(). */
  connect(): Promise<DuckDBConnection>;
  close(): void;
}

/**
 * Runs `fn` with DuckDB's worker threads set to `n` (for the whole instance), then sets them back.
 * A full build's lanes keep the cores busy themselves (each a JS worker and the COPY that encodes its
 * files, which runs on the calling thread): DuckDB's own workers beyond would only contend with them.
 */
export async function withThreads<T>(conn: DuckDBConnection, n: number, fn: () => Promise<T>): Promise<T> {
  const [was] = await queryRows(conn, `SELECT current_setting('threads')::INTEGER AS n`);
  await conn.run(`SET threads = ${Math.max(1, Math.floor(n))}`);
  try {
    return await fn();
  } finally {
    await conn.run(`SET threads = ${Number(was!.n)}`);
  }
}

/** Opens an in-memory DuckDB for one command. */
export async function openDuckDB(opts: DuckDBOptions): Promise<DuckDB> {
  // A workspace on read-only media: spill files (if a query needs any) go to a folder of this process
  // in the system's temp folder, which DuckDB creates when it first spills and removes at close.
  const tempDir = await scratchFolder(opts.tempDir, join(tmpdir(), `stockpipe-duckdb-${process.pid}`));
  const { DuckDBInstance } = await loadDuckDBApi();
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(opts.threads),
    memory_limit: opts.memoryLimit,
    temp_directory: tempDir,
    preserve_insertion_order: 'true',
  });
  const connection = await instance.connect();
  const extra: DuckDBConnection[] = [];
  return {
    connection,
    async connect() {
      const c = await instance.connect();
      extra.push(c);
      return c;
    },
    close() {
      for (const c of extra) c.closeSync();
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Quotes a string literal for SQL. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * A file path as a SQL literal for DuckDB's readers (read_parquet, read_csv, parquet_metadata), which
 * take a glob pattern: `*`, `?` and `[` are escaped as `[*]`, `[?]`, `[[]`, so a path names only its
 * own file (a workspace named `ws?` read the files of its sibling `wsA` too, and counted them twice).
 */
export function sqlPath(path: string): string {
  return sqlString(path.replace(/[*?[]/g, (c) => `[${c}]`));
}

/**
 * A FROM item for `input`: a table expression as store/read's `sourceOf` builds it
 * (`read_parquet([...], …)`, a table's snapshot of several files) or a parenthesised subquery
 * (`(SELECT … )`, e.g. a snapshot's new rows) is used as is; anything else is a Parquet file path
 * (tests and one-file inputs).
 */
export function tableSource(input: string): string {
  return input.startsWith('read_parquet(') || input.startsWith('(SELECT ') ? input : `read_parquet(${sqlPath(input)})`;
}

/** Quotes an identifier for SQL. */
export function sqlIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** A column of tempTableOf: its name, SQL type and one value per row (null = NULL). */
export type TempColumn = { name: string; type: 'VARCHAR'; values: readonly (string | null)[] } | { name: string; type: 'INTEGER'; values: readonly (number | null)[] };

/**
 * Creates (or replaces) temporary table `name` from parallel arrays, bound as list parameters and
 * unnested: no SQL text per row (8,000 rows of two columns: 0.01 s, against 0.04 s as a VALUES
 * list DuckDB must parse). The columns keep their types with no rows.
 */
export async function tempTableOf(conn: DuckDBConnection, name: string, columns: readonly TempColumn[]): Promise<void> {
  const a = duckdbApi();
  const select = columns.map((c, i) => `unnest($${i + 1}::${c.type}[]) AS ${sqlIdent(c.name)}`).join(', ');
  const st = await conn.prepare(`CREATE OR REPLACE TEMP TABLE ${name} AS SELECT ${select}`);
  try {
    columns.forEach((c, i) => st.bindList(i + 1, [...c.values], a.LIST(c.type === 'VARCHAR' ? a.VARCHAR : a.INTEGER)));
    await st.run();
  } finally {
    st.destroySync();
  }
}

/** Runs a query and returns its rows as JSON-friendly objects (BIGINT → number when safe). */
export async function queryRows(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJson() as Record<string, unknown>[];
}
