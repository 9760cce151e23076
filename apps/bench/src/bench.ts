#!/usr/bin/env node
// rnode's benchmark harness (bin `rnode-bench`): `node dist/bench.js <workload> [flags]`.
// Workloads: solvers, toy2d-rnode, toy2d-ffjord, toy2d-quality, mnist-iter, cifar-iter (see --help and
// shared/bench/WORKLOADS.md). Each backend runs in a child process: this same file, forked with
// the internal flag --internal-child.
import { childMain } from './child.js';
import { runBench } from './harness.js';

const argv = process.argv.slice(2);
if (argv[0] === '--internal-child') {
  await childMain(argv[1]);
} else {
  const code = await runBench(argv);
  // Flush stdout before leaving (pipes are asynchronous); tfjs backends may keep handles open.
  process.stdout.write('', () => process.exit(code));
}
