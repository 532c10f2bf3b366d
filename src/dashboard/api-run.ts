/** @module dashboard/api-run
 * A write made through the API recorded as a run, as the CLI's commands record theirs (cli/command-run):
 * kind and name, the request's params (`command: api`, `actor: dashboard`), finished, or failed with
 * `SP_ERR_…: message` when the write is refused or fails (the error goes on to the client). */
import { clip, toStockpipeError } from '../core/errors.js';
import type { Registry } from '../registry/store.js';

export async function recordedApiWrite<T>(reg: Registry, kind: string, name: string, params: Record<string, unknown>, write: () => T | Promise<T>): Promise<T> {
  const runId = reg.startRun({ kind, name });
  try {
    reg.logParams(runId, { command: 'api', ...clipParams(params), actor: 'dashboard' });
    const out = await write();
    reg.endRun(runId, 'finished');
    return out;
  } catch (err) {
    const e = toStockpipeError(err);
    reg.endRun(runId, 'failed', `${e.code}: ${e.message}`);
    throw err;
  }
}

/** The longest parameter value a run records from a request (a body may hold huge ones). */
const MAX_PARAM = 1000;

function clipParams(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => {
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    return [k, typeof text === 'string' && text.length > MAX_PARAM ? clip(text, MAX_PARAM) : v];
  }));
}
