/** @module registry/job-claims
 * Job fences in the store (executor bullmq, docs/scale-out.md): before a worker runs a queued job,
 * it claims the job with a fresh token; a redelivered job's new claim replaces the old token, and
 * a task process commits only while its token is the job's (queue/fence checks it inside every
 * registry transaction and before every rename). At most one execution of a job commits after a
 * redelivery, which turns BullMQ's at-least-once delivery into exactly-once results. */
import type { Registry } from './store.js';

/** Claims `jobId` for this execution; returns how many executions have claimed it (1 = the first). */
export function claimJob(reg: Registry, jobId: string, token: string, worker: string): number {
  return reg.transaction(() => {
    reg.run('claim job', `INSERT INTO job_claims (job_id, token, worker, claimed_at) VALUES (?, ?, ?, ?)
      ON CONFLICT(job_id) DO UPDATE SET token = excluded.token, worker = excluded.worker, claimed_at = excluded.claimed_at, claims = claims + 1`, [jobId, token, worker, reg.timestamp()]);
    return reg.get<{ claims: number }>('read job claim', 'SELECT claims FROM job_claims WHERE job_id = ?', [jobId])!.claims;
  });
}

/** Deletes claims older than `days` (their jobs ended long ago). */
export function pruneJobClaims(reg: Registry, days: number): number {
  const before = new Date(Date.parse(reg.timestamp()) - days * 86_400_000).toISOString();
  return reg.transaction(() => reg.run('prune job claims', 'DELETE FROM job_claims WHERE claimed_at < ?', [before]).changes);
}
