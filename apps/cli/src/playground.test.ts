// `rnode playground`: serves the browser app shipped in dist/playground on localhost until a signal.
import { describe, expect, it } from 'vitest';
import { startRnode } from './testing/child.js';

describe('rnode playground', () => {
  it('prints a localhost URL, serves the app and its .wasm as application/wasm, and stops on SIGINT with status 0', async () => {
    const child = await startRnode(['playground', '--port', '0']);
    try {
      expect(await child.waitFor('stdout', /rnode playground: http:\/\/localhost:\d+\//)).toBe(true);
      const url = /http:\/\/localhost:\d+\//.exec(child.stdout)![0].replace('localhost', '127.0.0.1');
      const index = await fetch(url);
      expect(index.status).toBe(200);
      const html = await index.text();
      expect(html).toContain('rnode playground');
      // The worker bundle names the hashed .wasm binaries; one must come back with its MIME type.
      const worker = /worker-[\w-]+\.js/.exec(await (await fetch(`${url}${/assets\/index-[\w-]+\.js/.exec(html)![0]}`)).text());
      expect(worker).not.toBeNull();
      const wasm = /tfjs-backend-wasm-simd-[\w-]+\.wasm/.exec(await (await fetch(`${url}assets/${worker![0]}`)).text());
      expect(wasm).not.toBeNull();
      const w = await fetch(`${url}assets/${wasm![0]}`);
      expect(w.status).toBe(200);
      expect(w.headers.get('content-type')).toBe('application/wasm');
      expect((await fetch(`${url}../../package.json`)).status).toBe(404);
    } finally {
      child.kill('SIGINT');
    }
    expect(await child.exit).toEqual({ code: 0, signal: null });
  });

  it('refuses a bad port as a usage error', async () => {
    const child = await startRnode(['playground', '--port', 'x']);
    expect((await child.exit).code).toBe(2);
    expect(child.stderr).toMatch(/port number/);
  });
});
