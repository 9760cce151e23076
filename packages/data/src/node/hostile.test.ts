// Issue 11: downloads that hang (a server that never answers, a body that stalls) end with a
// clear error within their timeouts, retried with back-off and the .part kept; a gzip bomb stops
// at the cap; a .npy with trailing bytes is refused naming the file.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maybeGunzip, readCifarArchive, parseNpy } from '../index.js';
import { downloadDataset } from './index.js';

const tmp = mkdtempSync(join(tmpdir(), 'rnode-hostile-'));
let server: Server;
let base = '';
let hits = 0;
const open: ServerResponse[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    open.push(res);
    if (req.url?.startsWith('/silent/')) return; // never answers
    // /stall/: headers and 1,000 of 5,000 bytes, then nothing
    res.writeHead(200, { 'content-length': '5000' });
    res.write(Buffer.alloc(1000, 7));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r)); // loopback only
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const res of open) res.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

describe('download timeouts', () => {
  it('a server that never answers: connect timeout, retries with back-off, a clear error', async () => {
    hits = 0;
    const retries: number[] = [];
    const t0 = performance.now();
    const err = await downloadDataset('cifar10', {
      dir: join(tmp, 'silent'), baseUrl: `${base}/silent/`, connectTimeout: 0.3, retries: 2, retryDelay: 0.05,
      onRetry: (r) => retries.push(r.delay),
    }).catch((e: Error) => e);
    const seconds = (performance.now() - t0) / 1000;
    expect((err as Error).message).toMatch(/cannot download .*cifar-10-binary\.tar\.gz: no response from the server within 0\.3 s \(connect timeout\) \(gave up after 3 attempts\)/);
    expect(retries).toEqual([0.05, 0.1]);
    expect(hits).toBe(3);
    expect(seconds).toBeGreaterThan(0.9);
    expect(seconds).toBeLessThan(5);
  });

  it('a body that stalls: stall timeout, the .part kept for resume', async () => {
    const t0 = performance.now();
    const err = await downloadDataset('cifar10', { dir: join(tmp, 'stall'), baseUrl: `${base}/stall/`, stallTimeout: 0.3, retries: 0 }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/interrupted after 1000 bytes \(no data for 0\.3 s \(stall timeout\)\); .*\.part is kept and the next call resumes it \(gave up after 1 attempt\)/);
    expect((performance.now() - t0) / 1000).toBeLessThan(5);
    const part = join(tmp, 'stall', 'cifar-10-binary.tar.gz.part');
    expect(existsSync(part)).toBe(true);
    expect(readFileSync(part).length).toBe(1000);
  });
});

describe('hostile files', () => {
  it('a gzip bomb stops at the cap with a clear error', () => {
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024)); // 8 MiB of zeros in ~8 kB
    expect(() => maybeGunzip(bomb, 'bomb.gz', 1024 * 1024)).toThrow(/bomb\.gz: gzip data inflates to more than 1048576 bytes \(the limit; \d+ compressed bytes\): a gzip bomb/);
    expect(maybeGunzip(gzipSync(Buffer.alloc(1000, 3)), 'ok.gz', 1024 * 1024)).toEqual(new Uint8Array(1000).fill(3));
  });

  it('CIFAR-10: an archive inflating beyond 256 MiB is refused at the cap', () => {
    const bomb = gzipSync(Buffer.alloc(260 * 1024 * 1024), { level: 1 });
    expect(() => readCifarArchive(bomb, { source: 'cifar-10-binary.tar.gz' })).toThrow(/cifar-10-binary\.tar\.gz: gzip data inflates to more than 268435456 bytes/);
  }, 60_000);

  it('a .npy with trailing bytes is an error naming the file', () => {
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
    const pad = 64 - ((10 + header.length + 1) % 64);
    const h = header + ' '.repeat(pad) + '\n';
    const bytes = new Uint8Array(10 + h.length + 16 + 4);
    bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 255, h.length >> 8]);
    for (let i = 0; i < h.length; i++) bytes[10 + i] = h.charCodeAt(i);
    new Float32Array(bytes.buffer, 10 + h.length, 4).set([1, 2, 3, 4]);
    expect(() => parseNpy(bytes, { source: 'x.npy' })).toThrow(/x\.npy.*4 trailing bytes after the data: shape \(2, 2\) of '<f4' is 16 bytes, the file holds 20/);
    expect(parseNpy(bytes.subarray(0, bytes.length - 4), { source: 'x.npy' }).data).toEqual(Float32Array.from([1, 2, 3, 4]));
  });
});
