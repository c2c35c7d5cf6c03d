#!/usr/bin/env bash
# The signal-space-views study of results/proto/README.md (split 0 of the dev corpus, CPU, 1 torch thread).
#
#   scripts/proto/run_study.sh DATASET_DIR RUNS_DIR STEP...
#
# Steps (run in this order; each is resumable by rerunning it):
#   train-a train-b train-c train-d ...   one DACL variant each (see VARIANTS below)
#   score-baselines                       scattering + LR and the two noise-augmented baselines, val, all corruptions
#   score-val NAME...                     the named runs on val, all corruptions (corrupted features cached)
#   score-test NAME...                    baselines + the named runs on test, all corruptions (once, at the end)
#   timing                                Rust share of making views; s/epoch: today's, bank, fresh views
set -euo pipefail
DATA=${1:?dataset dir}; RUNS=${2:?runs dir}; shift 2
PY=".venv/bin/python"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
# Today's DACL (results/dev "Second sweep": tau 0.05, K 2, t_max 200, VAE 30 + encoder 10 epochs).
BASE=(--config configs/dacl.toml --features "$DATA" --device cpu --no-progress --set train.threads=1
      --set vae.epochs=30 --set encoder.epochs=10 --set encoder.temperature=0.05 --set diffusion.t_max=200)
SV=(--set signal_views.n_views=2 --set signal_views.bank_size=8 --set "signal_views.cache=\"$RUNS/banks\"")
declare -A VARIANTS=(
  [a]=""                                                                        # today's DACL: 2 latent views
  [b]="${SV[*]} --set diffusion.n_views=0"                                      # 2 signal views only
  [c]="${SV[*]} --set diffusion.n_views=0 --set diffusion.include_clean=true"   # 2 signal views + clean
  [d]="${SV[*]}"                                                                # 2 signal + 2 latent views
  [e]="${SV[*]} --set diffusion.n_views=0 --set diffusion.include_clean=true --set signal_views.vae_views=1"
  [f]="${SV[*]} --set diffusion.n_views=0 --set diffusion.include_clean=true --set signal_views.n_views=4"
  # e + one more change each:
  [i]="${SV[*]} --set diffusion.n_views=0 --set diffusion.include_clean=true --set signal_views.vae_views=1 --set signal_views.n_views=4"
  [j]="${SV[*]} --set diffusion.n_views=0 --set diffusion.include_clean=true --set signal_views.vae_views=1 --set encoder.epochs=20"
  [k]="${SV[*]} --set diffusion.n_views=0 --set diffusion.include_clean=true --set signal_views.vae_views=1 --set signal_views.t_max=396"
)
BASELINES=(--baseline-scattering --noise-aug snr:0:24 --noise-aug diffusion:259)

for step in "$@"; do
  case "$step" in
    train-*)
      v=${step#train-}
      # shellcheck disable=SC2086
      nice -n 10 .venv/bin/dacl train "${BASE[@]}" ${VARIANTS[$v]} --out "$RUNS/dacl_$v" \
        $( [ -f "$RUNS/dacl_$v/checkpoint.pt" ] && echo --resume ) ;;
    score-baselines)
      nice -n 10 $PY scripts/proto/score.py --features "$DATA" --split val --out "$RUNS/val" "${BASELINES[@]}" \
        --corruptions all --n-boot 200 --cache "$RUNS/corrupted" ;;
    score-val)
      args=(); for n in "${@:2}"; do args+=(--run "dacl_$n=$RUNS/dacl_$n"); done
      nice -n 10 $PY scripts/proto/score.py --features "$DATA" --split val --out "$RUNS/val" "${args[@]}" \
        --corruptions all --n-boot 200 --cache "$RUNS/corrupted"
      break ;;
    score-test)
      args=(); for n in "${@:2}"; do args+=(--run "dacl_$n=$RUNS/dacl_$n"); done
      nice -n 10 $PY scripts/proto/score.py --features "$DATA" --split test --out "$RUNS/test" "${BASELINES[@]}" \
        "${args[@]}" --corruptions all --n-boot 1000 --cache "$RUNS/corrupted"
      break ;;
    timing)
      # Rust share of making views; then s/epoch of today's DACL (a) vs bank mode (e, i) vs fresh views every
      # epoch (e, bank_size 0): 3 encoder epochs each, one run at a time (VAE cut to 5 epochs: not timed here).
      nice -n 10 $PY scripts/proto/time_views.py --features "$DATA" --records 600 | tee "$RUNS/time_views.json"
      for v in a e i; do
        # shellcheck disable=SC2086
        nice -n 10 .venv/bin/dacl train "${BASE[@]}" ${VARIANTS[$v]} --set vae.epochs=5 --set encoder.epochs=3 \
          --out "$RUNS/time_$v"
      done
      # shellcheck disable=SC2086
      nice -n 10 .venv/bin/dacl train "${BASE[@]}" ${VARIANTS[e]} --set signal_views.bank_size=0 \
        --set signal_views.vae_views=0 --set vae.epochs=5 --set encoder.epochs=3 --out "$RUNS/time_e_fresh" ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
  esac
done
