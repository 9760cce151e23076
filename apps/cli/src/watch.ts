// The evaluation budget of the CLI: every evaluation solve (the final test solve, eval, sample,
// plot, and --eval-every validations) reports its progress and stops with a clear error when it
// takes more step attempts than --max-steps, or more wall-clock time than --max-eval-seconds.
import { isRnodeError } from '@rnode/core';
import type { StepProgress } from '@rnode/solvers';

/** Step attempts per evaluation solve (a healthy flow takes tens to a few hundred; dopri5's own default is 100,000). */
export const DEFAULT_EVAL_MAX_STEPS = 10_000;
/** Wall-clock seconds of one evaluation. */
export const DEFAULT_MAX_EVAL_SECONDS = 600;
/** Seconds between progress reports. */
const REPORT_EVERY = 2;

/** An evaluation ran out of its budget: exit status 1, the message says why and what to change. */
export class BudgetError extends Error {
  override readonly name = 'BudgetError';
}

export interface EvalProgress {
  type: 'eval-progress';
  label: string;
  /** Time reached in the current block's solve. */
  t: number;
  /** Evaluations of the dynamics in this evaluation so far. */
  nfe: number;
  steps: number;
  seconds: number;
}

class EvalWatch {
  maxSteps = DEFAULT_EVAL_MAX_STEPS;
  maxSeconds = DEFAULT_MAX_EVAL_SECONDS;
  /** Where progress goes (stderr lines, --json events); set by the command. */
  report: ((p: EvalProgress) => void) | undefined;
  private label = 'evaluation';
  private started = performance.now();
  private lastReport = 0;
  private nfeDone = 0;
  private last: StepProgress | null = null;

  configure(o: { maxSteps?: number | undefined; maxSeconds?: number | undefined; report?: (p: EvalProgress) => void }): void {
    if (o.maxSteps !== undefined) this.maxSteps = o.maxSteps;
    if (o.maxSeconds !== undefined) this.maxSeconds = o.maxSeconds;
    if (o.report) this.report = o.report;
  }

  /** Start the clock of one evaluation. */
  begin(label: string): void {
    this.label = label;
    this.started = performance.now();
    this.lastReport = this.started;
    this.nfeDone = 0;
    this.last = null;
  }

  end(): void {
    this.last = null;
  }

  /** The odeint `onStep` hook: progress every few seconds, and the time budget. */
  readonly onStep = (p: StepProgress): void => {
    if (this.last && p.nfe < this.last.nfe) this.nfeDone += this.last.nfe; // a new solve (block or batch) began
    this.last = p;
    const now = performance.now();
    const seconds = (now - this.started) / 1000;
    if (seconds > this.maxSeconds) {
      throw new BudgetError(
        `the ${this.label} took more than ${this.maxSeconds} s (--max-eval-seconds) and was stopped at t=${fmtT(p.t)} after ${p.steps.toLocaleString('en-US')} steps of this solve (${(this.nfeDone + p.nfe).toLocaleString('en-US')} evaluations of the dynamics so far); the learned dynamics are probably stiff, which means the model has diverged (check the training loss), or raise --max-eval-seconds`,
      );
    }
    if (this.report && (now - this.lastReport) / 1000 >= REPORT_EVERY) {
      this.lastReport = now;
      this.report({ type: 'eval-progress', label: this.label, t: p.t, nfe: this.nfeDone + p.nfe, steps: p.steps, seconds });
    }
  };

  /** Run one solve, turning MAX_STEPS_REACHED into a message that names the cause. */
  async guard<R>(fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (e) {
      throw this.explain(e);
    }
  }

  explain(e: unknown): unknown {
    if (isRnodeError(e) && e.code === 'MAX_STEPS_REACHED') {
      const d = (e.details ?? {}) as { t?: number; nfe?: number; accepted?: number; rejected?: number };
      return new BudgetError(
        `the learned dynamics are stiff: the ${this.label} took ${this.maxSteps.toLocaleString('en-US')} steps (--max-steps) and only reached t=${fmtT(d.t)} (${(d.accepted ?? 0).toLocaleString('en-US')} accepted, ${(d.rejected ?? 0).toLocaleString('en-US')} rejected, ${(this.nfeDone + (d.nfe ?? 0)).toLocaleString('en-US')} evaluations of the dynamics); the model has probably diverged (check the training loss), or raise --max-steps`,
      );
    }
    return e;
  }
}

const fmtT = (t: number | undefined) => (t === undefined ? '?' : Number(t.toPrecision(3)).toString());

/** The process's evaluation watch (one CLI command per process). */
export const evalWatch = new EvalWatch();

/** Configure the watch from a command's flags: progress lines on stderr (unless --quiet), `eval-progress` JSON lines with --json. */
export function configureWatch(
  f: { maxSteps?: number; maxEvalSeconds?: number; json?: boolean; quiet?: boolean },
  io: { stdout: { write(s: string): unknown }; stderr: { write(s: string): unknown } },
): void {
  evalWatch.configure({
    maxSteps: f.maxSteps,
    maxSeconds: f.maxEvalSeconds,
    report: (p) => {
      if (f.json) io.stdout.write(`${JSON.stringify(p)}\n`);
      else if (!f.quiet) io.stderr.write(`${p.label}: t=${fmtT(p.t)}, ${p.nfe.toLocaleString('en-US')} evaluations of the dynamics, ${p.seconds.toFixed(0)} s (limit ${evalWatch.maxSeconds} s, ${evalWatch.maxSteps.toLocaleString('en-US')} steps)\n`);
    },
  });
}
