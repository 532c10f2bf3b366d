/** @module core/errors-doc
 * Renders docs/errors.md from the ERROR_CODES table (run `npm run docs:errors`); a test fails
 * when the committed file differs from what this renders. */
import { ERROR_CODES } from './errors.js';

export function renderErrorsDoc(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, s]) => `| \`${code}\` | ${s.exit} | ${s.http} | ${s.meaning} | ${s.hint} |`);
  return [
    '# Error codes',
    '',
    'Every failure carries one stable `SP_ERR_*` code (never renamed or reused), a one-line message saying',
    'what failed and where, and a hint. With `--json` the error is `{"ok": false, "error": {"code", "message", "hint"}}`.',
    'Exit codes: 0 ok, 1 failed, 2 usage. Generated from `src/core/errors.ts` by `npm run docs:errors`.',
    '',
    '| code | exit | HTTP | meaning | what to do |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

// `node dist/core/errors-doc.js --write` regenerates the file.
if (process.argv[1]?.endsWith('errors-doc.js') && process.argv.includes('--write')) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(new URL('../../docs/errors.md', import.meta.url), renderErrorsDoc());
}
