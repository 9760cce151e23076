// `rnode summary` — the action (what the command does with its parsed flags), like every file in actions/; its commander definition is commands/summary.ts.
import { useBackend } from '@rnode/core';
import { imageModelSummary, imageOrError } from '../image-run.js';
import type { CommandContext } from '../context.js';
import type { SummaryFlags } from '../commands/summary.js';

export async function runSummary(f: SummaryFlags, ctx: CommandContext): Promise<void> {
  await useBackend('cpu'); // the weights are only counted
  const s = imageModelSummary(imageOrError(f.data), {
    ...(f.downsample !== undefined ? { downsample: f.downsample } : {}),
    ...(f.scales !== undefined ? { scales: f.scales } : {}),
    ...(f.blocksPerScale !== undefined ? { blocksPerScale: f.blocksPerScale } : {}),
    ...(f.width !== undefined ? { width: f.width } : {}),
    ...(f.hidden !== undefined ? { hidden: f.hidden } : {}),
  });
  if (f.json) {
    ctx.io.stdout.write(`${JSON.stringify({ data: s.data, shape: s.shape, config: s.config, blocks: s.blocks, params: s.total })}\n`);
    return;
  }
  ctx.io.stdout.write(`${s.data}: input ${s.shape.join('×')} (H×W×C), ${s.blocks.length} CNF blocks, ${s.total.toLocaleString('en-US')} parameters\n${s.text}\n`);
}
