/** http/route-table: the methods of each path come from the routes actually added (exact,
 * parameterised, wildcard, plugin-added), HEAD left out. */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { collectRoutes } from './route-table.js';

async function table() {
  const app = Fastify();
  const routes = collectRoutes(app);
  const ok = () => 'ok';
  app.get('/predict', ok);
  app.post('/predict', ok);
  app.get('/runs/:id', ok);
  app.get('/runs/:id/logs/:task', ok);
  app.post('/models/:id/promote', ok);
  app.get('/models/compare', ok);
  app.route({ method: ['GET', 'PUT'], url: '/both', handler: ok });
  await app.register(async (child) => {
    child.get('/static/*', ok);
  }, { prefix: '/docs' });
  await app.ready();
  return { app, routes };
}

describe('collectRoutes', () => {
  it.each([
    ['/predict', ['GET', 'POST']],
    ['/runs/abc', ['GET']],
    ['/runs/a.b', ['GET']],
    ['/runs/abc/logs/fetch', ['GET']],
    ['/models/x/promote', ['POST']],
    ['/models/compare', ['GET']],
    ['/both', ['GET', 'PUT']],
    ['/docs/static/a/b.css', ['GET']],
    ['/runs/', undefined],
    ['/runs', undefined],
    ['/predict/', undefined],
    ['/nope', undefined],
    ['/models/x', undefined],
  ])('%s → %j', async (path, want) => {
    const { app, routes } = await table();
    expect(routes.allowedMethods(path)).toEqual(want);
    await app.close();
  });
});
