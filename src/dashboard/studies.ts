/** @module dashboard/studies
 * The tuning studies' read-only routes (docs/api.md): GET /studies (newest first, paged) and
 * GET /studies/:id (by id or name: the trials table, the chosen configuration, the score against
 * each parameter, every evaluation), over the server's read-only registry handle. `stockpipe tune`
 * writes what is read here (registry/studies, ml/tune/view). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { studyView } from '../ml/tune/view.js';
import type { RegistryReader } from '../registry/reader.js';
import { getStudy, listStudies, studyTrials } from '../registry/studies.js';
import { NO_QUERY } from '../http/validation.js';

const idParams = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 200 } }, required: ['id'] } as const;

export function registerStudyRoutes(app: FastifyInstance, registry: RegistryReader): void {
  app.get('/studies', {
    schema: {
      summary: 'Tuning studies (stockpipe tune), newest first (paged): state, settings, best trial and its score',
      querystring: {
        type: 'object',
        properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, offset: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 } },
        additionalProperties: false,
      },
    },
  }, (req: FastifyRequest) => {
    const q = req.query as { limit: number; offset: number };
    return registry.read((reg) => ({
      studies: listStudies(reg, q).map((s) => {
        const best = s.best_trial === null ? undefined : studyTrials(reg, s.study_id).filter((r) => r.number === s.best_trial).at(-1);
        return { ...s, best_score: best?.score ?? null };
      }),
      limit: q.limit,
      offset: q.offset,
    }));
  });

  app.get('/studies/:id', {
    schema: { summary: 'One tuning study by id or name: trials (each at its highest rung), the best, the rung-0 score against each parameter, every evaluation', params: idParams, querystring: NO_QUERY },
  }, (req: FastifyRequest) => {
    const { id } = req.params as { id: string };
    return registry.read((reg) => {
      const s = getStudy(reg, id);
      return studyView(s, studyTrials(reg, s.study_id));
    });
  });
}
