/** @module cli/npm-start
 * `npm start` (package.json): `stockpipe run train`, then `stockpipe serve`, on one workspace. npm
 * appends `npm start -- ARGS` to the end of the script, so with `run train && serve` every argument went
 * to serve alone: `npm start -- --workspace DIR` trained ./stockpipe-data and served DIR (no model, or
 * another one). This prints the shell commands package.json's `start` evals: the global options
 * (--workspace, --config, --threads, --memory-limit, --json, --quiet, --debug) go to both commands,
 * everything else to serve; serve is exec'd, so signals reach it as before. */
import { fileURLToPath } from 'node:url';

/** Global options that take a value (cli/globals), by every name they have. */
const WITH_VALUE = new Set(['-w', '--workspace', '-c', '--config', '--threads', '--memory-limit']);
/** Global flags (cli/globals). */
const FLAGS = new Set(['--json', '-q', '--quiet', '--debug']);

export interface StartArgs {
  /** For `run train`: the global options only. */
  train: string[];
  /** For `serve`: every argument, as given. */
  serve: string[];
}

/** Which of `npm start -- ARGS` each command gets. */
export function startArgs(argv: readonly string[]): StartArgs {
  const train: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    const name = a.startsWith('--') && a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    if (FLAGS.has(a)) train.push(a);
    else if (WITH_VALUE.has(name)) {
      if (name !== a) train.push(a);
      else if (i + 1 < argv.length) train.push(a, argv[++i]!);
      else train.push(a);
    }
  }
  return { train, serve: [...argv] };
}

/** One word for sh, quoted. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The script `npm start` evals: run train with the global options, then (if it succeeded) exec serve with all. */
export function startScript(argv: readonly string[], node = process.execPath, main = fileURLToPath(new URL('../bin/main.js', import.meta.url))): string {
  const { train, serve } = startArgs(argv);
  const cmd = (args: string[]) => [node, main, ...args].map(shellQuote).join(' ');
  return `${cmd(['run', 'train', ...train])} && exec ${cmd(['serve', ...serve])}\n`;
}

/** stockpipe options that are no npm setting: given before `--` (`npm start --port 8001`), npm takes them as
 * its own (npm_config_port=true) and passes their values on as bare words. */
const NOT_NPM = ['port', 'host', 'workers', 'poll-ms', 'threads', 'memory-limit'];

/** The stockpipe options npm took for its own settings (`npm start --port 8001` without `--`). */
export function swallowedByNpm(env: Readonly<Record<string, string | undefined>>): string[] {
  return NOT_NPM.filter((o) => env[`npm_config_${o.replace('-', '_')}`] !== undefined);
}

/** What `npm start` evals, or, when npm took stockpipe's options, a message on stderr and `exit 2` before any training. */
export function npmStart(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): { script: string; stderr: string } {
  const swallowed = swallowedByNpm(env);
  if (swallowed.length === 0) return { script: startScript(argv), stderr: '' };
  const given = swallowed.map((o) => `--${o}`).join(', ');
  return {
    script: 'exit 2\n',
    stderr: `SP_ERR_USAGE: npm took ${given} as its own setting (given before \`--\`), so stockpipe would not see ${swallowed.length > 1 ? 'them' : 'it'}\n  hint: Put stockpipe's options after \`--\`, e.g. npm start -- --port 8001 (or run \`npx stockpipe serve --port 8001\`).\n`,
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { script, stderr } = npmStart(process.argv.slice(2), process.env);
  process.stderr.write(stderr);
  process.stdout.write(script);
}
