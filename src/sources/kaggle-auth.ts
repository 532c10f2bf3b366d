/** @module sources/kaggle-auth
 * Finds Kaggle credentials in the official CLI's order and turns them into an Authorization header.
 * Env and home folder are passed in; secrets never reach a log line or an error message. */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';

export interface KaggleAuth {
  kind: 'bearer' | 'basic' | 'none';
  /** The Authorization header value (absent for 'none'). Secret: never log it. */
  header?: string;
  /** Where the credentials came from (an env variable name or a file path), safe to print. */
  origin: string;
  username?: string;
  /** The raw secrets, so callers can redact them from any text they echo. */
  secrets: string[];
}

export interface KaggleAuthInput {
  env: Readonly<Record<string, string | undefined>>;
  homeDir: string;
  log: Logger;
  /** Whether to check file modes (false on Windows, where modes mean nothing). */
  checkModes?: boolean;
}

/** Every place searched, in order, for messages when nothing is found. */
export function kaggleCredentialPlaces(input: Pick<KaggleAuthInput, 'env' | 'homeDir'>): string[] {
  return ['KAGGLE_API_TOKEN', join(input.homeDir, '.kaggle', 'access_token'), 'KAGGLE_USERNAME + KAGGLE_KEY', ...kaggleJsonDirs(input).map((d) => join(d, 'kaggle.json'))];
}

/** Resolves the credentials (first found wins); returns kind 'none' when there are none. */
export async function resolveKaggleAuth(input: KaggleAuthInput): Promise<KaggleAuth> {
  const { env, homeDir, log } = input;
  const checkModes = input.checkModes ?? process.platform !== 'win32';

  const envToken = nonEmpty(env.KAGGLE_API_TOKEN);
  if (envToken !== undefined) {
    // The value may be the token itself: a failed stat must never quote it, so any error means "not a file".
    const file = (await stat(envToken).catch(() => null))?.isFile() ? await readIfFile(envToken) : null;
    if (file !== null) {
      if (checkModes) warnIfShared(envToken, file.mode, log);
      const token = file.text.trim();
      if (token === '') throw new StockpipeError('SP_ERR_KAGGLE_AUTH', `the token file named by KAGGLE_API_TOKEN is empty: ${envToken}`);
      return bearer(token, `KAGGLE_API_TOKEN (file ${envToken})`);
    }
    if (/^(\/|~|\.{1,2}\/)/.test(envToken)) {
      log.warn({ variable: 'KAGGLE_API_TOKEN' }, 'KAGGLE_API_TOKEN looks like a path but no such file exists; using its value as the token');
    }
    return bearer(envToken, 'KAGGLE_API_TOKEN');
  }

  const tokenPath = join(homeDir, '.kaggle', 'access_token');
  const tokenFile = await readIfFile(tokenPath);
  if (tokenFile !== null && tokenFile.text.trim() !== '') {
    if (checkModes) warnIfShared(tokenPath, tokenFile.mode, log);
    return bearer(tokenFile.text.trim(), tokenPath);
  }

  const user = nonEmpty(env.KAGGLE_USERNAME);
  const key = nonEmpty(env.KAGGLE_KEY);
  if (user !== undefined && key !== undefined) return basic(user, key, 'KAGGLE_USERNAME + KAGGLE_KEY');

  for (const dir of kaggleJsonDirs(input)) {
    const path = join(dir, 'kaggle.json');
    const file = await readIfFile(path);
    if (file === null) continue;
    if (checkModes) warnIfShared(path, file.mode, log);
    const creds = parseKaggleJson(file.text);
    // No cause attached: JSON.parse messages quote the file's text, which holds the key.
    if (creds === null) throw new StockpipeError('SP_ERR_KAGGLE_AUTH', `${path} is not JSON with "username" and "key" strings`, { hint: 'Download a fresh kaggle.json from kaggle.com (Settings → API) or set KAGGLE_API_TOKEN.' });
    return basic(creds.username, creds.key, path);
  }

  return { kind: 'none', origin: 'no credentials', secrets: [] };
}

/** Folders searched for kaggle.json: $KAGGLE_CONFIG_DIR, ~/.kaggle, ${XDG_CONFIG_HOME:-~/.config}/kaggle. */
function kaggleJsonDirs(input: Pick<KaggleAuthInput, 'env' | 'homeDir'>): string[] {
  const dirs: string[] = [];
  const configDir = nonEmpty(input.env.KAGGLE_CONFIG_DIR);
  if (configDir !== undefined) dirs.push(configDir);
  dirs.push(join(input.homeDir, '.kaggle'));
  dirs.push(join(nonEmpty(input.env.XDG_CONFIG_HOME) ?? join(input.homeDir, '.config'), 'kaggle'));
  return dirs;
}

function bearer(token: string, origin: string): KaggleAuth {
  return { kind: 'bearer', header: `Bearer ${token}`, origin, secrets: [token] };
}

function basic(username: string, key: string, origin: string): KaggleAuth {
  const header = `Basic ${Buffer.from(`${username}:${key}`).toString('base64')}`;
  return { kind: 'basic', header, origin, username, secrets: [key, header.slice('Basic '.length)] };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function parseKaggleJson(text: string): { username: string; key: string } | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null; // reported by the caller with the path, never the text
  }
  if (typeof value !== 'object' || value === null) return null;
  const { username, key } = value as Record<string, unknown>;
  if (typeof username !== 'string' || typeof key !== 'string' || username === '' || key === '') return null;
  return { username, key };
}

/** Reads a regular file, or returns null when `path` is not one (missing, a folder, not a path). */
async function readIfFile(path: string): Promise<{ text: string; mode: number } | null> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'EINVAL') return null;
    throw new StockpipeError('SP_ERR_KAGGLE_AUTH', `cannot read Kaggle credentials at ${path}: ${code ?? 'error'}`, { cause: err });
  }
  if (!st.isFile()) return null;
  try {
    return { text: await readFile(path, 'utf8'), mode: st.mode };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new StockpipeError('SP_ERR_KAGGLE_AUTH', `cannot read Kaggle credentials at ${path}: ${code ?? 'error'}`, { cause: err });
  }
}

function warnIfShared(path: string, mode: number, log: Logger): void {
  if ((mode & 0o077) === 0) return;
  log.warn({ path, mode: `0${(mode & 0o777).toString(8)}`, fix: 'chmod 600' }, 'Kaggle credentials file is readable by group or others');
}
