#!/usr/bin/env bash
# Installs what the tests need from Debian when it is missing: chromium, whose
# SwiftShader Vulkan driver (vk_swiftshader_icd.json) lets the WebGPU tests run
# in Node without a GPU, the Vulkan loader, dataset-fashion-mnist (real IDX
# files in /usr/share/datasets/fashion-mnist/ for the image readers' tests), and
# redis-server (the distributed `rnode sweep --queue` test starts its own on a
# free port; the service the package may start is not used).
# Needs root (or sudo); without it, prints what to do and leaves the WebGPU
# tests to report the missing driver.
set -euo pipefail
ICD=/usr/lib/chromium/vk_swiftshader_icd.json
FASHION=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
if [ -f "$ICD" ] && [ -f "$FASHION" ] && ldconfig -p | grep -q libvulkan.so.1 && command -v redis-server >/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "install-system-deps: not root and no sudo: install Debian's chromium, libvulkan1, dataset-fashion-mnist and redis-server as root (WebGPU, image-reader and rnode sweep --queue tests)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium libvulkan1 dataset-fashion-mnist redis-server >/dev/null
test -f "$ICD" && echo "install-system-deps: chromium, libvulkan1, dataset-fashion-mnist and redis-server installed"
