/** @module registry/reader
 * One read-only registry connection kept open by a long-lived reader (the server's routes and its
 * champion poller) instead of a connection per request. Opened on first use: a store that cannot be
 * opened fails that call and the next call tries again. Reopened when stockpipe.db appears (a
 * missing store reads as empty), when it is replaced (another file at the path), and after an
 * SP_ERR_REGISTRY failure; a copy of a store on read-only media (registry/open) also when the file's
 * size or time of change moves or its -wal file appears or changes. In WAL mode every statement outside a transaction starts a new read
 * transaction, so the next read sees what other processes committed. Writers open their own
 * short-lived writable handle (openRegistry). */
import { statSync, type Stats } from 'node:fs';
import { StockpipeError } from '../core/errors.js';
import { toWorkspace, type Workspace, type WorkspaceRef } from '../core/workspace.js';
import { openRegistry, type Registry } from './store.js';

function statOf(file: string): Stats | undefined {
  try {
    return statSync(file, { throwIfNoEntry: false });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new StockpipeError('SP_ERR_REGISTRY', `registry ${file}: cannot stat: ${code}`, { hint: `Check that ${file} and its folder are readable.`, cause: err });
  }
}

/** The file's identity: `file` its device and inode, `content` those, its size and time of change and the -wal file's beside it (while
 * another process holds the store open, commits stay in the -wal file and the main file does not change); null when there is no file. */
function identity(file: string, withContent: boolean): { file: string; content: string } | null {
  const s = statOf(file);
  if (s === undefined) return null;
  // The content (a second stat) only for a copy, or before an open that may make one: a live store's reads need the file's alone.
  if (!withContent) return { file: `${s.dev}:${s.ino}`, content: '' };
  const wal = statOf(`${file}-wal`);
  const walContent = wal === undefined ? 'no-wal' : `${wal.ino}:${wal.size}:${wal.mtimeMs}`;
  return { file: `${s.dev}:${s.ino}`, content: `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${walContent}` };
}

export class RegistryReader {
  readonly file: string;
  private reg: Registry | null = null;
  /** The identity of the file `reg` was opened on (null: opened while there was none, an empty store); its content's when `copied`. */
  private openedOn: string | null = null;
  /** `reg` is a copy of the file in memory (a store on read-only media): reopened when the file's content changes too. */
  private copied = false;
  private closed = false;

  readonly ws: Workspace;

  constructor(
    workspace: WorkspaceRef,
    private readonly now?: () => Date,
  ) {
    this.ws = toWorkspace(workspace);
    this.file = this.ws.registryPath;
  }

  /** Runs `fn` on the shared read-only handle (after close(): on a handle of its own, closed after). */
  read<T>(fn: (reg: Registry) => T): T {
    if (this.closed) {
      const reg = openRegistry(this.ws, { readonly: true, now: this.now });
      try {
        return fn(reg);
      } finally {
        reg.close();
      }
    }
    let now = identity(this.file, this.copied);
    const id = now === null ? null : this.copied ? now.content : now.file;
    if (this.reg !== null && id !== this.openedOn) this.drop();
    if (this.reg === null) {
      if (now !== null && now.content === '') now = identity(this.file, true);
      const reg = openRegistry(this.ws, { readonly: true, now: this.now });
      this.reg = reg;
      // The identity taken before the open: a change while it opened is seen by the next read.
      this.copied = reg.inMemory && now !== null;
      this.openedOn = now === null ? null : this.copied ? now.content : now.file;
    }
    try {
      return fn(this.reg);
    } catch (err) {
      // A failing store (corrupt, unreadable) is opened afresh by the next call.
      if (err instanceof StockpipeError && err.code === 'SP_ERR_REGISTRY') this.drop();
      throw err;
    }
  }

  /** Closes the handle; later reads each open and close their own. */
  close(): void {
    this.closed = true;
    this.drop();
  }

  private drop(): void {
    const reg = this.reg;
    this.reg = null;
    this.openedOn = null;
    this.copied = false;
    reg?.close();
  }
}
