#!/usr/bin/env node
import { enableRelaxedSimd } from '@rnode/models/node';
import { main } from './main.js';

// WebAssembly relaxed SIMD (fused multiply-add) for the fused CNF kernels: on in browsers and
// Node ≥ 22, behind a V8 flag on Node 20. RNODE_RELAXED_SIMD=0 keeps the plain SIMD kernels.
if (process.env['RNODE_RELAXED_SIMD'] !== '0') enableRelaxedSimd();
// RNODE_EXIT_WITH_PARENT=1 (how `rnode sweep` and `rnode worker` start their train runs, with
// stdin a pipe): stdin closing means the parent is gone (killed), so stop as on SIGTERM — finish
// the step, write last.json, release the folder — rather than train on as an orphan in a folder
// that the retried job will use. Output to the dead parent's pipes is dropped, not fatal.
if (process.env['RNODE_EXIT_WITH_PARENT'] === '1') {
  for (const s of [process.stdout, process.stderr]) s.on('error', () => undefined); // EPIPE once the parent is gone
  let sent = false;
  const parentGone = () => {
    if (sent) return;
    sent = true;
    process.kill(process.pid, 'SIGTERM');
  };
  process.stdin.on('end', parentGone).on('close', parentGone).on('error', parentGone).resume();
}
const code = await main(process.argv.slice(2));
// RNODE_REPORT_RSS=1: the process's peak resident memory (kB) as the last stderr line (tests, RELIABILITY.md).
if (process.env['RNODE_REPORT_RSS'] === '1') {
  const u = process.resourceUsage();
  process.stderr.write(`rnode: peak-rss-kb ${u.maxRSS} cpu-ms ${Math.round((u.userCPUTime + u.systemCPUTime) / 1000)}\n`);
}
// Flush stdout before leaving (pipes are asynchronous); tfjs backends may keep
// handles open, so exit explicitly.
process.stdout.write('', () => process.exit(code));
