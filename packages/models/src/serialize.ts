import { RnodeError } from '@rnode/core';
import { base64ToFloat32, float32ToBase64 } from '@rnode/core';
import { buildFlow, resolveFlowConfig, type Flow, type FlowConfig } from './flow.js';
import { buildImageFlow, resolveImageFlowConfig, type ImageFlow, type ImageFlowConfig } from './image.js';
import type { ParamSource } from './internal/params.js';

export const MODEL_FORMAT = 'rnode-model';
export const MODEL_VERSION = 1;

export interface ModelWeight {
  shape: number[];
  dtype: 'float32';
  /** Base64 (RFC 4648, padded) of the values as little-endian float32, row-major. */
  data: string;
}

/**
 * A saved flow: plain JSON (config + weights), loadable on any backend. `ModelFile` (the default)
 * is a 2-D flow's file; an image flow's config has `kind: 'image'` (`ImageModelFile`);
 * `AnyModelFile` is either.
 */
export interface ModelFile<C extends FlowConfig | ImageFlowConfig = FlowConfig> {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_VERSION;
  config: C;
  /** Keyed by the stable parameter names (`block0/layer1/W`, `block0/sqrtT`, …). */
  weights: Record<string, ModelWeight>;
}

export type ImageModelFile = ModelFile<ImageFlowConfig>;
export type AnyModelFile = ModelFile<FlowConfig | ImageFlowConfig>;

type AnyFlow = Flow | ImageFlow;

function encode(flow: AnyFlow, values: Float32Array[]): ModelFile<FlowConfig | ImageFlowConfig> {
  const weights: Record<string, ModelWeight> = {};
  flow.paramNames.forEach((name, i) => {
    weights[name] = { shape: flow.params[i]!.shape.slice(), dtype: 'float32', data: float32ToBase64(values[i]!) };
  });
  return { format: MODEL_FORMAT, version: MODEL_VERSION, config: JSON.parse(JSON.stringify(flow.config)) as FlowConfig | ImageFlowConfig, weights };
}

/** The flow's config and current weights as a ModelFile (synchronous reads: cpu, wasm, tensorflow). */
export function saveModel(flow: Flow): ModelFile;
export function saveModel(flow: ImageFlow): ImageModelFile;
export function saveModel(flow: AnyFlow): AnyModelFile;
export function saveModel(flow: AnyFlow): AnyModelFile {
  return encode(
    flow,
    flow.params.map((p) => Float32Array.from(p.dataSync() as Float32Array)),
  );
}

/** `saveModel` with asynchronous reads (any backend, WebGPU included). */
export async function saveModelAsync(flow: Flow): Promise<ModelFile>;
export async function saveModelAsync(flow: ImageFlow): Promise<ImageModelFile>;
export async function saveModelAsync(flow: AnyFlow): Promise<AnyModelFile>;
export async function saveModelAsync(flow: AnyFlow): Promise<AnyModelFile> {
  const values = await Promise.all(flow.params.map(async (p) => Float32Array.from((await p.data()) as Float32Array)));
  return encode(flow, values);
}

function bad(message: string, source = 'model-file'): never {
  throw new RnodeError('INVALID_CHECKPOINT', message, { source });
}

/**
 * A flow from a ModelFile, with its variables on the current backend. Checks the format,
 * version, config, that every parameter is present exactly once with the expected shape, and
 * that each weight decodes to exactly that many float32 values; errors (INVALID_CHECKPOINT)
 * name what is wrong.
 */
export function loadModel(file: ModelFile): Flow;
export function loadModel(file: ImageModelFile): ImageFlow;
export function loadModel(file: AnyModelFile): Flow | ImageFlow;
export function loadModel(file: AnyModelFile): Flow | ImageFlow {
  if (typeof file !== 'object' || file === null || Array.isArray(file)) bad(`a model file must be a JSON object, got ${Array.isArray(file) ? 'an array' : typeof file}`);
  const f = file as unknown as Record<string, unknown>;
  if (f.format !== MODEL_FORMAT) bad(`"format" must be "${MODEL_FORMAT}", got ${JSON.stringify(f.format)}`);
  if (f.version !== MODEL_VERSION) bad(`unsupported "version" ${JSON.stringify(f.version)}; this build reads version ${MODEL_VERSION}`);
  const image = typeof f.config === 'object' && f.config !== null && (f.config as { kind?: unknown }).kind !== undefined;
  const config = image ? resolveImageFlowConfig(f.config as ImageFlowConfig, 'INVALID_CHECKPOINT') : resolveFlowConfig(f.config as FlowConfig, 'INVALID_CHECKPOINT');
  const weights = f.weights;
  if (typeof weights !== 'object' || weights === null || Array.isArray(weights)) bad('"weights" must be an object of name → { shape, dtype, data }');
  const w = weights as Record<string, unknown>;
  const used = new Set<string>();
  const source: ParamSource = (name, shape) => {
    const src = `weight:${name}`;
    if (!Object.prototype.hasOwnProperty.call(w, name)) bad(`weight "${name}" is missing`, src);
    const e = w[name] as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null) bad(`weight "${name}" must be an object { shape, dtype, data }`, src);
    if (e.dtype !== undefined && e.dtype !== 'float32') bad(`weight "${name}" has dtype ${JSON.stringify(e.dtype)}; only "float32" is supported`, src);
    const s = e.shape;
    if (!Array.isArray(s) || s.length !== shape.length || s.some((d, i) => d !== shape[i])) {
      bad(`weight "${name}" has shape ${JSON.stringify(s)}, the config needs [${shape.join(', ')}]`, src);
    }
    if (typeof e.data !== 'string') bad(`weight "${name}": "data" must be a base64 string`, src);
    const values = base64ToFloat32(e.data);
    const size = shape.reduce((a, b) => a * b, 1);
    if (!values) bad(`weight "${name}": "data" is not valid base64 of little-endian float32 values (truncated or corrupted?)`, src);
    if (values.length !== size) bad(`weight "${name}": "data" holds ${values.length} float32 values, the shape [${shape.join(', ')}] needs ${size}`, src);
    if (!values.every(Number.isFinite)) bad(`weight "${name}" holds non-finite values`, src);
    used.add(name);
    return values;
  };
  const flow: AnyFlow = image
    ? buildImageFlow(config as ImageFlowConfig, source)
    : buildFlow(config as FlowConfig, source);
  const extra = Object.keys(w).filter((k) => !used.has(k));
  if (extra.length) {
    flow.dispose();
    bad(`unexpected weight(s) ${extra.map((k) => `"${k}"`).join(', ')} for this config`);
  }
  return flow;
}

/** `loadModel` on a JSON string (parse errors become INVALID_CHECKPOINT). */
export function parseModel(text: string, source = 'model-file'): Flow | ImageFlow {
  let file: unknown;
  try {
    file = JSON.parse(text);
  } catch (e) {
    throw new RnodeError('INVALID_CHECKPOINT', `not valid JSON: ${(e as Error).message}`, { source, cause: e });
  }
  return loadModel(file as AnyModelFile);
}

