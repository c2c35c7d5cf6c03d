#!/bin/sh
# Split-to-split variation (experiments/splits/README.md): the chosen DACL config (second
# sweep: τ 0.05, t_max 200, K 2, VAE 30 + encoder 10 epochs) trained and scored on record-level
# splits other than the dev split (seed 0), each against scattering + LR with the paired
# bootstrap difference of `dacl evaluate`. Run from the repository root:
#
#   experiments/splits/run.sh FEATURES_DIR [RUNS_DIR] [SEED ...]
#   experiments/splits/run.sh FEATURES_DIR RUNS_DIR --baseline-only SEED ...   # scattering + LR only
#   experiments/splits/run.sh FEATURES_DIR RUNS_DIR --gauss SEED ...           # Gaussian views vs DACL
#
# Evaluations go to experiments/splits/splitS (experiments/gauss-vs-dacl/gauss_splitS with
# --gauss); one whose metrics.json is there is not computed again (remove it to recompute).
# --gauss trains contrastive + Gaussian views with the same sizes, temperature and seed
# (the paper's augmentation baseline; gauss.sigma 0.5) and scores it paired against DACL on
# the same split (the DACL run first, so its difference is gauss − DACL).
#
# Each split is a view of FEATURES_DIR (its shards symlinked, manifest and records.csv
# copied) re-split with `dacl split --seed S`. CPU, one torch thread per run, two runs at
# a time; about 5 min per run (training + evaluation) on a quiet 2-core machine.
set -eu
FEATURES=${1:?usage: experiments/splits/run.sh FEATURES_DIR [RUNS_DIR] [SEED ...]}
R=${2:-runs/splits}
HERE=$(dirname "$0")
shift $(( $# < 2 ? $# : 2 ))
MODE=dacl
case "${1:-}" in
  --baseline-only) MODE=baseline; shift ;;
  --gauss) MODE=gauss; shift ;;
esac
SEEDS=${*:-1 2 3 4}
mkdir -p "$R/logs"
FEATURES=$(cd "$FEATURES" && pwd)
view() {  # view SEED: the split-S view of FEATURES
  d="$R/features_split$1"
  if [ ! -f "$d/manifest.json" ]; then
    mkdir -p "$d"
    ln -sfn "$FEATURES/shards" "$d/shards"
    cp "$FEATURES/manifest.json" "$FEATURES/records.csv" "$d/"
    .venv/bin/dacl split --seed "$1" "$d" > "$R/logs/split$1.log"
  fi
  echo "$d"
}
SIZES="--set vae.epochs=30 --set encoder.epochs=10 --set diffusion.t_max=200 --set encoder.temperature=0.05"
fit() {  # fit METHOD SEED FEATURES: train METHOD on that split unless done
  n="$(echo "$1" | cut -d- -f1)_split$2"
  [ -f "$R/$n/model.pt" ] || OMP_NUM_THREADS=1 .venv/bin/dacl train --config configs/dacl.toml --features "$3" \
    --device cpu --no-progress --set train.threads=1 --method "$1" $SIZES --out "$R/$n" > "$R/logs/$n.log" 2>&1
}
score() {  # score OUT FEATURES [ARGS...]: dacl evaluate into the folder OUT unless done (metrics.json only)
  out=$1 f=$2; shift 2
  [ -f "$out/metrics.json" ] && return 0
  OMP_NUM_THREADS=1 .venv/bin/dacl evaluate "$@" --features "$f" \
    --n-boot 1000 --no-report --out "$out" > "$R/logs/eval_$(basename "$out").log" 2>&1
  rm -f "$out"/embeddings_*.npz  # keep the repository small
}
train() {  # train SEED: what MODE asks for on split SEED
  f=$(view "$1")
  case $MODE in
    baseline) score "$HERE/split$1" "$f" --baseline-scattering ;;
    dacl) fit dacl "$1" "$f"; score "$HERE/split$1" "$f" "$R/dacl_split$1" --baseline-scattering ;;
    gauss) fit dacl "$1" "$f"; fit gauss-contrastive "$1" "$f"
           score "$(dirname "$HERE")/gauss-vs-dacl/gauss_split$1" "$f" "$R/dacl_split$1" "$R/gauss_split$1" ;;
  esac
}
set -- $SEEDS
while [ $# -gt 0 ]; do
  a=$1; shift
  if [ $# -gt 0 ]; then
    b=$1; shift
    ( train "$a" ) & pa=$!
    ( train "$b" ) & pb=$!
    wait $pa; wait $pb  # under set -e a failed run stops the script
  else
    train "$a"
  fi
done
