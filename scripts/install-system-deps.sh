#!/usr/bin/env bash
# Installs what the tests need from Debian when it is missing: chromium, whose
# SwiftShader Vulkan driver (vk_swiftshader_icd.json) lets the WebGPU tests run
# in Node without a GPU, the Vulkan loader, and dataset-fashion-mnist (real IDX
# files in /usr/share/datasets/fashion-mnist/ for the image readers' tests).
# Needs root (or sudo); without it, prints what to do and leaves the WebGPU
# tests to report the missing driver.
set -euo pipefail
ICD=/usr/lib/chromium/vk_swiftshader_icd.json
FASHION=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
if [ -f "$ICD" ] && [ -f "$FASHION" ] && ldconfig -p | grep -q libvulkan.so.1; then exit 0; fi
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "install-system-deps: $ICD is missing; install Debian's chromium package as root for the WebGPU tests" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium libvulkan1 dataset-fashion-mnist >/dev/null
test -f "$ICD" && echo "install-system-deps: chromium, libvulkan1 and dataset-fashion-mnist installed"
