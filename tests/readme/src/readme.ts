// The README checker: reads the fenced code blocks of every README with a Markdown parser,
// runs each TypeScript/JavaScript block in its own Node process against the built packages
// (as a user's script would run after `npm install`), and provides the static checks the
// test file applies (install lines, links, `rnode` command lines).
//
// Fence info: ```ts [attributes]. Attributes (anything else is an error, so a typo cannot
// silently skip a block):
//   no-run          a fragment, a type declaration or an API listing: not executed
//   leak-free       after the block, tf.memory().numTensors must be 0
//   source=<path>   the block must equal that file (relative to the README), which its
//                   package's own tests exercise
//   call=<expr>     after the block, the runner awaits <expr> (a call of a function the block
//                   defines, with small arguments: `call=trainToy(10)`)
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Code, Nodes } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import ts from 'typescript';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const blockDir = resolve(dirname(fileURLToPath(import.meta.url)), '../.blocks');

/** Every README users read: the root one, the packages' and the apps' (published or not). */
export function readmes(): string[] {
  const out = ['README.md'];
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(root, group)).sort()) {
      const file = join(group, name, 'README.md');
      if (existsSync(join(root, file))) out.push(file);
    }
  }
  return out;
}

/** Whether the README ships in an npm tarball (npm always includes a package's README). */
export function isPublished(readme: string): boolean {
  if (readme === 'README.md') return false;
  const pkg = JSON.parse(readFileSync(join(root, dirname(readme), 'package.json'), 'utf8')) as { private?: boolean };
  return pkg.private !== true;
}

export interface Block {
  readme: string;
  line: number;
  lang: string;
  attrs: Map<string, string | true>;
  code: string;
}

export const KNOWN_ATTRS = new Set(['no-run', 'leak-free', 'source', 'call']);
const RUN_LANGS = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs', 'mts']);
export const isCode = (b: Block) => RUN_LANGS.has(b.lang);
export const isShell = (b: Block) => ['sh', 'bash', 'shell', 'console'].includes(b.lang);
export const isRunnable = (b: Block) => isCode(b) && !b.attrs.has('no-run');

export function markdown(readme: string): string {
  return readFileSync(join(root, readme), 'utf8');
}

/** The fenced and indented code blocks of a README, with the fence's language and attributes. */
export function blocks(readme: string): Block[] {
  const out: Block[] = [];
  const walk = (node: Nodes) => {
    if (node.type === 'code') {
      const c = node as Code;
      const attrs = new Map<string, string | true>();
      for (const word of (c.meta ?? '').split(/\s+/).filter(Boolean)) {
        const eq = word.indexOf('=');
        attrs.set(eq < 0 ? word : word.slice(0, eq), eq < 0 ? true : word.slice(eq + 1));
      }
      out.push({ readme, line: c.position?.start.line ?? 0, lang: c.lang ?? '', attrs, code: c.value });
    }
    if ('children' in node) for (const child of node.children) walk(child as Nodes);
  };
  walk(fromMarkdown(markdown(readme)));
  return out;
}

/** Link targets of the README (inline links, images and definitions). */
export function links(readme: string): Array<{ url: string; line: number }> {
  const out: Array<{ url: string; line: number }> = [];
  const walk = (node: Nodes) => {
    if (node.type === 'link' || node.type === 'image' || node.type === 'definition') out.push({ url: node.url, line: node.position?.start.line ?? 0 });
    if ('children' in node) for (const child of node.children) walk(child as Nodes);
  };
  walk(fromMarkdown(markdown(readme)));
  return out;
}

/** The package a bare import specifier names (`@a/b/c` → `@a/b`), or null for Node builtins and relative paths. */
export function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return null;
  if (builtinModules.includes(specifier.split('/')[0]!)) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Module specifiers a block imports (static and dynamic imports, `declare module` excluded). */
export function imports(code: string): string[] {
  return ts.preProcessFile(code, true, true).importedFiles.map((f) => f.fileName);
}

/** The packages named by the install lines (`npm install …`, `pnpm add …`) of the README's shell blocks. */
export function installed(bs: Block[]): Set<string> {
  const out = new Set<string>();
  for (const b of bs.filter(isShell)) {
    for (const line of b.code.split('\n')) {
      const m = /\b(?:npm (?:install|i|add)|pnpm add|yarn add)\s+([^#&;|]*)/.exec(line);
      if (!m) continue;
      for (const word of m[1]!.trim().split(/\s+/)) {
        if (!word || word.startsWith('-')) continue;
        const at = word.indexOf('@', 1);
        out.add(at < 0 ? word : word.slice(0, at));
      }
    }
  }
  return out;
}

/** The tfjs package a backend needs, by the name given to `useBackend` or by the rnode subpath imported. */
export const BACKEND_PACKAGES: Record<string, string> = {
  cpu: '@tensorflow/tfjs-backend-cpu',
  wasm: '@tensorflow/tfjs-backend-wasm',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  tensorflow: '@tensorflow/tfjs-node',
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
};

/** Backend names a block passes to `useBackend` (string literals, also inside a fallback list). */
export function backendsUsed(code: string): string[] {
  const out: string[] = [];
  for (const m of code.matchAll(/useBackend\(\s*(\[[^\]]*\]|'[^']*'|"[^"]*")/g)) {
    for (const s of m[1]!.matchAll(/['"]([^'"]+)['"]/g)) out.push(s[1]!);
  }
  return out;
}

/** The non-optional peer dependencies of a workspace package (null when it is not one of ours). */
export function requiredPeers(name: string): string[] | null {
  for (const group of ['packages', 'apps']) {
    for (const dir of readdirSync(join(root, group))) {
      const file = join(root, group, dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as {
        name: string;
        peerDependencies?: Record<string, string>;
        peerDependenciesMeta?: Record<string, { optional?: boolean }>;
      };
      if (pkg.name !== name) continue;
      return Object.keys(pkg.peerDependencies ?? {}).filter((p) => !pkg.peerDependenciesMeta?.[p]?.optional);
    }
  }
  return null;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  file: string;
}

/**
 * Run one block: TypeScript's transpiler turns it into an ES module (types erased, nothing
 * else changed), written under tests/readme/.blocks so that its bare imports resolve to the
 * workspace packages' published entry points (dist), then `node` runs it in a fresh process.
 */
export function runBlock(b: Block, timeoutMs = 110_000): Promise<RunResult> {
  mkdirSync(blockDir, { recursive: true });
  const slug = b.readme.replace(/[/\\]/g, '_').replace(/\.md$/, '');
  const file = join(blockDir, `${slug}-L${b.line}.mjs`);
  let js = ts.transpileModule(b.code, {
    fileName: `${slug}-L${b.line}.ts`,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
  }).outputText;
  const call = b.attrs.get('call');
  if (typeof call === 'string') js += `\nawait (${call});\n`;
  if (b.attrs.has('leak-free')) {
    js += `\n;{ const __n = (await import('@tensorflow/tfjs-core')).memory().numTensors;
  if (__n !== 0) { console.error('leak-free block left ' + __n + ' tensors'); process.exit(3); } }\n`;
  }
  writeFileSync(file, js);
  return new Promise((done) => {
    execFile(process.execPath, [file], { cwd: blockDir, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      done({ code, stdout, stderr, file: relative(root, file) });
    });
  });
}

/** `rnode …` invocations in a shell block: the command and the flags it passes. */
export function rnodeCommands(b: Block): Array<{ line: number; command: string; args: string[] }> {
  const out: Array<{ line: number; command: string; args: string[] }> = [];
  b.code.split('\n').forEach((text, i) => {
    for (const part of text.replace(/(^|\s)#.*$/, '').split(/&&|;|\|/)) {
      const m = /(?:^|\s)rnode\s+(\S+)(.*)$/.exec(part);
      if (m) out.push({ line: b.line + 1 + i, command: m[1]!, args: m[2]!.trim().split(/\s+/).filter(Boolean) });
    }
  });
  return out;
}

const helpCache = new Map<string, Promise<string>>();
/** `rnode <command> --help` of the built CLI. */
export function cliHelp(command: string): Promise<string> {
  let p = helpCache.get(command);
  if (!p) {
    const bin = join(root, 'apps/cli/dist/rnode.js');
    p = new Promise((done, fail) =>
      execFile(process.execPath, [bin, command, '--help'], { timeout: 60_000 }, (err, stdout, stderr) =>
        err && !stdout ? fail(new Error(`rnode ${command} --help failed: ${stderr || err.message}`)) : done(stdout),
      ),
    );
    helpCache.set(command, p);
  }
  return p;
}
