/** @module serve/metrics
 * Prometheus metrics of the API (prom-client, a registry per app): requests and latency by
 * route/method/status, predictions served, the model being served. Under `serve --workers N` the
 * primary sums the workers' registries (serve/cluster), so stockpipe_model_info counts the
 * processes serving each model. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ApiMetrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  latency: Histogram<'route' | 'method' | 'status'>;
  predictions: Counter<'model_id'>;
  modelInfo: Gauge<'model_id' | 'kind'>;
}

export function createApiMetrics(): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'stockpipe_' });
  return {
    registry,
    requests: new Counter({ name: 'stockpipe_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers: [registry] }),
    latency: new Histogram({
      name: 'stockpipe_http_request_duration_seconds',
      help: 'Time from request to response, by route, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
    predictions: new Counter({ name: 'stockpipe_predictions_total', help: 'Volumes predicted (a batch counts each instance)', labelNames: ['model_id'], registers: [registry] }),
    modelInfo: new Gauge({ name: 'stockpipe_model_info', help: 'The model being served (value: the processes serving it, 1 for a single process)', labelNames: ['model_id', 'kind'], registers: [registry] }),
  };
}
