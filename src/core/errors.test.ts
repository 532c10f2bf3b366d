import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderErrorsDoc } from './errors-doc.js';
import { ERROR_CODES, StockpipeError, toStockpipeError } from './errors.js';

describe('errors', () => {
  it('docs/errors.md is generated from the code table (run npm run docs:errors)', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    expect(doc).toBe(renderErrorsDoc());
    for (const code of Object.keys(ERROR_CODES)) expect(doc).toContain(`\`${code}\``);
    const documented = [...doc.matchAll(/`(SP_ERR_[A-Z_]+)`/g)].map((m) => m[1]);
    for (const code of documented) expect(Object.keys(ERROR_CODES)).toContain(code);
  });

  it('every code used in src/ is in the table', async () => {
    const { execSync } = await import('node:child_process');
    const used = new Set(execSync("grep -rhoE \"'SP_ERR_[A-Z_]+'\" src --include=*.ts", { cwd: new URL('../..', import.meta.url) }).toString().match(/SP_ERR_[A-Z_]+/g));
    for (const code of used) expect(Object.keys(ERROR_CODES), code).toContain(code);
  });

  it('carries code, hint, exit and HTTP status', () => {
    const e = new StockpipeError('SP_ERR_SOURCE_UNKNOWN', "unknown source 'x'");
    expect(e.exitCode).toBe(2);
    expect(e.httpStatus).toBe(400);
    expect(e.toJSON()).toEqual({ code: 'SP_ERR_SOURCE_UNKNOWN', message: "unknown source 'x'", hint: ERROR_CODES.SP_ERR_SOURCE_UNKNOWN.hint });
    expect(toStockpipeError(new Error('boom')).code).toBe('SP_ERR_INTERNAL');
  });
});
