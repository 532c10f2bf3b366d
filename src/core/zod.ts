/** @module core/zod
 * zod, as every module of src/ takes it: set to parse without compiling, and to word a value past its
 * bound in words. By default zod v4 compiles an object schema's parser (`new Function`) at its first
 * parse and builds a schema's fast path when it is made; a command parses its config and its options
 * once, so compiling them cost more than it saved (about 20 ms of every command's start: BENCHMARKS.md,
 * "Command start: zod without compiling"). The setting must come before any schema is made (zod reads it
 * then), hence one module that every other one imports zod from (test/layering checks that none imports
 * 'zod' itself). */
import { z } from 'zod';

/** A size's unit, singular and plural, by the issue's origin; null: a number-like value. */
const SIZED: Readonly<Record<string, readonly [string, string]>> = { string: ['character', 'characters'], array: ['entry', 'entries'], set: ['entry', 'entries'], map: ['entry', 'entries'], file: ['byte', 'bytes'] };

/**
 * A bound a value is past, in words, for every schema's `too_big` and `too_small` issues ("must be at
 * most 2147483", "must be greater than 0", "must be at most 500 characters", "must have at least 1
 * entry", "must not be empty"); zod's own wording ("Too big: expected number to be <=2147483") for the
 * rest. A message given where the schema is made still wins.
 */
export function boundMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== 'too_big' && issue.code !== 'too_small') return undefined;
  const big = issue.code === 'too_big';
  const bound = big ? issue.maximum : issue.minimum;
  const inclusive = issue.inclusive !== false;
  const relation = issue.exact ? 'exactly' : big ? (inclusive ? 'at most' : 'less than') : inclusive ? 'at least' : 'greater than';
  if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') return `must be ${relation} ${bound}`;
  const unit = SIZED[issue.origin];
  if (unit === undefined) return undefined;
  if (!big && !issue.exact && Number(bound) === 1) return issue.origin === 'string' ? 'must not be empty' : `must have at least 1 ${unit[0]}`;
  const count = `${bound} ${Number(bound) === 1 ? unit[0] : unit[1]}`;
  return issue.origin === 'string' ? `must be ${relation} ${count}` : `must have ${relation} ${count}`;
}

z.config({ jitless: true, customError: boundMessage });

export { z };
export type { ZodType } from 'zod';
