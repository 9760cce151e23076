#!/usr/bin/env node
// Compiles one AssemblyScript kernel source of a package twice — `simd` (f32x4 mul + add) and
// `relaxed` (f32x4.relaxed_madd, --enable relaxed-simd) — and writes both binaries as base64
// strings to a generated TypeScript module (committed). Deterministic: same source and compiler,
// same bytes. The packages' `build:kernels` scripts call it:
//
//   node scripts/build-wasm-kernels.mjs --package packages/models --source assembly/cnf-mlp.ts \
//     --name CNF_MLP_WASM --out src/kernels/cnf-mlp-wasm.generated.ts
//   … --out-dir DIR    write DIR/<basename of --out> instead
//   … --wasm-dir DIR   also write the .wasm and .wat files to DIR
//   … --check          write nothing; exit 1 when the committed file differs from a fresh build
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

function arg(name, required = false) {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (required && !v) {
    console.error(`build-wasm-kernels: missing ${name} (see the header of scripts/build-wasm-kernels.mjs)`);
    process.exit(2);
  }
  return v;
}

const pkg = resolve(repo, arg('--package', true));
const source = arg('--source', true);
const name = arg('--name', true);
const out = arg('--out', true);

const COMMON = ['-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd'];
const VARIANTS = {
  simd: COMMON,
  relaxed: [...COMMON, '--enable', 'relaxed-simd'],
};

async function compile(flags, withText) {
  const files = {};
  const stderr = [];
  const argv = [source, ...flags, '--outFile', 'out.wasm', ...(withText ? ['--textFile', 'out.wat'] : [])];
  const { error } = await asc.main(argv, {
    stdout: { write: () => {} },
    stderr: { write: (s) => stderr.push(String(s)) },
    readFile: (file, baseDir) => {
      try {
        return readFileSync(join(baseDir, file), 'utf8');
      } catch {
        return null;
      }
    },
    writeFile: (file, contents) => {
      files[file] = contents;
    },
    listFiles: () => [],
  });
  if (error) throw new Error(`asc failed (${flags.join(' ')}):\n${stderr.join('')}\n${error.message}`);
  return files;
}

const outDirArg = arg('--out-dir');
const outFile = outDirArg ? join(resolve(outDirArg), basename(out)) : join(pkg, out);
const wasmDir = arg('--wasm-dir');
process.chdir(pkg);
const { version } = JSON.parse(readFileSync(join(repo, 'node_modules/assemblyscript/package.json'), 'utf8'));
const stem = basename(source, '.ts');
const pkgRel = relative(repo, pkg);

const lines = [
  '// GENERATED FILE, do not edit. Regenerate with `pnpm build:kernels` in this package',
  `// (scripts/build-wasm-kernels.mjs) from ${pkgRel}/${source}`,
  `// with AssemblyScript ${version}.`,
  '',
];
for (const [variant, flags] of Object.entries(VARIANTS)) {
  const files = await compile(flags, Boolean(wasmDir));
  const bin = files['out.wasm'];
  if (!(bin instanceof Uint8Array)) throw new Error(`asc produced no binary for ${variant}`);
  if (wasmDir) {
    mkdirSync(wasmDir, { recursive: true });
    writeFileSync(join(wasmDir, `${stem}.${variant}.wasm`), bin);
    writeFileSync(join(wasmDir, `${stem}.${variant}.wat`), files['out.wat']);
  }
  const b64 = Buffer.from(bin).toString('base64');
  lines.push(`/** asc ${flags.join(' ')} (${bin.length} bytes) */`);
  lines.push(`export const ${name}_${variant.toUpperCase()} =`);
  // 100-character chunks keep the file diffable
  const chunks = b64.match(/.{1,100}/g) ?? [];
  chunks.forEach((c, i) => lines.push(`  '${c}'${i === chunks.length - 1 ? ';' : ' +'}`));
  lines.push('');
}
if (process.argv.includes('--check')) {
  let committed = null;
  try {
    committed = readFileSync(outFile, 'utf8');
  } catch {
    // missing: stale
  }
  if (committed !== lines.join('\n')) {
    console.error(`stale: ${relative(repo, outFile)} is not what ${pkgRel}/${source} builds; run \`pnpm build:kernels\` in ${pkgRel}`);
    process.exit(1);
  }
  console.log(`current: ${relative(repo, outFile)}`);
  process.exit(0);
}
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, lines.join('\n'));
console.log(`wrote ${relative(process.cwd(), outFile).startsWith('..') ? outFile : relative(process.cwd(), outFile)}`);
