import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRnodeError } from '@rnode/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCifarBatch, encodeIdx, makeCifarArchive } from '../testing/index.js';
import { readCifarArchive } from '../index.js';
import { DATASET_SOURCES, downloadDataset, loadMnistFiles } from './index.js';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

// Small fake data sets, served by a local server.
const mnistFiles: Record<string, Uint8Array> = {
  'train-images-idx3-ubyte.gz': encodeIdx(Uint8Array.from({ length: 40 * 784 }, (_, i) => (i * 7) & 255), [40, 28, 28], { gzip: true }),
  'train-labels-idx1-ubyte.gz': encodeIdx(Array.from({ length: 40 }, (_, i) => i % 10), [40], { gzip: true }),
  't10k-images-idx3-ubyte.gz': encodeIdx(new Uint8Array(3 * 784).fill(9), [3, 28, 28], { gzip: true }),
  't10k-labels-idx1-ubyte.gz': encodeIdx([1, 2, 3], [3], { gzip: true }),
};
const cifarBatches: Record<string, Uint8Array> = {};
for (let b = 1; b <= 5; b++) cifarBatches[`data_batch_${b}.bin`] = encodeCifarBatch([b, 0, 9]);
cifarBatches['test_batch.bin'] = encodeCifarBatch([7]);
const cifarArchive = makeCifarArchive(cifarBatches);
const served: Record<string, Uint8Array> = { ...mnistFiles, 'cifar-10-binary.tar.gz': cifarArchive };
const mnistSums = Object.fromEntries(Object.entries(mnistFiles).map(([k, v]) => [k, md5(v)]));

interface Req { path: string; range: string | undefined }
let requests: Req[] = [];
let mode: { ranges: boolean; dropAfter?: number } = { ranges: true };
let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').slice(1));
    requests.push({ path, range: req.headers.range });
    const body = served[path];
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (mode.ranges && m) {
      start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, { 'Content-Length': body.length - start, 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` });
    } else {
      res.writeHead(200, { 'Content-Length': body.length });
    }
    const chunk = body.subarray(start);
    if (mode.dropAfter !== undefined) {
      res.write(chunk.subarray(0, mode.dropAfter), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(chunk);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const fresh = () => {
  requests = [];
  mode = { ranges: true };
  return mkdtempSync(join(tmpdir(), 'rnode-dl-'));
};

describe('downloadDataset', () => {
  it('publishes torchvision\'s md5 sums', () => {
    expect(DATASET_SOURCES.mnist.files['train-images-idx3-ubyte.gz']).toBe('f68b3c2dcbeaaa9fbdd348bbdeb94873');
    expect(DATASET_SOURCES['fashion-mnist'].files['t10k-labels-idx1-ubyte.gz']).toBe('bb300cfdad3c16e7a12a480ee83cd310');
    expect(DATASET_SOURCES.cifar10.files['cifar-10-binary.tar.gz']).toBe('c32a1d4ab5d03f1284b67883e8d87530');
  });

  it('full download: verified, renamed, readable; a second call skips verified files', async () => {
    const dir = fresh();
    const progress: number[] = [];
    const r = await downloadDataset('mnist', { dir, baseUrl: base, checksums: mnistSums, onProgress: (p) => progress.push(p.received) });
    expect(r.files.map((f) => f.slice(dir.length + 1))).toEqual(Object.keys(mnistFiles));
    expect(readdirSync(dir).filter((f) => f.endsWith('.part'))).toEqual([]);
    expect((await loadMnistFiles(dir)).count).toBe(40);
    expect(progress.length).toBeGreaterThan(0);
    requests = [];
    const again = await downloadDataset('mnist', { dir, baseUrl: base, checksums: mnistSums });
    expect(again.skipped.length).toBe(4);
    expect(requests).toEqual([]);

    const cdir = fresh();
    await downloadDataset('cifar10', { dir: cdir, baseUrl: base, checksums: { 'cifar-10-binary.tar.gz': md5(cifarArchive) } });
    expect(readCifarArchive(readFileSync(join(cdir, 'cifar-10-binary.tar.gz'))).train.count).toBe(15);
  });

  it('resumes a partial .part with a Range request for the remainder only', async () => {
    const dir = fresh();
    const name = 'cifar-10-binary.tar.gz';
    const cut = Math.floor(cifarArchive.length / 2);
    writeFileSync(join(dir, `${name}.part`), cifarArchive.subarray(0, cut));
    await downloadDataset('cifar10', { dir, baseUrl: base, checksums: { [name]: md5(cifarArchive) } });
    expect(requests).toEqual([{ path: name, range: `bytes=${cut}-` }]);
    expect(md5(readFileSync(join(dir, name)))).toBe(md5(cifarArchive));
    expect(existsSync(join(dir, `${name}.part`))).toBe(false);
  });

  it('a server without Range support (200) restarts the file from the beginning', async () => {
    const dir = fresh();
    mode = { ranges: false };
    const name = 'cifar-10-binary.tar.gz';
    writeFileSync(join(dir, `${name}.part`), new Uint8Array(500).fill(0xee)); // not even the right bytes
    await downloadDataset('cifar10', { dir, baseUrl: base, checksums: { [name]: md5(cifarArchive) } });
    expect(requests[0]!.range).toBe('bytes=500-');
    expect(statSync(join(dir, name)).size).toBe(cifarArchive.length);
    expect(md5(readFileSync(join(dir, name)))).toBe(md5(cifarArchive));
  });

  it('checksum mismatch: deletes the .part, no final file, error names the URL and both hashes', async () => {
    const dir = fresh();
    const wrong = '0123456789abcdef0123456789abcdef';
    const e = await downloadDataset('cifar10', { dir, baseUrl: base, checksums: { 'cifar-10-binary.tar.gz': wrong } }).catch((x: unknown) => x);
    expect(isRnodeError(e, 'INVALID_DATA')).toBe(true);
    const msg = (e as Error).message;
    expect(msg).toContain(`${base}cifar-10-binary.tar.gz`);
    expect(msg).toContain(wrong);
    expect(msg).toContain(md5(cifarArchive));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('404 → IO_ERROR naming the URL and status; nothing left behind', async () => {
    const dir = fresh();
    const e = await downloadDataset('fashion-mnist', { dir, baseUrl: `${base}missing/` }).catch((x: unknown) => x);
    expect(isRnodeError(e, 'IO_ERROR')).toBe(true);
    expect((e as Error).message).toMatch(/missing\/train-images-idx3-ubyte\.gz: HTTP 404/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('connection dropped mid-body → error, .part kept for resume, no final file; the next call completes', async () => {
    const dir = fresh();
    const name = 'cifar-10-binary.tar.gz';
    const sums = { [name]: md5(cifarArchive) };
    mode = { ranges: true, dropAfter: 300 };
    const e = await downloadDataset('cifar10', { dir, baseUrl: base, checksums: sums, retries: 0 }).catch((x: unknown) => x);
    expect(isRnodeError(e, 'IO_ERROR')).toBe(true);
    expect((e as Error).message).toMatch(/interrupted|ended after/);
    expect(existsSync(join(dir, name))).toBe(false);
    const kept = statSync(join(dir, `${name}.part`)).size;
    expect(kept).toBe(300);
    mode = { ranges: true };
    requests = [];
    await downloadDataset('cifar10', { dir, baseUrl: base, checksums: sums });
    expect(requests).toEqual([{ path: name, range: 'bytes=300-' }]);
    expect(md5(readFileSync(join(dir, name)))).toBe(md5(cifarArchive));
  });

  it('a completed file with the wrong md5 is reported, not overwritten', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'cifar-10-binary.tar.gz'), 'junk');
    const e = await downloadDataset('cifar10', { dir, baseUrl: base }).catch((x: unknown) => x);
    expect(isRnodeError(e, 'INVALID_DATA')).toBe(true);
    expect((e as Error).message).toMatch(/exists but its md5 is .*expected c32a1d4ab5d03f1284b67883e8d87530; delete it/);
  });
});
