#!/usr/bin/env bash
# The five-split study of dacl-robust (experiments/robust-views/README.md, "Five record-level splits"):
# each split is a view of one features dataset (its shards linked, not copied) re-split by record with
# `dacl split --seed S`; dacl-robust is trained with the hyperparameters chosen on split 0's val and scored
# on the split's test records beside scattering + LR and the noise-augmented baseline.
#   experiments/robust-views/run_splits.sh DATASET_DIR RUNS_DIR [SPLIT...]
# One CPU thread per run (dacl-robust's train.threads); a split takes ~10 min of training (the view bank
# included) and ~15 min of evaluation on a 2-core machine running two of them side by side.
set -euo pipefail
F=$(realpath "$1"); R=$2; shift 2
SPLITS=${*:-0 1 2 3 4}
mkdir -p "$R"
for S in $SPLITS; do
  d=$R/features_split$S
  if [ ! -f "$d/split.json" ]; then
    mkdir -p "$d" && ln -sfn "$F/shards" "$d/shards" && cp "$F/manifest.json" "$F/records.csv" "$d/"
    dacl split --seed "$S" "$d"
  fi
  [ -f "$R/robust_split$S/model.pt" ] || dacl train --config dacl-robust --features "$d" --device cpu --no-progress \
    --set signal_views.cache="$R/banks" --out "$R/robust_split$S"
  [ -f "$R/eval_split$S/metrics.json" ] || dacl evaluate "$R/robust_split$S" --features "$d" \
    --baseline-scattering --baseline-scattering-noise --robustness --corruptions all --n-boot 1000 \
    --out "$R/eval_split$S"
done
EVALS=$(for S in $SPLITS; do echo "$R/eval_split$S"; done)
# shellcheck disable=SC2086  # one folder per split
dacl summarise splits $EVALS --method dacl --png "$R/af_by_split.png" --robustness-png "$R/robustness_over_splits.png"
# shellcheck disable=SC2086
dacl summarise splits $EVALS --method dacl --baseline "scattering-pool + noise-aug"
