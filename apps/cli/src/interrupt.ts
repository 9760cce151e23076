/**
 * SIGINT (Ctrl-C) and SIGTERM during `rnode train`. The first signal aborts the run between two
 * steps: the library (`train({ signal })`) writes last.json and returns with reason 'aborted', and
 * the command exits 130 / 143 with the line that resumes. A second signal exits at once; the last
 * checkpoint on disk is whole, since checkpoints are written to a temp file and renamed.
 */

/** Exit statuses after a signal, as a shell reports them (128 + the signal number). */
export const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
export type StopSignal = keyof typeof SIGNAL_EXIT;

/** Thrown by the training runs when the library returned with reason 'aborted'. */
export class TrainingAborted extends Error {
  override readonly name = 'TrainingAborted';
  constructor(
    readonly iteration: number,
    readonly target: number,
    readonly checkpoint: string,
  ) {
    super(`training stopped at iteration ${iteration} of ${target}; last checkpoint ${checkpoint}`);
  }
}

/** The command's exit after a signal: `main` prints the message (no "error:") and returns `exitCode`. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface SignalWatch {
  /** Aborted at the first signal: pass to `train` (it stops after the current step and saves). */
  readonly signal: AbortSignal;
  /** The first signal received, or null. */
  readonly received: StopSignal | null;
  /**
   * From now on there is nothing left to save (training has ended and its checkpoint is
   * written): the first signal exits at once.
   */
  trainingDone(): void;
  /** Remove the handlers (Node's default behaviour is back). */
  dispose(): void;
}

export interface SignalHandlers {
  /** The first signal during training: training will stop after the current step. */
  stopping(s: StopSignal): void;
  /** Just before the process exits at once (a second signal, or any after training): say so, synchronously. */
  exiting(s: StopSignal, code: number): void;
  /** Exit the process (process.exit; replaceable in tests). */
  exit?(code: number): never;
}

/** Install SIGINT/SIGTERM handlers for a training run. */
export function watchSignals(h: SignalHandlers): SignalWatch {
  const ac = new AbortController();
  let received: StopSignal | null = null;
  let done = false;
  const exit = h.exit ?? ((code: number) => process.exit(code));
  const on = (s: StopSignal) => () => {
    if (received !== null || done) {
      const code = SIGNAL_EXIT[s];
      h.exiting(s, code);
      exit(code);
      return;
    }
    received = s;
    ac.abort(s);
    h.stopping(s);
  };
  const onInt = on('SIGINT');
  const onTerm = on('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: ac.signal,
    get received() {
      return received;
    },
    trainingDone() {
      done = true;
    },
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}

/** A word for a POSIX shell: as is when safe, else single-quoted. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that resumes a run: `rnode train --resume <checkpoint>` followed by the original
 * arguments of `train` (any earlier --resume dropped), so that data, iterations and output
 * folder are the same.
 */
export function resumeCommand(argv: readonly string[], checkpoint: string): string {
  const args = [...argv];
  const at = args.indexOf('train');
  const rest = at >= 0 ? args.slice(at + 1) : args;
  const kept: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--resume') i++;
    else if (!a.startsWith('--resume=')) kept.push(a);
  }
  return ['rnode', 'train', '--resume', checkpoint, ...kept].map(shellQuote).join(' ');
}
