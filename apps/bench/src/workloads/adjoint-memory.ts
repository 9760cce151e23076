/**
 * adjoint-memory and adjoint-memory-image (not WORKLOADS.md workloads): peak tensor memory of one
 * training iteration as the number of RK4 steps doubles (4, 8, 16, 32 steps over [0, 1]), with the
 * continuous adjoint ('backsolve': memory flat in the steps) and with backprop through the solver
 * ('backprop': memory grows with the steps). adjoint-memory: toy2d-rnode, on the op-level path and
 * on the fused kernels. adjoint-memory-image: the paper's MNIST model (10 CNF blocks, 800,636
 * parameters) on a small batch of embedded digits.
 * Peak = tfjs's `tf.profile(...).peakBytes` over the whole iteration (forward, backward, update).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { LOGIT_ALPHA } from '@rnode/data';
import { loadEmbeddedMnist } from '@rnode/data/node';
import { createFlow, createImageFlow } from '@rnode/models';
import { createTrainer, type Trainer, type TrainableFlow } from '@rnode/train';
import { TOY_DATA, TOY_LR, TOY_NET } from '../runner.js';
import type { RunEnv, Workload, WorkloadFigures } from '../types.js';
import { benchImageLoader } from './image-iter.js';

type MakeTrainer = (o: { fused: boolean; adjoint: 'backsolve' | 'backprop'; steps: number }) => Trainer;

/** Peak memory of one iteration (after one warm-up) for each path × adjoint × number of steps. */
async function peakMemoryTable(label: string, p: { batch: number; maxSteps: number }, paths: boolean[], make: MakeTrainer, env: RunEnv): Promise<WorkloadFigures> {
  const STEPS: number[] = [];
  for (let n = 4; n <= Math.max(4, p.maxSteps); n *= 2) STEPS.push(n);
  const rows: Array<{ label: string; times_s: number[]; nfe_forward: number | null; nfe_backward: number | null }> = [];
  const table: Array<Record<string, unknown>> = [];
  for (const fused of paths) {
    for (const adjoint of ['backsolve', 'backprop'] as const) {
      for (const steps of STEPS) {
        const trainer = make({ fused, adjoint, steps });
        await trainer.step(); // warm-up: kernels compiled, Adam moments allocated
        let nfe = { f: 0, b: 0 };
        const t0 = performance.now();
        const prof = await tf.profile(async () => {
          const e = await trainer.step();
          nfe = { f: e.nfeForward, b: e.nfeBackward };
        });
        const seconds = (performance.now() - t0) / 1000;
        trainer.dispose();
        const path = fused ? 'fused' : 'op-level';
        const row = { path, adjoint, steps, step_size: 1 / steps, peak_mib: prof.peakBytes / 2 ** 20, nfe_forward: nfe.f, nfe_backward: nfe.b, seconds };
        table.push(row);
        rows.push({ label: `${path} ${adjoint} ${steps} steps: peak ${(prof.peakBytes / 2 ** 20).toFixed(2)} MiB`, times_s: [seconds], nfe_forward: nfe.f, nfe_backward: nfe.b });
        env.log(`${label}: ${path} ${adjoint} ${steps} steps: peak ${(prof.peakBytes / 2 ** 20).toFixed(2)} MiB, ${seconds.toFixed(3)} s`);
      }
    }
  }
  const ratio = (path: string, adjoint: string): number | null => {
    const r = table.filter((x) => x['path'] === path && x['adjoint'] === adjoint).map((x) => x['peak_mib'] as number);
    return r.length ? r[r.length - 1]! / r[0]! : null;
  };
  const fmt = (v: number | null) => (v === null ? 'n/a' : `×${v.toFixed(3)}`);
  const details = [
    `peak tensor memory, ${STEPS[STEPS.length - 1]} vs ${STEPS[0]} steps: backsolve ${fmt(ratio('fused', 'backsolve'))} (fused), ${fmt(ratio('op-level', 'backsolve'))} (op-level); backprop ${fmt(ratio('fused', 'backprop'))} (fused), ${fmt(ratio('op-level', 'backprop'))} (op-level)`,
  ];
  return {
    iterations: table.length,
    warmup: 1,
    batch: p.batch,
    times_s: [],
    warmup_times_s: [],
    nfe_forward: null,
    nfe_backward: null,
    runner: 'trainer',
    rows,
    details,
    extra: {
      memory: table,
      peak_ratio_max_vs_4_steps: {
        backsolve_fused: ratio('fused', 'backsolve'),
        backsolve_op_level: ratio('op-level', 'backsolve'),
        backprop_fused: ratio('fused', 'backprop'),
        backprop_op_level: ratio('op-level', 'backprop'),
      },
    },
  };
}

export const adjointMemory: Workload = {
  name: 'adjoint-memory',
  summary: 'peak tensor memory of a toy2d-rnode iteration at 4, 8, 16, 32 RK4 steps: continuous adjoint (flat) vs backprop through the solver',
  params: [
    { key: 'batch', flag: 'batch', kind: 'int>0', spec: 512, help: 'pinwheel samples per iteration' },
    { key: 'seed', flag: 'seed', kind: 'int>=0', spec: 0, help: 'seed of the model, data and probes' },
    { key: 'maxSteps', flag: 'max-steps', kind: 'int>0', spec: 32, help: 'largest number of RK4 steps (doubling from 4)' },
  ],
  async run(job, env) {
    const p = job.params as { batch: number; seed: number; maxSteps: number };
    // The fused kernels exist on the host backends only; elsewhere both rows would be the op-level path.
    const paths = ['cpu', 'wasm'].includes(tf.getBackend()) ? [true, false] : [false];
    return peakMemoryTable(`${job.backend} adjoint-memory`, p, paths, ({ fused, adjoint, steps }) => {
      const flow = createFlow({ ...TOY_NET, hidden: [...TOY_NET.hidden] }, new Random(`${p.seed}:model`));
      if (!fused) {
        const fwd = flow.forward.bind(flow);
        flow.forward = (x, o) => fwd(x, { ...o, fused: false });
      }
      return createTrainer({
        flow: flow as unknown as TrainableFlow,
        ownsFlow: true,
        data: TOY_DATA,
        preset: 'rnode',
        reduction: 'sum',
        stepSize: 1 / steps,
        adjoint,
        batchSize: p.batch,
        lr: TOY_LR,
        seed: p.seed,
      });
    }, env);
  },
};

export const adjointMemoryImage: Workload = {
  name: 'adjoint-memory-image',
  summary: "peak tensor memory of an iteration of the paper's MNIST model (batch 1) at 4 and 8 RK4 steps: continuous adjoint (flat) vs backprop through the solver",
  params: [
    { key: 'batch', flag: 'batch', kind: 'int>0', spec: 1, help: 'MNIST digits per iteration (backprop through the solver keeps every step: ~0.7 GB per digit at 4 steps, and wasm memory ends at 4 GiB)' },
    { key: 'seed', flag: 'seed', kind: 'int>=0', spec: 0, help: 'seed of the model, batches, dequantisation noise and probes' },
    // tfjs's tf.profile computes peakBytes as Math.max(...every kernel record): past ~120k kernel calls
    // (16 steps of this model: ~60k per solve) the spread overflows the stack, so the spec stops at 8.
    { key: 'maxSteps', flag: 'max-steps', kind: 'int>0', spec: 8, help: 'largest number of RK4 steps (doubling from 4; tf.profile fails past 8 on the full model)' },
    { key: 'downsample', flag: 'downsample', kind: 'int>0', spec: 1, help: 'development: average-pool the digits by this factor (2: 14×14)' },
    { key: 'scales', flag: 'scales', kind: 'int>0', spec: 3, help: 'development: number of scales' },
    { key: 'width', flag: 'width', kind: 'int>0', spec: 64, help: 'development: hidden conv width (3 layers)' },
  ],
  async run(job, env) {
    const p = job.params as { batch: number; seed: number; maxSteps: number; downsample: number; scales: number; width: number };
    const set = await loadEmbeddedMnist();
    const size = 28 / p.downsample;
    return peakMemoryTable(`${job.backend} adjoint-memory-image`, p, [false], ({ adjoint, steps }) => {
      const loader = benchImageLoader(set, p);
      const flow = createImageFlow(
        {
          height: size,
          width: size,
          channels: 1,
          ...(p.scales !== 3 ? { scales: p.scales } : {}),
          ...(p.width !== 64 ? { hidden: [p.width, p.width, p.width] } : {}),
        },
        new Random(`${p.seed}:model`),
      );
      return createTrainer({
        flow: flow as unknown as TrainableFlow,
        ownsFlow: true,
        data: { kind: 'image', train: loader, alpha: LOGIT_ALPHA.mnist, nbits: 8 },
        preset: 'rnode',
        stepSize: 1 / steps,
        adjoint,
        batchSize: p.batch,
        lr: 1e-3,
        seed: p.seed,
      });
    }, env);
  },
};
