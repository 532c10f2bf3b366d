/** @module test/setup-file
 * Runs before each test file, isolated or not (vitest.config.ts: the unit tests share a worker's
 * module graph, so a hook registered when a helper module is first imported would belong to one file
 * only). */
import { afterAll } from 'vitest';
import { removeTempDirs } from './helpers/temp.js';

// The temp folders this file's tests made (test/helpers/temp), removed after its tests.
afterAll(removeTempDirs);
