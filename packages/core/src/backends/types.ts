import type { PluginBase } from '../registry.js';

export interface BackendInitContext {
  /** Where plugins report non-fatal problems (never `console`). */
  warn(message: string): void;
}

/**
 * A compute backend. `init` loads the (optional, lazily imported) tfjs backend
 * package, registers it with tfjs along with any kernels rnode adds, and must
 * be idempotent. `isAvailable` never throws.
 */
export interface BackendPlugin<N extends string = string> extends PluginBase<'backend', N> {
  /** The name this backend registers with tfjs (`tf.getBackend()` after `useBackend`). */
  readonly tfjsName: string;
  /** Larger is faster; `auto` picks the available backend with the largest priority. */
  readonly priority: number;
  /** Whether `dataSync()` works (WebGPU in Node does not support synchronous reads). */
  readonly syncRead: boolean | (() => boolean);
  isAvailable(): Promise<boolean>;
  /** Why `isAvailable()` is false, with what to install; set after `isAvailable()` ran. */
  unavailableReason?(): string | undefined;
  /** True when the backend is a software emulation (e.g. WebGPU on SwiftShader): `auto` never picks it. */
  isSoftware?(): boolean;
  init(ctx?: BackendInitContext): Promise<void>;
}
