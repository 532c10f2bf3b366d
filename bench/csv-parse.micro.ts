/** @module bench/csv-parse.micro
 * `tsx bench/csv-parse.micro.ts DIR… [--files=N] [--runs=N]`: µs per row of parseBarsCsv on the
 * Kaggle-layout CSVs of each DIR (read into memory first; min of runs), next to a naive baseline
 * that parses the same fields with Number() on split strings. Number parsing is most of it. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseBarsCsv } from '../src/etl/csv-parse.js';

const args = process.argv.slice(2);
const maxFiles = Number(args.find((a) => a.startsWith('--files='))?.slice(8) ?? Infinity);
const runs = Number(args.find((a) => a.startsWith('--runs='))?.slice(7) ?? 5);

/** The naive twin: split lines and fields, Number() each price (no drops, no checks). */
function naive(bytes: Buffer): number {
  let sum = 0;
  const lines = bytes.toString('latin1').split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.split(',');
    for (let k = 1; k < 7; k++) sum += Number(f[k]);
  }
  return sum;
}

for (const dir of args.filter((a) => !a.startsWith('--'))) {
  const files: Buffer[] = [];
  for (const asset of ['stocks', 'etfs']) {
    let names: string[] = [];
    try {
      names = readdirSync(join(dir, asset)).sort();
    } catch {
      continue;
    }
    for (const n of names) if (files.length < maxFiles) files.push(readFileSync(join(dir, asset, n)));
  }
  let rows = 0;
  for (const f of files) rows += parseBarsCsv(f).rowsRead;
  const time = (fn: (b: Buffer) => unknown): number => {
    let best = Infinity;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      for (const f of files) fn(f);
      best = Math.min(best, performance.now() - t0);
    }
    return Math.round((best * 1000 * 1000) / rows) / 1000;
  };
  const parse = time(parseBarsCsv);
  const baseline = time(naive);
  process.stdout.write(`${JSON.stringify({ dir, files: files.length, rows, parse_us_per_row: parse, naive_number_us_per_row: baseline })}\n`);
}
