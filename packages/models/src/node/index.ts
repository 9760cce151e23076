import { readFile } from 'node:fs/promises';
import { RnodeError, isRnodeError } from '@rnode/core';
import { writeFileAtomic } from '@rnode/core/node';
import { setFlagsFromString } from 'node:v8';
import { loadModel, saveModelAsync, type Flow, type ModelFile } from '../index.js';
import { cnfMlpVariantAvailable } from '../kernels/cnf-mlp.js';

/**
 * Let this process (worker threads included: V8 flags are process-wide) run WebAssembly relaxed
 * SIMD, so the fused CNF kernels use fused multiply-add (~1.4× faster). Browsers and Node ≥ 22
 * have it on; Node 20 needs V8's --experimental-wasm-relaxed-simd, set here. Call it before the
 * first kernel compiles (the CLI and the bench do at startup). Returns whether the relaxed
 * variant is now available.
 */
export function enableRelaxedSimd(): boolean {
  if (!cnfMlpVariantAvailable('relaxed')) {
    try {
      setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // an engine without the flag: keep the plain SIMD variant
    }
  }
  return cnfMlpVariantAvailable('relaxed');
}

/**
 * Write the flow as JSON to `path` atomically and verified (`writeFileAtomic` of
 * `@rnode/core/node`: every byte written, fsynced, read back, then renamed over `path`), so
 * readers never see a half-written file; a failure is IO_ERROR naming `path`, left untouched.
 */
export async function saveModelFile(path: string, flow: Flow): Promise<ModelFile> {
  const file = await saveModelAsync(flow);
  writeFileAtomic(path, JSON.stringify(file), { what: 'model file ' });
  return file;
}

/** Read and load a model file; errors name the file. */
export async function loadModelFile(path: string): Promise<Flow> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new RnodeError('IO_ERROR', `cannot read model file ${path}: ${(e as Error).message}`, { source: `file:${path}`, cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RnodeError('INVALID_CHECKPOINT', `model file ${path} is not valid JSON: ${(e as Error).message}`, { source: `file:${path}`, cause: e });
  }
  try {
    return loadModel(json as ModelFile);
  } catch (e) {
    if (isRnodeError(e)) {
      const msg = e.message.replace(/^\[rnode\](?: \[[^\]]*\])? /, '');
      throw new RnodeError(e.code, `model file ${path}: ${msg}`, { source: `file:${path}`, cause: e, ...(e.details ? { details: e.details } : {}) });
    }
    throw e;
  }
}
