// The TypeScript blocks of the READMEs type-check as a user's code would against the
// packages' types (plugin names are literal types, options are exact), not only run.
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { blocks, readmes, root, type Block } from '../src/readme.js';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(here, '.blocks', 'typecheck');
const isTs = (b: Block) => ['ts', 'typescript', 'mts'].includes(b.lang) && !b.attrs.has('no-run');

it('every runnable TypeScript block of every README type-checks', async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const where = new Map<string, { readme: string; line: number }>();
  for (const readme of readmes()) {
    for (const b of blocks(readme).filter(isTs)) {
      const name = `${readme.replace(/[^\w]+/g, '-')}-L${b.line}.ts`;
      // A module of its own (top-level await, no globals shared between blocks).
      writeFileSync(join(dir, name), `${b.code}\nexport {};\n`);
      files.push(name);
      where.set(name, { readme, line: b.line });
    }
  }
  expect(files.length).toBeGreaterThan(5);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: join(root, 'tsconfig.base.json'),
      compilerOptions: { noEmit: true, types: ['node'], skipLibCheck: true },
      files,
    }),
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const out = await new Promise<{ code: number; text: string }>((res) =>
    execFile(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: dir, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, text: `${stdout}${stderr}` }),
    ),
  );
  // Name the README and line, not the generated file.
  const text = out.text.replace(/^([\w.-]+\.ts)\((\d+),(\d+)\)/gm, (m, f: string, l: string, c: string) => {
    const w = where.get(f);
    return w ? `${w.readme}:${w.line + Number(l)}:${c}` : m; // the fence is line w.line; the code starts on the next
  });
  expect(out.code, text).toBe(0);
}, 180_000);
