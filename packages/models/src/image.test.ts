import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { describe, expect, it } from 'vitest';
import { convOdeNetParamCount, createImageFlow, imageScales, loadModel, saveModel, squeeze2d, unsqueeze2d, type ModelFile } from './index.js';

describe('image flow architecture (ODENVP)', () => {
  it('scales follow _calc_n_scale', () => {
    expect(imageScales(28, 28)).toBe(3);
    expect(imageScales(32, 32)).toBe(4);
    expect(imageScales(4, 4)).toBe(1);
    expect(imageScales(8, 8)).toBe(2);
  });

  it('per-block parameters: 1162·c + 75 648 (hidden 64, 64, 64)', () => {
    // layer1 (c+1)·64·9 + 64, layers 2, 3 (64+1)·64·9 + 64, layer4 (64+1)·c·9 + c
    for (const c of [1, 2, 3, 4, 8, 48]) {
      const byHand = (c + 1) * 64 * 9 + 64 + 2 * (65 * 64 * 9 + 64) + 65 * c * 9 + c;
      expect(byHand).toBe(1162 * c + 75648);
      expect(convOdeNetParamCount(c, [64, 64, 64])).toBe(byHand);
    }
  });

  it('MNIST 1×28×28: 10 blocks 1,1|4,4|2,2|8,8|4,4, exactly 800 636 parameters', () => {
    const before = tf.memory().numTensors;
    const flow = createImageFlow({ height: 28, width: 28, channels: 1 }, new Random(0));
    expect(flow.blocks.map((b) => b.shape[2])).toEqual([1, 1, 4, 4, 2, 2, 8, 8, 4, 4]);
    expect(flow.blocks.map((b) => b.shape.slice(0, 2).join('x'))).toEqual(['28x28', '28x28', '14x14', '14x14', '14x14', '14x14', '7x7', '7x7', '7x7', '7x7']);
    const sum = [1, 1, 4, 4, 2, 2, 8, 8, 4, 4].reduce((a, c) => a + 1162 * c + 75648, 0);
    expect(sum).toBe(800636);
    expect(flow.paramCount).toBe(800636);
    const s = flow.summary();
    expect(s.total).toBe(800636);
    expect(s.blocks).toHaveLength(10);
    expect(s.text).toContain('total 800636');
    flow.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('CIFAR-10 3×32×32: 14 blocks 3,3|12,12|6,6|24,24|12,12|48,48|24,24, exactly 1 358 868 parameters', () => {
    const flow = createImageFlow({ height: 32, width: 32, channels: 3 }, new Random(0));
    expect(flow.blocks.map((b) => b.shape[2])).toEqual([3, 3, 12, 12, 6, 6, 24, 24, 12, 12, 48, 48, 24, 24]);
    expect(flow.paramCount).toBe(1358868);
    expect(flow.summary().total).toBe(1358868);
    flow.dispose();
  });
});

describe('squeeze', () => {
  it("reproduces the reference's NCHW channel order and inverts", () => {
    const [b, h, w, c] = [2, 4, 6, 3];
    const x = tf.tensor4d(Float32Array.from({ length: b * h * w * c }, (_, i) => i), [b, h, w, c]);
    const y = squeeze2d(x);
    expect(y.shape).toEqual([b, h / 2, w / 2, 4 * c]);
    const xv = x.arraySync();
    const yv = y.arraySync();
    // PyTorch: out[b, c·4 + dy·2 + dx, i, j] = in[b, c, 2i + dy, 2j + dx]
    for (let n = 0; n < b; n++)
      for (let i = 0; i < h / 2; i++)
        for (let j = 0; j < w / 2; j++)
          for (let k = 0; k < c; k++)
            for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) expect(yv[n]![i]![j]![k * 4 + dy * 2 + dx]).toBe(xv[n]![2 * i + dy]![2 * j + dx]![k]);
    const back = unsqueeze2d(y);
    expect(Array.from(back.dataSync())).toEqual(Array.from(x.dataSync()));
    tf.dispose([x, y, back]);
  });
});

describe('tiny image flow', () => {
  const config = { height: 4, width: 4, channels: 1, scales: 2, blocksPerScale: 1, hidden: [8], zeroLast: 'none' as const };
  const solve = { method: 'dopri5' as const, rtol: 1e-6, atol: 1e-6 };

  it('forward → inverse round trip; no leaks; summary', () => {
    const flow = createImageFlow(config, new Random(3));
    expect(flow.blocks.map((b) => b.shape)).toEqual([
      [4, 4, 1],
      [2, 2, 4],
      [2, 2, 2],
    ]);
    const before = tf.memory().numTensors;
    const x = new Random(5).normal([3, 4, 4, 1]);
    const r = flow.forward(x, solve);
    expect(r.z.shape).toEqual([3, 16]);
    const back = flow.inverse(r.z, solve);
    expect(back.shape).toEqual([3, 4, 4, 1]);
    const err = tf.tidy(() => tf.max(tf.abs(tf.sub(back, x))).dataSync()[0]!);
    console.log(`image flow round-trip max error ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-3);
    const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(r.z, tf.reshape(x, [3, 16])))).dataSync()[0]!);
    expect(moved).toBeGreaterThan(1e-2);
    r.dispose();
    tf.dispose([x, back]);
    expect(tf.memory().numTensors).toBe(before);
    flow.dispose();
  });

  it('save → load gives identical outputs; 2-D files still load', () => {
    const flow = createImageFlow(config, new Random(4));
    const file = JSON.parse(JSON.stringify(saveModel(flow))) as ModelFile;
    expect(file.config).toMatchObject({ kind: 'image', height: 4, width: 4, channels: 1, scales: 2 });
    const loaded = loadModel(file);
    expect('kind' in loaded && loaded.kind).toBe('image');
    const x = new Random(6).normal([2, 16]);
    const a = flow.logProb(x, solve);
    const b = loaded.logProb(x, solve);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b]);
    flow.dispose();
    loaded.dispose();
  });
});
