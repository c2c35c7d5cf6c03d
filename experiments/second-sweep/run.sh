#!/bin/sh
# The second DACL sweep (experiments/second-sweep/README.md): VAE latent size, β and
# contextualisation (VAE μ alone), then the encoder's latent input, latent standardisation,
# SupCon temperature, clean view, weight decay and VAE epochs — all picked on the val split.
# Run from the repository root:
#
#   experiments/second-sweep/run.sh FEATURES_DIR [RUNS_DIR]
#
# Runs on CPU, one torch thread per run, two runs at a time (2-core machine). Sizes as the
# first sweep except 10 encoder epochs. ~55 min on a quiet 2-core machine.
set -eu
FEATURES=${1:?usage: experiments/second-sweep/run.sh FEATURES_DIR [RUNS_DIR]}
R=${2:-runs/exp2}
HERE=$(dirname "$0")
mkdir -p "$R/logs"
COMMON="--config configs/dacl.toml --features $FEATURES --device cpu --no-progress --set train.threads=1"
run() {  # run NAME ARGS...: skip a run that already finished
  n=$1; shift
  [ -f "$R/$n/model.pt" ] || OMP_NUM_THREADS=1 .venv/bin/dacl train $COMMON "$@" --out "$R/$n" > "$R/logs/$n.log" 2>&1
}
val() {  # val NAME RUN...: the runs' probe scores on the val split (test records removed first) into $R/NAME
  n=$1; shift
  OMP_NUM_THREADS=2 .venv/bin/dacl evaluate "$@" --features "$FEATURES" --on val --n-boot 200 --no-report --out "$R/$n"
}

# 1. VAE μ alone: latent size × β × contextualisation (30 epochs, ~20 s each)
V="--method vae --epochs 30"
( run vae_l64 $V --set vae.latent_dim=64; run vae_l128_b01 $V --set vae.latent_dim=128 --set vae.beta=0.1
  run vae_l32_noctx $V --set context.enabled=false ) &
( run vae_l64_b01 $V --set vae.latent_dim=64 --set vae.beta=0.1; run vae_l32_b01 $V --set vae.beta=0.1
  run vae_l128_noctx_b01 $V --set vae.latent_dim=128 --set vae.beta=0.1 --set context.enabled=false ) &
wait
val val_vae "$R"/vae_l64 "$R"/vae_l64_b01 "$R"/vae_l128_b01 "$R"/vae_l32_b01 "$R"/vae_l32_noctx \
  "$R"/vae_l128_noctx_b01

# 2. DACL encoders (t_max 200, K 2, VAE 30 + encoder 10 epochs unless set)
D="--method dacl --set vae.epochs=30 --set encoder.epochs=10 --set diffusion.t_max=200"
( run dacl_l128_b01 $D --set vae.latent_dim=128 --set vae.beta=0.1
  run dacl_tau02 $D --set encoder.temperature=0.2; run dacl_clean $D --set diffusion.include_clean=true ) &
( run dacl_l64_b01 $D --set vae.latent_dim=64 --set vae.beta=0.1
  run dacl_l128_b01_global $D --set vae.latent_dim=128 --set vae.beta=0.1 --set diffusion.normalise_latents=global
  run dacl_tau005 $D --set encoder.temperature=0.05; run dacl_wd1e3 $D --set encoder.weight_decay=1e-3 ) &
wait
( run dacl_tau005_k4 $D --set encoder.temperature=0.05 --set diffusion.n_views=4
  run dacl_tau005_vae100 $D --set encoder.temperature=0.05 --set vae.epochs=100 ) &
( run dacl_tau003 $D --set encoder.temperature=0.03
  run dacl_l64_b01_tau005_vae100 $D --set encoder.temperature=0.05 --set vae.epochs=100 \
    --set vae.latent_dim=64 --set vae.beta=0.1 ) &
wait
val val_dacl "$R"/dacl_l128_b01 "$R"/dacl_l64_b01 "$R"/dacl_l128_b01_global "$R"/dacl_tau02 "$R"/dacl_clean \
  "$R"/dacl_tau005 "$R"/dacl_wd1e3 "$R"/dacl_tau005_k4 "$R"/dacl_tau003 "$R"/dacl_tau005_vae100 \
  "$R"/dacl_l64_b01_tau005_vae100
.venv/bin/dacl summarise runs "$R" --scores "$R/val_dacl"   # s/epoch of every run, and the val table

# 3. The val-chosen run, scored once on test (with the robustness curve)
.venv/bin/dacl evaluate "$R"/dacl_tau005 --features "$FEATURES" --robustness --n-boot 1000 --no-report --out "$R"/eval_tau005

# 4. Paired differences to the scattering baseline on the same test records (into paired/). Needs
#    the first sweep's runs in runs/exp: experiments/dev-comparison/run.sh, plus the e25 and
#    EMA-fixed re-runs whose commands are in experiments/tmax-sweep/README.md and
#    experiments/dev-comparison/README.md.
.venv/bin/dacl evaluate "$R"/dacl_tau005 runs/exp/dacl_t200_k4_e8 runs/exp/dacl_t200_k2_e25 runs/exp/gauss_e8 \
  runs/exp/dacl_diffaug_e8_emafix runs/exp/diffaug_emafix runs/exp/vae runs/exp/dae \
  --features "$FEATURES" --baseline-scattering --n-boot 1000 --out "$HERE"/paired
rm -f "$HERE"/paired/embeddings_*.npz  # keep the repository small

# 5. Seed spread of the chosen config (train.seed also seeds the VAE, the views and the batches)
D5="--method dacl --set vae.epochs=30 --set encoder.epochs=10 --set diffusion.t_max=200 --set encoder.temperature=0.05"
( run dacl_tau005_seed1 $D5 --set train.seed=1 ) &
( run dacl_tau005_seed2 $D5 --set train.seed=2 ) &
wait
.venv/bin/dacl evaluate "$R"/dacl_tau005 "$R"/dacl_tau005_seed1 "$R"/dacl_tau005_seed2 \
  --features "$FEATURES" --baseline-scattering --n-boot 1000 --no-report --out "$R"/eval_seeds
