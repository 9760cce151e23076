import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { RnodeError, functionOption, numberOption, parseOptions } from '@rnode/core';

export type DownloadableDataset = 'mnist' | 'fashion-mnist' | 'cifar10';

interface DatasetSource {
  baseUrl: string;
  /** file name → md5 of the file as served (the compressed archive). */
  files: Record<string, string>;
}

/**
 * Canonical sources and the md5 sums torchvision publishes (torchvision/datasets/mnist.py
 * `resources`; CIFAR-10's binary archive as listed on https://www.cs.toronto.edu/~kriz/cifar.html,
 * torchvision uses the python version). yann.lecun.com refuses downloads, so MNIST comes from
 * torchvision's second mirror.
 */
export const DATASET_SOURCES: Readonly<Record<DownloadableDataset, Readonly<DatasetSource>>> = {
  mnist: {
    baseUrl: 'https://ossci-datasets.s3.amazonaws.com/mnist/',
    files: {
      'train-images-idx3-ubyte.gz': 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
      'train-labels-idx1-ubyte.gz': 'd53e105ee54ea40749a09fcbcd1e9432',
      't10k-images-idx3-ubyte.gz': '9fb629c4189551a2d022fa330f9573f3',
      't10k-labels-idx1-ubyte.gz': 'ec29112dd5afa0611ce80d1b7f02629c',
    },
  },
  'fashion-mnist': {
    baseUrl: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    files: {
      'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
      'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
      't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
      't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310',
    },
  },
  cifar10: {
    baseUrl: 'https://www.cs.toronto.edu/~kriz/',
    files: { 'cifar-10-binary.tar.gz': 'c32a1d4ab5d03f1284b67883e8d87530' },
  },
};

export interface DownloadProgress {
  file: string;
  url: string;
  /** Bytes on disk for this file so far (including a resumed part). */
  received: number;
  /** Total size when the server says, else null. */
  total: number | null;
}

/** The options of `downloadDataset` (type and run-time check). */
export const downloadOptionsSchema = z.object({
  /** Directory for the files (created if missing). */
  dir: z.custom<string>((v) => typeof v === 'string' && v !== '', { error: 'a directory path' }),
  /** Overrides the dataset's base URL (a mirror, or a local server in tests); must end in '/'. */
  baseUrl: z.optional(z.string()),
  /** A fetch implementation; default the global fetch. */
  fetch: z.optional(functionOption<typeof globalThis.fetch>()),
  onProgress: z.optional(functionOption<(p: DownloadProgress) => void>()),
  /** Replaces the published md5 sums (file name → md5), e.g. for a mirror with other files. */
  checksums: z.optional(z.record(z.string(), z.string())),
  signal: z.optional(z.custom<AbortSignal>()),
  /** Seconds to wait for a response's headers (default 30). */
  connectTimeout: z.optional(numberOption('positive')),
  /** Seconds without a byte of the body before the attempt is given up (default 30). */
  stallTimeout: z.optional(numberOption('positive')),
  /** Further attempts after a timeout or a network error, each resuming the `.part` (default 3). */
  retries: z.optional(numberOption('non-negative')),
  /** Seconds before the first retry, doubled for each next one (default 1). */
  retryDelay: z.optional(numberOption('non-negative')),
  /** Told about each retry (progress output). */
  onRetry: z.optional(functionOption<(r: { file: string; url: string; attempt: number; delay: number; reason: string }) => void>()),
});

export type DownloadOptions = z.input<typeof downloadOptionsSchema>;

export interface DownloadResult {
  dataset: DownloadableDataset;
  /** Absolute paths of the verified files, in the dataset's order. */
  files: string[];
  /** Files that were already present and verified (not fetched). */
  skipped: string[];
}

async function md5File(path: string): Promise<string> {
  const h = createHash('md5');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function sizeOf(path: string): Promise<number | null> {
  return stat(path).then((s) => s.size, () => null);
}

function ioError(message: string, url: string, cause?: unknown, details?: Record<string, unknown>): RnodeError {
  return new RnodeError('IO_ERROR', message, { source: `url:${url}`, ...(cause !== undefined ? { cause } : {}), details: { url, ...details } });
}

/**
 * Download a dataset's files into `dir`, verifying each against its md5. A file goes to
 * `<name>.part` first and is renamed only once its checksum matches, so a failed or interrupted
 * download never leaves a file that looks complete; a later call resumes the `.part` with an
 * HTTP Range request (a server answering 200 instead of 206 restarts it). A checksum mismatch
 * deletes the `.part` and throws INVALID_DATA naming the URL and both hashes. Files already
 * present with the right md5 are skipped.
 */
export async function downloadDataset(name: DownloadableDataset, options: DownloadOptions): Promise<DownloadResult> {
  const o = parseOptions(downloadOptionsSchema, options, 'downloadDataset');
  const limits: Limits = {
    connectMs: 1000 * (o.connectTimeout ?? 30),
    stallMs: 1000 * (o.stallTimeout ?? 30),
    retries: o.retries ?? 3,
    retryDelayMs: 1000 * (o.retryDelay ?? 1),
  };
  const src = DATASET_SOURCES[name];
  if (!src) {
    throw new RnodeError('INVALID_ARGUMENT', `unknown dataset ${JSON.stringify(name)}; known: ${Object.keys(DATASET_SOURCES).join(', ')}`, { source: 'downloadDataset' });
  }
  const fetchImpl = o.fetch ?? globalThis.fetch;
  const baseUrl = o.baseUrl ?? src.baseUrl;
  await mkdir(o.dir, { recursive: true });
  const files: string[] = [];
  const skipped: string[] = [];
  for (const [file, publishedMd5] of Object.entries(src.files)) {
    const md5 = (o.checksums?.[file] ?? publishedMd5).toLowerCase();
    const url = new URL(file, baseUrl).toString();
    const final = join(o.dir, file);
    files.push(final);
    if ((await sizeOf(final)) !== null) {
      const have = await md5File(final);
      if (have === md5) {
        skipped.push(final);
        continue;
      }
      throw new RnodeError('INVALID_DATA', `${final} exists but its md5 is ${have}, expected ${md5}; delete it to download again`, {
        source: `file:${final}`, details: { expected: md5, actual: have },
      });
    }
    await fetchWithRetries({ url, file, final, md5, fetchImpl, onProgress: o.onProgress, signal: o.signal }, limits, o.onRetry);
  }
  return { dataset: name, files, skipped };
}

interface Limits {
  connectMs: number;
  stallMs: number;
  retries: number;
  retryDelayMs: number;
}

interface FetchArgs {
  url: string; file: string; final: string; md5: string; fetchImpl: typeof globalThis.fetch;
  onProgress: ((p: DownloadProgress) => void) | undefined; signal: AbortSignal | undefined;
}

/** An attempt that may succeed when repeated: a timeout, a refused/reset connection, HTTP 5xx. */
const RETRYABLE = Symbol('retryable');
const retryable = (e: RnodeError): RnodeError => Object.assign(e, { [RETRYABLE]: true });

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `fetchOne` with connect/stall timeouts, retried with exponential back-off; each retry resumes the `.part`. */
async function fetchWithRetries(a: FetchArgs, limits: Limits, onRetry: DownloadOptions['onRetry']): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fetchOne(a, limits);
      return;
    } catch (e) {
      if (!(e as { [RETRYABLE]?: boolean })[RETRYABLE] || a.signal?.aborted) throw e;
      if (attempt >= limits.retries) {
        const err = e as RnodeError;
        const raw = err.message.replace(/^\[rnode\]\s*(\[[^\]]*\]\s*)?/, '');
        throw new RnodeError(err.code, `${raw} (gave up after ${attempt + 1} attempt${attempt ? 's' : ''})`, { source: `url:${a.url}`, cause: err, details: { url: a.url, attempts: attempt + 1 } });
      }
      const delay = limits.retryDelayMs * 2 ** attempt;
      onRetry?.({ file: a.file, url: a.url, attempt: attempt + 1, delay: delay / 1000, reason: (e as Error).message });
      await sleep(delay, a.signal);
    }
  }
}

async function fetchOne(a: FetchArgs, limits: Limits): Promise<void> {
  const part = `${a.final}.part`;
  let offset = (await sizeOf(part)) ?? 0;
  for (let attempt = 0; attempt < 2; attempt++) {
    const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
    // One controller per attempt: aborted by the caller's signal, the connect timer or the stall timer.
    const ctl = new AbortController();
    const onAbort = () => ctl.abort(a.signal!.reason);
    a.signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut: string | null = null;
    let timer = setTimeout(() => {
      timedOut = `no response from the server within ${limits.connectMs / 1000} s (connect timeout)`;
      ctl.abort();
    }, limits.connectMs);
    const done = () => {
      clearTimeout(timer);
      a.signal?.removeEventListener('abort', onAbort);
    };
    let res: Response;
    try {
      res = await a.fetchImpl(a.url, { headers, signal: ctl.signal });
    } catch (e) {
      done();
      if (a.signal?.aborted) throw e;
      const why = timedOut ?? ((e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message);
      throw retryable(ioError(`cannot download ${a.url}: ${why}`, a.url, e));
    }
    clearTimeout(timer);
    if (res.status === 416 && offset > 0) {
      done();
      // The .part may already hold the whole file; check it, else start over.
      await res.body?.cancel().catch(() => undefined);
      if ((await md5File(part)) === a.md5) {
        await rename(part, a.final);
        return;
      }
      await unlink(part);
      offset = 0;
      continue;
    }
    if (res.status !== 200 && res.status !== 206) {
      done();
      await res.body?.cancel().catch(() => undefined);
      const err = ioError(`cannot download ${a.url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`, a.url, undefined, { status: res.status });
      throw res.status >= 500 ? retryable(err) : err;
    }
    let append = false;
    if (res.status === 206) {
      const m = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
      if (!m || Number(m[1]) !== offset) {
        done();
        await res.body?.cancel().catch(() => undefined);
        throw ioError(`cannot resume ${a.url}: asked for bytes from ${offset}, the server sent ${res.headers.get('content-range') ?? 'no Content-Range'}`, a.url);
      }
      append = true;
    } else {
      offset = 0; // no Range support (or a fresh download): start the .part over
    }
    const length = Number(res.headers.get('content-length'));
    const total = Number.isFinite(length) && res.headers.get('content-length') !== null ? offset + length : null;
    const fh = await open(part, append ? 'a' : 'w');
    let received = offset;
    const stall = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = `no data for ${limits.stallMs / 1000} s (stall timeout)`;
        ctl.abort();
      }, limits.stallMs);
    };
    stall();
    try {
      if (!res.body) throw new Error('no response body');
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        stall();
        await fh.write(chunk);
        received += chunk.length;
        a.onProgress?.({ file: a.file, url: a.url, received, total });
      }
      await fh.sync();
    } catch (e) {
      if (a.signal?.aborted) throw e;
      throw retryable(ioError(`download of ${a.url} was interrupted after ${received} bytes (${timedOut ?? (e as Error).message}); ${part} is kept and the next call resumes it`, a.url, e, { received, part }));
    } finally {
      done();
      await fh.close();
    }
    if (total !== null && received !== total) {
      throw retryable(ioError(`download of ${a.url} ended after ${received} of ${total} bytes; ${part} is kept and the next call resumes it`, a.url, undefined, { received, total, part }));
    }
    const have = await md5File(part);
    if (have !== a.md5) {
      await unlink(part).catch(() => undefined);
      throw new RnodeError('INVALID_DATA', `checksum mismatch for ${a.url}: md5 ${have}, expected ${a.md5}; the partial file was deleted`, {
        source: `url:${a.url}`, details: { url: a.url, expected: a.md5, actual: have },
      });
    }
    await rename(part, a.final);
    return;
  }
}
