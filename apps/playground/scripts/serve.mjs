#!/usr/bin/env node
// Serve the built playground (dist/) on localhost and print its URL: `pnpm playground`.
// sirv: a small maintained static server that sets application/wasm (streaming compilation).
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';

const dir = fileURLToPath(new URL('../dist', import.meta.url));
if (!existsSync(`${dir}/index.html`)) {
  console.error(`playground: ${dir} is not built; run \`pnpm --filter @rnode/playground build\` first`);
  process.exit(1);
}
const port = Number(process.env.PORT ?? process.argv[2] ?? 5180);
const handler = sirv(dir, { etag: true });
const server = createServer((req, res) => handler(req, res, () => {
  res.statusCode = 404;
  res.end('not found');
}));
server.listen(port, '127.0.0.1', () => {
  const a = server.address();
  console.log(`rnode playground: http://localhost:${typeof a === 'object' && a ? a.port : port}/`);
});
