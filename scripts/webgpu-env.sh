#!/usr/bin/env bash
# WebGPU in Node without a GPU: dawn.node (npm "webgpu") on Vulkan, with
# SwiftShader as the Vulkan driver. Debian/Ubuntu:
#   - chromium   ships SwiftShader's Vulkan ICD: /usr/lib/chromium/vk_swiftshader_icd.json
#   - libvulkan1 is the Vulkan loader (libvulkan.so.1); chromium does not depend on it
#
#   bash scripts/webgpu-env.sh --install   # as root (or with sudo): apt-get install both
#   source scripts/webgpu-env.sh           # exports VK_ICD_FILENAMES (if the ICD exists)
#   eval "$(bash scripts/webgpu-env.sh --print)"   # same, for CI steps
#
# Then: RNODE_BACKENDS=webgpu pnpm vitest run   (the test setup also sets
# VK_ICD_FILENAMES itself when it is unset and the file exists).
ICD=/usr/lib/chromium/vk_swiftshader_icd.json

_rnode_webgpu_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "webgpu-env: need root or sudo to install chromium libvulkan1" >&2; return 1; }
    sudo=sudo
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium libvulkan1 >/dev/null
}

_rnode_webgpu_check() {
  local ok=0
  [ -f "$ICD" ] || { echo "webgpu-env: $ICD missing (apt-get install chromium)" >&2; ok=1; }
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
    echo "webgpu-env: libvulkan.so.1 missing (apt-get install libvulkan1)" >&2; ok=1
  fi
  return $ok
}

case "${1:-}" in
  --install) _rnode_webgpu_install && _rnode_webgpu_check && echo "webgpu-env: ready: export VK_ICD_FILENAMES=$ICD" ;;
  --print) _rnode_webgpu_check && echo "export VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-$ICD}" ;;
  *)
    if _rnode_webgpu_check; then export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-$ICD}"; fi ;;
esac
