/** The declarative option layer: config flags, presets and defaults, strict numbers, output mode. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirSync } from '../../test/helpers/temp.js';
import { fetch, features } from './commands/data.js';
import { modelsPromote, train } from './commands/models.js';
import { backfill, run, serve } from './commands/ops.js';
import { childGlobalArgs, GlobalOptions, outputMode } from './globals.js';
import { inRange, parseOptions } from './options.js';

describe('config flags from options', () => {
  // [command, commander's values, config flags]: unset options set nothing (file and env stay in charge).
  const cases: [string, typeof fetch, Record<string, unknown>, Record<string, unknown>][] = [
    ['fetch, nothing set', fetch, {}, {}],
    ['fetch --seed 7 --symbols 3', fetch, { seed: '7', symbols: '3' }, { fetch: { seed: 7, symbols: 3 } }],
    ['fetch --symbols AAPL,MSFT', fetch, { symbols: 'AAPL, MSFT' }, { fetch: { tickers: ['AAPL', 'MSFT'] } }],
    ['fetch --checksum --source dir:x', fetch, { checksum: true, source: 'dir:x' }, { fetch: { checksum: true, source: 'dir:x' } }],
    ['features --window 1 (checked by the config)', features, { window: '1' }, { features: { window: '1' } }],
    ['features --extended', features, { extended: true }, { features: { extended: true } }],
    ['run --source synthetic', run, { source: 'synthetic' }, { fetch: { source: 'synthetic' } }],
  ];
  it.each(cases)('%s', (_what, spec, raw, config) => {
    expect(spec.prepare(raw, []).config).toEqual(config);
  });

  it('names the option that set each config key (a bad value is refused naming it)', () => {
    expect(fetch.prepare({ seed: '7', symbols: '3' }, []).flagNames).toEqual({ 'fetch.seed': '--seed', 'fetch.symbols': '--symbols' });
    expect(fetch.prepare({ symbols: 'AAPL' }, []).flagNames).toEqual({ 'fetch.tickers': '--symbols' });
    expect(fetch.prepare({}, []).flagNames).toEqual({});
  });
});

describe('options', () => {
  it("fetch --checksum says what it computes of a zip: the archive's sha256 (it claimed every file's sha256 and row counts)", () => {
    const shape = (fetch.options as unknown as { shape: Record<string, { description?: string }> }).shape;
    expect(shape.checksum?.description).toContain("zip: the archive's sha256");
  });

  // Probed: `backfill --from D` said "--to Invalid input: expected string, received undefined".
  it('a required option left out is SP_ERR_USAGE saying it is required', () => {
    expect(() => parseOptions(backfill.options, { from: '2024-07-01' })).toThrow(expect.objectContaining({ code: 'SP_ERR_USAGE', message: '--to is required' }));
  });

  // Probed: `serve --host [::1]` (the URL's form) said "cannot listen on [[::1]]:8000: --host "[::1]" is not an
  // address of this machine (ENOTFOUND)", though ::1 is one.
  it('serve --host in brackets is SP_ERR_USAGE saying to drop them; ::1 itself is taken', () => {
    expect(() => parseOptions(serve.options, { host: '[::1]' })).toThrow(expect.objectContaining({ code: 'SP_ERR_USAGE', message: expect.stringContaining('without the brackets a URL puts around it (--host ::1)') }));
    expect(parseOptions(serve.options, { host: '::1' })).toMatchObject({ host: '::1' });
  });

  // Probed: `train --split random --test-from D` (or --folds, --protocol) trained on a random 80/20 split, the option ignored without a word.
  it.each([
    ['--test-from', { testFrom: '2013-01-02' }],
    ['--folds', { folds: '5' }],
    ['--protocol', { protocol: 'cv' }],
  ])('train --split random with %s is SP_ERR_USAGE naming it', (_flag, raw) => {
    expect(() => parseOptions(train.options, { split: 'random', ...raw })).toThrow(expect.objectContaining({ code: 'SP_ERR_USAGE', message: expect.stringMatching(/^--split random .*drop --test-from \/ --folds \/ --protocol/) }));
    expect(parseOptions(train.options, { split: 'time', ...raw })).toMatchObject({ split: 'time' });
  });

  // Probed: `train --split random --promote-if-better` trained and registered the model, then failed (exit 1, the run
  // recorded failed) with SP_ERR_PROMOTE_REFUSED and the hint to pass --force, which train does not take.
  it('train --split random --promote-if-better is SP_ERR_USAGE before training', () => {
    expect(() => parseOptions(train.options, { split: 'random', promoteIfBetter: true })).toThrow(expect.objectContaining({ code: 'SP_ERR_USAGE', message: expect.stringMatching(/^--split random has no backtest .*models promote <id> --force/) }));
    expect(parseOptions(train.options, { split: 'random' })).toMatchObject({ split: 'random', promoteIfBetter: false });
  });

  // Probed: `models promote ID --note <501 characters>` said "--note Too big: expected string to have <=500 characters".
  it('models promote --note over 500 characters is SP_ERR_USAGE saying the limit in words', () => {
    expect(() => parseOptions(modelsPromote.options, { note: 'a'.repeat(501) })).toThrow(expect.objectContaining({ code: 'SP_ERR_USAGE', message: expect.stringMatching(/^--note must be at most 500 characters \(got 'a+… \(501 characters\)'\)$/) }));
    expect(parseOptions(modelsPromote.options, { note: 'a'.repeat(500) })).toMatchObject({ note: 'a'.repeat(500) });
  });

  // Probed: `models list --limit 0` said "--limit must be a whole number from 1 to 9007199254740991 (got 0)".
  it('a whole number past its bound names the bound, without the largest exact integer for "no upper bound"', () => {
    expect(() => inRange('--limit', 0, 1, Number.MAX_SAFE_INTEGER)).toThrow(expect.objectContaining({ code: 'SP_ERR_USAGE', message: '--limit must be a whole number of at least 1 (got 0)' }));
    expect(() => inRange('--folds', 10, 0, 9)).toThrow(expect.objectContaining({ message: '--folds must be a whole number from 0 to 9 (got 10)' }));
    expect(() => inRange('--limit', Number.MAX_SAFE_INTEGER, 1, Number.MAX_SAFE_INTEGER)).not.toThrow();
    expect(() => inRange('--limit', 1e20, 1, Number.MAX_SAFE_INTEGER)).toThrow(expect.objectContaining({ message: '--limit must be a whole number from 1 to 9007199254740991 (got 100000000000000000000)' }));
  });

  it('a bare optional-value option takes its preset; defaults fill the rest', () => {
    expect(parseOptions(run.options, { wait: true })).toMatchObject({ wait: 3600, forceTask: [], dryRun: false });
    expect(parseOptions(run.options, { wait: '2.5', resume: true })).toMatchObject({ wait: 2.5, resume: true });
  });

  it.each([
    ['--seed 1e3', { seed: '1e3' }],
    ['--years 0x10', { years: '0x10' }],
    ['--symbols ,', { symbols: ',' }],
    ['--nope', { nope: 'x' }],
  ])('%s → SP_ERR_USAGE', (_what, raw) => {
    expect(() => fetch.prepare(raw, [])).toThrow(expect.objectContaining({ code: 'SP_ERR_USAGE' }));
  });

  it('the output mode comes from argv before `--`', () => {
    expect(outputMode(['fetch', '--json'])).toEqual({ json: true, debug: false });
    expect(outputMode(['--debug', 'fetch', '--', '--json'])).toEqual({ json: false, debug: true });
  });

  it("a child process inherits --config (absolute), --threads, --memory-limit and, when asked, --debug", () => {
    const g = parseOptions(GlobalOptions, { config: 'c.json', threads: '2', memoryLimit: '2GB', debug: true, workspace: 'w' });
    expect(childGlobalArgs(g, { debug: true })).toEqual(['--config', `${process.cwd()}/c.json`, '--threads', '2', '--memory-limit', '2GB', '--debug']);
    expect(childGlobalArgs(g, { debug: false })).not.toContain('--debug');
  });

  it('a child process is given the ./stockpipe.config.json this process read without --config (a queue worker runs it in another folder)', () => {
    const dir = tempDirSync('implicit-config');
    const g = parseOptions(GlobalOptions, { workspace: 'w' });
    expect(childGlobalArgs(g, { debug: false, cwd: dir })).toEqual([]);
    writeFileSync(join(dir, 'stockpipe.config.json'), '{"validate": {"fail_on": "warning"}}');
    expect(childGlobalArgs(g, { debug: false, cwd: dir })).toEqual(['--config', join(dir, 'stockpipe.config.json')]);
    // --config wins, relative to the same folder.
    expect(childGlobalArgs(parseOptions(GlobalOptions, { config: 'other.json' }), { debug: false, cwd: dir })).toEqual(['--config', join(dir, 'other.json')]);
  });
});
