import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built command; `pnpm test` builds it first (turbo: test depends on build). */
export const BIN = fileURLToPath(new URL('../../dist/rnode.js', import.meta.url));

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `rnode ...args` as a child process (stderr is a pipe: plain progress lines). */
export function rnode(args: string[], o: { cwd?: string } = {}): RunResult {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the CLI first (pnpm --filter @rnode/cli build)`);
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: o.cwd ?? process.cwd(),
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 280_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The last non-empty stdout line, parsed as JSON. */
export function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n').filter(Boolean);
  return JSON.parse(lines[lines.length - 1] ?? 'null') as Record<string, unknown>;
}
