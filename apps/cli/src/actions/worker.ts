// `rnode worker` — the action (what the command does with its parsed flags), like every file in actions/; its commander definition is commands/worker.ts.
import type { CommandContext } from '../context.js';
import type { WorkerFlags } from '../commands/worker.js';
import { checkQueueUrl, startWorker } from '../sweep/queue.js';

/** Take jobs until SIGINT/SIGTERM; then stop the running ones after their step and close (status 0). */
export async function runWorker(f: WorkerFlags, ctx: CommandContext): Promise<void> {
  const url = checkQueueUrl(f.queue);
  const log = (line: string) => {
    if (!f.quiet) ctx.io.stderr.write(`rnode worker: ${line}\n`);
  };
  const worker = await startWorker({ url, concurrency: f.concurrency ?? 1, lockSeconds: f.lockSeconds ?? 30, log });
  const signal = await new Promise<NodeJS.Signals>((done) => {
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    const stop = (s: NodeJS.Signals) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      done(s);
    };
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
  log(`${signal}: stopping the running jobs after their current step (the queue retries them, resuming), then closing`);
  // a second signal: Node's default (exit at once); the children stop on their own when our pipes close
  await worker.close();
  log('closed');
}
