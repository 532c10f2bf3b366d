/** @module dashboard/routes-lineage
 * GET /lineage/model/:id, /lineage/run/:id, /lineage/snapshot/:id (docs/api.md): the documents of
 * `stockpipe lineage … --json` (registry/lineage-docs), over the server's read-only registry handle.
 * Unknown ids answer 404 SP_ERR_LINEAGE_NOT_FOUND; a snapshot id that is not a whole number, 400. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DEFAULT_FILES, modelLineageDoc, parseSnapshotId, runLineageDoc, snapshotLineageDoc } from '../registry/lineage-docs.js';
import type { RegistryReader } from '../registry/reader.js';

const params = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 200 } }, required: ['id'] } as const;
const querystring = {
  type: 'object',
  properties: { files: { type: 'integer', minimum: 0, maximum: 100_000, default: DEFAULT_FILES, description: "how many of the source manifest's files to list" } },
  additionalProperties: false,
} as const;

const snapshotParams = { type: 'object', properties: { id: { type: 'string', pattern: '^[1-9][0-9]{0,14}$', maxLength: 15, description: 'a snapshot id (stockpipe snapshots)' } }, required: ['id'] } as const;

type Req = FastifyRequest<{ Params: { id: string }; Querystring: { files: number } }>;

export function registerLineageRoutes(app: FastifyInstance, registry: RegistryReader): void {
  app.get('/lineage/model/:id', {
    schema: { summary: 'A model (id or alias) → its training run → features snapshot → prices snapshot → source manifest and ingest run (= stockpipe lineage model --json)', params, querystring },
  }, (req: Req) => registry.read((reg) => modelLineageDoc(reg, req.params.id, { files: req.query.files })));

  app.get('/lineage/run/:id', {
    schema: { summary: 'A run → the snapshots it read and wrote, the models it registered, its parent and child runs (= stockpipe lineage run --json)', params, querystring },
  }, (req: Req) => registry.read((reg) => runLineageDoc(reg, req.params.id, { files: req.query.files })));

  app.get('/lineage/snapshot/:id', {
    schema: { summary: 'A store snapshot ← the run that wrote it; → runs that read it, derived snapshots, models trained on it (= stockpipe lineage snapshot --json)', params: snapshotParams, querystring },
  }, (req: Req) => {
    const id = parseSnapshotId(req.params.id);
    return registry.read((reg) => snapshotLineageDoc(reg, id, { files: req.query.files }));
  });
}
