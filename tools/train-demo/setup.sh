#!/bin/sh
# Installs the Debian packages the demo-model training tool needs, and nothing else.
# Run as root on Debian 12 (bookworm). The scripts run with Debian's own /usr/bin/python3.
#   python3-torch         PyTorch 1.13 (CPU)
#   python3-sentencepiece SentencePiece 0.1.97 (trainer and encoder)
#   libopenblas0-openmp   optimised BLAS: torch links the system libblas.so.3, and with
#                         Debian's reference BLAS a training step is ~20x slower
#   bible-kjv, bible-kjv-text  the King James Bible and the `bible` program that prints it
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  python3-torch python3-sentencepiece libopenblas0-openmp bible-kjv bible-kjv-text
# libopenblas0-openmp registers itself as the highest-priority libblas.so.3 alternative;
# say which one is in use so that a slow run is easy to diagnose.
update-alternatives --query libblas.so.3-x86_64-linux-gnu | grep -E '^Value:' || true
