/** @module cli/validate
 * `stockpipe validate [--table prices|features] [--set-reference] [--reference FILE] [--as-of X]`:
 * validate/workspace (the table against the saved reference, the report written;
 * SP_ERR_VALIDATION_FAILED past validate.fail_on) → the report for people and --json. For the
 * bullmq executor (validate/partitions): `--plan PLAN.json --buckets L --stage DIR`, one
 * partition's whole-table passes; `--commit-stage COMMIT.json`, the partitions added up and the check. */
import { resolve } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import { readJsonFile } from '../core/fs.js';
import { commitValidateStages, runValidatePartition, ValidateCommitSchema, type ValidatePartitionReport, ValidatePlanSchema } from '../validate/partitions.js';
import { renderReport } from '../validate/report.js';
import { validateWorkspace, type ValidateData } from '../validate/workspace.js';
import type { CommandContext, CommandResult } from './context.js';

export type { ValidateData };

export interface ValidateCommandOptions {
  setReference: boolean;
  reference?: string;
  asOf?: string;
  plan?: string;
  buckets?: number[];
  stage?: string;
  commitStage?: string;
}

export async function validateCommand(ctx: CommandContext, opts: ValidateCommandOptions): Promise<CommandResult<ValidateData | ValidatePartitionReport>> {
  const part = [opts.plan, opts.buckets, opts.stage].filter((x) => x !== undefined).length;
  const plain = [opts.setReference ? '--set-reference' : null, opts.reference !== undefined ? '--reference' : null, opts.asOf !== undefined ? '--as-of' : null].filter((x): x is string => x !== null);
  if (part > 0 && part < 3) throw new StockpipeError('SP_ERR_USAGE', 'a partition is --plan, --buckets and --stage together');
  // --reference FILE checks against that file; --set-reference writes a new version of the workspace's own: one or the other (both silently did the first).
  if (opts.setReference && opts.reference !== undefined) {
    throw new StockpipeError('SP_ERR_USAGE', '--set-reference and --reference do not go together: --reference checks the table against that file, --set-reference makes the current data a new version of the workspace\'s own reference', { hint: 'Run `stockpipe validate --set-reference` to accept the current data, or `stockpipe validate --reference FILE` to check against FILE.' });
  }
  if ((part > 0 || opts.commitStage !== undefined) && (plain.length > 0 || (part > 0 && opts.commitStage !== undefined))) {
    throw new StockpipeError('SP_ERR_USAGE', `--plan and --commit-stage do not go with each other or with ${plain.join(', ') || '--set-reference, --reference, --as-of'}`);
  }
  if (opts.plan !== undefined && opts.buckets !== undefined && opts.stage !== undefined) {
    const plan = await readJsonFile(resolve(opts.plan), ValidatePlanSchema, 'validate plan');
    const p = await runValidatePartition({ ws: ctx.ws, plan, buckets: opts.buckets, stage: resolve(opts.stage), log: ctx.log });
    return { data: p, human: `${p.stage}\n  buckets ${p.buckets.join(',')} of snapshot ${p.snapshot}: rows ${p.rows}, symbols ${p.symbols}\n  ${p.seconds} s` };
  }
  const data = opts.commitStage !== undefined
    ? await commitValidateStages({ ws: ctx.ws, settings: ctx.config.validate, commit: await readJsonFile(resolve(opts.commitStage), ValidateCommitSchema, 'validate commit file'), now: ctx.now, log: ctx.log })
    : await validateWorkspace({
      ws: ctx.ws,
      settings: ctx.config.validate,
      referencePath: opts.reference === undefined ? undefined : resolve(opts.reference),
      setReference: opts.setReference,
      asOf: opts.asOf,
      now: ctx.now,
      log: ctx.log,
      progress: ctx.progress,
    });
  return { data, human: renderReport({ ...data, reference: data.reference }) };
}
