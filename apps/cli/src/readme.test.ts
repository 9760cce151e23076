import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { rnode } from './testing/run.js';

// The README's examples are true: its files are written into an empty folder and every
// `rnode …` line of its sh blocks runs there, in order, and exits 0. Blocks after a
// `<!-- not run by the tests: … -->` line (npm install, downloads) are skipped.
const APP = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(APP, 'README.md'), 'utf8');

interface Block {
  lang: string;
  code: string;
  marker: string | null;
}
// (That a block with `source=` equals its file is checked by tests/readme, for every README.)
const blocks: Block[] = [...README.matchAll(/(?:<!--\s*(.*?)\s*-->\n)?```(\w+)[^\n]*\n([\s\S]*?)```/g)].map((m) => ({ marker: m[1] ?? null, lang: m[2]!, code: m[3]! }));
const fileName = (b: Block) => /^file: (\S+)/.exec(b.marker ?? '')?.[1];
const skipped = (b: Block) => (b.marker ?? '').startsWith('not run by the tests');

// Under apps/cli/.tmp (git-ignored) so that the plugin module resolves @rnode/* as in a project.
mkdirSync(join(APP, '.tmp'), { recursive: true });
const dir = mkdtempSync(join(APP, '.tmp', 'readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README.md', () => {
  test('every rnode command of its sh blocks runs and exits 0', () => {
    for (const b of blocks) {
      const name = fileName(b);
      if (name) writeFileSync(join(dir, name), b.code);
    }
    const commands = blocks
      .filter((b) => b.lang === 'sh' && !skipped(b))
      .flatMap((b) => b.code.split('\n'))
      .filter((l) => l.startsWith('rnode '));
    expect(commands.length).toBeGreaterThan(12);
    for (const line of commands) {
      const args = line.replace(/\s+#.*$/, '').split(/\s+/).slice(1);
      const r = rnode(args, { cwd: dir });
      expect(r.code, `${line}\n${r.stderr}`).toBe(0);
    }
    for (const f of ['samples.csv', 'samples.png', 'figures/density.png', 'out/ralston2/run.json', 'out/from-config/last.json', 'out/ke-sum/last.json']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
  });

  test('the skipped blocks are only installs and downloads', () => {
    const skippedLines = blocks.filter(skipped).flatMap((b) => b.code.trim().split('\n'));
    expect(skippedLines.every((l) => l.startsWith('npm install') || l.startsWith('npx rnode') || / --data(-dir)? data\/mnist| download /.test(` ${l}`))).toBe(true);
  });
});
