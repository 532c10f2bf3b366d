/** @module etl/parse-worker
 * Worker thread of the parse pool: claims file indexes from a shared counter, reads the file
 * (from a folder, or an entry of a zip), parses it and posts the typed columns back by transfer.
 * Waits when it runs more than `lookahead` files ahead of the consumer (bounded memory). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import yauzl from 'yauzl';
import { HeaderError, parseBarsCsv, type ParsedBars } from './csv-parse.js';
import { InboxProducer, runProducer } from '../core/sync-inbox.js';
import type { ParseResult, WorkerInit } from './parse-protocol.js';

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
  const stream = await new Promise<NodeJS.ReadableStream>((res, rej) =>
    hit.zip.openReadStream(hit.entry, (err, s) => (err || !s ? rej(err ?? new Error('no stream')) : res(s))),
  );
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function transferList(p: ParsedBars): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  for (const a of [p.day, p.open, p.high, p.low, p.close, p.adjClose, p.volume]) set.add(a.buffer as ArrayBuffer);
  return [...set];
}

async function main(inbox: InboxProducer): Promise<void> {
  const zipMap = init.layout === 'zip' ? await openZip(init.root) : null;
  for (;;) {
    const index = inbox.claim(init.files.length);
    if (index < 0) break;
    inbox.waitForRoom(index);
    const path = init.files[index]!;
    try {
      const bytes = zipMap ? await readZipEntry(zipMap, path) : await readFile(join(init.root, path));
      const parsed = parseBarsCsv(bytes);
      inbox.post<ParseResult>({ index, ok: true, parsed, bytes: bytes.length }, transferList(parsed));
    } catch (err) {
      const kind = err instanceof HeaderError ? 'header' : (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'read';
      inbox.post<ParseResult>({ index, ok: false, kind, message: err instanceof Error ? err.message : String(err) });
    }
  }
}

const port: MessagePort = init.port;
runProducer<ParseResult>(new InboxProducer(init.control, port, init.lookahead), port, main, (message) => ({ index: -1, ok: false, kind: 'read', message }), () => parentPort?.close());
