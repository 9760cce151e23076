// Fault injection for the kill tests (faults.test.ts), loaded into the CLI under test with
// NODE_OPTIONS=--import=<this file>. Every rename of a temp file onto last.json is announced on
// stderr ("[fault] rename <k> <tmp>"); with RNODE_FAULT_HOLD=<k> the k-th one is held for 20 s
// before it happens, so that the test can SIGKILL the process while the temp file exists and
// last.json is still the previous checkpoint. Nothing else changes.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  const hold = Number(process.env.RNODE_FAULT_HOLD ?? 0);
  const rename = fs.renameSync;
  let k = 0;
  fs.renameSync = function renameSync(from, to) {
    if (String(from).endsWith('.tmp') && String(to).endsWith('last.json')) {
      k += 1;
      fs.writeSync(2, `[fault] rename ${k} ${String(from)}\n`);
      if (k === hold) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20_000);
    }
    return rename.call(this, from, to);
  };
  // `import { renameSync } from 'node:fs'` (the checkpoint writer) sees the replacement.
  syncBuiltinESMExports();
}
