/** @module cli/options
 * The declarative layer under the command line: a command is a name, a summary, examples and one
 * strict zod object of options (and one of positional arguments). From it come the commander
 * options, the help text (each default shown once), the coercion of argv strings and the typed
 * object the handler gets. An option that sets a config key names it: its default and environment
 * variable in the help come from core/config. Knows no particular command (cli/commands/). */
import { z } from '../core/zod.js';
import { ConfigSchema, ENV_KEYS } from '../core/config.js';
import { clip, StockpipeError } from '../core/errors.js';
import { ALIAS_NAME } from '../registry/store.js';
import type { CommandContext, CommandResult } from './context.js';

/** Flags in config paths, e.g. { workspace: 'x', fetch: { seed: 7 } } (core/config loadConfig). */
export type ConfigFlags = Record<string, unknown>;

/** How an option appears on the command line, beyond its zod type, default and description. */
export interface OptionMeta {
  /** One letter: `-s` next to `--source`. */
  short?: string;
  /** The value's placeholder: `n` → `<n>`; `[run-id]` makes the value optional. */
  arg?: string;
  /** The value an optional-value option takes when given bare (`--wait` → 3600). */
  preset?: string;
  /** The config key the value sets (file < STOCKPIPE_* < flags); help shows its default and env. */
  config?: string;
  /** Sets the config from the parsed value instead of `config` (one flag, two keys). */
  toConfig?: (value: unknown) => ConfigFlags;
  /** The default in words, when it is not one value (`all cores`). */
  defaultText?: string;
}

/** Command-line metadata of zod fields: `z.string().register(cli, { short: 's' })`. */
export const cli = z.registry<OptionMeta>();

/** A whole number written as decimal digits (no 1e3, no 0x10). */
export const whole = () => z.string().regex(/^[+-]?\d+$/, 'expected a whole number').transform(Number).register(cli, { arg: 'n' });
/** A decimal number (digits, an optional fraction; no exponent). */
export const decimal = () => z.string().regex(/^[+-]?(\d+(\.\d*)?|\.\d+)$/, 'expected a decimal number such as 0.5').transform(Number).register(cli, { arg: 'x' });
/** A switch: true when given. `optional` (for config-backed switches) leaves it unset otherwise. */
export const flag = () => z.boolean().default(false);

/** What a handler gets besides its options and the context. */
export interface Invocation<G = Record<string, unknown>> {
  /** The parsed global options (--workspace, --config, …). */
  globals: G;
  /** package.json's version. */
  version: string;
}

/** One command, types erased: what cli/main needs to wire it into commander. */
export interface CommandSpec<G = Record<string, unknown>> {
  /** `fetch`, or `models list` under a group. */
  name: string;
  summary: string;
  examples: readonly string[];
  /** Text shown before the examples (e.g. the config a command reads). */
  notes?: string;
  /** The group's command when none is named (`stockpipe runs` = `runs list`). */
  isDefault?: boolean;
  /** The kind of the run the command records (cli/command-run): set on every command that writes. */
  records?: string;
  /** The command reads or acts on a workspace's data: a workspace folder that does not exist (a typo) is
   * SP_ERR_WORKSPACE_NOT_FOUND before any work, and nothing is created. Unset: the command starts a
   * workspace (fetch, run, backfill) or reads a missing one as empty (models list, runs, snapshots, serve). */
  existing?: boolean;
  /** The options' schema, built when first read: zod schemas cost ≈ 20 µs each to build, and the
   * commands' options are some 800 of them, so a process builds only those of the command it runs
   * (cli/main adds a command's options to commander when it is dispatched, or its help shown). */
  readonly options: z.ZodObject;
  args?: z.ZodObject;
  /** argv values → the config flags and the bound handler; throws SP_ERR_USAGE. */
  prepare(rawOptions: Record<string, unknown>, rawArgs: readonly unknown[]): Prepared<G>;
}

export interface Prepared<G> {
  config: ConfigFlags;
  /** The option that set each of `config`'s keys (`fetch.seed` → `--seed`): a bad value is named by it (core/config). */
  flagNames: Record<string, string>;
  run(ctx: CommandContext, inv: Invocation<G>): Promise<CommandResult>;
}

/** Declares a command; `run` gets its options and arguments as one typed object. */
export function defineCommand<G, O extends z.ZodObject, A extends z.ZodObject = z.ZodObject<Record<never, never>>>(def: {
  name: string;
  summary: string;
  examples: readonly string[];
  notes?: string;
  isDefault?: boolean;
  records?: string;
  existing?: boolean;
  /** Made on first use: a process builds the options of the command it runs only (see CommandSpec.options). */
  options: () => O;
  args?: A;
  run: (o: z.output<O> & z.output<A>, ctx: CommandContext, inv: Invocation<G>) => Promise<CommandResult>;
}): CommandSpec<G> {
  let made: O | undefined;
  const options = (): O => (made ??= def.options());
  return {
    name: def.name,
    summary: def.summary,
    examples: def.examples,
    notes: def.notes,
    isDefault: def.isDefault,
    records: def.records,
    existing: def.existing,
    get options() {
      return options();
    },
    args: def.args,
    prepare(rawOptions, rawArgs) {
      const o = parseOptions(options(), rawOptions);
      const a = def.args ? parseArgs(def.args, rawArgs) : ({} as z.output<A>);
      const all = { ...o, ...a };
      return { config: configFlags(options(), o), flagNames: configFlagNames(options(), o), run: (ctx, inv) => def.run(all, ctx, inv) };
    },
  };
}

/** A zod field as the command line sees it. */
export interface FieldInfo {
  key: string;
  /** `takes` a value, is a `switch`, or `repeats` (each use adds a value). */
  shape: 'takes' | 'switch' | 'repeats';
  description: string;
  meta: OptionMeta;
  choices?: readonly string[];
  /** The zod default, when there is one. */
  default?: unknown;
  hasDefault: boolean;
}

export function fieldInfo(key: string, schema: z.ZodType): FieldInfo {
  const meta: OptionMeta = {};
  let description: string | undefined;
  let cur: z.ZodType = schema;
  let hasDefault = false;
  let dflt: unknown;
  for (;;) {
    description ??= cur.description;
    for (const [k, v] of Object.entries(cli.get(cur) ?? {})) if (!(k in meta)) Object.assign(meta, { [k]: v });
    if (cur instanceof z.ZodDefault) {
      hasDefault = true;
      dflt = cur.def.defaultValue;
      cur = cur.def.innerType as z.ZodType;
    } else if (cur instanceof z.ZodOptional) cur = cur.def.innerType as z.ZodType;
    else if (cur instanceof z.ZodPipe) cur = cur.def.in as z.ZodType;
    else break;
  }
  const shape = cur instanceof z.ZodBoolean ? 'switch' : cur instanceof z.ZodArray ? 'repeats' : 'takes';
  const choices = cur instanceof z.ZodEnum ? (cur.options as readonly string[]) : undefined;
  return { key, shape, description: description ?? '', meta, choices, default: dflt, hasDefault };
}

export const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** `-s, --source <source>` */
export function flagsOf(f: FieldInfo): string {
  const name = `${f.meta.short ? `-${f.meta.short}, ` : ''}--${kebab(f.key)}`;
  if (f.shape === 'switch') return name;
  const arg = f.meta.arg ?? kebab(f.key);
  return `${name} ${arg.startsWith('[') ? arg : `<${arg}>`}`;
}

let configDefaults: Record<string, unknown> | undefined;
function configValue(path: string): unknown {
  configDefaults ??= ConfigSchema.parse({});
  return path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], configDefaults);
}

/** The one default a help line shows, if any: words, the zod default, or the config key's default. */
export function shownDefault(f: FieldInfo): string | undefined {
  if (f.meta.defaultText !== undefined) return f.meta.defaultText;
  const v = f.hasDefault ? f.default : f.meta.config !== undefined ? configValue(f.meta.config) : undefined;
  if (v === undefined || typeof v === 'boolean' || (Array.isArray(v) && v.length === 0)) return undefined;
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** The help line's text: description, then (one of …; default: …; env …). */
export function helpOf(f: FieldInfo): string {
  const env = f.meta.config === undefined ? undefined : Object.entries(ENV_KEYS).find(([, p]) => p.join('.') === f.meta.config)?.[0];
  const d = shownDefault(f);
  const extra = [
    f.choices ? `one of: ${f.choices.join(', ')}` : undefined,
    f.meta.preset !== undefined ? `given alone: ${f.meta.preset}` : undefined,
    d !== undefined ? `default: ${d}` : undefined,
    env !== undefined ? `env ${env}` : undefined,
  ].filter((s) => s !== undefined);
  return extra.length === 0 ? f.description : `${f.description} (${extra.join('; ')})`;
}

export function fieldsOf(schema: z.ZodObject): FieldInfo[] {
  return Object.entries(schema.shape).map(([k, s]) => fieldInfo(k, s as z.ZodType));
}

/** The first zod issue as a usage error naming the flag and the value given. */
function usageError(issue: z.core.$ZodIssue, raw: Record<string, unknown>, name: (key: string) => string, hint?: string): StockpipeError {
  const key = issue.path[0];
  if (typeof key !== 'string') return new StockpipeError('SP_ERR_USAGE', issue.message, { hint });
  const got = raw[key];
  const shown = typeof got === 'string' ? ` (got '${clip(got)}')` : '';
  // A required option left out: zod's "expected string, received undefined" names no option.
  const what = got === undefined && issue.code === 'invalid_type' ? 'is required'
    : issue.code === 'invalid_value' && 'values' in issue ? `must be one of: ${issue.values.join(', ')}` : issue.message.replace(/^expected/, 'expects');
  return new StockpipeError('SP_ERR_USAGE', `${name(key)} ${what}${shown}`, { hint });
}

/** commander's option values → the schema's output; an invalid one is SP_ERR_USAGE (with `hint`, else the code's). */
export function parseOptions<O extends z.ZodObject>(schema: O, raw: Record<string, unknown>, hint?: string): z.output<O> {
  const presets = new Map(fieldsOf(schema).map((f) => [f.key, f.meta.preset]));
  const input: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== undefined) input[k] = v === true ? (presets.get(k) ?? v) : v;
  const r = schema.safeParse(input);
  if (!r.success) throw usageError(r.error.issues[0]!, input, (k) => `--${kebab(k)}`, hint);
  return r.data;
}

/** commander's positional values (in declaration order) → the schema's output. */
export function parseArgs<A extends z.ZodObject>(schema: A, raw: readonly unknown[]): z.output<A> {
  const input: Record<string, unknown> = {};
  Object.keys(schema.shape).forEach((k, i) => {
    if (raw[i] !== undefined) input[k] = raw[i];
  });
  const r = schema.safeParse(input);
  if (!r.success) throw usageError(r.error.issues[0]!, input, (k) => `<${k}>`);
  return r.data;
}

/** The config flags the set options give (unset ones leave the file and env in charge). */
export function configFlags(schema: z.ZodObject, values: Record<string, unknown>): ConfigFlags {
  const out: ConfigFlags = {};
  for (const f of fieldsOf(schema)) {
    const v = values[f.key];
    if (v === undefined) continue;
    if (f.meta.toConfig) mergeInto(out, f.meta.toConfig(v));
    else if (f.meta.config !== undefined) mergeInto(out, f.meta.config.split('.').reduceRight<unknown>((acc, k) => ({ [k]: acc }), v) as ConfigFlags);
  }
  return out;
}

/** The option that sets each config key the set options give (`fetch.seed` → `--seed`; both of --symbols' keys). */
export function configFlagNames(schema: z.ZodObject, values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fieldsOf(schema)) {
    const v = values[f.key];
    if (v === undefined || (f.meta.toConfig === undefined && f.meta.config === undefined)) continue;
    const leaves = (o: unknown, path: string[]): void => {
      if (typeof o === 'object' && o !== null && !Array.isArray(o)) for (const [k, x] of Object.entries(o)) leaves(x, [...path, k]);
      else out[path.join('.')] = `--${kebab(f.key)}`;
    };
    if (f.meta.toConfig) leaves(f.meta.toConfig(v), []);
    else out[f.meta.config!] = `--${kebab(f.key)}`;
  }
  return out;
}

function mergeInto(target: ConfigFlags, src: ConfigFlags): void {
  for (const [k, v] of Object.entries(src)) {
    const t = target[k];
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof t === 'object' && t !== null && !Array.isArray(t)) mergeInto(t as ConfigFlags, v as ConfigFlags);
    else target[k] = v;
  }
}

/** A whole number from min to max, checked where the command runs (a 0 ms poll spins; LIMIT -1 is no limit). */
export function inRange(name: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || (value >= min && value <= max)) return;
  // No upper bound but the largest exact integer: `--limit 0` said "from 1 to 9007199254740991".
  const range = value < min && max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
  throw new StockpipeError('SP_ERR_USAGE', `${name} must be a whole number ${range} (got ${value})`);
}

/** A real calendar date YYYY-MM-DD (Date.UTC rolls 2020-02-30 over to March 1). */
export function calendarDate(name: string, value: string | undefined): void {
  if (value === undefined) return;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const back = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).toISOString().slice(0, 10) : null;
  if (back !== value) throw new StockpipeError('SP_ERR_USAGE', `${name} must be a real calendar date YYYY-MM-DD (got '${value.slice(0, 40)}')`);
}

/** An alias name, checked before the registry is opened (or created). */
export function aliasName(value: string | undefined): void {
  if (value !== undefined && !ALIAS_NAME.test(value)) {
    throw new StockpipeError('SP_ERR_USAGE', `invalid alias name '${value.length > 100 ? `${value.slice(0, 100)}…` : value}'`, { hint: 'An alias starts with a letter and has up to 64 letters, digits, _ . or -, e.g. champion.' });
  }
}
