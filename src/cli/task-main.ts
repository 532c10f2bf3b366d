#!/usr/bin/env node
/** @module cli/task-main
 * The entry of a pipeline task's process (pipeline/subprocess runs `node task-main.js <cmd> …`):
 * starts watching the runner (cli/task-child) before loading the program, whose module graph
 * takes most of a process's start-up (seconds on a busy machine), then runs cli/main as usual. */
import './task-child.js';

// Not a top-level await: dist/bin/ also bundles this entry as CommonJS (tools/build-cli).
void import('./main.js').then(({ runMain }) => runMain());
