/** @module etl/parse-worker
 * Worker thread of the parse pool: claims file indexes from a shared counter, reads the file
 * (from a folder, or an entry of a zip), parses it and posts the typed columns back by transfer.
 * Waits when it runs more than `lookahead` files ahead of the consumer (bounded memory). */
import { join } from 'node:path';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import yauzl from 'yauzl';
import { crc32 } from 'node:zlib';
import { parseBarsCsv, type ParsedBars } from './csv-parse.js';
import { FileTooLargeError, MAX_BARS_FILE_BYTES, readBarsFileSync, readFetchedBarsFileSync } from './bars-file.js';
import { InboxProducer, runProducer } from '../core/sync-inbox.js';
import { entryCrcError } from '../sources/zip.js';
import { failureKind, type ParseResult, type WorkerInit } from './parse-protocol.js';
import { withFeatures } from './parsed-bars.js';

const init = workerData as WorkerInit;

function openZip(path: string): Promise<Map<string, { zip: yauzl.ZipFile; entry: yauzl.Entry }>> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: false }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('cannot open zip'));
      const map = new Map<string, { zip: yauzl.ZipFile; entry: yauzl.Entry }>();
      zip.on('entry', (e: yauzl.Entry) => {
        map.set(e.fileName, { zip, entry: e });
        zip.readEntry();
      });
      zip.on('end', () => resolve(map));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

async function readZipEntry(map: Map<string, { zip: yauzl.ZipFile; entry: yauzl.Entry }>, name: string): Promise<Buffer> {
  const hit = map.get(name);
  if (!hit) throw new Error(`zip entry ${name} not found`);
  // Inflated whole: refuse by the size its header declares (yauzl holds the inflated bytes to it), so a
  // small archive that inflates to gigabytes (a zip bomb) is never held in memory.
  if (hit.entry.uncompressedSize > MAX_BARS_FILE_BYTES) throw new FileTooLargeError(hit.entry.uncompressedSize);
  const stream = await new Promise<NodeJS.ReadableStream>((res, rej) =>
    hit.zip.openReadStream(hit.entry, (err, s) => (err || !s ? rej(err ?? new Error('no stream')) : res(s))),
  );
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  const bytes = Buffer.concat(chunks);
  const damaged = entryCrcError(hit.entry, crc32(bytes));
  if (damaged !== null) throw damaged;
  return bytes;
}

function transferList(p: ParsedBars): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  for (const a of [p.day, p.open, p.high, p.low, p.close, p.adjClose, p.volume, ...(p.volumeExact ? [p.volumeExact] : []), ...(p.features ?? [])]) set.add(a.buffer as ArrayBuffer);
  return [...set];
}

/** A zip that fails to open or inflate is reported per file (kind 'zip'), naming the entry. */
class ZipReadError extends Error {}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function main(inbox: InboxProducer): Promise<void> {
  let zipMap: Map<string, { zip: yauzl.ZipFile; entry: yauzl.Entry }> | null = null;
  let zipOpenError: string | null = null;
  if (init.layout === 'zip') {
    try {
      zipMap = await openZip(init.root);
    } catch (err) {
      zipOpenError = `cannot open the archive: ${message(err)}`;
    }
  }
  const read = async (path: string, index: number): Promise<Buffer> => {
    // Synchronous on this worker's own thread: fs.promises.readFile reads in chunks, each a round trip
    // through libuv's pool, and took 4× as long for the same files (0.33 s against 0.08 s for 1,500
    // files of 0.35 MB, BENCHMARKS.md "Ingest and features next to pandas and Polars").
    if (init.layout === 'dir') return init.sizes === undefined ? readBarsFileSync(join(init.root, path)) : readFetchedBarsFileSync(join(init.root, path), init.sizes[index]!);
    if (zipMap === null) throw new ZipReadError(zipOpenError ?? 'cannot open the archive');
    try {
      return await readZipEntry(zipMap, path);
    } catch (err) {
      if (err instanceof FileTooLargeError) throw err;
      throw new ZipReadError(message(err));
    }
  };
  for (;;) {
    const index = inbox.claim(init.files.length);
    if (index < 0) break;
    inbox.waitForRoom(index);
    const path = init.files[index]!;
    try {
      const bytes = await read(path, index);
      const parsed = withFeatures(parseBarsCsv(bytes), init.features);
      inbox.post<ParseResult>({ index, ok: true, parsed, bytes: bytes.length }, transferList(parsed));
    } catch (err) {
      inbox.post<ParseResult>({ index, ok: false, kind: failureKind(err, err instanceof ZipReadError), message: message(err) });
    }
  }
}

const port: MessagePort = init.port;
runProducer<ParseResult>(new InboxProducer(init.control, port, init.lookahead), port, main, (message) => ({ index: -1, ok: false, kind: 'read', message }), () => parentPort?.close());
