#!/bin/sh
# Reproduce the dev-corpus comparison (experiments/dev-comparison) and the t_max sweep (experiments/tmax-sweep)
# from scratch. Run from the repository root:
#
#   experiments/dev-comparison/run.sh FEATURES_DIR [RUNS_DIR]
#
# FEATURES_DIR is the output of
#   dacl preprocess training2017-dev.zip --out FEATURES_DIR
# (scattering J=8 Q=8, log; 10 s windows, hop 5 s; record-level split 0.7/0.1/0.2, seed 0).
# Runs on CPU (the numbers were measured on a shared 2-core CPU, no GPU); every run uses one
# torch thread. Sizes are the "moderate" ones that fit the time box: VAE 30 epochs, contrastive
# encoder 8 epochs (see experiments/dev-comparison/README.md). Training resumes: a run whose
# model.pt exists is not trained again.
set -eu
FEATURES=${1:?usage: experiments/dev-comparison/run.sh FEATURES_DIR [RUNS_DIR]}
RUNS=${2:-runs/exp}
HERE=$(dirname "$0")
RESULTS="$HERE"
SWEEP="$(dirname "$HERE")/tmax-sweep"
DACL=".venv/bin/dacl"
mkdir -p "$RUNS"

COMMON="--features $FEATURES --device cpu --no-progress --set train.threads=1"
SIZES="--set vae.epochs=30 --set encoder.epochs=8"
train() {  # train NAME ARGS...: skip a run that already finished
  name=$1; shift
  [ -f "$RUNS/$name/model.pt" ] && return 0
  $DACL train "$@" --out "$RUNS/$name"
}

# --- baselines (same VAE as DACL: same seed, same 30 epochs)
train vae    --config configs/dacl.toml --method vae $COMMON --epochs 30
train dae    --config configs/dacl.toml --method dae $COMMON --epochs 30
train gauss_e8 --config configs/dacl.toml --method gauss-contrastive $COMMON $SIZES
# DiffAug on the contextualised scattering vectors (released shapes, far fewer epochs than released)
OMP_NUM_THREADS=1 train diffaug --config configs/diffaug.toml --method diffaug --features "$FEATURES" \
  --device cpu --no-progress \
  --set diffaug.warmup_epochs=15 --set diffaug.m_epochs=15 --set diffaug.e_epochs=10 --set diffaug.sample_steps=5
# (measured run: started with the default 50 DDIM steps, stopped during the first buffer
#  regeneration after the M phase (too slow on the shared CPU) and resumed with --resume and
#  sample_steps=5; sampling happens only at that point and every epoch is seeded on its own,
#  so this equals a fresh run with sample_steps=5.)

# --- DACL: t_max sweep (K = 2) and K sweep (t_max = 200)
for t in 20 200 1000; do
  train dacl_t${t}_k2_e8 --config configs/dacl.toml --method dacl $COMMON $SIZES --set diffusion.t_max=$t
done
train dacl_t200_k4_e8 --config configs/dacl.toml --method dacl $COMMON $SIZES \
  --set diffusion.t_max=200 --set diffusion.n_views=4
# DACL + DiffAug views (a small DiffAug on the 32-d VAE latents; 10-step DDIM, 1 generated view)
train dacl_diffaug_e8 --config configs/dacl.toml --method dacl+diffaug $COMMON $SIZES --set diffusion.t_max=200 \
  --set diffaug.warmup_epochs=5 --set diffaug.m_epochs=10 --set diffaug.e_epochs=3 \
  --set diffaug.den_hidden=512 --set diffaug.sample_steps=10 --set diffaug.views=1

# --- model selection on the validation split only (probe fit on train, scored on val records,
#     the test records removed before anything is embedded)
$DACL evaluate "$RUNS"/vae "$RUNS"/dae "$RUNS"/dacl_t200_k2_e8 "$RUNS"/gauss_e8 "$RUNS"/dacl_t20_k2_e8 \
  "$RUNS"/dacl_diffaug_e8 "$RUNS"/dacl_t200_k4_e8 "$RUNS"/dacl_t1000_k2_e8 "$RUNS"/diffaug \
  --baseline-scattering --features "$FEATURES" --on val --n-boot 200 --no-report --out "$RUNS/val"
# Chosen on val (largest val AUROC AF + val macro AUROC among the DACL runs): t_max = 200, K = 4.

# --- test split, once per final config
$DACL evaluate "$RUNS"/dacl_t200_k4_e8 "$RUNS"/vae "$RUNS"/dae "$RUNS"/gauss_e8 "$RUNS"/dacl_diffaug_e8 \
  --features "$FEATURES" --baseline-scattering --n-boot 1000 --out "$RESULTS"
$DACL evaluate "$RUNS"/diffaug --features "$FEATURES" --n-boot 1000 --no-report --out "$RUNS"/eval_diffaug
$DACL evaluate --features "$FEATURES" --baseline-scattering --robustness --n-boot 1000 --no-report --out "$RUNS"/eval_scat_rob
$DACL evaluate "$RUNS"/dacl_t200_k4_e8 --features "$FEATURES" --robustness --n-boot 1000 --no-report --out "$RUNS"/eval_dacl_rob
$DACL report "$RESULTS" --methods-from "$RUNS"/eval_diffaug --robustness-from "$RUNS"/eval_scat_rob "$RUNS"/eval_dacl_rob
# t_max sweep (K = 2): its own report, so the AUROC-vs-t_max plot holds only these runs
$DACL evaluate "$RUNS"/dacl_t20_k2_e8 "$RUNS"/dacl_t200_k2_e8 "$RUNS"/dacl_t1000_k2_e8 \
  --features "$FEATURES" --n-boot 1000 --out "$SWEEP"
$DACL summarise runs "$RUNS" --scores "$RUNS/val" > "$RESULTS/runs_summary.md"
rm -f "$RESULTS"/embeddings_*.npz "$SWEEP"/embeddings_*.npz  # keep the repository small
