#!/usr/bin/env node
// Compiles assembly/cnf-mlp.ts with AssemblyScript twice — `simd` (f32x4 mul + add) and
// `relaxed` (f32x4.relaxed_madd, --enable relaxed-simd) — and writes both binaries as base64
// strings to src/kernels/cnf-mlp-wasm.generated.ts (committed). Deterministic: same source and
// compiler, same bytes.
//
//   node scripts/build-kernels.mjs                 # (pnpm --filter @rnode/models build:kernels)
//   node scripts/build-kernels.mjs --out-dir DIR   # write DIR/cnf-mlp-wasm.generated.ts instead
//   node scripts/build-kernels.mjs --wasm-dir DIR  # also write the .wasm and .wat files to DIR
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = 'assembly/cnf-mlp.ts';
const OUT_NAME = 'cnf-mlp-wasm.generated.ts';

const COMMON = ['-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd'];
const VARIANTS = {
  simd: COMMON,
  relaxed: [...COMMON, '--enable', 'relaxed-simd'],
};

function arg(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function compile(flags, withText) {
  const files = {};
  const stderr = [];
  const argv = [SOURCE, ...flags, '--outFile', 'out.wasm', ...(withText ? ['--textFile', 'out.wat'] : [])];
  const { error } = await asc.main(argv, {
    stdout: { write: () => {} },
    stderr: { write: (s) => stderr.push(String(s)) },
    readFile: (name, baseDir) => {
      try {
        return readFileSync(join(baseDir, name), 'utf8');
      } catch {
        return null;
      }
    },
    writeFile: (name, contents) => {
      files[name] = contents;
    },
    listFiles: () => [],
  });
  if (error) throw new Error(`asc failed (${flags.join(' ')}):\n${stderr.join('')}\n${error.message}`);
  return files;
}

const outDir = arg('--out-dir') ?? join(root, 'src/kernels');
const wasmDir = arg('--wasm-dir');
process.chdir(root);
const { version } = JSON.parse(readFileSync(join(root, 'node_modules/assemblyscript/package.json'), 'utf8'));

const lines = [
  '// GENERATED FILE, do not edit. Regenerate with `pnpm --filter @rnode/models build:kernels`',
  `// (node packages/models/scripts/build-kernels.mjs) from packages/models/${SOURCE}`,
  `// with AssemblyScript ${version}. Checked by src/kernels/cnf-mlp.test.ts.`,
  '',
];
for (const [name, flags] of Object.entries(VARIANTS)) {
  const files = await compile(flags, Boolean(wasmDir));
  const bin = files['out.wasm'];
  if (!(bin instanceof Uint8Array)) throw new Error(`asc produced no binary for ${name}`);
  if (wasmDir) {
    mkdirSync(wasmDir, { recursive: true });
    writeFileSync(join(wasmDir, `cnf-mlp.${name}.wasm`), bin);
    writeFileSync(join(wasmDir, `cnf-mlp.${name}.wat`), files['out.wat']);
  }
  const b64 = Buffer.from(bin).toString('base64');
  lines.push(`/** asc ${flags.join(' ')} (${bin.length} bytes) */`);
  lines.push(`export const CNF_MLP_WASM_${name.toUpperCase()} =`);
  // 100-character chunks keep the file diffable
  const chunks = b64.match(/.{1,100}/g) ?? [];
  chunks.forEach((c, i) => lines.push(`  '${c}'${i === chunks.length - 1 ? ';' : ' +'}`));
  lines.push('');
}
mkdirSync(outDir, { recursive: true });
const outFile = join(outDir, OUT_NAME);
writeFileSync(outFile, lines.join('\n'));
const rel = relative(root, outFile);
console.log(`wrote ${rel.startsWith('..') ? outFile : rel}`);
