/** @module ml/tune/session-lock
 * One tune session per study at a time: `<workspace>/tmp/studies/<study-id>.lock`, created exclusively
 * (O_EXCL) with the holder's pid, host and process start time. A second session on the same study
 * (`tune --resume` while it runs, two resumes at once) is refused with SP_ERR_STUDY_BUSY instead of
 * running its trials twice. A lock whose holder is gone (a killed session, on this host) is taken
 * over; a holder on another host cannot be checked, so the message names the file to remove. */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { StockpipeError } from '../../core/errors.js';
import { processGone, processStartTime } from '../../core/proc.js';
import type { Workspace } from '../../core/workspace.js';

interface Holder {
  pid: number;
  host: string;
  start: string | null;
  since: string;
}

/** The lock file of a study. */
export const studyLockPath = (ws: Workspace, studyId: string): string => join(ws.tmpDir, 'studies', `${studyId}.lock`);

async function readHolder(path: string): Promise<Holder | null> {
  try {
    const h = JSON.parse(await readFile(path, 'utf8')) as Partial<Holder>;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? { pid: h.pid, host: h.host, start: h.start ?? null, since: String(h.since ?? '?') } : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return null; // half-written by a session killed while writing it: no live holder wrote it whole
  }
}

/** Takes the study's session lock; resolves to its release. SP_ERR_STUDY_BUSY while another live session holds it. */
export async function lockStudySession(ws: Workspace, studyId: string, now: () => Date = () => new Date()): Promise<() => Promise<void>> {
  const path = studyLockPath(ws, studyId);
  await mkdir(join(ws.tmpDir, 'studies'), { recursive: true });
  const me: Holder = { pid: process.pid, host: hostname(), start: processStartTime(process.pid), since: now().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(`${JSON.stringify(me)}\n`);
      } finally {
        await fh.close();
      }
      return async () => {
        const h = await readHolder(path);
        if (h !== null && h.pid === me.pid && h.host === me.host) await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const h = await readHolder(path);
    const live = h !== null && (h.host !== me.host || !processGone(h.pid, h.start));
    if (live) {
      throw new StockpipeError('SP_ERR_STUDY_BUSY', `study ${studyId} is being tuned by another session (pid ${h.pid} on ${h.host}, since ${h.since})`, {
        hint: h.host === me.host
          ? 'Wait for it to end (`stockpipe studies STUDY` shows its progress), or stop it; a session that was killed releases the study by itself.'
          : `Wait for it to end; if that session is gone, remove ${path}.`,
      });
    }
    await rm(path, { force: true }); // its holder is gone: take the lock over
  }
  throw new StockpipeError('SP_ERR_STUDY_BUSY', `study ${studyId}: could not take its session lock (another session keeps taking it)`);
}
