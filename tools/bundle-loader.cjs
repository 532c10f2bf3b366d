/** @module tools/bundle-loader
 * Copied by tools/build-cli to dist/bin/bundle-loader.cjs. The entries main.js (every command but
 * `serve`) and task-main.js run their one-file CommonJS bundle (`<entry>.bundle.cjs`) through here,
 * compiled from V8's code cache of that bundle (`<entry>.bundle.cache`, made at build time) when the
 * cache fits this node: node 20 keeps no compiled code for ES modules, and compiling the command
 * line's modules was about a fifth of a command's start. Without a cache, or with one V8 rejects
 * (another node, other V8 flags), the bundle is compiled from its source. */
'use strict';
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { join } = require('node:path');
const { Script } = require('node:vm');

/** Runs `<name>.bundle.cjs` beside this file; returns its exports. */
module.exports = function runBundle(name) {
  const file = join(__dirname, `${name}.bundle.cjs`);
  const cacheFile = join(__dirname, `${name}.bundle.cache`);
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
  // tools/build-cli makes the cache by running the entry once with this set: the cache then holds
  // the functions that run compiled too, not only the bundle's top level.
  if (process.env.STOCKPIPE_WRITE_CODE_CACHE === '1') {
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    });
  }
  const bundle = new Module(file, module);
  bundle.filename = file;
  script.runInThisContext().call(bundle.exports, bundle.exports, Module.createRequire(file), bundle, file, __dirname);
  return bundle.exports;
};
