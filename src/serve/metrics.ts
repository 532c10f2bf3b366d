/** @module serve/metrics
 * Prometheus metrics of the API (prom-client, a registry per app): requests and latency by
 * route/method/status, predictions served, the model being served. Under `serve --workers N` the
 * primary sums the workers' registries (serve/cluster), so stockpipe_model_info counts the
 * processes serving each model.
 *
 * The per-request counts are kept in plain numbers (one record per route/method/status, found
 * through nested Maps, no label hashing) and handed to prom-client when it collects, i.e. on a
 * scrape: prom-client's own inc/observe hash their labels into a string on every call, which was
 * a measurable part of GET /predict's time. The text of GET /metrics is the same as before. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

type HttpLabel = 'route' | 'method' | 'status';

/** The latency buckets, in seconds. */
export const LATENCY_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];

/** One route/method/status: its request count and latency histogram since the start. */
interface Series {
  labels: Record<HttpLabel, string>;
  count: number;
  /** Requests already added to the prom-client counter. */
  reported: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  buckets: Float64Array;
}

/** Request counts and latencies by route, method and status, exported through `requests` and `latency`. */
export class RequestStats {
  private readonly byRoute = new Map<string, Map<string, Map<number, Series>>>();
  readonly all: Series[] = [];

  /** Counts one answered request that took `seconds`. */
  record(route: string, method: string, status: number, seconds: number): void {
    let byMethod = this.byRoute.get(route);
    if (byMethod === undefined) this.byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
    let s = byStatus.get(status);
    if (s === undefined) {
      s = { labels: { route, method, status: String(status) }, count: 0, reported: 0, sum: 0, buckets: new Float64Array(LATENCY_BUCKETS.length + 1) };
      byStatus.set(status, s);
      this.all.push(s);
    }
    s.count += 1;
    s.sum += seconds;
    let b = 0;
    while (b < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[b]!) b++;
    s.buckets[b]! += 1;
  }
}

/** prom-client's Histogram, its values read from a RequestStats when collected (same text and JSON as observe() would give). */
const LATENCY = { name: 'stockpipe_http_request_duration_seconds', help: 'Time from request to response, by route, method and status', type: 'histogram', aggregator: 'sum' } as const;

class StatsHistogram extends Histogram<HttpLabel> {
  constructor(private readonly stats: RequestStats, registry: Registry) {
    super({ name: LATENCY.name, help: LATENCY.help, labelNames: ['route', 'method', 'status'], buckets: [...LATENCY_BUCKETS], registers: [registry] });
  }

  private values(splay: boolean): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    const bucket = `${LATENCY.name}_bucket`;
    const value = (le: Record<string, unknown>, v: number, metricName: string, labels: Record<string, string>): Record<string, unknown> =>
      splay ? { value: v, metricName, labels: { ...le, ...labels } } : { labels: le, sharedLabels: labels, value: v, metricName };
    for (const s of this.stats.all) {
      let acc = 0;
      for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
        acc += s.buckets[i]!;
        out.push(value({ le: LATENCY_BUCKETS[i] }, acc, bucket, s.labels));
      }
      out.push(value({ le: '+Inf' }, s.count, bucket, s.labels), value({}, s.sum, `${LATENCY.name}_sum`, s.labels), value({}, s.count, `${LATENCY.name}_count`, s.labels));
    }
    return out;
  }

  override async get(): Promise<Awaited<ReturnType<Histogram<HttpLabel>['get']>>> {
    return { ...LATENCY, values: this.values(true) } as unknown as Awaited<ReturnType<Histogram<HttpLabel>['get']>>;
  }

  /** What Registry.metrics() formats (prom-client reads it when present). */
  getForPromString(): Promise<unknown> {
    return Promise.resolve({ ...LATENCY, values: this.values(false) });
  }
}

/** Predictions per model, counted in plain numbers and added to the counter when collected. */
export class PredictionCounts {
  private readonly byModel = new Map<string, { labels: { model_id: string }; count: number; reported: number }>();

  add(modelId: string, n: number): void {
    let c = this.byModel.get(modelId);
    if (c === undefined) this.byModel.set(modelId, (c = { labels: { model_id: modelId }, count: 0, reported: 0 }));
    c.count += n;
  }

  /** Adds what was counted since the last flush to `counter`. */
  flushTo(counter: Counter<'model_id'>): void {
    for (const c of this.byModel.values()) {
      if (c.count > c.reported) counter.inc(c.labels, c.count - c.reported);
      c.reported = c.count;
    }
  }
}

export interface ApiMetrics {
  registry: Registry;
  /** Where the app records each answered request (the hot path). */
  stats: RequestStats;
  requests: Counter<HttpLabel>;
  latency: Histogram<HttpLabel>;
  /** Where the predict routes count predictions (the hot path). */
  predicted: PredictionCounts;
  predictions: Counter<'model_id'>;
  modelInfo: Gauge<'model_id' | 'kind'>;
}

export function createApiMetrics(): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'stockpipe_' });
  const stats = new RequestStats();
  const predicted = new PredictionCounts();
  return {
    registry,
    stats,
    requests: new Counter({
      name: 'stockpipe_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers: [registry],
      collect() {
        for (const s of stats.all) {
          if (s.count > s.reported) this.inc(s.labels, s.count - s.reported);
          s.reported = s.count;
        }
      },
    }),
    latency: new StatsHistogram(stats, registry),
    predicted,
    predictions: new Counter({
      name: 'stockpipe_predictions_total', help: 'Volumes predicted (a batch counts each instance)', labelNames: ['model_id'], registers: [registry],
      collect() {
        predicted.flushTo(this);
      },
    }),
    modelInfo: new Gauge({ name: 'stockpipe_model_info', help: 'The model being served (value: the processes serving it, 1 for a single process)', labelNames: ['model_id', 'kind'], registers: [registry] }),
  };
}
