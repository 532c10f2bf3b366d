/** @module pipeline/builtin/train
 * The `train` pipeline: fetch → ingest → validate → features → train → evaluate → register (the
 * volume model, promoted to `champion` by registry/promote if it beats the holder on the backtest
 * over the pre-test CV folds, never the test slice; the holder re-scored on this model's folds when
 * the two were scored on different rows). */
import { layout } from '../../core/workspace.js';
import { VOLUME_ALIAS, VOLUME_PROMOTE_METRIC } from '../../ml/train-volume.js';
import { workspaceRescorer } from '../../ml/rescore.js';
import { assertModelLoads } from '../../ml/artifacts.js';
import { promote } from '../../registry/promote.js';
import { openRegistry } from '../../registry/store.js';
import { EVALUATE, TRAIN } from '../task-data.js';
import type { Pipeline } from '../types.js';
import { dataTasks, type TaskKit } from './tasks.js';

export function trainPipeline(kit: TaskKit): Pipeline {
  const { task, cmd, penv } = kit;
  const cfg = penv.config;
  return {
    name: 'train',
    description: 'fetch → ingest → validate → features → train → evaluate → register (the volume model, promoted to champion if better)',
    tasks: [
      ...dataTasks(kit, cfg.features.extended),
      task({
        name: 'train',
        deps: ['features'],
        inputs: [layout.tableHead('features')],
        params: { kind: 'gbdt' },
        outputs: (up) => [layout.modelFile(TRAIN.need(up.train, 'model_id', 'train'), 'model.json')],
        run: cmd(() => ['train'], (d) => {
          const r = TRAIN.read(d);
          return { rowsIn: r === null ? 0 : r.rows_train + r.rows_valid + r.rows_test, rowsOut: null };
        }),
      }),
      task({
        name: 'evaluate',
        deps: ['train'],
        inputs: (up) => [layout.tableHead('features'), layout.modelFile(TRAIN.need(up.train, 'model_id', 'evaluate'), 'model.json')],
        run: cmd((ctx) => ['evaluate', TRAIN.need(ctx.upstream.train, 'model_id', 'evaluate')], (d) => ({ rowsIn: EVALUATE.read(d)?.test.rows ?? null, rowsOut: null })),
      }),
      task({
        name: 'register',
        deps: ['evaluate'],
        inputs: (up) => [layout.modelFile(TRAIN.need(up.train, 'model_id', 'register'), 'model.json')],
        params: { alias: VOLUME_ALIAS, metric: VOLUME_PROMOTE_METRIC },
        run: async (ctx) => {
          const modelId = TRAIN.need(ctx.upstream.train, 'model_id', 'register');
          const reg = openRegistry(penv.ws);
          try {
            // The champion is re-scored on this model's CV folds when the two were scored on different rows.
            const rescore = workspaceRescorer(penv.ws);
            const d = await promote(reg, modelId, VOLUME_ALIAS, { metric: VOLUME_PROMOTE_METRIC, trigger: 'auto', note: `pipeline run ${ctx.runId}`, rescore, loads: assertModelLoads });
            return { summary: { ...d } };
          } finally {
            reg.close();
          }
        },
      }),
    ],
  };
}
