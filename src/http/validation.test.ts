/** http/validation: a route with an unbounded query/path parameter is refused when it is added;
 * text values are converted strictly before Ajv sees them. */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { AJV_OPTIONS, checkAsOf, checkBounded, DECIMAL, isDecimal, registerParamValidation } from './validation.js';

describe('checkBounded', () => {
  // [property schema, throws]
  const cases: [Record<string, unknown>, boolean][] = [
    [{ type: 'integer', minimum: 0 }, true],
    [{ type: 'integer', maximum: 10 }, false],
    [{ type: 'integer', maximum: Number.MAX_SAFE_INTEGER + 2 }, true],
    [{ type: 'number', minimum: 0 }, true],
    [{ type: 'number', maximum: 1e9 }, false],
    [{ type: 'string' }, true],
    [{ type: 'string', pattern: '^\\d+$' }, true],
    [{ type: 'string', maxLength: 32 }, false],
    [{ type: 'string', enum: ['a', 'b'] }, false],
    [{ type: 'string', format: 'date' }, false],
    [{ type: 'boolean' }, false],
  ];
  it.each(cases)('%j → throws %s', (prop, throws) => {
    const run = () => checkBounded('GET /x', 'query', { properties: { p: prop } });
    if (throws) expect(run).toThrow(/unbounded/);
    else expect(run).not.toThrow();
  });

  it('refuses a route added later with an unbounded parameter, at registration', async () => {
    const app = Fastify({ ajv: AJV_OPTIONS });
    registerParamValidation(app);
    expect(() => app.get('/later', { schema: { querystring: { type: 'object', properties: { n: { type: 'integer' } } } } }, () => 'x')).toThrow(/unbounded/);
    await app.close();
  });
});

describe('strict conversion of query values', () => {
  // [query string, expected status, the value the handler saw]
  const cases: [string, number, unknown][] = [
    ['n=5', 200, 5], ['n=-3', 200, -3], ['n=007', 200, 7], ['n=5.0', 400, null], ['n=1e1', 400, null], ['n=0x10', 400, null],
    ['n=+5', 400, null], ['n= 5', 400, null], ['n=', 400, null], ['n=1&n=2', 400, null], ['n=11', 400, null],
    ['b=true', 200, true], ['b=false', 200, false], ['b=1', 400, null], ['b=TRUE', 400, null],
    ['x=2.5', 200, 2.5], ['x=-1e-3', 200, -0.001], ['x=abc', 400, null], ['x=Infinity', 400, null], ['x=1e400', 400, null],
  ];
  it.each(cases)('?%s → %d', async (q, status, seen) => {
    const app = Fastify({ ajv: AJV_OPTIONS });
    registerParamValidation(app);
    app.get('/t', {
      schema: { querystring: { type: 'object', properties: { n: { type: 'integer', minimum: -10, maximum: 10 }, b: { type: 'boolean' }, x: { type: 'number', minimum: -1e9, maximum: 1e9 } }, additionalProperties: false } },
    }, (req) => ({ v: Object.values(req.query as Record<string, unknown>)[0] }));
    const r = await app.inject(`/t?${q}`);
    expect(r.statusCode, r.body).toBe(status);
    if (status === 200) expect((JSON.parse(r.body) as { v: unknown }).v).toBe(seen);
    await app.close();
  });
});

describe('isDecimal', () => {
  it('accepts exactly what DECIMAL matches: every string of up to 5 characters over the grammar\'s alphabet, and random longer ones', () => {
    const alphabet = ['0', '7', '+', '-', '.', 'e', 'E', 'x', ' ', '٣'];
    let checked = 0;
    const differ: string[] = [];
    const check = (t: string): void => {
      checked++;
      if (isDecimal(t) !== DECIMAL.test(t)) differ.push(t);
    };
    const walk = (prefix: string, left: number): void => {
      check(prefix);
      if (left > 0) for (const c of alphabet) walk(prefix + c, left - 1);
    };
    walk('', 5);
    const rng = createRng(5);
    for (let i = 0; i < 50_000; i++) check(Array.from({ length: 6 + Math.floor(rng.next() * 12) }, () => alphabet[Math.floor(rng.next() * alphabet.length)]!).join(''));
    for (const t of ['2326635.5', '25.75', '1e308', '-0', '.5', '5.', '1E+5', '1e-5', '+.5e-0', '1e', 'e5', '.', '+', '1.2.3', '--1', 'Infinity', 'NaN', '0x10', '1_000']) check(t);
    expect(checked).toBeGreaterThan(100_000);
    expect(differ).toEqual([]);
  });
});

describe('checkAsOf', () => {
  // Probed: GET /symbols/X/series?as_of=2026-12-08T10:00:00+01:00 said only "is neither a snapshot id nor a time" with the
  // space the URL made of the '+' in it, hinting an ISO-8601 time — which is what was typed.
  it("names the '+' of an offset that the URL's query turned into a space, and how to write it", () => {
    const caught = (v: string): unknown => {
      try {
        checkAsOf(v);
      } catch (err) {
        return err;
      }
      return null;
    };
    expect(caught('2026-12-08T10:00:00 01:00')).toMatchObject({
      code: 'SP_ERR_BAD_REQUEST',
      message: expect.stringContaining("the offset +01:00 arrived as ' 01:00'"),
      hint: expect.stringContaining('as_of=2026-12-08T10:00:00%2B01:00'),
    });
    expect(caught('yesterday')).toMatchObject({ code: 'SP_ERR_BAD_REQUEST', hint: expect.stringContaining('ISO-8601') });
    for (const ok of ['12', '2026-12-08', '2026-12-08T10:00:00+01:00', '2026-12-08T10:00:00-05:00']) expect(caught(ok)).toBeNull();
  });
});
