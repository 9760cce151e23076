// Every code block of every README: TypeScript/JavaScript blocks run (each alone, in its own
// Node process, on the built packages) unless their fence says `no-run`; imports and backends
// must be covered by the README's install line; published READMEs have no relative links;
// `rnode …` command lines use commands and flags the CLI knows.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BACKEND_PACKAGES,
  KNOWN_ATTRS,
  backendsUsed,
  blocks,
  cliHelp,
  imports,
  installed,
  isCode,
  isPublished,
  isRunnable,
  isShell,
  links,
  packageOf,
  readmes,
  requiredPeers,
  rnodeCommands,
  root,
  runBlock,
} from '../src/readme.js';

for (const readme of readmes()) {
  describe(readme, () => {
    const bs = blocks(readme);

    it('fences carry only known attributes', () => {
      for (const b of bs) {
        for (const key of b.attrs.keys()) expect(KNOWN_ATTRS.has(key), `${readme}:${b.line}: unknown fence attribute "${key}"`).toBe(true);
        if (b.attrs.size && !isCode(b)) expect.fail(`${readme}:${b.line}: attributes on a ${b.lang || 'plain'} block mean nothing`);
      }
    });

    for (const b of bs.filter(isRunnable)) {
      it(`runs the ${b.lang} block at line ${b.line}`, async () => {
        const r = await runBlock(b);
        expect(r.code, `${readme}:${b.line} (${r.file}) exited with ${r.code}. Mark fragments \`no-run\`.\n${r.stderr}`).toBe(0);
      });
    }

    for (const b of bs.filter((x) => typeof x.attrs.get('source') === 'string')) {
      it(`block at line ${b.line} is ${b.attrs.get('source')}`, () => {
        const file = join(root, dirname(readme), b.attrs.get('source') as string);
        expect(b.code).toBe(readFileSync(file, 'utf8').trimEnd());
      });
    }

    it('installs what its code imports and the backends it uses', () => {
      const code = bs.filter(isCode);
      if (!code.length) return;
      const have = installed(bs);
      const missing = new Set<string>();
      for (const b of code) {
        for (const spec of imports(b.code)) {
          const pkg = packageOf(spec);
          if (pkg && !have.has(pkg)) missing.add(`${pkg} (imported at line ${b.line})`);
          // @rnode/core/backends/<name> imports that backend's tfjs package statically.
          const sub = /^@rnode\/core\/backends\/(.+)$/.exec(spec)?.[1];
          const needs = sub ? BACKEND_PACKAGES[sub] : undefined;
          if (needs && !have.has(needs)) missing.add(`${needs} (${spec} at line ${b.line})`);
        }
        if (!isRunnable(b)) continue;
        for (const name of backendsUsed(b.code)) {
          if (name === 'auto') {
            if (!Object.values(BACKEND_PACKAGES).some((p) => have.has(p))) missing.add(`a backend package (useBackend('auto') at line ${b.line})`);
            continue;
          }
          const pkg = BACKEND_PACKAGES[name];
          // A fallback list needs one of its backends installed; a single name needs that one.
          if (pkg && !have.has(pkg) && !/useBackend\(\s*\[/.test(b.code)) missing.add(`${pkg} (useBackend('${name}') at line ${b.line})`);
        }
      }
      for (const pkg of have) {
        for (const peer of requiredPeers(pkg) ?? []) if (!have.has(peer)) missing.add(`${peer} (a peer of ${pkg})`);
      }
      expect([...missing], `${readme}: not in its install line`).toEqual([]);
    });

    if (isPublished(readme)) {
      it('has no relative links (they break on npm)', () => {
        const rel = links(readme).filter((l) => !/^(https?:|mailto:|#)/.test(l.url));
        expect(rel.map((l) => `${readme}:${l.line}: ${l.url}`)).toEqual([]);
      });
    }

    const commands = bs.filter(isShell).flatMap(rnodeCommands);
    if (commands.length) {
      it('rnode command lines use known commands and flags', async () => {
        const problems: string[] = [];
        const top = await cliHelp('');
        await Promise.all([...new Set(commands.map((c) => c.command))].filter((c) => top.includes(c)).map(cliHelp));
        for (const c of commands) {
          if (!new RegExp(`^\\s+${c.command}\\b`, 'm').test(top)) {
            problems.push(`${readme}:${c.line}: unknown command "rnode ${c.command}"`);
            continue;
          }
          const help = await cliHelp(c.command);
          for (const arg of c.args) {
            const flag = /^(--?[A-Za-z][\w-]*)/.exec(arg)?.[1];
            if (!flag || ['-h', '--help'].includes(flag)) continue;
            const known = new RegExp(`(^|[\\s,])${flag}(?![\\w-])`, 'm').test(help);
            if (!known) problems.push(`${readme}:${c.line}: "rnode ${c.command}" has no flag ${flag}`);
          }
        }
        expect(problems).toEqual([]);
      });
    }
  });
}
