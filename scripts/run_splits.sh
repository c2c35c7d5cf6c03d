#!/bin/sh
# Split-to-split variation (results/dev/README.md, "Other splits"): the chosen DACL config
# (second sweep: τ 0.05, t_max 200, K 2, VAE 30 + encoder 10 epochs) trained and scored on
# record-level splits other than the dev split (seed 0), each against scattering + LR with
# the paired bootstrap difference of `dacl evaluate`.
#
#   scripts/run_splits.sh FEATURES_DIR [RUNS_DIR] [SEED ...]
#   scripts/run_splits.sh FEATURES_DIR RUNS_DIR --baseline-only SEED ...   # scattering + LR only
#
# Each split is a view of FEATURES_DIR (its shards symlinked, manifest and records.csv
# copied) re-split with `dacl split --seed S`. CPU, one torch thread per run, two runs at
# a time; about 5 min per run (training + evaluation) on a quiet 2-core machine.
set -eu
FEATURES=${1:?usage: run_splits.sh FEATURES_DIR [RUNS_DIR] [SEED ...]}
R=${2:-runs/splits}
shift $(( $# < 2 ? $# : 2 ))
ONLY_BASELINE=false
if [ "${1:-}" = "--baseline-only" ]; then ONLY_BASELINE=true; shift; fi
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
D="--method dacl --set vae.epochs=30 --set encoder.epochs=10 --set diffusion.t_max=200 --set encoder.temperature=0.05"
train() {  # train SEED: DACL trained and scored against the baseline (or the baseline alone)
  f=$(view "$1"); n="dacl_split$1"
  if $ONLY_BASELINE; then
    [ -f "$R/eval_split$1/metrics.json" ] || OMP_NUM_THREADS=1 .venv/bin/dacl evaluate --features "$f" \
      --baseline-scattering --n-boot 1000 --no-report --out "$R/eval_split$1" > "$R/logs/eval_split$1.log" 2>&1
    return
  fi
  [ -f "$R/$n/model.pt" ] || OMP_NUM_THREADS=1 .venv/bin/dacl train --config configs/dacl.toml --features "$f" \
    --device cpu --no-progress --set train.threads=1 $D --out "$R/$n" > "$R/logs/$n.log" 2>&1
  [ -f "$R/eval_split$1/metrics.json" ] || OMP_NUM_THREADS=1 .venv/bin/dacl evaluate "$R/$n" --features "$f" \
    --baseline-scattering --n-boot 1000 --no-report --out "$R/eval_split$1" > "$R/logs/eval_split$1.log" 2>&1
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
