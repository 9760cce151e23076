import * as tf from '@tensorflow/tfjs-core';
import type { Checkpoint } from '../checkpoint.js';
import type { Trainer } from '../trainer.js';

export interface ResumeReport {
  /** Losses of the uninterrupted run, and of the interrupted one (n before the checkpoint, m after). */
  straight: number[];
  resumed: number[];
  /** Largest |difference| of any parameter after n + m iterations (0 when exact). */
  maxParamDiff: number;
  /** Tensors left alive by the check (should be 0). */
  leaked: number;
}

/**
 * The resume guarantee as a check: `make()` twice gives two identical fresh trainers. Runs one
 * for n + m iterations; runs another for n, takes a checkpoint, passes it through JSON
 * (and `roundTrip`, e.g. a file write and read), restores it into a third fresh trainer and
 * runs m more. On one backend the losses and parameters must be identical.
 */
export async function checkResume(
  make: () => Trainer,
  o: { n: number; m: number; roundTrip?: (c: Checkpoint) => Checkpoint | Promise<Checkpoint> },
): Promise<ResumeReport> {
  const before = tf.memory().numTensors;
  const run = async (tr: Trainer, k: number, out: number[]) => {
    for (let i = 0; i < k; i++) out.push((await tr.step()).loss);
  };
  const a = make();
  const straight: number[] = [];
  await run(a, o.n + o.m, straight);
  const b = make();
  const resumed: number[] = [];
  await run(b, o.n, resumed);
  let ck = JSON.parse(JSON.stringify(await b.checkpoint())) as Checkpoint;
  if (o.roundTrip) ck = await o.roundTrip(ck);
  b.dispose();
  const c = make();
  c.restore(ck);
  await run(c, o.m, resumed);
  let maxParamDiff = 0;
  a.flow.params.forEach((p, i) => {
    const x = p.dataSync();
    const y = c.flow.params[i]!.dataSync();
    for (let j = 0; j < x.length; j++) {
      const d = Math.abs(x[j]! - y[j]!);
      maxParamDiff = Number.isNaN(d) ? Infinity : Math.max(maxParamDiff, d);
    }
  });
  a.dispose();
  c.dispose();
  return { straight, resumed, maxParamDiff, leaked: tf.memory().numTensors - before };
}
