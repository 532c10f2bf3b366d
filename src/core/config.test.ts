import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explicitFetchKeys, jsonErrorOffset, loadConfig, parseConfigText, readConfigFile } from './config.js';
import { createRng } from './rng.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe('config file text', () => {
  // [what, file bytes, expected code (undefined: accepted)]
  const cases: [string, Uint8Array, string | undefined][] = [
    ['null', utf8('null'), 'SP_ERR_CONFIG_INVALID'],
    ['an array', utf8('[]'), 'SP_ERR_CONFIG_INVALID'],
    ['a number', utf8('42'), 'SP_ERR_CONFIG_INVALID'],
    ['a string', utf8('"x"'), 'SP_ERR_CONFIG_INVALID'],
    ['true', utf8('true'), 'SP_ERR_CONFIG_INVALID'],
    ['truncated JSON', utf8('{'), 'SP_ERR_CONFIG_INVALID'],
    ['an empty file', utf8(''), 'SP_ERR_CONFIG_INVALID'],
    ['only whitespace', utf8(' \n'), 'SP_ERR_CONFIG_INVALID'],
    ['invalid UTF-8', bytes(0x7b, 0x22, 0x77, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d), 'SP_ERR_CONFIG_INVALID'],
    ['a BOM before a valid object', bytes(0xef, 0xbb, 0xbf, ...utf8('{"workspace":"w"}')), undefined],
    ['an empty object', utf8('{}'), undefined],
    // Nested thousands deep: copying or validating it overflowed the stack (SP_ERR_INTERNAL).
    ['arrays nested 5,000 deep', utf8(`{"fetch":${'['.repeat(5000)}${']'.repeat(5000)}}`), 'SP_ERR_CONFIG_INVALID'],
    ['objects nested 5,000 deep', utf8(`${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`), 'SP_ERR_CONFIG_INVALID'],
    ['objects nested 8 deep (unknown keys, judged by the schema)', utf8(`${'{"a":'.repeat(8)}1${'}'.repeat(8)}`), undefined],
  ];
  it.each(cases.map(([what, text, code]) => [what, code, text] as const))('%s → %s', (_what, code, text) => {
    let got: unknown;
    try {
      parseConfigText(text, '/x/stockpipe.config.json');
    } catch (err) {
      got = err;
    }
    expect((got as { code?: string } | undefined)?.code).toBe(code);
  });

  it('invalid UTF-8 names the byte and its offset; a BOM is not part of the first key', () => {
    expect(() => parseConfigText(bytes(0x7b, 0x7d, 0x20, 0xc3), 'c.json')).toThrow(expect.objectContaining({ code: 'SP_ERR_CONFIG_INVALID', message: expect.stringMatching(/offset 3/) }));
    expect(() => parseConfigText(bytes(0x7b, 0xff, 0x7d), 'c.json')).toThrow(expect.objectContaining({ code: 'SP_ERR_CONFIG_INVALID', message: expect.stringMatching(/0xff at offset 1/) }));
    expect(parseConfigText(bytes(0xef, 0xbb, 0xbf, ...utf8('{"workspace":"w"}')), 'c.json')).toEqual({ workspace: 'w' });
  });

  it('a JSON error names the line and column, in the message and the hint', () => {
    const trailingComma = utf8('{\n  "monitor": {\n    "window_days": 20,\n  }\n}\n');
    expect(() => parseConfigText(trailingComma, 'c.json')).toThrow(expect.objectContaining({
      code: 'SP_ERR_CONFIG_INVALID', message: expect.stringMatching(/\(line 4, column 3\)$/), hint: 'Fix the JSON syntax at line 4, column 3 in c.json.',
    }));
    expect(() => parseConfigText(utf8('{"a": 1,'), 'c.json')).toThrow(expect.objectContaining({ message: expect.stringMatching(/\(line 1, column 9\)$/) }));
  });

  // Probed: V8 names no position for an unexpected token, and quotes the file around it, line breaks included: the
  // message ran over several lines and the hint said "at the named position", naming none.
  it.each([
    ['// my settings\n{}', 'Unexpected token \'/\'', 'line 1, column 1'],
    ['{\n  "workspace": \'./data\'\n}\n', 'Unexpected token \'\'\'', 'line 2, column 16'],
    ['{\n  "threads": two\n}', 'Unexpected token \'w\'', 'line 2, column 14'],
    ['{\n  "fetch": {"checksum": tr', 'Unexpected end of JSON input', 'line 2, column 25'],
  ])('%j: one line naming the token, the line and column in the message and the hint', (text, what, at) => {
    const fail = (() => {
      try {
        parseConfigText(utf8(text), 'c.json');
      } catch (e) {
        return e as { message: string; hint: string };
      }
      throw new Error('parsed');
    })();
    expect(fail.message).toBe(`c.json is not valid JSON: ${what} (${at})`);
    expect(fail.hint).toBe(`Fix the JSON syntax at ${at} in c.json.`);
  });

  it('jsonErrorOffset names a place in every text JSON.parse refuses, at or before the character V8 names, and none in valid JSON (random edits)', () => {
    const base = '{\n  "workspace": "./d\\u00e9 \\"x\\"",\n  "threads": -2.5e+3,\n  "fetch": {"symbols": [1, 2, {"a": null}], "checksum": true},\n  "x": false\n}\n';
    const alphabet = '{}[]:,"\\\'/ \nux1-.etfn';
    const rng = createRng(7);
    let refused = 0;
    for (let n = 0; n < 3000; n++) {
      let t = base;
      for (let k = 1 + rng.int(2); k > 0; k--) {
        const at = rng.int(t.length + 1);
        t = rng.int(2) === 0 ? t.slice(0, at) + t.slice(at + 1) : t.slice(0, at) + alphabet[rng.int(alphabet.length)]! + t.slice(at);
      }
      let message: string | null = null;
      try {
        JSON.parse(t);
      } catch (e) {
        message = (e as Error).message;
      }
      const offset = jsonErrorOffset(t);
      if (message === null) {
        expect(offset, t).toBeNull();
        continue;
      }
      refused++;
      expect(offset, `${t}\n${message}`).not.toBeNull();
      // The token it names starts at or before the character V8 names (a word: its first letter).
      const named = /at position (\d+)/.exec(message);
      if (named !== null) expect(offset!, `${t}\n${message}`).toBeLessThanOrEqual(Number(named[1]));
    }
    expect(refused).toBeGreaterThan(1000);
  });

  it('a file nested thousands deep is refused by name, not a stack overflow when loaded', () => {
    const deep = utf8(`{"fetch":${'['.repeat(5000)}${']'.repeat(5000)}}`);
    expect(() => parseConfigText(deep, 'c.json')).toThrow(expect.objectContaining({ code: 'SP_ERR_CONFIG_INVALID', message: 'c.json nests objects or arrays more than 32 levels deep: not a config file' }));
  });

  it('a number beyond the double range is shown as such, not as null', () => {
    const file = parseConfigText(utf8('{"monitor": {"window_days": 1e400}}'), 'c.json');
    expect(() => loadConfig({ file, env: {}, flags: {}, origin: 'c.json' })).toThrow(expect.objectContaining({
      code: 'SP_ERR_CONFIG_INVALID', message: expect.stringContaining('(got Infinity: a number beyond ±1.8e308)'),
    }));
  });
});

describe('a value past its bound, in words', () => {
  const load = (file: Record<string, unknown>) => loadConfig({ file, env: {}, flags: {}, origin: 'c.json' });
  // Probed: `"timeout_s": 2147484` said "pipeline.tasks.fetch.timeout_s: Too big: expected number to be <=2147483" (zod's wording).
  it.each([
    [{ pipeline: { tasks: { fetch: { timeout_s: 2147484 } } } }, 'pipeline.tasks.fetch.timeout_s: must be at most 2147483 (got 2147484) [from c.json]'],
    [{ monitor: { max_psi: 0 } }, 'monitor.max_psi: must be greater than 0 (got 0) [from c.json]'],
    [{ pipeline: { retry_delay_s: -1 } }, 'pipeline.retry_delay_s: must be at least 0 (got -1) [from c.json]'],
    [{ alerts: { smtp: { host: 'h', from: 'a@b', to: [] } } }, 'alerts.smtp.to: must have at least 1 entry (got []) [from c.json]'],
  ])('%j', (file, message) => {
    expect(() => load(file)).toThrow(expect.objectContaining({ code: 'SP_ERR_CONFIG_INVALID', message }));
  });
});

describe('the API bases and the webhook are http(s) URLs', () => {
  const load = (file: Record<string, unknown>) => () => loadConfig({ file, env: {}, flags: {}, origin: 'c.json' });
  // Probed: `fetch --yahoo-base-url ftp://example.com` was taken, then retried for half a minute and said "Yahoo kept failing … Try again later".
  it.each([
    [{ fetch: { yahoo_base_url: 'ftp://example.com' } }, 'fetch.yahoo_base_url: must be an http:// or https:// URL (got "ftp://example.com") [from c.json]'],
    [{ fetch: { kaggle_base_url: 'htps://www.kaggle.com' } }, 'fetch.kaggle_base_url: must be an http:// or https:// URL (got "htps://www.kaggle.com") [from c.json]'],
    [{ alerts: { webhook_url: 'file:///tmp/hook' } }, 'alerts.webhook_url: must be an http:// or https:// URL (value not shown: a secret) [from c.json]'],
  ])('%j', (file, message) => {
    expect(load(file)).toThrow(expect.objectContaining({ code: 'SP_ERR_CONFIG_INVALID', message }));
  });
  it('takes http and https', () => {
    expect(load({ fetch: { yahoo_base_url: 'http://127.0.0.1:8080', kaggle_base_url: 'HTTPS://mirror.example' }, alerts: { webhook_url: 'https://hooks.example.com/x' } })()).toMatchObject({ fetch: { yahoo_base_url: 'http://127.0.0.1:8080' } });
  });
});

describe('a key its section needs, and one without a default', () => {
  const load = (file: Record<string, unknown>) => loadConfig({ file, env: {}, flags: {}, origin: 'c.json' });
  // Probed: alerts.smtp without `to` said "alerts.smtp.to: Invalid input: expected array, received undefined" and hinted
  // "Fix alerts.smtp.to in c.json, or remove it to use the default"; a bad alerts.smtp.host was hinted to be removed too.
  it.each([
    [{ alerts: { smtp: { host: 'h', from: 'a@b' } } }, 'alerts.smtp.to: is missing; alerts.smtp needs it [from c.json]', 'Add alerts.smtp.to to c.json, or remove alerts.smtp.'],
    [{ schedules: [{ pipeline: 'daily' }] }, 'schedules.0.cron: is missing; schedules.0 needs it [from c.json]', 'Add schedules.0.cron to c.json, or remove schedules.0.'],
    [{ schedules: [{ cron: '@daily' }] }, 'schedules.0.pipeline: is missing; schedules.0 needs it (one of "train", "daily") [from c.json]', 'Add schedules.0.pipeline to c.json, or remove schedules.0.'],
    [{ alerts: { smtp: { host: '', from: 'a@b', to: ['c@d'] } } }, 'alerts.smtp.host: must not be empty (got "") [from c.json]', 'Fix alerts.smtp.host in c.json.'],
    [{ fetch: { tickers: ['A', '$$'] } }, 'fetch.tickers.1: a ticker such as AAPL, BRK-B or ^GSPC (got "$$") [from c.json]', 'Fix fetch.tickers.1 in c.json.'],
    // A key with a default, in a list's entry or not, may still be removed.
    [{ schedules: [{ pipeline: 'daily', cron: '@daily', timezone: 'Mars/Olympus' }] }, expect.stringMatching(/^schedules\.0\.timezone: not an IANA time zone/), 'Fix schedules.0.timezone in c.json, or remove it to use the default.'],
    [{ fetch: { tickers: [] } }, 'fetch.tickers: must have at least 1 entry (got []) [from c.json]', 'Fix fetch.tickers in c.json, or remove it to use the default.'],
  ])('%j', (file, message, hint) => {
    expect(() => load(file)).toThrow(expect.objectContaining({ code: 'SP_ERR_CONFIG_INVALID', message, hint }));
  });
});

describe('--window and other numbers at and beyond their domain', () => {
  const load = (flags: Record<string, unknown>) => loadConfig({ file: {}, env: {}, flags, origin: 'flags' });
  // [flags, expected code (undefined: accepted)]
  const cases: [Record<string, unknown>, string | undefined][] = [
    [{ features: { window: '2' } }, undefined],
    [{ features: { window: '1000' } }, undefined],
    [{ features: { window: '0' } }, 'SP_ERR_FEATURES_WINDOW'],
    [{ features: { window: '-1' } }, 'SP_ERR_FEATURES_WINDOW'],
    [{ features: { window: '1.5' } }, 'SP_ERR_FEATURES_WINDOW'],
    [{ features: { window: '1e9' } }, 'SP_ERR_FEATURES_WINDOW'],
    [{ features: { window: 'abc' } }, 'SP_ERR_FEATURES_WINDOW'],
    [{ threads: '0' }, undefined],
    [{ threads: '-1' }, 'SP_ERR_CONFIG_INVALID'],
    [{ threads: '257' }, 'SP_ERR_CONFIG_INVALID'],
    [{ memory_limit: 'banana' }, 'SP_ERR_CONFIG_INVALID'],
    [{ memory_limit: '1KB' }, undefined],
    // Numbers as text are decimal (z.coerce took '' as 0, '0x10' as 16, true as 1, [4] as 4).
    [{ threads: '' }, 'SP_ERR_CONFIG_INVALID'],
    [{ threads: '0x10' }, 'SP_ERR_CONFIG_INVALID'],
    [{ threads: '1e1' }, 'SP_ERR_CONFIG_INVALID'], // plain digits, as command options (--trees 1e2 is a usage error)
    [{ fetch: { symbols: '1e1' } }, 'SP_ERR_CONFIG_INVALID'],
    [{ threads: 10 }, undefined],
    [{ threads: ' 4 ' }, undefined],
    [{ threads: true }, 'SP_ERR_CONFIG_INVALID'],
    [{ threads: null }, 'SP_ERR_CONFIG_INVALID'],
    [{ threads: [4] }, 'SP_ERR_CONFIG_INVALID'],
    [{ features: { window: '0x1e' } }, 'SP_ERR_FEATURES_WINDOW'],
    [{ monitor: { max_psi: '' } }, 'SP_ERR_CONFIG_INVALID'],
    // A timer longer than 2^31-1 ms fires at once: a huge timeout failed every task immediately.
    [{ pipeline: { tasks: { fetch: { timeout_s: 1e308 } } } }, 'SP_ERR_CONFIG_INVALID'],
    [{ pipeline: { tasks: { fetch: { timeout_s: 2147483 } } } }, undefined],
    // Probed: a task name no pipeline has (a typo) was taken, and its settings silently never applied.
    [{ pipeline: { tasks: { forecast_model: { timeout_s: 60 } } } }, 'SP_ERR_CONFIG_INVALID'],
    [{ pipeline: { tasks: { 'forecast-model': { timeout_s: 60 }, 'retrain-if-needed': { retries: 0 } } } }, undefined],
    // Probed: an anomaly code no check has (stale_symbols) was taken, and refused only once validate ran (a pipeline's fetch and ingest done by then).
    [{ validate: { severity: { stale_symbols: 'info' } } }, 'SP_ERR_CONFIG_INVALID'],
    [{ validate: { severity: { stale_symbol: 'info', drift: 'off' } } }, undefined],
    // DuckDB keeps the limit in 64 bits (a larger one was SP_ERR_INTERNAL).
    [{ memory_limit: '99999999999TB' }, 'SP_ERR_CONFIG_INVALID'],
    [{ memory_limit: '18000000TB' }, undefined],
    [{ serve: { workers: 4 } }, undefined],
    [{ serve: { workers: 0 } }, 'SP_ERR_CONFIG_INVALID'],
    [{ serve: { workers: 65 } }, 'SP_ERR_CONFIG_INVALID'],
    [{ serve: { workers: 1.5 } }, 'SP_ERR_CONFIG_INVALID'],
  ];
  it.each(cases)('%j → %s', (flags, code) => {
    let got: unknown;
    try {
      load(flags);
    } catch (err) {
      got = err;
    }
    expect((got as { code?: string } | undefined)?.code).toBe(code);
  });
});

describe('secrets in config errors', () => {
  const TOKEN = 'secret-token-0123456789abcdef';
  // [what, config file, env]: each error must leave the secret out, also when it is about the section holding it.
  const cases: [string, Record<string, unknown>, Record<string, string>][] = [
    ['an unknown key beside the token', { serve: { api_token: TOKEN, tls: { cert: 'x' } } }, {}],
    ['an unknown top-level key (the whole config quoted)', { serve: { api_token: TOKEN }, __proto__x: 1 }, {}],
    ['a bad token from the file', { serve: { api_token: `${TOKEN} ` } }, {}],
    ['the token from the env, an unknown key in the file', { serve: { bogus: 1 } }, { STOCKPIPE_API_TOKEN: TOKEN }],
    ['an SMTP password beside an unknown key', { alerts: { smtp: { host: 'h', from: 'a@b', to: ['c@d'], password: TOKEN, port2: 1 } } }, {}],
    ['a webhook URL beside an unknown top-level key', { thredas: 2, alerts: { webhook_url: `https://hooks.example.com/${TOKEN}` } }, {}],
    ['a webhook URL that is no URL', { alerts: { webhook_url: `not a url ${TOKEN}` } }, {}],
    ['a webhook URL from the env that is no URL', {}, { STOCKPIPE_ALERT_WEBHOOK: `bad ${TOKEN}` }],
    ['credentials inside another URL, beside an unknown key', { fetch: { kaggle_base_url: `https://user:${TOKEN}@kaggle.example.com`, bogus: 1 } }, {}],
    ['credentials inside a URL of a section given as a string', { fetch: `https://user:${TOKEN}@kaggle.example.com` }, {}],
  ];
  it.each(cases)('%s', (_what, file, env) => {
    let err: unknown;
    try {
      loadConfig({ file, env, flags: {}, origin: 'test' });
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe('SP_ERR_CONFIG_INVALID');
    expect((err as Error).message).not.toContain(TOKEN.slice(0, 12));
  });
});

describe('the config file itself', () => {
  it.each([
    ['a character device that never ends (/dev/zero)', '/dev/zero'],
    ['a file over 1 MiB', 'big'],
  ])('%s → SP_ERR_CONFIG_INVALID (read up to 1 MiB)', (_what, which) => {
    const dir = mkdtempSync(join(tmpdir(), 'sp-config-'));
    try {
      let file = which;
      if (which === 'big') writeFileSync((file = join(dir, 'big.json')), `{"workspace":"${'x'.repeat(2 << 20)}"}`);
      if (file === '/dev/zero' && process.platform !== 'linux') return;
      expect(() => readConfigFile(file, dir)).toThrow(expect.objectContaining({ code: 'SP_ERR_CONFIG_INVALID' }) as Error);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a -c file that cannot be read', () => {
  it('says why in words and hints at the path, not at a setting', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sp-config-'));
    try {
      expect(() => readConfigFile('nope.json', dir)).toThrow(expect.objectContaining({ message: `cannot read config file ${join(dir, 'nope.json')}: no such file`, hint: expect.stringContaining('-c/--config') }));
      expect(() => readConfigFile('.', dir)).toThrow(expect.objectContaining({ message: expect.stringMatching(/: it is a folder$/) }));
      expect(readConfigFile(undefined, dir)).toEqual({}); // no -c and no ./stockpipe.config.json: the defaults
      // A queued job's command reads no ./stockpipe.config.json of the worker's folder (the runner names its file with -c).
      writeFileSync(join(dir, 'stockpipe.config.json'), '{"fetch": {"symbols": 10}}');
      expect(readConfigFile(undefined, dir)).toEqual({ fetch: { symbols: 10 } });
      expect(readConfigFile(undefined, dir, { implicit: false })).toEqual({});
      expect(readConfigFile('stockpipe.config.json', dir, { implicit: false })).toEqual({ fetch: { symbols: 10 } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('which source a bad config value came from', () => {
  const fail = (o: { file?: Record<string, unknown>; env?: Record<string, string>; flags?: Record<string, unknown> }): Error => {
    try {
      loadConfig({ file: o.file ?? {}, env: o.env ?? {}, flags: o.flags ?? {}, origin: 'my.json' });
    } catch (e) {
      return e as Error;
    }
    throw new Error('no error');
  };
  // Probed: `-w ' '`, STOCKPIPE_WORKSPACE='/data/ws ' made a folder of that name: fetch started a new workspace, the reads read it as empty.
  it.each([
    [{ flags: { workspace: ' ' } }, 'a command-line flag'],
    [{ env: { STOCKPIPE_WORKSPACE: '/data/ws ' } }, 'the variable STOCKPIPE_WORKSPACE'],
    [{ file: { workspace: '\t./data' } }, 'my.json'],
    [{ file: { workspace: './data\n' }, flags: { workspace: 'w' } }, 'my.json'],
  ])('a workspace path with a space, tab or line break around it (%j) is refused naming it and %s', (o, from) => {
    const e = fail(o) as Error & { code: string };
    expect(e.code).toBe('SP_ERR_CONFIG_INVALID');
    expect(e.message).toMatch(new RegExp(`^workspace: must not start or end with a space.*\\(got ".*"\\) \\[from ${from}\\]$`));
  });

  it('takes a workspace path with spaces inside it', () => {
    expect(loadConfig({ file: {}, env: { STOCKPIPE_WORKSPACE: '/data/my ws ü' }, flags: {}, origin: 'my.json' }).workspace).toBe('/data/my ws ü');
  });

  it('names the flag, the variable or the file that set it (the one that won the merge)', () => {
    expect(fail({ file: { monitor: { min_rows: 5 } }, flags: { threads: 'abc' } }).message).toMatch(/\[from a command-line flag\]$/);
    expect(fail({ file: { monitor: { min_rows: 5 } }, env: { STOCKPIPE_THREADS: 'abc' } }).message).toMatch(/\[from the variable STOCKPIPE_THREADS\]$/);
    expect(fail({ file: { threads: 'abc' } }).message).toMatch(/\[from my\.json\]$/);
    expect(fail({ file: { features: { window: Number.POSITIVE_INFINITY } } }).message).toContain('(got Infinity: a number beyond ±1.8e308) [from my.json]');
    const unknown = fail({ file: { monitors: { x: 1 } }, flags: { workspace: 'w' } });
    expect(unknown.message).toBe('config: Unrecognized key: "monitors" [from my.json]'); // the flags' values are not quoted
  });
  // Probed: `fetch --seed -1` said "fetch.seed: … [from a command-line flag]" and hinted "Fix fetch.seed in a command-line flag".
  it('names the option that set a bad value when the command line says which (flagNames)', () => {
    const load = (flags: Record<string, unknown>) => () => loadConfig({ file: { fetch: { seed: 1 } }, env: {}, flags, flagNames: { 'fetch.seed': '--seed', 'fetch.tickers': '--symbols', threads: '--threads' }, origin: 'my.json' });
    expect(load({ fetch: { seed: -1 } })).toThrow(expect.objectContaining({
      message: 'fetch.seed: expected a whole number from 0 to 2147483647 (got -1) [from --seed]',
      hint: 'Fix --seed, or leave it out: fetch.seed then comes from the config, or is the default.',
    }));
    expect(load({ fetch: { tickers: ['A', '$$'] } })).toThrow(expect.objectContaining({ message: 'fetch.tickers.1: a ticker such as AAPL, BRK-B or ^GSPC (got "$$") [from --symbols]', hint: expect.stringMatching(/^Fix --symbols, or leave it out: fetch\.tickers then/) }));
    // A bad value of the file is the file's, a flag over it or not.
    expect(() => loadConfig({ file: { fetch: { seed: -2 } }, env: {}, flags: { fetch: { seed: 3 } }, flagNames: { 'fetch.seed': '--seed' }, origin: 'my.json' })).toThrow(expect.objectContaining({ message: expect.stringMatching(/\(got -2\) \[from my\.json\]$/), hint: 'Fix fetch.seed in my.json, or remove it to use the default.' }));
  });

  it('refuses a bad value in the file or a variable even when a flag overrides it; what depends on other keys is judged merged', () => {
    expect(fail({ file: { threads: 'abc' }, flags: { threads: 2 } }).message).toBe('threads: expected a whole number from 0 to 256 (got "abc") [from my.json]');
    expect(fail({ env: { STOCKPIPE_THREADS: 'many' }, flags: { threads: 2 } }).message).toMatch(/^threads: .* \[from the variable STOCKPIPE_THREADS\]$/);
    expect(fail({ file: { features: { window: 1 } }, flags: { features: { window: 30 } } }).message).toBe('--window (features.window) must be a whole number from 2 to 1000 (got 1) [from my.json]');
    expect(fail({ file: { monitors: 1 }, flags: { threads: 2 } }).message).toBe('config: Unrecognized key: "monitors" [from my.json]');
    // A section of the file that is no object is refused, also when a variable sets a key inside it (it was replaced by one of that key alone).
    expect(fail({ file: { fetch: 5 }, env: { STOCKPIPE_SOURCE: 'synthetic' } }).message).toBe('fetch: Invalid input: expected object, received number (got 5) [from my.json]');
    expect(fail({ file: { serve: null }, env: { STOCKPIPE_API_TOKEN: 'a'.repeat(20) } }).message).toMatch(/^serve: .* \[from my\.json\]$/);
    expect(fail({ file: { features: 'x' }, env: { STOCKPIPE_WINDOW: '30' }, flags: { threads: 2 } }).message).toMatch(/^features: .* \(got "x"\) \[from my\.json\]$/);
    expect(fail({ file: { fetch: [1] }, env: { STOCKPIPE_SEED: '3' } }).message).toMatch(/^fetch: .*received array .*\[from my\.json\]$/);
    expect(loadConfig({ file: { fetch: { seed: 1 } }, env: { STOCKPIPE_SOURCE: 'synthetic', STOCKPIPE_API_TOKEN: 'a'.repeat(20) }, flags: {}, origin: 'my.json' })).toMatchObject({ fetch: { seed: 1, source: 'synthetic' }, serve: { api_token: 'a'.repeat(20) } });
    // A long value is quoted cut, with its length (the whole of it was quoted: a message of 300 KB).
    const long = fail({ file: { threads: 'x'.repeat(300_000) } }).message;
    expect(long).toBe(`threads: expected a whole number from 0 to 256 (got "${'x'.repeat(99)}… (300002 characters)) [from my.json]`);
    expect(fail({ env: { STOCKPIPE_WINDOW: '9'.repeat(5000) } }).message.length).toBeLessThan(300);
    // A required key left out has no value to quote.
    expect(fail({ file: { alerts: { smtp: { host: 'x' } } } }).message).toMatch(/^alerts\.smtp\.\w+: is missing; alerts\.smtp needs it \[from my\.json\]$/);
    // A good file with a flag on top loads as before, the flag's value winning.
    expect(loadConfig({ file: { threads: 1 }, env: {}, flags: { threads: 2 }, origin: 'my.json' }).threads).toBe(2);
  });
});

// Probed: `STOCKPIPE_SYMBOLS=AAPL,MSFT stockpipe fetch --source yahoo` was "fetch.symbols: expected a whole number", though
// `fetch --help` names the variable for `--symbols <n|list>`, which takes tickers.
describe('STOCKPIPE_SYMBOLS takes what --symbols takes', () => {
  const load = (env: Record<string, string>) => loadConfig({ file: {}, env, flags: {}, origin: 'my.json' });
  it('a number sets fetch.symbols, a comma list of tickers fetch.tickers (and counts as set for the workspace source)', () => {
    expect(load({ STOCKPIPE_SYMBOLS: '40' }).fetch).toMatchObject({ symbols: 40 });
    expect(load({ STOCKPIPE_SYMBOLS: ' AAPL, BRK-B,^GSPC ' }).fetch).toMatchObject({ symbols: 500, tickers: ['AAPL', 'BRK-B', '^GSPC'] });
    expect([...explicitFetchKeys({ file: {}, env: { STOCKPIPE_SYMBOLS: 'AAPL,MSFT' }, flags: {} })]).toEqual(['tickers']);
    expect([...explicitFetchKeys({ file: {}, env: { STOCKPIPE_SYMBOLS: '12' }, flags: {} })]).toEqual(['symbols']);
  });
  it('a bad ticker or a number spelt otherwise is refused naming the variable', () => {
    expect(() => load({ STOCKPIPE_SYMBOLS: 'AAPL,b@d' })).toThrow(/^fetch\.tickers\.1: a ticker such as AAPL.* \[from the variable STOCKPIPE_SYMBOLS\]$/);
    expect(() => load({ STOCKPIPE_SYMBOLS: '1e3' })).toThrow(/^fetch\.symbols: expected a whole number .* \[from the variable STOCKPIPE_SYMBOLS\]$/);
  });
});

describe('schedules are checked when the config is read', () => {
  const load = (s: Record<string, unknown>) => () => loadConfig({ file: { schedules: [{ pipeline: 'daily', ...s }] }, env: {}, flags: {}, origin: 'c.json' });
  it('refuses a bad cron expression, an unknown time zone and a date that never comes, naming the field', () => {
    // A list entry's key has no default: the hint said "or remove it to use the default".
    expect(load({ cron: '61 * * * *' })).toThrow(expect.objectContaining({ code: 'SP_ERR_CONFIG_INVALID', message: expect.stringMatching(/^schedules\.0\.cron: not a cron expression \(.*minute.*\)/), hint: expect.stringMatching(/^Fix schedules\.0\.cron in .*\.$/) }));
    expect(load({ cron: '61 * * * *' })).not.toThrow(expect.objectContaining({ hint: expect.stringContaining('use the default') }));
    expect(load({ cron: '0 30 18 * * 1-5' })).not.toThrow(); // 6 fields: seconds first
    expect(load({ cron: '0 30 18 * * 1-5 2027' })).toThrow(expect.objectContaining({ code: 'SP_ERR_CONFIG_INVALID', message: expect.stringMatching(/^schedules\.0\.cron: 7 fields; 5 or 6/) }));
    expect(load({ cron: '30 18 * * 1-5', timezone: 'Mars/Olympus' })).toThrow(expect.objectContaining({ message: expect.stringMatching(/^schedules\.0\.timezone: not an IANA time zone/) }));
    expect(load({ cron: '0 0 31 2 *' })).toThrow(expect.objectContaining({ message: expect.stringMatching(/^schedules\.0\.cron: never fires/) }));
    expect(load({ cron: '30 18 * * 1-5', timezone: 'UTC' })().schedules).toHaveLength(1);
  });
  it('refuses a trading-days-only schedule that fires only on days the NYSE is closed', () => {
    for (const cron of ['30 18 * * 0,6', '0 9 25 12 *', '0 9 1 1 *']) {
      expect(load({ cron })).toThrow(expect.objectContaining({ code: 'SP_ERR_CONFIG_INVALID', message: expect.stringMatching(/^schedules\.0\.cron: never fires on an NYSE trading day/) }));
      expect(load({ cron, trading_days_only: false })().schedules).toHaveLength(1); // every day: it fires
    }
    expect(load({ cron: '0 9 24 12 *' })().schedules).toHaveLength(1); // Christmas Eve is a trading day most years
    // Saturday 07:00 in Tokyo is Friday evening in New York: a trading day there.
    expect(load({ cron: '0 7 * * 6', timezone: 'Asia/Tokyo' })().schedules).toHaveLength(1);
    expect(load({ cron: '* * * * * *' })().schedules).toHaveLength(1);
  });
  it("takes croner's nicknames (Airflow's presets), judged like any expression; says what a short one lacks", () => {
    for (const cron of ['@daily', '@hourly', '@midnight', '@monthly']) expect(load({ cron })().schedules[0]!.cron).toBe(cron);
    for (const cron of ['@weekly', '@yearly']) // Sunday midnight; 1 January: never a trading day
      expect(load({ cron })).toThrow(expect.objectContaining({ message: expect.stringMatching(/^schedules\.0\.cron: never fires on an NYSE trading day/) }));
    expect(load({ cron: '@reboot' })).toThrow(expect.objectContaining({ code: 'SP_ERR_CONFIG_INVALID', message: expect.stringMatching(/^schedules\.0\.cron: not a cron expression \(.*@reboot/) }));
    expect(load({ cron: '30 18' })).toThrow(expect.objectContaining({ message: expect.stringMatching(/^schedules\.0\.cron: 2 fields; 5 or 6, e\.g\. "30 18 \* \* 1-5", or a nickname such as "@daily"/) }));
    expect(load({ cron: '' })).toThrow(expect.objectContaining({ code: 'SP_ERR_CONFIG_INVALID', message: expect.stringMatching(/^schedules\.0\.cron: /) }));
  });
});
