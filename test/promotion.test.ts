/** Promotion through every door (docs/models.md): `train`'s promotion outcome (first, not_requested,
 * promoted, kept) for both tasks, the "first" history row, `serve` answering after a plain `train`,
 * and cross-kind promotion refused with SP_ERR_PROMOTE_KIND from the CLI, the API and the pipeline's
 * register step, forced or not. One small synthetic workspace (features --extended serves both tasks). */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/core/config.js';
import { StockpipeError } from '../src/core/errors.js';
import { buildPipeline } from '../src/pipeline/builtin/index.js';
import { openRegistry } from '../src/registry/store.js';
import { buildApp } from '../src/serve/app.js';
import { ChampionHolder } from '../src/serve/champion.js';
import { CLI, runCli, startCli, waitForJsonLine } from './helpers/cli.js';
import { silentLog, tempWorkspace } from './helpers/workspace.js';
import { Workspace } from '../src/core/workspace.js';


interface Doc {
  ok: boolean;
  data: Record<string, any>;
  error?: { code: string; message: string; hint?: string };
}

function sp(args: string[], json = true): { status: number; doc: Doc; stdout: string; stderr: string } {
  const r = runCli([...args, '-w', ws, ...(json ? ['--json'] : [])]);
  const doc = (json ? r.json : {}) as Doc;
  return { status: r.code ?? -1, doc, stdout: r.stdout, stderr: `${args.join(' ')}: ${r.stderr}` };
}

const holderOf = (alias: string): string | null => {
  const reg = openRegistry(ws, { readonly: true });
  try {
    return reg.aliasTarget(alias);
  } finally {
    reg.close();
  }
};

let ws = '';
/** Model ids by role, filled by beforeAll as the steps train them. */
const ids: Record<string, string> = {};

// In order, on one workspace (beforeAll). [role, train args, alias, outcome]. `weak` is naive (each
// row's 30-day mean volume); `strong`, a gbdt of 20 trees on the two features, beats it on this data.
const steps: [string, string[], string, string][] = [
  ['weak', ['train', '--kind', 'naive'], 'champion', 'first'],
  ['naive', ['train', '--kind', 'naive'], 'champion', 'not_requested'],
  ['strong', ['train', '--kind', 'gbdt', '--trees', '20', '--promote-if-better'], 'champion', 'promoted'],
  ['weak2', ['train', '--kind', 'naive', '--promote-if-better'], 'champion', 'kept'],
  ['forecast', ['train', '--task', 'forecast', '--trees', '5'], 'forecast_champion', 'first'],
  ['forecast2', ['train', '--task', 'forecast', '--trees', '5'], 'forecast_champion', 'not_requested'],
];
/** What each step printed and the alias holder before and after it. */
const trained: Record<string, { status: number; stderr: string; promotion: unknown; before: string | null; after: string | null }> = {};

beforeAll(async () => {
  ws = await tempWorkspace('promotion');
  for (const step of [['fetch', '--symbols', '12', '--years', '2'], ['ingest'], ['features', '--extended']]) {
    const r = sp(step);
    expect(r.status, r.stderr).toBe(0);
  }
  for (const [role, args, alias] of steps) {
    const before = holderOf(alias);
    const r = sp(args);
    expect(r.status, r.stderr).toBe(0);
    ids[role] = r.doc.data.model_id as string;
    trained[role] = { status: r.status, stderr: r.stderr, promotion: r.doc.data.promotion, before, after: holderOf(alias) };
  }
}, 300_000);

describe('train always says what happened to the alias (--json promotion.outcome)', () => {
  it.each(steps)('%s: %j → %s %s', (role, _args, alias, outcome) => {
    const { status, stderr, promotion, before, after } = trained[role]!;
    expect(status, stderr).toBe(0);
    const id = ids[role]!;
    const moved = outcome === 'first' || outcome === 'promoted';
    expect(promotion).toMatchObject({ alias, outcome, promoted: moved, candidate: id, from: before, to: moved ? id : before });
    expect(after).toBe(moved ? id : before);
  });

  it('the first model of each alias is recorded as "first" in the alias history', () => {
    const h = sp(['models', 'history']).doc.data as { alias: string; model_id: string; reason: string; note: string | null }[];
    expect(h.filter((m) => m.note === 'first').map((m) => [m.alias, m.model_id, m.reason])).toEqual([['champion', ids.weak, 'auto'], ['forecast_champion', ids.forecast, 'auto']]);
  });

  it('a plain train while a champion exists says so in its human output', () => {
    const r = sp(['train', '--kind', 'naive'], false);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`champion unchanged: ${holderOf('champion')} (not asked: use --promote-if-better)`);
  });
});

describe('cross-kind promotion is refused from every path, forced or not', () => {
  // [candidate role, alias, force, expected code or 'ok']
  const cases: [string, string, boolean, string][] = [
    ['forecast', 'champion', false, 'SP_ERR_PROMOTE_KIND'],
    ['forecast', 'champion', true, 'SP_ERR_PROMOTE_KIND'],
    ['naive', 'forecast_champion', false, 'SP_ERR_PROMOTE_KIND'],
    ['naive', 'forecast_champion', true, 'SP_ERR_PROMOTE_KIND'],
    ['weak', 'champion', true, 'ok'],
    ['forecast2', 'forecast_champion', true, 'ok'],
  ];

  it.each(cases)('CLI models promote %s --alias %s (force %s) → %s', (role, alias, force, want) => {
    const before = holderOf(alias);
    const r = sp(['models', 'promote', ids[role]!, '--alias', alias, ...(force ? ['--force'] : [])]);
    expect(r.status, r.stderr).toBe(want === 'ok' ? 0 : 1);
    if (want === 'ok') expect(holderOf(alias)).toBe(ids[role]);
    else expect([r.doc.error?.code, holderOf(alias)]).toEqual([want, before]);
  }, 60_000);

  describe('API POST /models/:id/promote', () => {
    let app: FastifyInstance;
    beforeAll(async () => {
      app = (await buildApp({ workspace: ws, holder: new ChampionHolder(ws, silentLog), accessLog: null, version: 'test' })).app;
    });
    afterAll(async () => app.close());
    // Run after the CLI cases, these move both aliases back from `weak` / `forecast2`; alone, a
    // forced promote of the holder itself is 'kept' (200) and the holder is still the candidate.
    const apiCases = cases.map(([role, alias, force, want]): [string, string, boolean, string] => [want === 'ok' ? (alias === 'champion' ? 'strong' : 'forecast') : role, alias, force, want]);
    it.each(apiCases)('%s → %s (force %s) → %s', async (role, alias, force, want) => {
      const before = holderOf(alias);
      const r = await app.inject({ method: 'POST', url: `/models/${ids[role]}/promote`, payload: { alias, force } });
      if (want === 'ok') {
        expect(r.statusCode, r.body).toBe(200);
        expect(holderOf(alias)).toBe(ids[role]);
      } else {
        expect([r.statusCode, (JSON.parse(r.body) as { error: { code: string } }).error.code, holderOf(alias)]).toEqual([409, want, before]);
      }
    }, 60_000);
  });

  // Probed after issue 16: a model.json nothing could load took an alias (even champion, forced).
  it('a model whose model.json does not parse is refused by models promote and the API, forced or not; the alias stays', async () => {
    const file = join(ws, 'models', ids.weak2!, 'model.json');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, '{bad json');
    try {
      const before = holderOf('champion');
      for (const args of [['--alias', 'staging'], ['--alias', 'champion', '--force']]) {
        const r = sp(['models', 'promote', ids.weak2!, ...args]);
        expect([r.status, r.doc.error?.code], r.stderr).toEqual([1, 'SP_ERR_MODEL_FORMAT']);
      }
      expect([holderOf('staging'), holderOf('champion')]).toEqual([null, before]);
      const app = (await buildApp({ workspace: ws, holder: new ChampionHolder(ws, silentLog), accessLog: null, version: 'test' })).app;
      try {
        const r = await app.inject({ method: 'POST', url: `/models/${ids.weak2}/promote`, payload: { force: true } });
        // A refused request on a damaged model is the client's to fix (a 4xx), not a server failure.
        expect([r.statusCode, (JSON.parse(r.body) as { error: { code: string } }).error.code]).toEqual([422, 'SP_ERR_MODEL_FORMAT']);
        rmSync(file);
        const gone = await app.inject({ method: 'POST', url: `/models/${ids.weak2}/promote`, payload: { force: true } });
        expect([gone.statusCode, (JSON.parse(gone.body) as { error: { code: string } }).error.code]).toEqual([409, 'SP_ERR_MODEL_MISSING']);
      } finally {
        await app.close();
      }
      expect(holderOf('champion')).toBe(before);
    } finally {
      writeFileSync(file, good);
    }
  }, 60_000);

  it.each([
    ['forecast', 'SP_ERR_PROMOTE_KIND'],
    ['naive', 'ok'],
  ])('pipeline train: the register step given a %s model → %s', async (role, want) => {
    const config = loadConfig({ file: {}, env: {}, flags: {}, origin: 'test' });
    const register = buildPipeline('train', { ws: new Workspace(ws), config, globalArgs: [], env: {}, mainScript: CLI, codeVersion: 'test' }).tasks.find((t) => t.name === 'register')!;
    const before = holderOf('champion');
    const ctx = { runId: 'r-test', task: 'register', attempt: 1, signal: new AbortController().signal, logPath: join(ws, 'register.log'), log: silentLog, upstream: { train: { model_id: ids[role]! } }, progress: () => {}, logicalDate: null };
    const got = await register.run(ctx).then(() => 'ok', (err: unknown) => (err instanceof StockpipeError ? err.code : String(err)));
    expect(got).toBe(want);
    if (want !== 'ok') expect(holderOf('champion')).toBe(before);
  }, 60_000);
});

describe('first minutes: serve after a plain train', () => {
  it('answers GET /predict 200 with the first model', async () => {
    const w = ws;
    ws = await tempWorkspace('promotion-fresh');
    let child: ChildProcess | undefined;
    try {
      for (const step of [['fetch', '--symbols', '6', '--years', '1'], ['ingest'], ['features'], ['train', '--kind', 'naive']]) {
        const r = sp(step);
        expect(r.status, r.stderr).toBe(0);
      }
      const trained = holderOf('champion');
      expect(trained).not.toBeNull();
      const server = startCli(['serve', '--port', '0', '--json', '--quiet', '-w', ws]);
      child = server.child;
      const { data } = await waitForJsonLine<{ data: { url: string } }>(server);
      const r = await fetch(`${data.url}/predict?vol_moving_avg=12345&adj_close_rolling_med=25`);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-model-id')).toBe(trained);
    } finally {
      if (child?.pid !== undefined && child.exitCode === null) {
        const exited = new Promise((res) => child!.once('exit', res));
        child.kill('SIGTERM');
        await exited;
      }
      ws = w;
    }
  }, 120_000);
});

describe('a holder that cannot be re-scored: the refusal says why', () => {
  it('a features table without the day-ahead columns is named, with the rebuild as the hint; --force still promotes', async () => {
    const w = ws;
    ws = await tempWorkspace('promotion-unmeasured');
    try {
      for (const step of [['fetch', '--symbols', '12', '--years', '2'], ['ingest'], ['features', '--extended']]) {
        const r = sp(step);
        expect(r.status, r.stderr).toBe(0);
      }
      const holder = sp(['train', '--task', 'forecast', '--trees', '5']);
      expect(holder.status, holder.stderr).toBe(0);
      // Another validation window, so promotion must re-score the holder on the candidate's.
      const cand = sp(['train', '--task', 'forecast', '--trees', '5', '--test-from', '2011-06-01']);
      expect(cand.status, cand.stderr).toBe(0);
      // A plain build drops the day-ahead columns the holder is scored from.
      expect(sp(['features']).status).toBe(0);
      const r = sp(['models', 'promote', cand.doc.data.model_id as string]);
      expect(r.status, r.stderr).toBe(1);
      expect(r.doc.error?.code).toBe('SP_ERR_PROMOTE_REFUSED');
      expect(r.doc.error?.message).toMatch(/could not be re-scored on the candidate's rows: tables\/features @ snapshot \d+ lacks the day-ahead column\(s\)/);
      expect(r.doc.error?.message).not.toContain('train both under the same protocol');
      expect(r.doc.error?.hint).toMatch(/^Rebuild it with `stockpipe features --extended`\..* Then promote again, or force the promotion \(--force; \{"force": true\} on the API\)/);
      const forced = sp(['models', 'promote', cand.doc.data.model_id as string, '--force']);
      expect(forced.status, forced.stderr).toBe(0);
      expect(holderOf('forecast_champion')).toBe(cand.doc.data.model_id);
    } finally {
      ws = w;
    }
  }, 180_000);
});
