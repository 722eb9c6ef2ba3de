#!/usr/bin/env bash
# The README's results for the library parts of issue 8:
#   losses   train_classifier on Fashion-MNIST with each --loss (ce, soft_accuracy, soft_f1,
#            ce+soft_f1), same model, data, epochs and seed: test top-1 and macro-F1
#   vae      train_vae with a Gaussian and a categorical (Gumbel-softmax) latent: test ELBO
#   tabular  train_tabular on seattle-weather.csv with each loss, three seeds
#   scripts/ideas_quality.sh [losses|vae|tabular|all] [BIN_DIR] [OUT_DIR]
#   (environment: EPOCHS for the losses, default 2; VAE_EPOCHS, default 20; THREADS, default 1)
set -euo pipefail
what=${1:-all}
bin=${2:-build/bin}
out=${3:-runs/ideas_quality}
threads=${THREADS:-1}
mkdir -p "$out"
field() { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p" | tail -1; }
last() { grep "\"$2\"" "$1/metrics.jsonl" | tail -1 | field "$2"; }
timed() { local log=$1 start; shift; start=$(date +%s); "$@" > "$log" 2>&1; echo "$(( $(date +%s) - start ))"; }

if [ "$what" = losses ] || [ "$what" = all ]; then
  echo "loss           test top-1  test macro-F1  seconds"
  for loss in ce soft_accuracy soft_f1 ce+soft_f1; do
    run="$out/loss_${loss/+/_}"
    rm -rf "$run"
    seconds=$(timed "$run.log" "$bin/train_classifier" --out "$run" --model efficientnet_phi --set phi=-3 --image-size 32 \
      --epochs "${EPOCHS:-2}" --warmup-epochs 0.3 --batch-size 128 --lr 3e-3 --loss "$loss" --ema 0 --seed 0 --threads "$threads")
    printf "%-14s %10.4f  %13.4f  %7s\n" "$loss" "$(last "$run" test_top1)" "$(last "$run" test_macro_f1)" "$seconds"
  done
fi

if [ "$what" = vae ] || [ "$what" = all ]; then
  echo "latent        test ELBO (nats)  reconstruction  KL      seconds"
  for latent in gaussian categorical; do
    run="$out/vae_$latent"
    rm -rf "$run"
    seconds=$(timed "$run.log" "$bin/train_vae" --out "$run" --latent "$latent" --epochs "${VAE_EPOCHS:-20}" --seed 0 \
      --threads "$threads" --workers 0)
    printf "%-13s %16.2f  %14.2f  %6.2f  %7s\n" "$latent" "$(last "$run" test_elbo)" "$(last "$run" test_reconstruction)" \
      "$(last "$run" test_kl)" "$seconds"
  done
fi

if [ "$what" = tabular ] || [ "$what" = all ]; then
  csv=/usr/lib/python3/dist-packages/vega_datasets/_data/seattle-weather.csv
  echo "loss           seed  test accuracy  test macro-F1  (trivial: accuracy, macro-F1)"
  for loss in ce ce+soft_f1 soft_f1; do
    for seed in 0 1 2; do
      run="$out/seattle_${loss/+/_}_$seed"
      rm -rf "$run"
      "$bin/train_tabular" --data "csv:$csv" --columns configs/seattle_weather_columns.json --target weather \
        --epochs 20 --dropout 0.3 --loss "$loss" --seed "$seed" --threads 1 --out "$run" > "$run.log" 2>&1
      printf "%-14s %4s  %13.4f  %13.4f  (%.4f, %.4f)\n" "$loss" "$seed" "$(last "$run" test_accuracy)" \
        "$(last "$run" test_macro_f1)" "$(last "$run" trivial_accuracy)" "$(last "$run" trivial_macro_f1)"
    done
  done
fi
