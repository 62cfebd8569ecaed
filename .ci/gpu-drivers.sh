#!/usr/bin/env bash
# Install the CPU Vulkan drivers the WebGPU tests run on (Dawn via the npm package `webgpu`):
#   - SwiftShader, shipped inside Debian's `chromium` package
#       ICD: /usr/lib/chromium/vk_swiftshader_icd.json      (no shader-f16; f32 path)
#   - Mesa 25 lavapipe, `mesa-vulkan-drivers` from bookworm-backports
#       ICD: /usr/share/vulkan/icd.d/lvp_icd.json           (shader-f16 + subgroups)
#     (Debian 12's stock Mesa 22 lavapipe is rejected by Dawn, hence backports.)
# Idempotent and quiet: does nothing when both ICDs are present; apt output goes to a log
# that is printed only when something fails. Needs root (or sudo) and Debian 12 (bookworm).
set -euo pipefail

SWIFTSHADER_ICD=/usr/lib/chromium/vk_swiftshader_icd.json
LAVAPIPE_ICD=/usr/share/vulkan/icd.d/lvp_icd.json
BACKPORTS_LIST=/etc/apt/sources.list.d/bookworm-backports.list

lavapipe_is_new() {
  # mesa-vulkan-drivers >= 25 (Dawn rejects Mesa 22's lavapipe)
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [[ -n "$v" ]] && dpkg --compare-versions "$v" ge 25 && [[ -f "$LAVAPIPE_ICD" ]]
}

if [[ -f "$SWIFTSHADER_ICD" ]] && lavapipe_is_new; then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

. /etc/os-release
if [[ "${VERSION_CODENAME:-}" != "bookworm" ]]; then
  echo "gpu-drivers.sh: expected Debian 12 (bookworm), found ${PRETTY_NAME:-unknown}; install chromium and Mesa >= 25 lavapipe by hand" >&2
  exit 1
fi

LOG=$(mktemp /tmp/gpu-drivers.XXXXXX.log)
run() {
  if ! "$@" >>"$LOG" 2>&1; then
    echo "gpu-drivers.sh: failed: $*" >&2
    tail -n 40 "$LOG" >&2
    exit 1
  fi
}
export DEBIAN_FRONTEND=noninteractive

if [[ ! -f "$BACKPORTS_LIST" ]] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' | $SUDO tee "$BACKPORTS_LIST" >/dev/null
fi
run $SUDO apt-get update -q
pkgs=()
[[ -f "$SWIFTSHADER_ICD" ]] || pkgs+=(chromium)
if ((${#pkgs[@]})); then
  # with its recommends (fonts etc.): the browser tests use this chromium too
  run $SUDO apt-get install -y -q "${pkgs[@]}"
fi
if ! lavapipe_is_new; then
  run $SUDO apt-get install -y -q --no-install-recommends -t bookworm-backports mesa-vulkan-drivers
fi

for icd in "$SWIFTSHADER_ICD" "$LAVAPIPE_ICD"; do
  [[ -f "$icd" ]] || { echo "gpu-drivers.sh: $icd missing after install" >&2; exit 1; }
done
rm -f "$LOG"
