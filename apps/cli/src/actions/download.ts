// `rnode download` — the action (what the command does with its parsed flags), like every file in actions/; its commander definition is commands/download.ts.
import { downloadDataset, type DownloadProgress } from '@rnode/data/node';
import type { CommandContext } from '../context.js';
import type { DownloadFlags } from '../commands/download.js';

const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;

export async function runDownload(dataset: 'mnist' | 'fashion-mnist' | 'cifar10', f: DownloadFlags, ctx: CommandContext): Promise<void> {
  const dir = f.dir ?? `data/${dataset}`;
  const t0 = performance.now();
  let lastFile = '';
  let lastAt = 0;
  const onProgress = (p: DownloadProgress): void => {
    if (f.quiet) return;
    const now = performance.now();
    const done = p.total !== null && p.received >= p.total;
    if (p.file === lastFile && !done && now - lastAt < 500) return;
    lastFile = p.file;
    lastAt = now;
    ctx.io.stderr.write(`download ${p.file}: ${mb(p.received)}${p.total !== null ? ` / ${mb(p.total)}` : ''}${done ? ' done' : ''}\n`);
  };
  const r = await downloadDataset(dataset, {
    dir,
    onProgress,
    onRetry: (x) => {
      if (f.json) ctx.io.stdout.write(`${JSON.stringify({ type: 'retry', ...x })}\n`);
      else if (!f.quiet) ctx.io.stderr.write(`download ${x.file}: ${x.reason}; retry ${x.attempt} in ${x.delay} s\n`);
    },
    ...(f.timeout !== undefined ? { connectTimeout: f.timeout, stallTimeout: f.timeout } : {}),
    ...(f.retries !== undefined ? { retries: f.retries } : {}),
    ...(process.env['RNODE_RETRY_DELAY'] !== undefined ? { retryDelay: Number(process.env['RNODE_RETRY_DELAY']) } : {}),
    ...(f.baseUrl !== undefined ? { baseUrl: f.baseUrl } : {}),
  });
  const seconds = (performance.now() - t0) / 1000;
  if (f.json) {
    ctx.io.stdout.write(`${JSON.stringify({ dataset, dir, files: r.files, skipped: r.skipped, seconds })}\n`);
    return;
  }
  ctx.io.stdout.write(
    `${dataset}: ${r.files.length} files in ${dir} (${r.skipped.length} already present and verified), ${seconds.toFixed(1)} s\n` +
      `next: rnode train --data ${dataset} --data-dir ${dir}\n`,
  );
}
