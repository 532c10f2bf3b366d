/** @module core/progress
 * Progress for long steps: a bar on a TTY (cli-progress), a plain line every few seconds otherwise,
 * nothing when quiet. Always on stderr, never on stdout. */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Starts a step of `total` units (files, bytes, rows). */
  start(label: string, total: number): void;
  /** Sets the units done so far. */
  update(done: number): void;
  stop(): void;
}

export const silentProgress: Progress = { start() {}, update() {}, stop() {} };

/** Chooses the progress style for this process. */
export function createProgress(opts: { quiet: boolean; stream?: NodeJS.WriteStream; intervalMs?: number }): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) return silentProgress;
  if (stream.isTTY) return new BarProgress(stream);
  return new LineProgress(stream, opts.intervalMs ?? 5000);
}

class BarProgress implements Progress {
  private bar: cliProgress.SingleBar | undefined;
  constructor(private readonly stream: NodeJS.WriteStream) {}
  start(label: string, total: number): void {
    this.stop();
    this.bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% {value}/{total} eta {eta_formatted}`, stream: this.stream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, 0);
  }
  update(done: number): void {
    this.bar?.update(done);
  }
  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

class LineProgress implements Progress {
  private label = '';
  private total = 0;
  private lastMs = 0;
  private startMs = 0;
  constructor(private readonly stream: NodeJS.WriteStream, private readonly intervalMs: number) {}
  start(label: string, total: number): void {
    this.label = label;
    this.total = total;
    this.startMs = Date.now();
    this.lastMs = this.startMs;
  }
  update(done: number): void {
    const now = Date.now();
    if (now - this.lastMs < this.intervalMs) return;
    this.lastMs = now;
    const pct = this.total > 0 ? Math.floor((100 * done) / this.total) : 0;
    this.stream.write(`${this.label}: ${done}/${this.total} (${pct}%) after ${((now - this.startMs) / 1000).toFixed(0)} s\n`);
  }
  stop(): void {}
}
