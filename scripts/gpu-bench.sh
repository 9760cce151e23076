#!/usr/bin/env bash
# WebGPU on a real GPU against wasm, in one table: toy2d-rnode, toy2d-ffjord and mnist-iter, each
# on both backends (rnode bench, one child process per backend), with the GPU work per iteration
# (dispatches, submits, uploads, readbacks) counted at the WebGPU API.
#
#   pnpm install && pnpm build                  # once
#   bash scripts/gpu-bench.sh                   # spec runs (mnist-iter: batch 200, ~10 min on wasm)
#   bash scripts/gpu-bench.sh --quick           # mnist-iter at batch 20, 1 iteration after 1 warm-up
#   bash scripts/gpu-bench.sh --out DIR         # JSON lines and the table in DIR (default gpu-bench-out/)
#
# Needs dawn.node's Vulkan path to reach the GPU: the Vulkan loader (libvulkan1) and the GPU's
# ICD. VK_ICD_FILENAMES is taken as given, else the NVIDIA ICD where it is installed; without one
# the script stops instead of measuring SwiftShader (a CPU emulation) as if it were a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=0
OUT=gpu-bench-out
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --out) OUT="$2"; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "gpu-bench: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$f" ]; then export VK_ICD_FILENAMES="$f"; break; fi
  done
fi
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  echo "gpu-bench: no GPU Vulkan ICD (looked for nvidia_icd.json); set VK_ICD_FILENAMES to your GPU's ICD" >&2
  exit 2
fi
BENCH=apps/bench/dist/bench.js
[ -f "$BENCH" ] || { echo "gpu-bench: $BENCH missing: run pnpm build first" >&2; exit 2; }
mkdir -p "$OUT"
LINES="$OUT/results.jsonl"
: > "$LINES"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$OUT/gpu.txt" 2>/dev/null || echo "unknown (no nvidia-smi)" > "$OUT/gpu.txt"
MNIST=()
[ "$QUICK" = 1 ] && MNIST=(--batch 20 --iterations 1 --warmup 1)
for w in toy2d-rnode toy2d-ffjord mnist-iter; do
  args=()
  [ "$w" = mnist-iter ] && args=("${MNIST[@]}")
  echo "gpu-bench: $w on webgpu and wasm ${args[*]:-}" >&2
  node "$BENCH" "$w" "${args[@]}" --backends webgpu,wasm --json >> "$LINES" || echo "gpu-bench: $w exited $? (see above)" >&2
done
node - "$LINES" "$OUT/gpu.txt" <<'JS' | tee "$OUT/table.md"
const fs = require('node:fs');
const [file, gpu] = process.argv.slice(2);
const rows = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const f = (v, d = 4) => (typeof v === 'number' ? v.toFixed(d) : '—');
const i = (v) => (typeof v === 'number' ? String(Math.round(v)) : '—');
console.log(`GPU: ${fs.readFileSync(gpu, 'utf8').trim()}; CPU: ${rows[0]?.cpu ?? '?'}; node ${rows[0]?.node ?? '?'}\n`);
console.log('| workload | backend | adapter | spec | s / iter | NFE f+b | dispatches | submits | uploads (KiB) | readbacks (KiB) |');
console.log('| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  const kib = (n, b) => (typeof n === 'number' ? `${i(n)} (${f(b / 1024, 1)})` : '—');
  console.log(`| ${r.workload} | ${r.backend} | ${r.gpu_adapter ?? '—'} | ${r.spec} | ${f(r.median_s_per_iter)} | ${i(r.nfe_forward)}+${i(r.nfe_backward)} | ${i(r.dispatches)} | ${i(r.submits)} | ${kib(r.uploads, r.upload_bytes)} | ${kib(r.readbacks, r.readback_bytes)} |`);
}
JS
