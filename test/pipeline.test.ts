/** `stockpipe run` end to end through the CLI: a full train pipeline, a second run all cached,
 * a SIGKILLed run resumed to the same outputs, two runs at once on one workspace, a failure
 * alert received by a local webhook. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { getPipelineRun, listPipelineRuns } from '../src/registry/pipeline.js';
import { openRegistry } from '../src/registry/store.js';
import { tempWorkspace } from './helpers/workspace.js';

const CLI = join(resolve(fileURLToPath(new URL('.', import.meta.url)), '..'), 'dist', 'cli', 'main.js');
const ENV = { ...process.env, STOCKPIPE_SYMBOLS: '12', STOCKPIPE_YEARS: '2', STOCKPIPE_THREADS: '2' };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Out { code: number | null; stdout: string; stderr: string; json: { ok: boolean; data?: Record<string, unknown>; error?: { code: string } } | null }

function cli(args: string[], env: NodeJS.ProcessEnv = ENV): { child: ReturnType<typeof spawn>; done: Promise<Out> } {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => { stdout += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
  const done = new Promise<Out>((r) => child.on('close', (code) => {
    let json = null;
    try { json = JSON.parse(stdout.trim().split('\n').pop() ?? ''); } catch { json = null; }
    r({ code, stdout, stderr, json });
  }));
  return { child, done };
}

const sha = async (p: string): Promise<string> => createHash('sha256').update(await readFile(p)).digest('hex');
type TaskRow = { name: string; status: string };
const statuses = (o: Out): Record<string, string> => Object.fromEntries(((o.json?.data?.tasks ?? []) as TaskRow[]).map((t) => [t.name, t.status]));

async function championModelJson(ws: string): Promise<string> {
  const reg = openRegistry(ws, { readonly: true });
  try {
    return await readFile(join(reg.getModel('champion').path, 'model.json'), 'utf8');
  } finally {
    reg.close();
  }
}

describe('stockpipe run train', () => {
  it('runs end to end, then is all cached; a SIGKILLed run resumes to the same outputs', async () => {
    const a = await tempWorkspace('sp-run-a-');
    const first = await cli(['run', 'train', '--json', '-w', a]).done;
    expect(first.json?.ok, first.stderr).toBe(true);
    expect(statuses(first)).toEqual({ fetch: 'succeeded', ingest: 'succeeded', validate: 'succeeded', features: 'succeeded', train: 'succeeded', evaluate: 'succeeded', register: 'succeeded' });
    const second = await cli(['run', 'train', '--json', '-w', a]).done;
    expect(Object.values(statuses(second)).every((s) => s === 'cached'), JSON.stringify(statuses(second))).toBe(true);
    const plan = await cli(['run', 'train', '--dry-run', '--json', '-w', a]).done;
    expect((plan.json?.data?.tasks as { name: string; action: string }[]).map((t) => t.action)).toEqual(['run', 'cached', 'cached', 'cached', 'cached', 'cached', 'cached']);

    // Kill the runner (SIGKILL, no cleanup) while a task is running, then resume.
    const b = await tempWorkspace('sp-run-b-');
    const victim = cli(['run', 'train', '--json', '-w', b]);
    let killedAt: string | null = null;
    for (let i = 0; i < 3000 && killedAt === null; i++) {
      await sleep(20);
      try {
        const reg = openRegistry(b, { readonly: true });
        try {
          const run = listPipelineRuns(reg, { limit: 1 })[0];
          const t = run ? getPipelineRun(reg, run.run_id)!.tasks.find((x) => x.status === 'running' && ['features', 'train'].includes(x.task)) : undefined;
          if (t) { victim.child.kill('SIGKILL'); killedAt = t.task; }
        } finally {
          reg.close();
        }
      } catch {
        // the store may not exist yet on the first polls
      }
    }
    await victim.done;
    expect(killedAt).not.toBeNull();
    const resumed = await cli(['run', 'train', '--resume', '--json', '-w', b]).done;
    expect(resumed.json?.ok, resumed.stderr).toBe(true);
    expect(resumed.json?.data?.resumed).toBe(true);
    const st = statuses(resumed);
    expect([st.fetch, st.ingest, st.validate]).toEqual(['succeeded', 'succeeded', 'succeeded']); // kept, not re-run
    const reg = openRegistry(b, { readonly: true });
    const run = getPipelineRun(reg, String(resumed.json?.data?.run_id))!;
    reg.close();
    expect(run.tasks.find((t) => t.task === 'ingest')!.attempts).toBe(1);
    for (const f of ['tables/prices.parquet', 'features/features.parquet']) expect(await sha(join(b, f)), f).toBe(await sha(join(a, f)));
    expect(await championModelJson(b)).toBe(await championModelJson(a));
  }, 240_000);

  it('a second run on a busy workspace refuses with SP_ERR_PIPELINE_LOCKED; nothing is corrupted', async () => {
    const ws = await tempWorkspace('sp-run-lock-');
    const one = cli(['run', 'train', '--json', '-w', ws]);
    for (let i = 0; i < 500; i++) {
      await sleep(20);
      if ((await readFile(join(ws, 'pipeline', 'run.lock'), 'utf8').catch(() => '')) !== '') break;
    }
    const two = await cli(['run', 'train', '--json', '-w', ws]).done;
    expect(two.code).toBe(1);
    expect(two.json?.error?.code).toBe('SP_ERR_PIPELINE_LOCKED');
    const first = await one.done;
    expect(first.json?.ok, first.stderr).toBe(true);
    const again = await cli(['run', 'train', '--json', '-w', ws]).done;
    expect(again.json?.ok).toBe(true);
  }, 240_000);

  it('a failed task sends a webhook alert with the task, error code and log tail; downstream is skipped', async () => {
    const got: unknown[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => { got.push(JSON.parse(body)); res.end('ok'); });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const ws = await tempWorkspace('sp-run-alert-');
      const config = join(ws, 'stockpipe.config.json');
      const port = (server.address() as AddressInfo).port;
      await writeFile(config, JSON.stringify({ fetch: { source: `dir:${join(ws, 'no-such-folder')}` }, pipeline: { retries: 0 }, alerts: { webhook_url: `http://127.0.0.1:${port}/hook` } }));
      const out = await cli(['run', 'train', '--json', '-w', ws, '--config', config]).done;
      expect(out.code).toBe(1);
      expect(out.json?.error?.code).toBe('SP_ERR_RUN_FAILED');
      expect(got).toHaveLength(1);
      const alert = (got[0] as { text: string; alert: { kind: string; details: Record<string, string> } }).alert;
      expect(alert.kind).toBe('task_failed');
      expect(alert.details.task).toBe('fetch');
      expect(alert.details.error_code).toBe('SP_ERR_SOURCE_NOT_FOUND');
      expect(alert.details.log_tail).toMatch(/SP_ERR_SOURCE_NOT_FOUND/);
      const list = await cli(['runs', 'list', '--json', '-w', ws]).done;
      const runId = (list.json!.data!.runs as { run_id: string }[])[0]!.run_id;
      const runs = await cli(['runs', 'show', runId, '--json', '-w', ws]).done;
      const tasks = runs.json?.data?.tasks as { task: string; status: string }[];
      expect(tasks.map((t) => t.status)).toEqual(['failed', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped']);
      const logs = await cli(['runs', 'logs', String(runs.json?.data?.run_id), 'fetch', '-w', ws]).done;
      expect(logs.stdout).toMatch(/SP_ERR_SOURCE_NOT_FOUND/);
    } finally {
      server.close();
    }
  }, 120_000);

  it('stockpipe scheduler runs a pipeline on a (6-field, every 2 s) cron expression and stops on SIGTERM', async () => {
    const ws = await tempWorkspace('sp-sched-cli-');
    const config = join(ws, 'stockpipe.config.json');
    await writeFile(config, JSON.stringify({ schedules: [{ pipeline: 'train', cron: '*/2 * * * * *', trading_days_only: false }] }));
    const sched = cli(['scheduler', '-w', ws, '--config', config]);
    let finished: { run_id: string; status: string }[] = [];
    for (let i = 0; i < 900 && finished.length < 2; i++) {
      await sleep(100);
      try {
        const reg = openRegistry(ws, { readonly: true });
        try { finished = listPipelineRuns(reg).filter((r) => r.status === 'finished'); } finally { reg.close(); }
      } catch {
        // no store yet
      }
    }
    sched.child.kill('SIGTERM');
    const out = await sched.done;
    expect(out.code, out.stderr).toBe(0);
    expect(finished.length).toBeGreaterThanOrEqual(2); // the second run is the cached one
    const reg = openRegistry(ws, { readonly: true });
    const runs = listPipelineRuns(reg);
    reg.close();
    expect(runs.every((r) => r.status !== 'running')).toBe(true); // waited for the run in progress
    expect(out.stderr).toMatch(/scheduler: train at "\*\/2 \* \* \* \* \*"/);
  }, 180_000);
});
