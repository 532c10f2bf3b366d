import { describe, expect, it } from 'vitest';
import type { CommandContext } from './context.js';
import { listeningText, serveCommand, type ServeData } from './serve.js';

const base: ServeData = { url: 'http://127.0.0.1:8080', dashboard: 'http://127.0.0.1:8080/', docs: 'http://127.0.0.1:8080/docs', model: null, rejected: null, workers: 1, pids: [42] };

describe('serve start line', () => {
  it('names the model served, a champion that cannot be loaded (--json: rejected), or none yet', () => {
    expect(listeningText({ ...base, model: 'poly-1' })).toMatch(/^serving poly-1 at http:\/\/127\.0\.0\.1:8080\n/);
    expect(listeningText({ ...base, rejected: 'poly-1' })).toMatch(/^serving no model: the champion poly-1 cannot be loaded \(503 until it is restored or another model is promoted; the log above says why\) at http:/);
    expect(listeningText(base)).toMatch(/^serving no model yet \(503 until the champion alias names a model that loads\) at http:/);
    expect(listeningText({ ...base, workers: 2, pids: [1, 2] })).toContain('(2 worker processes, pids 1, 2)');
  });
});

describe('serve --workers N stopped before its workers listen', () => {
  // Probed: SIGINT/SIGTERM while the workers started ended `serve --workers 2` with exit 0 and no output
  // (`--json`: no document at all).
  it('says it stopped (--json: data null) instead of ending without a word', async () => {
    const log = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {}, level: 'silent', child: () => log };
    const ctx = {
      ws: { root: '/nonexistent', threads: 1, memoryLimit: '1GB' }, config: { monitor: {}, serve: { workers: 2 } }, env: {}, json: false, quiet: false, log,
    } as unknown as CommandContext;
    const r = await serveCommand(ctx, { port: 0, host: '127.0.0.1', pollMs: 1000, workers: 2, version: 'test', until: Promise.resolve('SIGINT') });
    expect(r).toMatchObject({ data: null, human: 'serve stopped (SIGINT) before its workers listened' });
    expect(r.printed).not.toBe(true);
  });
});
