/** @module core/log
 * One pino logger writing to stderr; modules take a child. Levels come from --quiet/--debug.
 * Secrets (an Authorization header, the API token) are redacted wherever they appear in a line. */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths pino replaces with "[redacted]" (docs/security.md). */
export const REDACT_PATHS = ['authorization', 'headers.authorization', 'req.headers.authorization', '*.headers.authorization', 'api_token', '*.api_token', 'serve.api_token', 'config.serve.api_token'];
const redact = { paths: REDACT_PATHS, censor: '[redacted]' };

let root: Logger = pino({ level: 'info', base: undefined, redact }, pino.destination({ fd: 2, sync: true }));

/** Reconfigures the root logger (called once by cli/main). */
export function configureLog(opts: { level: 'silent' | 'error' | 'warn' | 'info' | 'debug' }): Logger {
  root = pino({ level: opts.level, base: undefined, redact }, pino.destination({ fd: 2, sync: true }));
  return root;
}

/**
 * The HTTP access log: its own pino logger with an asynchronous stderr destination, so a
 * request never waits for the write (lines are flushed in batches, and at exit). It writes a fixed
 * set of fields (method, url, status, ms, model), never headers; serve/app writes the url without an API
 * token a client put in it (serve/auth tokenRedactor), so it needs no pino redaction.
 */
export function createAccessLog(): Logger {
  return pino({ level: 'info', base: undefined }, pino.destination({ fd: 2, sync: false, minLength: 4096 }));
}

/** A child logger for one module. */
export function getLog(module: string): Logger {
  return root.child({ module });
}
