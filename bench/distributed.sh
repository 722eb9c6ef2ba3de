#!/usr/bin/env bash
# The honest overhead of data parallelism on one box: each trainer, the same global batch,
# as 1 process × 2 threads and as 2 processes × 1 thread (zoo_launch, Gloo over loopback).
# Rates come from metrics.jsonl's clock between the first and last logged step, so
# start-up (data loading, rendezvous) is left out.
#   bash bench/distributed.sh [BIN_DIR] [STEPS]
set -euo pipefail
bin=${1:-build/bin}
steps=${2:-200}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# steps/s between the first and the last record that has "seconds".
rate() {
  grep '"seconds"' "$1/metrics.jsonl" | sed -n 's/.*"seconds":\([0-9.e+-]*\).*"step":\([0-9]*\).*/\1 \2/p' |
    awk 'NR == 1 { s0 = $1; n0 = $2 } { s = $1; n = $2 } END { printf "%.2f", (n - n0) / (s - s0) }'
}

printf "%-18s %6s  %22s  %22s  %s\n" trainer batch "1 proc x 2 thr steps/s" "2 proc x 1 thr steps/s" "ratio (2 proc / 1 proc)"
bench() {
  local name=$1 batch=$2; shift 2
  "$bin/$name" "$@" --threads 2 --batch-size "$batch" --steps "$steps" --out "$scratch/one" > /dev/null 2>&1
  "$bin/zoo_launch" --nproc 2 -- "$name" "$@" --threads 1 --batch-size $((batch / 2)) --steps "$steps" \
    --out "$scratch/two" > /dev/null 2>&1
  local one two
  one=$(rate "$scratch/one")
  two=$(rate "$scratch/two")
  printf "%-18s %6s  %22s  %22s  %s\n" "$name" "$batch" "$one" "$two" "$(awk -v a="$one" -v b="$two" 'BEGIN { printf "%.2f", b / a }')"
  rm -rf "$scratch/one" "$scratch/two"
}

bench train_classifier 128 --data fashion-mnist --model efficientnet_phi --set phi=-3 --image-size 32 --ema 0 --workers 1
bench train_flow 128 --data fashion-mnist --model realnvp --set hidden=32 --set blocks=2 --workers 1
bench train_diffusion 512 --data toy:checkerboard --workers 0
bench train_diffusion 128 --data fashion-mnist --net unet --workers 1
bench train_vae 128 --data fashion-mnist --workers 1
bench train_tabular 64 \
  --columns configs/seattle_weather_columns.json --target weather --workers 0
