// A fresh user project in the OS temp dir, outside the workspace (so no workspace
// node_modules can be found by walking up): the libraries come only from tarballs
// packed now, tfjs from the npm registry. Nothing of it is kept between runs.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures');

/** What users install next to the libraries: tfjs-core, the backends, dawn.node for WebGPU in Node. */
const catalog = readFileSync(join(ROOT, 'pnpm-workspace.yaml'), 'utf8');
const pin = (name: string) => {
  const m = new RegExp(`^\\s*'${name.replace(/[/\\^$*+?.()|[\]{}]/g, '\\$&')}':\\s*(\\S+)`, 'm').exec(catalog);
  if (!m) throw new Error(`no catalog pin for ${name} in pnpm-workspace.yaml`);
  return `${name}@${m[1]}`;
};
export const USER_DEPS = [
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-backend-webgpu',
  'webgpu',
].map(pin);

/** The workspace's packages/* that are publishable (not private). */
export function publishable(): { dir: string; name: string }[] {
  return readdirSync(join(ROOT, 'packages'))
    .sort()
    .map((d) => ({ dir: join(ROOT, 'packages', d), pkg: JSON.parse(readFileSync(join(ROOT, 'packages', d, 'package.json'), 'utf8')) }))
    .filter(({ pkg }) => !pkg.private)
    .map(({ dir, pkg }) => ({ dir, name: pkg.name as string }));
}

/** pnpm as the running script was started (pnpm run sets npm_execpath), else the pinned one through npx. */
function pnpm(): [string, string[]] {
  const p = process.env.npm_execpath;
  if (p && basename(p).startsWith('pnpm')) return p.endsWith('.js') || p.endsWith('.cjs') ? [process.execPath, [p]] : [p, []];
  const pm = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).packageManager as string;
  return ['npx', ['--yes', pm]];
}

export async function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeout = 300_000) {
  try {
    return await exec(cmd, args, { cwd, timeout, maxBuffer: 64 << 20, env: { ...process.env, npm_config_yes: 'true', ...env } });
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}

/** Pack `dirs` with pnpm (workspace:/catalog: ranges rewritten as on publish) into `dest`; returns the tarball paths. */
export async function pack(dirs: string[], dest: string): Promise<string[]> {
  const [cmd, pre] = pnpm();
  const out: string[] = [];
  for (const dir of dirs) {
    const before = new Set(readdirSync(dest));
    await run(cmd, [...pre, 'pack', '--pack-destination', dest], dir);
    const made = readdirSync(dest).filter((f) => f.endsWith('.tgz') && !before.has(f));
    if (made.length !== 1) throw new Error(`pnpm pack in ${dir} made ${made.length} tarballs: ${made.join(', ')}`);
    out.push(join(dest, made[0]!));
  }
  return out;
}

/** The CLI, packed and installed like the libraries (its @rnode dependencies resolve to their tarballs). */
export const CLI_DIR = join(ROOT, 'apps', 'cli');

export interface Project {
  dir: string;
  /** The libraries' tarballs, in publishable() order. */
  tarballs: string[];
  cliTarball: string;
}

/** Packs every publishable library, installs them with npm into a new temp project and copies the fixtures in. */
export async function createProject(): Promise<Project> {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'rnode-consumer-')));
  if (dir.startsWith(ROOT)) throw new Error(`temp project ${dir} is inside the workspace`);
  const packs = join(dir, 'tarballs');
  mkdirSync(packs);
  const tarballs = await pack(publishable().map((p) => p.dir), packs);
  const [cliTarball] = await pack([CLI_DIR], packs);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'rnode-consumer', private: true, version: '0.0.0' }, null, 2));
  // npm, not pnpm: what most users run; --prefer-online so a stale cache entry cannot stand in for the registry.
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefer-online', ...tarballs, cliTarball!, ...USER_DEPS], dir);
  cpSync(FIXTURES, dir, { recursive: true });
  // The plugin module of the CLI README (tests/readme keeps the two equal).
  cpSync(join(CLI_DIR, 'src', 'examples', 'my-plugins.mjs'), join(dir, 'my-plugins.mjs'));
  return { dir, tarballs, cliTarball: cliTarball! };
}
