/** @module dashboard/routes-predictions
 * `GET /export/predictions` (docs/api.md): the features rows of some symbols and dates with a volume
 * model's predicted volume, as one CSV or Parquet download — what `stockpipe export predictions
 * --model ID` writes (ml/export-predictions, into a temp file under tmp/, streamed, then
 * removed). The symbol chart's "predicted volume" download. A read: the registry is read through
 * the server's handle, the model file and the features table from the workspace. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Workspace } from '../core/workspace.js';
import { checkAsOf, checkDateRange } from '../http/validation.js';
import type { RegistryReader } from '../registry/reader.js';
import { EXPORT_FORMATS, type ExportFormat } from '../store/export.js';
import { exportPredictions } from '../ml/export-predictions.js';
import { downloadName, sendExport, SYMBOLS_QUERY, symbolsOf } from './routes-export.js';

export function registerPredictionRoutes(app: FastifyInstance, opts: { ws: Workspace; registry: RegistryReader }): void {
  const ws = opts.ws.withResources({ threads: 1 });

  app.get('/export/predictions', {
    schema: {
      summary: 'Every features row of some symbols and dates with a volume model\'s predicted volume (as GET /predict answers: rounded, at least 0; null where a feature is null) as one CSV or Parquet download, sorted by Symbol, Date: what `stockpipe export predictions --model ID` writes',
      querystring: {
        type: 'object',
        properties: {
          model: { type: 'string', minLength: 1, maxLength: 200, default: 'champion', description: 'A volume model\'s id or alias' },
          symbols: SYMBOLS_QUERY,
          from: { type: 'string', format: 'date' },
          to: { type: 'string', format: 'date' },
          as_of: { type: 'string', minLength: 1, maxLength: 40, description: 'A features snapshot id or an ISO-8601 time' },
          format: { type: 'string', enum: [...EXPORT_FORMATS], default: 'csv' },
        },
        additionalProperties: false,
      },
    },
  }, async (req: FastifyRequest, reply: FastifyReply) => {
    const q = req.query as { model: string; symbols?: string; from?: string; to?: string; as_of?: string; format: ExportFormat };
    checkDateRange(q.from, q.to);
    checkAsOf(q.as_of);
    const symbols = symbolsOf(q.symbols);
    const model = opts.registry.read((reg) => reg.getModel(q.model, { checkFiles: false }));
    return sendExport(ws, reply, q.format, downloadName('predictions', { symbols, from: q.from, to: q.to }, q.format), async (tmp) => {
      const data = await exportPredictions(ws, model, tmp, { symbols, from: q.from, to: q.to, asOf: q.as_of, format: q.format });
      return { bytes: data.bytes, headers: { 'x-snapshot-id': String(data.snapshot_id), 'x-model-id': data.model_id, 'x-rows': String(data.rows) } };
    });
  });
}
