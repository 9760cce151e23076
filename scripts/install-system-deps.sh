#!/usr/bin/env bash
# Installs Debian's chromium when it is missing: its SwiftShader Vulkan driver
# (vk_swiftshader_icd.json) lets the WebGPU tests run in Node without a GPU.
# Needs root (or sudo); without it, prints what to do and leaves the WebGPU
# tests to report the missing driver.
set -euo pipefail
ICD=/usr/lib/chromium/vk_swiftshader_icd.json
if [ -f "$ICD" ]; then exit 0; fi
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "install-system-deps: $ICD is missing; install Debian's chromium package as root for the WebGPU tests" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
test -f "$ICD" && echo "install-system-deps: chromium installed ($ICD)"
