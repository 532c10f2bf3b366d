/** @module serve/champion
 * Holds the model being served and swaps it when the `champion` alias moves: the registry is
 * polled, the new model.json is loaded and validated first, then the reference is replaced in one
 * assignment (requests in flight keep the scorer they started with). A broken new model is
 * rejected and logged; the old one keeps serving, and the broken one is tried again once its
 * model.json changes (restored); a served model's missing or invalid intervals.json is read again
 * once it changes. The model's intervals.json (ml/conformal) is loaded
 * with it when present; a missing one means no intervals, an invalid one is logged and the model
 * serves point predictions without intervals. The holder owns the server's one read-only registry
 * handle (`registry`, registry/reader), which the routes share; close() closes it. */
import { modelFileProblem, readModelJson } from '../ml/artifacts.js';
import { openRegularFile, statOrNull } from '../core/fs.js';
import { join } from 'node:path';
import type { Logger } from '../core/log.js';
import { layout, type WorkspaceRef } from '../core/workspace.js';
import { conformalFromJSON, type ConformalCalibration } from '../ml/conformal.js';
import { scorerFromJSON, type VolumeScorer } from '../ml/volume-model.js';
import { RegistryReader } from '../registry/reader.js';

export interface LoadedModel {
  id: string;
  kind: string;
  scorer: VolumeScorer;
  loadedAt: string;
  /** Its prediction intervals (intervals.json), or null: then `intervalsProblem` says why. */
  intervals: ConformalCalibration | null;
  intervalsProblem: string | null;
  /** Its folder, and intervals.json's stamp when read: a missing or invalid one is read again once it changes. */
  path: string;
  intervalsStamp: string;
}

/** Reads <model folder>/intervals.json: absent → no intervals; unreadable or invalid → no intervals, and why (`broken`). */
async function loadIntervals(dir: string, modelId: string): Promise<{ intervals: ConformalCalibration | null; problem: string | null; broken?: boolean }> {
  const file = join(dir, 'intervals.json');
  // API answers name the file relative to the workspace (as for model.json), not the server's path.
  const where = layout.modelFile(modelId, 'intervals.json');
  let text: string;
  try {
    // As model.json: a FIFO there would hold the read (and with it every later poll, so the alias's
    // next move too) until something wrote to it; a device or a huge file is not read whole.
    const fh = await openRegularFile(file);
    try {
      const problem = modelFileProblem(await fh.stat());
      if (problem !== null) return { intervals: null, problem: `${where} ${problem}`, broken: true };
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { intervals: null, problem: 'the model was trained without prediction intervals (no intervals.json)' };
    return { intervals: null, problem: `${where} cannot be read (${code ?? (err as Error).message})`, broken: true };
  }
  try {
    return { intervals: conformalFromJSON(text, where), problem: null };
  } catch (err) {
    return { intervals: null, problem: (err as Error).message, broken: true };
  }
}

/** What tells a model.json's versions apart between polls: inode, size and mtime, or why it has none. */
async function fileStamp(file: string): Promise<string> {
  try {
    const st = await statOrNull(file);
    return st === null ? 'missing' : `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch (err) {
    // Unreadable (EACCES, ELOOP…): its code is its stamp, so the load that names it runs once, not every poll.
    return `error:${(err as NodeJS.ErrnoException).code ?? 'unknown'}`;
  }
}

export class ChampionHolder {
  current: LoadedModel | null = null;
  private timer: NodeJS.Timeout | undefined;
  /** The alias holder that failed to load, and its model.json's stamp then: it is tried again once that changes. */
  private failed: { id: string; stamp: string } | undefined;
  /** The alias holder that failed to load while nothing else is served (503 answers name it). */
  get rejected(): string | undefined {
    return this.current === null ? this.failed?.id : undefined;
  }
  /** Called after each successful swap (metrics, logs). */
  onSwap: (m: LoadedModel) => void = () => {};
  /** The server's read-only registry handle: the poll reads through it, and so do the routes. */
  readonly registry: RegistryReader;

  constructor(
    workspace: WorkspaceRef,
    private readonly log: Logger,
    /** The registry alias followed. */
    readonly alias = 'champion',
  ) {
    this.registry = new RegistryReader(workspace);
  }

  /** Checks the alias once; loads and swaps when it points at a different model. */
  async refresh(): Promise<void> {
    const target = this.registry.read((reg) => {
      const id = reg.aliasTarget(this.alias);
      if (id === null || id === this.current?.id) return null;
      const m = reg.getModel(id, { checkFiles: false });
      return { model_id: m.id, path: m.path, kind: m.kind };
    });
    if (!target) return this.refreshIntervals();
    const file = join(target.path, 'model.json');
    // A rejected holder is loaded (and logged) again only once its model.json changed: restored, or replaced.
    const stamp = await fileStamp(file);
    if (target.model_id === this.failed?.id && stamp === this.failed.stamp) return;
    try {
      const scorer = scorerFromJSON((await readModelJson({ id: target.model_id, path: target.path })).text, file);
      const probe = scorer.predict(1e6, 25);
      if (!Number.isFinite(probe)) throw new Error(`scores ${probe} on a probe row`);
      const intervalsStamp = await fileStamp(join(target.path, 'intervals.json'));
      const iv = await loadIntervals(target.path, target.model_id);
      if (iv.broken) this.log.warn({ model_id: target.model_id, err: iv.problem }, 'the model\'s prediction intervals cannot be loaded; it serves point predictions only');
      const loaded: LoadedModel = { id: target.model_id, kind: target.kind, scorer, loadedAt: new Date().toISOString(), intervals: iv.intervals, intervalsProblem: iv.problem, path: target.path, intervalsStamp };
      const previous = this.current?.id;
      this.current = loaded;
      this.failed = undefined;
      this.log.info({ model_id: loaded.id, previous }, previous === undefined ? `serving model ${loaded.id} (${loaded.kind})` : previous === loaded.id ? `reloaded model ${loaded.id}` : `the champion moved: now serving ${loaded.id} (${loaded.kind}), was ${previous}; requests already in flight finish on the previous one`);
      this.onSwap(loaded);
    } catch (err) {
      this.failed = { id: target.model_id, stamp };
      const served = this.current?.id;
      this.log.error({ model_id: target.model_id, file, err: (err as Error).message }, served === undefined ? `champion ${target.model_id} rejected: no model is served (503 SP_ERR_NO_MODEL) until its model.json loads or another model is promoted` : `new champion ${target.model_id} rejected; the previous model ${served} keeps serving`);
    }
  }

  /** The served model without intervals: reads its intervals.json again once the file changed (restored). */
  private async refreshIntervals(): Promise<void> {
    const served = this.current;
    if (served === null || served.intervals !== null) return;
    const stamp = await fileStamp(join(served.path, 'intervals.json'));
    if (stamp === served.intervalsStamp) return;
    const iv = await loadIntervals(served.path, served.id);
    if (this.current !== served) return; // swapped meanwhile
    this.current = { ...served, intervals: iv.intervals, intervalsProblem: iv.problem, intervalsStamp: stamp };
    if (iv.intervals !== null) this.log.info({ model_id: served.id }, `model ${served.id} serves prediction intervals from its intervals.json`);
    else if (iv.broken) this.log.warn({ model_id: served.id, err: iv.problem }, 'the model\'s prediction intervals cannot be loaded; it serves point predictions only');
  }

  /** Why the last poll failed (null: it did not): the same failure is logged once, not on every poll. */
  private pollError: string | null = null;

  /** One poll (watch's tick): refresh(), its error logged, never thrown. A failure that repeats (a
   * stockpipe.db damaged or unreadable, every poll until it is mended) is logged once, and the poll
   * working again once: at --poll-ms 1000 it was a warning a second, 86,400 lines a day. */
  async poll(): Promise<void> {
    try {
      await this.refresh();
      if (this.pollError !== null) this.log.info({ was: this.pollError }, 'champion poll works again');
      this.pollError = null;
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.pollError) this.log.warn({ err: message }, 'champion poll failed (logged again only when its error changes; the model loaded keeps serving)');
      this.pollError = message;
    }
  }

  /** Polls every `ms` (errors are logged, never thrown); a poll starts only once the one before has
   * ended, so a model.json that takes longer than `ms` to load is loaded once, not once per tick. */
  watch(ms: number): void {
    this.stop();
    let polling = false;
    this.timer = setInterval(() => {
      if (polling) return;
      polling = true;
      void this.poll().finally(() => {
        polling = false;
      });
    }, ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops polling and closes the registry handle (the server's onClose). */
  close(): void {
    this.stop();
    this.registry.close();
  }
}
