/** @module pipeline/live-view
 * Shows a run as it goes: on a TTY one line per task (state, elapsed time, progress), redrawn in
 * place; otherwise one plain line per state change. Always on stderr; nothing when quiet. */
import { forTerminal } from '../core/terminal.js';
import type { RunObserver, TaskState } from './types.js';

const ICON: Record<string, string> = { queued: '·', running: '▶', retried: '↻', succeeded: '✓', failed: '✗', skipped: '-', cached: '≡', cancelled: '⊘' };

function elapsed(s: TaskState, nowMs: number): string {
  const secs = s.seconds ?? (s.startedAt !== null && (s.status === 'running' || s.status === 'retried') ? (nowMs - s.startedAt) / 1000 : null);
  return secs === null ? '' : `${secs.toFixed(1)} s`;
}

/** One task's line. */
export function taskLine(s: TaskState, nowMs: number, width = 100): string {
  const f = s.fraction === null ? 0 : Math.min(1, Math.max(0, s.fraction));
  const pct = s.fraction !== null && s.status === 'running' ? ` [${'#'.repeat(Math.round(f * 12)).padEnd(12, '-')}] ${Math.round(f * 100)}%` : '';
  const tries = s.attempts > 1 ? ` (attempt ${s.attempts})` : '';
  // One line, whatever the message holds (a file name from the data): no control character reaches the terminal.
  const detail = forTerminal(s.error && s.status !== 'running' ? ` ${s.error.code}: ${s.error.message}` : s.note ? ` ${s.note}` : '').replace(/[\n\t]/g, ' ');
  return `${ICON[s.status] ?? '?'} ${s.name.padEnd(18)} ${s.status.padEnd(10)} ${elapsed(s, nowMs).padStart(8)}${pct}${tries}${detail}`.slice(0, width);
}

/** An observer that renders to `stream`; `stop()` ends the redraw timer. */
export function createLiveView(stream: NodeJS.WriteStream, opts: { quiet: boolean }): RunObserver & { stop(): void } {
  if (opts.quiet) return { stop() {} };
  const states = new Map<string, TaskState>();
  if (!stream.isTTY) {
    return {
      onPlan: (runId, tasks) => stream.write(`run ${runId}: ${tasks.map((t) => t.name).join(' → ')}\n`),
      onTask: (s) => {
        const prev = states.get(s.name);
        states.set(s.name, s);
        if (prev?.status === s.status) return; // progress notes only on a TTY
        stream.write(`${new Date().toISOString()} ${taskLine(s, Date.now(), 200)}\n`);
      },
      onEnd: (runId, status) => stream.write(`run ${runId} ${status}\n`),
      stop() {},
    };
  }
  let drawn = 0;
  let header = '';
  const draw = (): void => {
    const width = Math.max(40, (stream.columns || 100) - 1); // 0 columns: a pty with no size set
    const lines = [header, ...[...states.values()].map((s) => taskLine(s, Date.now(), width))];
    stream.write(`${drawn > 0 ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
    drawn = lines.length;
  };
  const timer = setInterval(draw, 250);
  timer.unref();
  return {
    onPlan: (runId, tasks) => {
      header = `run ${runId}`;
      for (const t of tasks) states.set(t.name, t);
      draw();
    },
    onTask: (s) => {
      states.set(s.name, s);
    },
    onEnd: (runId, status) => {
      header = `run ${runId} ${status}`;
      draw();
    },
    stop: () => clearInterval(timer),
  };
}

/** Why a task has no log file, from its state and attempts. */
export function noLogReason(t: { status: string; attempts: number }): string {
  if (t.status === 'queued' || ((t.status === 'skipped' || t.status === 'cancelled') && t.attempts === 0)) return 'it never started';
  if (t.status === 'skipped') return 'it ran in the runner and decided to skip, logging nothing';
  return 'it logged nothing: a quick in-process or cached task that succeeded';
}
