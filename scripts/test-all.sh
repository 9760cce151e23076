#!/usr/bin/env bash
# Everything CI checks: build, types, the API reference, the test matrix (cpu, wasm, webgpu on
# SwiftShader), package lint, and the consumer test (tests/consumer: the packed
# tarballs installed outside the workspace, used from Node and from a browser page
# in headless chromium, and the packed CLI run with npx). Run through
# `pnpm test:all` after `pnpm install`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
ICD=/usr/lib/chromium/vk_swiftshader_icd.json
backends=cpu,wasm
if [ -f "$ICD" ]; then
  export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-$ICD}"
  backends=cpu,wasm,webgpu
else
  echo "test-all: no SwiftShader Vulkan driver ($ICD): the webgpu test project is not run" >&2
fi
pnpm dedupe --check
pnpm run build
pnpm run typecheck
pnpm run lint:deps   # dependency-cruiser: the layer rules of docs/ARCHITECTURE.md
pnpm run docs:api    # TypeDoc, warnings are errors (broken {@link}s, unexported types)
RNODE_BACKENDS="${RNODE_BACKENDS:-$backends}" pnpm run test
pnpm run test:package
