import { describe, expect, it } from 'vitest';
import { z } from './zod.js';

const message = (schema: z.ZodType, value: unknown): string => {
  const r = schema.safeParse(value);
  if (r.success) throw new Error(`${JSON.stringify(value)} passed`);
  return r.error.issues[0]!.message;
};

describe('a value past its bound, in words, for every schema', () => {
  // zod's own wording was "Too big: expected number to be <=2147483", "Too small: expected string to have >=1 characters".
  it.each([
    ['must be at most 2147483', z.number().max(2147483), 2147484],
    ['must be at least 0', z.number().int().min(0), -1],
    ['must be greater than 0', z.number().positive(), 0],
    ['must be less than 1', z.number().lt(1), 1],
    ['must be at most 3', z.bigint().max(3n), 4n],
    ['must be at most 500 characters', z.string().max(500), 'a'.repeat(501)],
    ['must be at least 3 characters', z.string().min(3), 'ab'],
    ['must be at most 1 character', z.string().max(1), 'ab'],
    ['must not be empty', z.string().min(1), ''],
    ['must be exactly 2 characters', z.string().length(2), 'a'],
    ['must have at least 1 entry', z.array(z.string()).min(1), []],
    ['must have at most 2 entries', z.array(z.string()).max(2), ['a', 'b', 'c']],
    ['must have at most 1 entry', z.set(z.string()).max(1), new Set(['a', 'b'])],
  ] as const)('%s', (text, schema, value) => {
    expect(message(schema, value)).toBe(text);
  });

  it("a message given with the bound wins; other issues keep zod's wording", () => {
    expect(message(z.number().min(0, 'expects seconds (0 or more)'), -1)).toBe('expects seconds (0 or more)');
    expect(message(z.number(), 'x')).toBe('Invalid input: expected number, received string');
  });
});
