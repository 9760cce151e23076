import * as tf from '@tensorflow/tfjs-core';
import { registerWebgpuKernels } from './webgpu-kernels.js';
import * as z from 'zod/mini';
import { RnodeError } from '../errors.js';
import { parseOptions } from '../options.js';
import { importOptional } from '../internal/import.js';
import { importPeer } from './optional.js';
import type { BackendPlugin } from './types.js';

/**
 * WebGPU through @tensorflow/tfjs-backend-webgpu.
 *
 * - Browser: uses `navigator.gpu`; the `webgpu` package is never imported.
 * - Node: imports the optional peer `webgpu` (dawn.node), installs its globals
 *   and `navigator.gpu` *before* tfjs-backend-webgpu is imported (that package
 *   registers its backend at import time only if `navigator.gpu` exists).
 *   Without a GPU, Dawn's Vulkan backend can run on SwiftShader: point
 *   `VK_ICD_FILENAMES` at a SwiftShader ICD (Debian's `chromium` package ships
 *   `/usr/lib/chromium/vk_swiftshader_icd.json`; `libvulkan1` is needed too).
 *   Such a software adapter works but is slow, so `auto` never picks it.
 * - Synchronous reads are refused on WebGPU everywhere (`syncRead: false`):
 *   in Node they need OffscreenCanvas, which Node lacks, and in browsers
 *   tfjs's canvas-based `dataSync` has returned zeros (SwiftShader, Chromium)
 *   where the asynchronous read was right. Code reads with `data()` and solves
 *   adaptively with `odeintAsync`; the synchronous `odeint` refuses adaptive
 *   methods here with SYNC_READ_UNAVAILABLE instead of risking a wrong answer.
 * - In a bundle, import `@rnode/core/backends/webgpu`: its static import of
 *   tfjs-backend-webgpu is what a bundler follows. Where that package was
 *   imported before `navigator.gpu` existed (dawn.node in Node), it registered
 *   no backend; `init` then registers tfjs's WebGPU backend itself.
 *
 * The navigator, the Dawn instance and tfjs's `webgpu` backend are
 * process-wide, so the first plugin instance to set them up wins; options of
 * later instances that would need a different Dawn instance are reported by
 * `ctx.warn` at init.
 */
export const webgpuBackendOptionsSchema = z.object({
  /** Dawn toggles for `create()` of the `webgpu` package, e.g. `['enable-dawn-features=allow_unsafe_apis']` (Node only). */
  dawnFlags: z.optional(z.readonly(z.array(z.string()))),
  /**
   * Path of a Vulkan ICD JSON file (e.g. SwiftShader's) for Dawn in Node. Sets
   * `process.env.VK_ICD_FILENAMES` before Dawn starts. Without it, an existing
   * `VK_ICD_FILENAMES` is left as it is.
   */
  icd: z.optional(z.string()),
  /** Passed to `requestAdapter`. */
  powerPreference: z.optional(z.enum(['low-power', 'high-performance'])),
});
export type WebgpuBackendOptions = Readonly<z.input<typeof webgpuBackendOptionsSchema>>;

interface AdapterFacts {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
}

interface GpuLike {
  requestAdapter(o?: { powerPreference?: string }): Promise<AdapterLike | null>;
}
interface AdapterLike {
  info?: Partial<AdapterFacts>;
  isFallbackAdapter?: boolean;
  requestAdapterInfo?(): Promise<Partial<AdapterFacts>>;
}

/** The slice of @tensorflow/tfjs-backend-webgpu that `init` needs. */
interface WebgpuModule {
  WebGPUBackend: new (device: unknown, adapterInfo?: unknown) => tf.KernelBackend;
}

/** The package as imported statically by `@rnode/core/backends/webgpu` (none: imported by name at init). */
let provided: WebgpuModule | undefined;
/** @internal Called by the `@rnode/core/backends/webgpu` entry with its static import. */
export function provideWebgpuModule(m: WebgpuModule): void {
  provided = m;
}

interface DeviceAdapter {
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  info?: unknown;
  requestAdapterInfo?(): Promise<unknown>;
  requestDevice(d: { requiredFeatures: string[]; requiredLimits: Record<string, number> }): Promise<unknown>;
}

/**
 * Register tfjs's `webgpu` backend as tfjs-backend-webgpu's own import-time code does
 * (same features and limits), for the case where the package was imported before
 * `navigator.gpu` existed. Also asks for the adapter's storage-buffer limit, which
 * tfjs leaves at the default of 8 (the AddN fix still chunks to whatever the device has).
 */
function registerWebgpuFactory(m: WebgpuModule, o: WebgpuBackendOptions): void {
  tf.registerBackend(
    'webgpu',
    async () => {
      const gpu = navigatorGpu() as unknown as { requestAdapter(o?: object): Promise<DeviceAdapter | null> };
      const adapter = await gpu.requestAdapter({ powerPreference: o.powerPreference ?? 'high-performance' });
      if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned no adapter');
      const requiredFeatures = ['timestamp-query', 'bgra8unorm-storage'].filter((f) => adapter.features.has(f));
      const requiredLimits: Record<string, number> = {};
      for (const k of [
        'maxComputeWorkgroupStorageSize',
        'maxComputeWorkgroupsPerDimension',
        'maxStorageBufferBindingSize',
        'maxBufferSize',
        'maxComputeWorkgroupSizeX',
        'maxComputeInvocationsPerWorkgroup',
        'maxStorageBuffersPerShaderStage',
      ]) {
        if (typeof adapter.limits[k] === 'number') requiredLimits[k] = adapter.limits[k]!;
      }
      const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
      const info = adapter.info ?? (typeof adapter.requestAdapterInfo === 'function' ? await adapter.requestAdapterInfo() : undefined);
      return new m.WebGPUBackend(device, info);
    },
    3,
  );
}

/** Process-wide: the Dawn instance is created at most once. */
let dawn: { promise: Promise<GpuLike | undefined>; options: WebgpuBackendOptions } | undefined;

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

function navigatorGpu(): GpuLike | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  return nav?.gpu ?? undefined;
}

/** Install dawn.node as `navigator.gpu` (Node only; once per process). */
async function installDawn(o: WebgpuBackendOptions): Promise<GpuLike | undefined> {
  const r = await importPeer<{ create(flags: string[]): GpuLike; globals: Record<string, unknown> }>('webgpu', 'backend:webgpu');
  if (!r.ok) {
    throw new Error(
      r.missing
        ? 'backend "webgpu" in Node needs the package "webgpu" (dawn.node), which is not installed: npm install webgpu'
        : `backend "webgpu": the package "webgpu" (dawn.node) failed to load: ${r.message}`,
    );
  }
  const mod = r.module;
  if (o.icd !== undefined) process.env['VK_ICD_FILENAMES'] = o.icd; // read when Dawn creates its instance
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in g)) g[k] = v; // GPUBufferUsage, …
  const gpu = mod.create([...(o.dawnFlags ?? [])]);
  const nav = g['navigator'] as { gpu?: unknown } | undefined;
  if (nav === undefined) {
    g['navigator'] = { gpu };
  } else if (!nav.gpu) {
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, enumerable: true, writable: true });
  }
  return navigatorGpu();
}

async function getGpu(o: WebgpuBackendOptions): Promise<GpuLike | undefined> {
  const existing = navigatorGpu();
  if (existing) return existing;
  if (!isNode()) return undefined;
  dawn ??= { promise: installDawn(o), options: o };
  return dawn.promise;
}

function readFacts(a: AdapterLike, info: Partial<AdapterFacts> | undefined): AdapterFacts {
  return {
    vendor: String(info?.vendor ?? ''),
    architecture: String(info?.architecture ?? ''),
    device: String(info?.device ?? ''),
    description: String(info?.description ?? ''),
    isFallbackAdapter: Boolean(info?.isFallbackAdapter ?? a.isFallbackAdapter ?? false),
  };
}

/** Software rasterisers that expose WebGPU/Vulkan: correct, but far slower than wasm. */
const SOFTWARE_RE = /swiftshader|llvmpipe|lavapipe|softpipe|warp|microsoft basic render/i;

export function isSoftwareAdapter(f: AdapterFacts): boolean {
  return f.isFallbackAdapter || SOFTWARE_RE.test(`${f.vendor} ${f.architecture} ${f.device} ${f.description}`);
}

/**
 * Make a WebGPU backend plugin. The built-in `webgpuBackend` is
 * `createWebgpuBackend()`; pass options for Dawn in Node, and hand the object
 * to `useBackend` directly (it is not registered under a name).
 */
export function createWebgpuBackend(options: WebgpuBackendOptions = {}): BackendPlugin<'webgpu'> & {
  /** The adapter facts found by `isAvailable()` (undefined before, or when none). */
  adapterInfo(): Readonly<AdapterFacts> | undefined;
} {
  parseOptions(webgpuBackendOptionsSchema, options, 'backend:webgpu');
  const o = options; // the caller's object: plugin instances made from the same options share Dawn without a warning
  let probe: Promise<boolean> | undefined;
  let reason: string | undefined;
  let facts: AdapterFacts | undefined;

  async function check(): Promise<boolean> {
    let gpu: GpuLike | undefined;
    try {
      gpu = await getGpu(o);
    } catch (e) {
      reason = (e as Error)?.message ?? String(e);
      return false;
    }
    if (!gpu) {
      reason = 'backend "webgpu" needs WebGPU: this runtime has no navigator.gpu (in Node, install the "webgpu" package)';
      return false;
    }
    let adapter: AdapterLike | null = null;
    try {
      adapter = await gpu.requestAdapter(o.powerPreference ? { powerPreference: o.powerPreference } : undefined);
    } catch (e) {
      reason = `backend "webgpu": requestAdapter failed: ${(e as Error)?.message ?? e}`;
      return false;
    }
    if (!adapter) {
      reason = isNode()
        ? 'backend "webgpu": Dawn found no GPU adapter. Without a GPU, install libvulkan1 and a SwiftShader Vulkan ICD ' +
          '(Debian: apt-get install chromium libvulkan1) and set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json ' +
          '(or pass createWebgpuBackend({ icd })) before the first use'
        : 'backend "webgpu": navigator.gpu.requestAdapter() returned no adapter (WebGPU disabled or blocklisted)';
      return false;
    }
    let info = adapter.info;
    if (!info && typeof adapter.requestAdapterInfo === 'function') {
      try {
        info = await adapter.requestAdapterInfo();
      } catch {
        info = undefined;
      }
    }
    facts = readFacts(adapter, info);
    reason = undefined;
    return true;
  }

  const plugin: BackendPlugin<'webgpu'> & { adapterInfo(): Readonly<AdapterFacts> | undefined } = {
    kind: 'backend',
    name: 'webgpu',
    tfjsName: 'webgpu',
    priority: 40,
    description: 'WebGPU compute shaders (@tensorflow/tfjs-backend-webgpu; dawn.node in Node)',
    // Never: see the notes above (no OffscreenCanvas in Node; zeros from dataSync in browsers).
    syncRead: false,
    isAvailable() {
      probe ??= check().catch((e: unknown) => {
        reason = `backend "webgpu": ${(e as Error)?.message ?? e}`;
        return false;
      });
      return probe;
    },
    unavailableReason: () => reason,
    isSoftware: () => (facts ? isSoftwareAdapter(facts) : false),
    adapterInfo: () => facts,
    async init(ctx) {
      if (!(await plugin.isAvailable())) {
        throw new RnodeError('BACKEND_UNAVAILABLE', reason ?? 'backend "webgpu" is not available', { source: 'backend:webgpu' });
      }
      if (dawn && dawn.options !== o && (o.icd !== undefined || o.dawnFlags !== undefined)) {
        if (JSON.stringify(dawn.options) !== JSON.stringify(o)) {
          ctx?.warn('[backend:webgpu] Dawn was already started with other options; icd/dawnFlags of this plugin are ignored');
        }
      }
      if (!tf.findBackendFactory('webgpu')) {
        const m =
          provided ??
          (await importOptional<WebgpuModule>(
            '@tensorflow/tfjs-backend-webgpu',
            'backend:webgpu',
            "npm install @tensorflow/tfjs-backend-webgpu@4.22.0 (in a bundle, also import '@rnode/core/backends/webgpu')",
          ));
        // Imported before navigator.gpu existed (dawn.node is installed above, in init): no factory yet.
        if (!tf.findBackendFactory('webgpu')) registerWebgpuFactory(m, o);
      }
      registerWebgpuKernels();
    },
  };
  return plugin;
}

/** The built-in WebGPU plugin (default options). */
export const webgpuBackend = createWebgpuBackend();
