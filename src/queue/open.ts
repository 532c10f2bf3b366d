/** @module queue/open
 * The executor a run uses: `--executor` / pipeline.executor / STOCKPIPE_EXECUTOR. local needs
 * nothing; bullmq needs STOCKPIPE_REDIS_URL (or pipeline.redis_url) and a reachable Redis. BullMQ
 * and ioredis are loaded only then (≈ 0.2 s of every command's start otherwise). */
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Workspace } from '../core/workspace.js';
import { type CommandExecutor, LocalExecutor } from '../pipeline/executor.js';

export type ExecutorKind = Config['pipeline']['executor'];

export async function openExecutor(kind: ExecutorKind, o: { ws: Workspace; config: Config; env: NodeJS.ProcessEnv; log: Logger; mainScript: string }): Promise<CommandExecutor> {
  if (kind === 'local') return new LocalExecutor(o.mainScript, o.env);
  const p = o.config.pipeline;
  const [{ redisUrlOf }, { BullmqExecutor }] = await Promise.all([import('./connection.js'), import('./executor.js')]);
  return BullmqExecutor.open({ url: redisUrlOf(o.env, p.redis_url, 'the bullmq executor'), prefix: p.queue, workspace: o.ws.root, env: o.env, log: o.log, redisTimeoutMs: p.redis_timeout_s * 1000 });
}
