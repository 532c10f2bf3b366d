/** @module cli/validate
 * `stockpipe validate [--table prices|features] [--set-reference] [--reference FILE] [--as-of X]`:
 * validate/workspace (the table against the saved reference, the report written;
 * SP_ERR_VALIDATION_FAILED past validate.fail_on) → the report for people and --json. */
import { resolve } from 'node:path';
import { renderReport } from '../validate/report.js';
import { validateWorkspace, type ValidateData } from '../validate/workspace.js';
import type { CommandContext, CommandResult } from './context.js';

export type { ValidateData };

export async function validateCommand(ctx: CommandContext, opts: { setReference: boolean; reference?: string; asOf?: string }): Promise<CommandResult<ValidateData>> {
  const data = await validateWorkspace({
    ws: ctx.ws,
    settings: ctx.config.validate,
    referencePath: opts.reference === undefined ? undefined : resolve(opts.reference),
    setReference: opts.setReference,
    asOf: opts.asOf,
    now: ctx.now,
    log: ctx.log,
  });
  return { data, human: renderReport({ ...data, reference: data.reference }) };
}
