import { describe, expect, it } from 'vitest';
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { createApiMetrics, LATENCY_BUCKETS } from './metrics.js';

/** The same observations through prom-client's own Counter and Histogram. */
function reference(obs: [string, string, number, number][]): Registry {
  const registry = new Registry();
  const requests = new Counter({ name: 'stockpipe_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers: [registry] });
  const latency = new Histogram({ name: 'stockpipe_http_request_duration_seconds', help: 'Time from request to response, by route, method and status', labelNames: ['route', 'method', 'status'], buckets: [...LATENCY_BUCKETS], registers: [registry] });
  for (const [route, method, status, s] of obs) {
    requests.inc({ route, method, status: String(status) });
    latency.observe({ route, method, status: String(status) }, s);
  }
  return registry;
}

const lines = (text: string, prefix: string): string[] => text.split('\n').filter((l) => l.startsWith(prefix)).sort();

describe('API metrics', () => {
  const obs: [string, string, number, number][] = [];
  for (let i = 0; i < 500; i++) obs.push([i % 7 === 0 ? 'unmatched' : '/predict', i % 3 === 0 ? 'POST' : 'GET', i % 11 === 0 ? 400 : 200, (i % 37) * 0.00013 + (i === 5 ? 3 : 0)]);

  it('counts requests and latencies into the same Prometheus text and JSON as prom-client observe() gives', async () => {
    const m = createApiMetrics();
    for (const [route, method, status, s] of obs.slice(0, 200)) m.stats.record(route, method, status, s);
    await m.registry.metrics(); // a scrape in between must not count anything twice
    for (const [route, method, status, s] of obs.slice(200)) m.stats.record(route, method, status, s);
    const ours = await m.registry.metrics();
    const ref = await reference(obs).metrics();
    for (const p of ['stockpipe_http_requests_total', 'stockpipe_http_request_duration_seconds']) {
      const a = lines(ours, p);
      expect(a.length).toBeGreaterThan(0);
      expect(a).toEqual(lines(ref, p));
    }
    const json = (await m.registry.getMetricsAsJSON()).find((x) => x.name === 'stockpipe_http_request_duration_seconds')!;
    const refJson = (await reference(obs).getMetricsAsJSON()).find((x) => x.name === 'stockpipe_http_request_duration_seconds')!;
    const key = (v: { labels: object; value: number; metricName?: string }): string => JSON.stringify([v.metricName, Object.entries(v.labels).sort(), v.value]);
    expect(json.values.map(key).sort()).toEqual(refJson.values.map(key).sort());
  });

  it('sums over cluster workers like prom-client histograms, and counts predictions per model', async () => {
    const a = createApiMetrics();
    const b = createApiMetrics();
    a.stats.record('/predict', 'GET', 200, 0.0002);
    b.stats.record('/predict', 'GET', 200, 0.002);
    a.predicted.add('m1', 3);
    b.predicted.add('m1', 100);
    a.predicted.add('m2', 1);
    const sum = AggregatorRegistry.aggregate([await a.registry.getMetricsAsJSON(), await b.registry.getMetricsAsJSON()]);
    const text = await sum.metrics();
    expect(text).toMatch(/stockpipe_http_request_duration_seconds_count\{route="\/predict",method="GET",status="200"\} 2/);
    expect(text).toMatch(/stockpipe_http_request_duration_seconds_bucket\{le="0.0005",route="\/predict",method="GET",status="200"\} 1/);
    expect(text).toMatch(/stockpipe_predictions_total\{model_id="m1"\} 103/);
    expect(text).toMatch(/stockpipe_predictions_total\{model_id="m2"\} 1/);
  });
});
