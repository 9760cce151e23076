import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '@rnode/core';
import { describe, expect, it } from 'vitest';
import { createFlow } from '../index.js';
import { loadModelFile, saveModelFile } from './index.js';

describe('@rnode/models/node', () => {
  it('saves atomically and loads back identical weights; errors name the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rnode-models-'));
    const path = join(dir, 'model.json');
    const flow = createFlow({ dim: 2, hidden: [4], trainT: true }, new Random(1));
    await saveModelFile(path, flow);
    expect(readdirSync(dir)).toEqual(['model.json']); // no temp file left
    const loaded = await loadModelFile(path);
    expect(loaded.paramNames).toEqual(flow.paramNames);
    loaded.params.forEach((p, i) => expect(Array.from(p.dataSync())).toEqual(Array.from(flow.params[i]!.dataSync())));
    loaded.dispose();
    flow.dispose();
    const before = tf.memory().numTensors;
    await expect(loadModelFile(join(dir, 'missing.json'))).rejects.toMatchObject({ code: 'IO_ERROR', message: expect.stringContaining('missing.json') });
    writeFileSync(join(dir, 'bad.json'), '{"format": "rnode-model", ');
    await expect(loadModelFile(join(dir, 'bad.json'))).rejects.toMatchObject({ code: 'INVALID_CHECKPOINT', message: expect.stringContaining('bad.json') });
    writeFileSync(join(dir, 'v2.json'), JSON.stringify({ format: 'rnode-model', version: 2 }));
    await expect(loadModelFile(join(dir, 'v2.json'))).rejects.toThrow(/v2\.json.*version/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
