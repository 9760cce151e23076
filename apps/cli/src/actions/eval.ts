// `rnode eval` — the action (what the command does with its parsed flags), like every file in actions/; its commander definition is commands/eval.ts.
import { configureWatch } from '../watch.js';
import { checkBackendName, checkPluginName } from '../plugins.js';
import { resolveData } from '../data.js';
import { evaluateCheckpoint, loadCheckpointPlugins } from '../checkpoint-read.js';
import { givenSolveFlags } from '../eval-solve.js';
import type { CommandContext } from '../context.js';
import type { EvalFlags } from '../commands/eval.js';

export async function runEval(f: EvalFlags, ctx: CommandContext): Promise<void> {
  configureWatch(f, ctx.io);
  await loadCheckpointPlugins(f.plugin, [f.checkpoint]);
  checkPluginName('solver', f.solver, '--solver');
  const backend = f.backend ?? 'wasm';
  checkBackendName(backend);
  const r = await evaluateCheckpoint({
    checkpoint: f.checkpoint,
    backend,
    seed: f.seed ?? 0,
    solve: givenSolveFlags(f),
    ...(f.data !== undefined ? { data: resolveData(f.data) } : {}),
    ...(f.testSamples !== undefined ? { testSamples: f.testSamples } : {}),
  });
  if (f.json) ctx.io.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    ctx.io.stdout.write(
      `${r.data}: test NLL ${r.test_nll.toFixed(4)} nats${r.test_bits_per_dim === undefined ? '' : ` (${r.test_bits_per_dim.toFixed(4)} bits/dim)`} on ${r.n} samples of dimension ${r.dim}; NFE ${r.test_nfe}; ${r.seconds.toFixed(1)} s on ${r.backend}\n`,
    );
  }
}
