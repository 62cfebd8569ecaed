#!/usr/bin/env bash
# WebGPU benchmark on a real GPU: Dawn (npm `webgpu`) over the vendor's Vulkan driver, Gemma 3
# 270M and 1B shapes with random Q8_0 / Q4_0 weights; prints prefill and decode tokens/s and
# decode bandwidth as a fraction of the GPU's memory-bandwidth roofline (bench.ts).
#
# The GPU machine has no npm and no network, so this runs in two steps:
#   here:   bench/gpu/gpu-bench.sh pack
#           -> .gpu-bench/ (git-ignored): the benchmark bundled into one file, Dawn's binary,
#              a node binary and the Vulkan loader package, xz-compressed (about 30 MB)
#   there:  bench/gpu/gpu-bench.sh run [bench.ts flags]      (carry .gpu-bench)
#           unpacks into /tmp, uses the system node >= 20 if any, the system Vulkan loader if
#           any, finds NVIDIA's ICD, and runs with a 7-minute budget (whole run < 8 min).
#           Results: stdout, and gpu-bench.log / gpu-bench.json in $OUT when set.
# Try `run` here on a CPU driver (GPU_BENCH_BUNDLED_NODE=1 / GPU_BENCH_BUNDLED_VULKAN=1 force the
# packed node / Vulkan loader):  bench/gpu/gpu-bench.sh run --icd lavapipe --models tiny --prompt 64 --gen 16
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PACK="$ROOT/.gpu-bench"

pack() {
  cd "$ROOT"
  mkdir -p "$PACK/webgpu"
  grep -qx '/.gpu-bench/' .git/info/exclude 2>/dev/null || echo '/.gpu-bench/' >> .git/info/exclude
  npx esbuild bench/gpu/bench.ts --bundle --platform=node --format=esm --target=node20 \
    --external:webgpu --log-level=warning --outfile="$PACK/bench.mjs"
  cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$PACK/webgpu/"
  [ -s "$PACK/dawn.node.xz" ] || xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$PACK/dawn.node.xz"
  [ -s "$PACK/node.xz" ] || xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > "$PACK/node.xz"
  # the Vulkan loader, and the GL vendor-neutral dispatch libraries that NVIDIA's Vulkan ICD
  # (libGLX_nvidia.so.0) links against; a bare GPU machine may have neither
  for p in libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2; do
    if ! ls "$PACK"/${p}_*.deb >/dev/null 2>&1; then
      (cd "$PACK" && apt-get download -q "$p" >/dev/null 2>&1) || { echo "gpu-bench: apt-get download $p failed" >&2; exit 1; }
    fi
  done
  du -sh "$PACK"
}

run() {
  [ -s "$PACK/bench.mjs" ] || { echo "gpu-bench: $PACK is missing: run 'bench/gpu/gpu-bench.sh pack' first and carry .gpu-bench" >&2; exit 1; }
  local W=/tmp/gpu-bench
  rm -rf "$W"
  mkdir -p "$W/node_modules/webgpu/dist/linux-x64" "$W/bin"
  cp "$PACK/bench.mjs" "$W/"
  cp "$PACK/webgpu/index.js" "$PACK/webgpu/package.json" "$W/node_modules/webgpu/"
  xz -dc "$PACK/dawn.node.xz" > "$W/node_modules/webgpu/dist/linux-x64/dawn.node"
  local NODE=node
  if [ -n "${GPU_BENCH_BUNDLED_NODE:-}" ] || ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    xz -dc "$PACK/node.xz" > "$W/bin/node" && chmod +x "$W/bin/node" && NODE="$W/bin/node"
  fi
  if [ -n "${GPU_BENCH_BUNDLED_VULKAN:-}" ] || ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
    dpkg -x "$PACK"/libvulkan1_*.deb "$W/vk"
    export LD_LIBRARY_PATH="$W/vk/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  if command -v nvidia-smi >/dev/null 2>&1 && ! ldconfig -p 2>/dev/null | grep -q 'libGLdispatch.so.0'; then
    # NVIDIA's ICD cannot start without libglvnd ("Could not get vkCreateInstance ... libGLX_nvidia")
    for f in "$PACK"/libglvnd0_*.deb "$PACK"/libglx0_*.deb "$PACK"/libegl1_*.deb "$PACK"/libgl1_*.deb "$PACK"/libopengl0_*.deb "$PACK"/libgles2_*.deb; do
      if [ -w / ]; then dpkg -x "$f" /; else dpkg -x "$f" "$W/vk"; fi
    done
    if [ -w / ]; then ldconfig; else export LD_LIBRARY_PATH="$W/vk/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
  fi
  if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ] && [[ " $* " != *" --icd "* ]]; then
    for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
      if [ -f "$f" ]; then export VK_DRIVER_FILES="$f"; break; fi
    done
  fi
  local out="${OUT:-$W}"
  GPU_NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)
  [ -n "$GPU_NAME" ] && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  echo "node $("$NODE" -v); Vulkan ICD ${VK_DRIVER_FILES:-${VK_ICD_FILENAMES:-default}}"
  cd "$W"
  GPU_NAME="$GPU_NAME" timeout 450 "$NODE" bench.mjs --budget-s 400 "$@" --json "$out/gpu-bench.json" 2>&1 | tee "$out/gpu-bench.log"
}

case "${1:-}" in
  pack) pack ;;
  run) shift; run "$@" ;;
  *) echo "usage: bench/gpu/gpu-bench.sh pack | run [--models 270m,1b] [--quants q8_0,q4_0] [--prompt 512] [--gen 128] [--icd ...]" >&2; exit 2 ;;
esac
