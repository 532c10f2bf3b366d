/** @module dashboard/routes-logs
 * A task log beyond the tail GET /runs/:id/logs/:task sends: a search inside the whole file on the
 * server (GET …/search?q=&limit=: matching lines with their numbers, read line by line, stopping
 * once the limit is reached) and the full file as a download (GET …/download, streamed). The
 * runner writes the logs; their paths come from the run's task rows. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { StockpipeError } from '../core/errors.js';
import type { Workspace } from '../core/workspace.js';
import { getPipelineRun } from '../registry/pipeline.js';
import { noLogReason } from '../pipeline/live-view.js';
import { checkTaskLog } from '../pipeline/task-log.js';
import type { RegistryReader } from '../registry/reader.js';
import { NO_QUERY } from '../http/validation.js';
import { noPipelineRun } from './run-not-found.js';

const logParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 100 }, task: { type: 'string', minLength: 1, maxLength: 100 } },
  required: ['id', 'task'],
} as const;

/** The longest line text sent in a search answer (a longer line is cut, `cut: true`). */
export const MATCH_LINE_CHARS = 2000;

export interface LogMatch {
  /** 1-based line number in the file. */
  line: number;
  text: string;
  cut: boolean;
}

/** The task's log file, or SP_ERR_RUN_NOT_FOUND naming what is missing (the run, the task, its log). */
export async function taskLogFile(ws: Workspace, registry: RegistryReader, id: string, task: string): Promise<string> {
  const run = registry.read((reg) => getPipelineRun(reg, id));
  if (run === null) throw registry.read((reg) => noPipelineRun(reg, ws.root, id));
  const t = run.tasks.find((x) => x.task === task);
  if (t === undefined) throw new StockpipeError('SP_ERR_RUN_NOT_FOUND', `pipeline run '${id}' has no task '${task}'`);
  if (t.log_path === null) throw new StockpipeError('SP_ERR_RUN_NOT_FOUND', `task '${task}' of run '${id}' has no log: ${noLogReason(t)} (status ${t.status})`, { hint: `Its state, rows and summary: GET /runs/${id}.` });
  const file = ws.path(t.log_path);
  await checkTaskLog(file, task, id);
  return file;
}

/** The lines of `file` containing `q` (case-insensitive), at most `limit`; `more` when another match follows. */
export async function searchLog(file: string, q: string, limit: number): Promise<{ matches: LogMatch[]; more: boolean; lines_read: number }> {
  const needle = q.toLowerCase();
  const matches: LogMatch[] = [];
  const stream = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  let more = false;
  try {
    for await (const text of lines) {
      n++;
      if (!text.toLowerCase().includes(needle)) continue;
      if (matches.length === limit) {
        more = true;
        break;
      }
      matches.push({ line: n, text: text.length > MATCH_LINE_CHARS ? text.slice(0, MATCH_LINE_CHARS) : text, cut: text.length > MATCH_LINE_CHARS });
    }
  } finally {
    lines.close();
    stream.destroy();
  }
  return { matches, more, lines_read: n };
}

export function registerLogRoutes(app: FastifyInstance, o: { ws: Workspace; registry: RegistryReader }): void {
  const { ws, registry } = o;

  app.get('/runs/:id/logs/:task/search', {
    schema: {
      summary: 'Lines of a task\'s whole log containing q (case-insensitive), with their line numbers; at most limit (default 200), `more` when the file holds further matches',
      params: logParams,
      querystring: {
        type: 'object',
        properties: { q: { type: 'string', minLength: 1, maxLength: 200 }, limit: { type: 'integer', minimum: 1, maximum: 5000, default: 200 } },
        required: ['q'],
        additionalProperties: false,
      },
    },
  }, async (req: FastifyRequest) => {
    const { id, task } = req.params as { id: string; task: string };
    const { q, limit } = req.query as { q: string; limit: number };
    const file = await taskLogFile(ws, registry, id, task);
    return { run_id: id, task, q, limit, ...(await searchLog(file, q, limit)) };
  });

  app.get('/runs/:id/logs/:task/download', {
    schema: { summary: 'A task\'s whole log file as an attachment (<run>-<task>.log)', params: logParams, querystring: NO_QUERY },
  }, async (req: FastifyRequest, reply: FastifyReply) => {
    const { id, task } = req.params as { id: string; task: string };
    const file = await taskLogFile(ws, registry, id, task);
    const name = `${id}-${task}.log`.replace(/[^A-Za-z0-9._-]/g, '_');
    return reply.type('text/plain; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).header('cache-control', 'no-cache').send(createReadStream(file));
  });
}
