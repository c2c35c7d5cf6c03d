#!/usr/bin/env bash
# The tables of results/proto/README.md, from the files score.py wrote: tables.sh RUNS_DIR SPLIT METHOD...
# (the first METHOD is the reference of the paired differences; the noise-augmented baseline in the README).
set -euo pipefail
RUNS=${1:?runs dir}; SPLIT=${2:?val or test}; shift 2
PY=".venv/bin/python"
AWGN="clean,24 dB,18 dB,12 dB,6 dB,0 dB,wander x1,wander x2"
UNSEEN="mains 50 Hz 18 dB,mains 50 Hz 6 dB,mains 50 Hz -6 dB,mains 60 Hz 18 dB,mains 60 Hz 6 dB,mains 60 Hz -6 dB,EMG 12 dB,EMG 6 dB,EMG 0 dB"
UNSEEN2="motion 0 dB,motion -6 dB,motion -12 dB,steps x2,steps x4,steps x8,pink 12 dB,pink 6 dB,pink 0 dB,brown 0 dB,brown -6 dB,brown -12 dB"
for labels in "$AWGN" "$UNSEEN" "$UNSEEN2"; do
  $PY scripts/proto/compare.py "$RUNS/$SPLIT" --methods "$@" --reference "$1" --labels "$labels" --n-boot 1000
done
$PY scripts/proto/compare.py "$RUNS/$SPLIT" --methods "$@" --reference "$1" --labels "clean,12 dB,6 dB,0 dB" \
  --metric auroc_macro_ovr --n-boot 1000
