/** @module core/zod
 * zod, as every module of src/ takes it: set to parse without compiling. By default zod v4 compiles
 * an object schema's parser (`new Function`) at its first parse and builds a schema's fast path when it
 * is made; a command parses its config and its options once, so compiling them cost more than it saved
 * (about 20 ms of every command's start: BENCHMARKS.md, "Command start: zod without compiling"). The
 * setting must come before any schema is made (zod reads it then), hence one module that every other
 * one imports zod from (test/layering checks that none imports 'zod' itself). */
import { z } from 'zod';

z.config({ jitless: true });

export { z };
export type { ZodType } from 'zod';
