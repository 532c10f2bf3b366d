/** @module bench/bare-fastify
 * The baseline of `npm run bench -- serve`'s replica comparison: a bare Fastify app, one process,
 * answering GET /predict with a constant integer (no parsing, scoring, metrics or logging). Prints
 * `{"port": N}` on stdout once it listens on 127.0.0.1; stops on SIGTERM. */
import Fastify from 'fastify';

const app = Fastify();
app.get('/predict', () => 10350);
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ port: (app.server.address() as { port: number }).port })}\n`);
process.once('SIGTERM', () => {
  // The process ends when the app has closed; nothing is left to wait for it.
  void app.close().catch((err: unknown) => process.stderr.write(`${String(err)}\n`));
});
