#!/usr/bin/env bash
# Convert the exported demo model (models/demo, BF16 safetensors) into the committed GGUF with
# the engine's own quantizer. Run after export.py; test/demo checks the two stay in sync.
set -euo pipefail
cd "$(dirname "$0")/../.."
GEMMA_TS_FROM_SOURCE=1 node bin/gemma-ts.js quantize models/demo models/demo-q8_0.gguf --type q8_0
