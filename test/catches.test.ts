/** No new blanket catch in src/: every `.catch(() => …)` (or `.catch((_x) => …)`, or a `.then(…, () => …)`
 * rejection handler) that ignores its error is listed here with the reason it may. Anything else
 * uses statOrNull / readFileOrNull / readdirOrEmpty (core/fs) or a catch that handles one named case
 * and rethrows the rest (docs/style.md: "No silent catch"). */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SRC } from './helpers/import-graph.js';

const BLANKET = /\.catch\(\s*(\(\s*\)|\(\s*_\w*[^)]*\)|_\w*)\s*=>|\.then\(.*,\s*\(\s*\)\s*=>/;

/** [file under src/, text on the line, why ignoring the error is right there]. */
const ALLOWED: [string, string, string][] = [
  ['core/fs.ts', 'await readlink(dir).catch(() => null)', 'checkWorkspacePath: a missing workspace path that is no symbolic link (EINVAL), or one that cannot be read as one, is a missing folder, created by the commands that write as before'],
  ['core/fs.ts', 'const st = await stat(path).catch(() => null);', 'sizeOf estimates the space a full disk needed while that error is reported; unreadable counts as 0'],
  ['core/fs.ts', 'const names = await readdir(path).catch(() => [] as string[]);', 'the same estimate, for a folder'],
  ['core/fs.ts', 'const st = await stat(resolve(out)).catch(() => null);', 'refuseSpecialOutput looks only for a FIFO, socket or device standing at --out; an output it cannot stat is left to the write, which reports its own error'],
  ['etl/ingest.ts', 'await discardPrepared(ws).catch(() => undefined)', 'a failed ingest deletes its prepared features stage as best it can: its own failure is the one to report, and a stage left behind names a prices snapshot that never came (never committed)'],
  ['features/prepare.ts', 'await discardPrepared(this.ws).catch(() => undefined);', 'a stopped or unfinished preparation deletes its stage as best it can: the ingest goes on (features/prepare), and a stage left behind has no manifest or names a snapshot no build commits'],
  ['core/fs.ts', 'copyFile(f.path, backup).catch(() => Promise.reject(err))', 'not swallowed: the hard link\'s error is rethrown instead of the copy\'s'],
  ['core/fs.ts', 'rename(c.backup, c.target).catch(() => undefined)', 'rollback after another error, which is the one thrown; the backup stays beside the target'],
  ['core/fs.ts', 'readdir(dir, { withFileTypes: true }).catch(() => [])', 'best-effort removal of stale temps; a folder that cannot be listed is reported by the command that reads it'],
  ['core/fs.ts', 'for (const name of (await readdirOrEmpty(dir).catch(() => [] as string[])).sort()) {', 'the sweep of a dead process\'s leftovers (an output\'s temps, tmp/ scratch) is housekeeping before a command\'s work: a folder this user may not list is left alone, never fails the command (a write there reports its own error)'],
  ['core/fs.ts', 'const newest = await newestMtime(path).catch(() => null);', 'the same sweep: an entry whose age cannot be read is kept'],
  ['core/fs.ts', 'if (o.dryRun !== true && !(await rm(path, { recursive: true, force: true }).then(() => true, () => false))) continue;', 'the same sweep: an entry that cannot be removed is kept and not reported as removed'],
  ['sources/kaggle-auth.ts', 'stat(envToken).catch(() => null)', 'KAGGLE_API_TOKEN may be the token itself: a stat error must never quote it, so any error means "not a file"'],
  ['sources/kaggle-util.ts', 'res.body?.cancel().catch(() => undefined)', 'discarding a response body that is not read; the request\'s outcome is already decided'],
  ['sources/yahoo-client.ts', "res.text().catch(() => '')", 'the body of an error response only adds detail to the error being thrown'],
  ['etl/date-range.ts', 'probe(join(root, p)).catch(', 'a date-range guess: an unreadable file leaves it unchanged, and the parse step reports that file with its code'],
  ['pipeline/runner.ts', 'work.catch(() => undefined).finally(', 'waits for a timed-out task to settle; its error is the race\'s, awaited beside it'],
  ['features/build.ts', "once(worker, 'exit').catch(() => undefined)", 'a rejection repeats the worker\'s error event, which inbox.fail reports'],
  ['queue/executor.ts', 'done.catch(() => undefined);', 'marks a job\'s promise handled while the job is being queued (the Redis watchdog may reject it first); submit awaits the same promise and gets the error'],
  ['queue/executor.ts', 'const failed = done.then(() => false, () => true);', 'whether a job\'s promise failed (the watchdog or a cancel ended it while the job was being queued): submit awaits the same promise and gets the error'],
  ['db/serial-duckdb.ts', 'db.then((d) => d.close(), () => {})', 'closing: an open that failed has nothing to close, and its error went to the query that started it'],
  ['db/serial-duckdb.ts', 'this.queue = next.catch(() => {})', 'the queue only waits for the query to settle; the caller gets its error from `next`'],
  ['pipeline/alerts.ts', 'await res.body?.cancel().catch(() => undefined);', 'the webhook\'s answer is read by its status alone: closing its body is best effort (a server that sent headers and hangs must not hold the command); the delivery is already recorded'],
  ['validate/reference.ts', 'await readReference(copy, table).then((r) => r.version === newest, () => false)', 'whether the versioned copy beside a damaged reference is sound, only to choose the hint: an unreadable copy is not offered, and the damaged file\'s own error is thrown'],
  ['dashboard/routes-models.ts', 'p.catch(() => residualCache.delete(key))', 'a failed residuals computation leaves the cache (the next request retries); the request awaiting it gets its error'],
];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return files(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [relative(SRC, p).split(sep).join('/')] : [];
  });
}

const found = files(SRC).flatMap((f) => readFileSync(join(SRC, f), 'utf8').split('\n').flatMap((line, i) => (BLANKET.test(line) ? [{ file: f, line: i + 1, text: line.trim() }] : [])));

describe('blanket catches in src/', () => {
  it('finds the known ones (the pattern still matches)', () => {
    expect(found.length).toBeGreaterThanOrEqual(ALLOWED.length);
  });

  it('each one is on the allow-list with its reason', () => {
    const unlisted = found.filter((c) => !ALLOWED.some(([file, text]) => c.file === file && c.text.includes(text)));
    expect(unlisted.map((c) => `${c.file}:${c.line}: ${c.text}`)).toEqual([]);
  });

  it.each(ALLOWED)('%s: %s is still there (else remove it from the list)', (file, text, reason) => {
    expect(reason.length).toBeGreaterThan(10);
    expect(found.filter((c) => c.file === file && c.text.includes(text))).toHaveLength(1);
  });

  it.each([
    ['stat(x).catch(() => null)', true], ['readdir(x).catch((_err) => [])', true], ['p.catch(_e => 0)', true],
    ['p.then((v) => v, () => false)', true], ['p.catch((err) => { throw wrap(err); })', false], ['statOrNull(x)', false],
  ])('the pattern: %s → %s', (line, blanket) => {
    expect(BLANKET.test(line)).toBe(blanket);
  });
});
