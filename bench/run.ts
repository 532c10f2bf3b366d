/** @module bench/run
 * `npm run bench -- <name> [options]`: runs one benchmark (etl, train, protocol, objectives, serve, pipeline, start, dashboard, daily-sim, store, scale, queue) and prints its JSON result.
 * Benchmarks are never part of `npm test`. */
import { runDashboardBench } from './dashboard.bench.js';
import { runDailySimBench } from './daily-sim.bench.js';
import { runEtlBench } from './etl.bench.js';
import { runStoreBench } from './store.bench.js';
import { runScaleBench } from './scale.bench.js';
import { runPipelineBench } from './pipeline.bench.js';
import { runObjectivesBench } from './objectives.bench.js';
import { runProtocolBench } from './protocol.bench.js';
import { runQueueBench } from './queue.bench.js';
import { runServeBench } from './serve.bench.js';
import { runStartBench } from './start.bench.js';
import { runTrainBench } from './train.bench.js';

const [name = 'etl', ...rest] = process.argv.slice(2);
const benches: Record<string, (argv: string[]) => Promise<unknown>> = { etl: runEtlBench, train: runTrainBench, serve: runServeBench, pipeline: runPipelineBench, start: runStartBench, dashboard: runDashboardBench, 'daily-sim': runDailySimBench, store: runStoreBench, scale: runScaleBench, queue: runQueueBench, protocol: runProtocolBench, objectives: runObjectivesBench };
const bench = benches[name];
if (!bench) {
  process.stderr.write(`unknown benchmark '${name}'; available: ${Object.keys(benches).join(', ')}\n`);
  process.exitCode = 2;
} else {
  const result = await bench(rest);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
