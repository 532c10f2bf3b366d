/** @module serve/champion
 * Holds the model being served and swaps it when the `champion` alias moves: the registry is
 * polled, the new model.json is loaded and validated first, then the reference is replaced in one
 * assignment (requests in flight keep the scorer they started with). A broken new model is
 * rejected and logged; the old one keeps serving. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../core/log.js';
import { scorerFromJSON, type VolumeScorer } from '../ml/volume-model.js';
import { openRegistry } from '../registry/store.js';

export interface LoadedModel {
  id: string;
  kind: string;
  scorer: VolumeScorer;
  loadedAt: string;
}

export class ChampionHolder {
  current: LoadedModel | null = null;
  private timer: NodeJS.Timeout | undefined;
  private failedId: string | undefined;
  /** The alias holder that failed to load while nothing else is served (503 answers name it). */
  get rejected(): string | undefined {
    return this.current === null ? this.failedId : undefined;
  }
  /** Called after each successful swap (metrics, logs). */
  onSwap: (m: LoadedModel) => void = () => {};

  constructor(
    private readonly workspace: string,
    private readonly log: Logger,
    private readonly alias = 'champion',
  ) {}

  /** Checks the alias once; loads and swaps when it points at a different model. */
  async refresh(): Promise<void> {
    let target: { model_id: string; path: string; kind: string } | null = null;
    const reg = openRegistry(this.workspace, { readonly: true });
    try {
      const id = reg.aliasTarget(this.alias);
      if (id !== null && id !== this.current?.id && id !== this.failedId) {
        const m = reg.getModel(id, { checkFiles: false });
        target = { model_id: m.id, path: m.path, kind: m.kind };
      }
    } finally {
      reg.close();
    }
    if (!target) return;
    const file = join(target.path, 'model.json');
    try {
      const scorer = scorerFromJSON(await readFile(file, 'utf8'), file);
      const probe = scorer.predict(1e6, 25);
      if (!Number.isFinite(probe)) throw new Error(`scores ${probe} on a probe row`);
      const loaded: LoadedModel = { id: target.model_id, kind: target.kind, scorer, loadedAt: new Date().toISOString() };
      const previous = this.current?.id;
      this.current = loaded;
      this.failedId = undefined;
      this.log.info({ model_id: loaded.id, previous }, 'serving model');
      this.onSwap(loaded);
    } catch (err) {
      this.failedId = target.model_id;
      this.log.error({ model_id: target.model_id, file, err: (err as Error).message }, 'new champion rejected; the previous model keeps serving');
    }
  }

  /** Polls every `ms` (errors are logged, never thrown). */
  watch(ms: number): void {
    this.stop();
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'champion poll failed'));
    }, ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
