import cliProgress from 'cli-progress';
import type { Io } from './io.js';

export interface ProgressValues {
  loss?: number;
  nfe?: number;
}

const fmt = (v: number | undefined, digits = 4) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits));

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.max(0, Math.round(s));
  const m = Math.floor(t / 60);
  return m > 0 ? `${m}m${String(t % 60).padStart(2, '0')}s` : `${t}s`;
}

/**
 * Training progress on stderr: a cli-progress bar (iteration, loss, NFE, ETA) on a
 * terminal, plain lines every `every` iterations otherwise, nothing with `quiet`.
 */
export class Progress {
  private bar: cliProgress.SingleBar | undefined;
  private started = 0;
  private startIter = 0;
  private total = 0;

  constructor(
    private readonly io: Io,
    private readonly o: { every: number; quiet: boolean; label: string },
  ) {}

  start(total: number, from = 0): void {
    this.total = total;
    this.startIter = from;
    this.started = performance.now();
    if (this.o.quiet) return;
    if (this.io.stderr.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.io.stderr as NodeJS.WritableStream,
          format: `${this.o.label} |{bar}| {value}/{total} | loss {loss} | nfe {nfe} | {duration_formatted} | ETA {eta_formatted}`,
          hideCursor: true,
          etaBuffer: 20,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, from, { loss: '-', nfe: '-' });
    }
  }

  update(iteration: number, v: ProgressValues): void {
    if (this.o.quiet) return;
    if (this.bar) {
      this.bar.update(iteration, { loss: fmt(v.loss), nfe: v.nfe ?? '-' });
      return;
    }
    if (iteration % this.o.every !== 0 && iteration !== this.total) return;
    const elapsed = (performance.now() - this.started) / 1000;
    const done = iteration - this.startIter;
    const eta = done > 0 ? (elapsed / done) * (this.total - iteration) : NaN;
    this.io.stderr.write(
      `${this.o.label} ${iteration}/${this.total}  loss ${fmt(v.loss)}  nfe ${v.nfe ?? '-'}  ${formatDuration(elapsed)}  eta ${formatDuration(eta)}\n`,
    );
  }

  /** A line that must not tear the bar (evaluations, checkpoints). */
  log(line: string): void {
    if (this.o.quiet) return;
    if (this.bar) {
      this.bar.stop();
      this.io.stderr.write(`${line}\n`);
      const value = this.bar.getProgress() * this.total;
      this.bar.start(this.total, Math.round(value));
      return;
    }
    this.io.stderr.write(`${line}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
