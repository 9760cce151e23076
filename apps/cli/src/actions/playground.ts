// `rnode playground` — the action (what the command does with its parsed flags), like every file in actions/; its commander definition is commands/playground.ts.
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';
import type { CommandContext } from '../context.js';
import type { PlaygroundFlags } from '../commands/playground.js';

/** The built app, copied next to the CLI's bundle at build time (tsup.config.ts). */
export const PLAYGROUND_DIR = fileURLToPath(new URL('./playground/', import.meta.url));

/**
 * Serve the static playground with sirv (a small, maintained static-file handler: MIME types
 * incl. application/wasm for streaming compilation, ETags, no path traversal) until SIGINT or
 * SIGTERM, then close and return.
 */
export async function runPlayground(f: PlaygroundFlags, ctx: CommandContext): Promise<void> {
  if (!existsSync(`${PLAYGROUND_DIR}index.html`)) throw new Error(`the playground is not in this build of @rnode/cli (${PLAYGROUND_DIR} is missing)`);
  const handler = sirv(PLAYGROUND_DIR, { etag: true });
  const server = createServer((req, res) => handler(req, res, () => {
    res.statusCode = 404;
    res.end('not found');
  }));
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(f.port, f.host, ok);
  });
  const a = server.address() as AddressInfo;
  const host = f.host === '127.0.0.1' || f.host === '::1' ? 'localhost' : f.host;
  ctx.io.stdout.write(`rnode playground: http://${host}:${a.port}/\n`);
  ctx.io.stderr.write('(Ctrl-C stops the server)\n');
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.close(() => done());
      server.closeAllConnections();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
