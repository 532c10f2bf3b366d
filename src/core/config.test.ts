import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfigText } from './config.js';

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
