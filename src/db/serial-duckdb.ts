/** @module db/serial-duckdb
 * One DuckDB connection opened on first use, whose queries run one after another: the server's
 * long-lived readers (db/feature-table, db/table-preview) each hold one. Closing it closes the
 * connection once its open has settled. */
import { openDuckDB, type DuckDB, type DuckDBOptions } from './duckdb.js';

export class SerialDuckDB {
  private db: Promise<DuckDB> | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  /** `options` is read at the first query (the workspace's memory limit and threads). */
  constructor(private readonly options: () => DuckDBOptions) {}

  /** Runs `fn` after every earlier query on the one connection has finished. */
  run<T>(fn: (db: DuckDB) => Promise<T>): Promise<T> {
    this.db ??= openDuckDB(this.options());
    const db = this.db;
    const next = this.queue.then(async () => fn(await db));
    this.queue = next.catch(() => {}); // the caller gets `next`'s error; the queue only waits for it to settle
    return next;
  }

  close(): void {
    const db = this.db;
    this.db = null;
    // An open that failed has nothing to close; its error already went to the query that started it.
    if (db) void db.then((d) => d.close(), () => {});
  }
}
