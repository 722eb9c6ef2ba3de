#!/usr/bin/env bash
# The flow quality results of the README:
#   toys   a vector Glow on moons, 8gaussians, checkerboard and 2spirals: sliced
#          Wasserstein distance of 5,000 samples to the test split against fresh data
#   nice   NICE on Fashion-MNIST in zoo and in PyTorch (bench/flows.py nice_quality):
#          same configuration, optimiser, warmup, clipping, batch, epochs and seed
#   images NICE, RealNVP and Glow on Fashion-MNIST, at most an hour each (test bits/dim,
#          sample grids at temperature 0.7)
#   scripts/flow_quality.sh [toys|nice|images|all] [BIN_DIR] [OUT_DIR]
#   (environment: NICE_EPOCHS, default 3, and THREADS for the NICE comparison)
set -euo pipefail
what=${1:-all}
bin=${2:-build/bin}
out=${3:-runs/flow_quality}
mkdir -p "$out"
field() { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p" | tail -1; }
last_test_nll() { grep test_nll "$1/metrics.jsonl" | tail -1 | field test_nll; }
# timed LOG COMMAND...: runs the command with its output in LOG, prints its wall seconds.
timed() { local log=$1 start; shift; start=$(date +%s); "$@" > "$log" 2>&1; echo "$(( $(date +%s) - start ))"; }

if [ "$what" = toys ] || [ "$what" = all ]; then
  # Networks this small run fastest on one thread (about 60 steps/s here).
  echo "toy           test NLL (nats)  SWD     fresh   ratio (goal <= 2)  train seconds"
  for toy in moons 8gaussians checkerboard 2spirals; do
    run="$out/glow_$toy"
    rm -rf "$run"
    # The spirals' tight centre needs a larger flow trained longer.
    size=(--set steps=12 --set hidden=128 --steps 6000 --lr 2e-3)
    [ "$toy" = 2spirals ] && size=(--set steps=16 --set hidden=256 --steps 12000 --lr 1e-3)
    seconds=$(timed "$run.log" "$bin/train_flow" --out "$run" --data "toy:$toy" --model glow "${size[@]}" --batch-size 256 \
      --sample-every 20 --threads 1 --workers 0)
    "$bin/sample_flow" --checkpoint "$run" --n 5000 --out "$run/samples.safetensors" --threads 1 > /dev/null
    "$bin/sample_flow" --checkpoint "$run" --n 5000 --out "$run/samples.png" --threads 1 > /dev/null
    score=$("$bin/evaluate_samples" --data "toy:$toy" --samples "$run/samples.safetensors" --format json --threads 1)
    printf "%-13s %15.3f  %.4f  %.4f  %17.2f  %13s\n" "$toy" "$(last_test_nll "$run")" "$(echo "$score" | field swd)" \
      "$(echo "$score" | field swd_fresh_data)" "$(echo "$score" | field ratio)" "$seconds"
  done
fi

if [ "$what" = nice ] || [ "$what" = all ]; then
  epochs=${NICE_EPOCHS:-3}
  run="$out/nice"
  rm -rf "$run"
  zoo_seconds=$(timed "$run.log" "$bin/train_flow" --out "$run" --data fashion-mnist --model nice --epochs "$epochs" \
    --batch-size 256 --lr 1e-3 --seed 0 --sample-every "$epochs" --threads "${THREADS:-0}")
  py=$(/usr/bin/python3 "$(dirname "$0")/../bench/flows.py" --workload nice_quality --epochs "$epochs" --threads "${THREADS:-$(nproc)}" --seed 0)
  printf "NICE, %s epochs: zoo %.4f bits/dim (%s s), PyTorch %.4f bits/dim (%.0f s)\n" "$epochs" "$(last_test_nll "$run")" \
    "$zoo_seconds" "$(echo "$py" | field test_bits_per_dim)" "$(echo "$py" | field seconds)"
fi

if [ "$what" = images ] || [ "$what" = all ]; then
  # At most an hour of this machine each, measured alone: NICE 50 epochs on one core
  # (3.3 steps/s), RealNVP 1,300 steps on one core (0.4 steps/s), Glow 3 epochs on both
  # cores (1.7 steps/s). NICE and RealNVP can share the machine, one core each.
  image_run() {
    local model=$1 run="$out/hour_$1" seconds
    shift
    rm -rf "$run"
    seconds=$(timed "$run.log" "$bin/train_flow" --out "$run" --data fashion-mnist --model "$model" --lr 1e-3 --workers 0 "$@")
    "$bin/sample_flow" --checkpoint "$run" --n 64 --temperature 0.7 --out "$run/samples.png" > /dev/null
    printf "%-8s test %.4f bits/dim after %s s\n" "$model" "$(last_test_nll "$run")" "$seconds"
  }
  image_run nice --epochs 50 --batch-size 256 --seed 0 --threads 1
  image_run realnvp --steps 1300 --batch-size 64 --threads 1
  image_run glow --epochs 3 --batch-size 64
fi
