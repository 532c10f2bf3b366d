/** @module bench/bare-fastify
 * The baseline of `npm run bench -- serve`'s replica comparison: a bare Fastify app answering GET
 * /predict with a constant integer (no parsing, scoring, metrics or logging). `--workers N` (default
 * 1): N node:cluster workers on one port, round robin like `serve --workers N`, so the comparison is
 * like with like. Prints `{"port": N}` on stdout once every process listens on 127.0.0.1; stops on
 * SIGTERM. */
import cluster from 'node:cluster';
import Fastify from 'fastify';

const workers = Number(process.argv.find((a) => a.startsWith('--workers='))?.slice('--workers='.length) ?? 1);

async function serveOne(port: number): Promise<number> {
  const app = Fastify();
  app.get('/predict', () => 10350);
  await app.listen({ port, host: '127.0.0.1' });
  process.once('SIGTERM', () => {
    void app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`${String(err)}\n`);
        process.exit(1);
      },
    );
  });
  return (app.server.address() as { port: number }).port;
}

if (workers <= 1) {
  const port = await serveOne(0);
  process.stdout.write(`${JSON.stringify({ port })}\n`);
} else if (cluster.isPrimary) {
  let listening = 0;
  cluster.on('listening', (_w, address) => {
    listening += 1;
    if (listening === workers) process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  // Signals the workers directly (worker.kill() would first wait for their servers to close).
  process.once('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    // A worker still draining after 3 s is not waited for.
    setTimeout(() => {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      process.exit(0);
    }, 3000).unref();
  });
  let exited = 0;
  cluster.on('exit', () => {
    exited += 1;
    if (exited === workers) process.exit(0);
  });
} else {
  // Workers asking for port 0 share the one port the primary picks.
  await serveOne(0);
}
