#!/usr/bin/env bash
# The toy-data quality results of the README: for checkerboard, 8gaussians and moons, an
# EDM-preconditioned MLP sampled with Heun at 35 NFE against fresh data (sliced
# Wasserstein distance to the test split, and the same distance for training points);
# then the reflow result of Liu et al. on checkerboard: 2-rectified flow at one Euler
# step against 1-rectified flow at one step.
#   scripts/diffusion_quality.sh [BIN_DIR] [OUT_DIR] [STEPS]
set -euo pipefail
bin=${1:-build/bin}
out=${2:-runs/diffusion_quality}
steps=${3:-4000}
mkdir -p "$out"
score() {  # data samples -> "swd fresh ratio"
  "$bin/evaluate_samples" --data "$1" --samples "$2" --format json |
    sed -n 's/.*"ratio": *\([0-9.e+-]*\).*/\1/p;s/.*"swd": *\([0-9.e+-]*\).*/swd \1/p;s/.*"swd_fresh_data": *\([0-9.e+-]*\).*/fresh \1/p' | tr '\n' ' '
}

echo "toy           objective  sampler  NFE  result"
for toy in checkerboard 8gaussians moons; do
  run="$out/edm_$toy"
  [ -d "$run" ] || "$bin/train_diffusion" --out "$run" --data "toy:$toy" --objective edm --steps "$steps" \
    --batch-size 512 --lr 2e-3 --sample-every 1000 > "$run.log" 2>&1
  "$bin/sample_diffusion" --checkpoint "$run" --sampler heun --steps 18 --n 5000 --out "$run/heun35.safetensors" > /dev/null
  "$bin/sample_diffusion" --checkpoint "$run" --sampler heun --steps 18 --n 5000 --out "$run/heun35.png" > /dev/null
  printf "%-13s edm        heun     35   %s\n" "$toy" "$(score "toy:$toy" "$run/heun35.safetensors")"
done

toy=checkerboard
rf1="$out/rf1_$toy"
rf2="$out/rf2_$toy"
[ -d "$rf1" ] || "$bin/train_diffusion" --out "$rf1" --data "toy:$toy" --objective rf --steps "$steps" \
  --batch-size 512 --lr 2e-3 --sample-every 1000 > "$rf1.log" 2>&1
[ -d "$rf2" ] || "$bin/train_diffusion" --out "$rf2" --objective rf --reflow-from "$rf1" --pairs 50000 \
  --pair-sampler rk45 --steps "$steps" --batch-size 512 --lr 1e-3 --sample-every 1000 > "$rf2.log" 2>&1
for run in "$rf1" "$rf2"; do
  for n in 1 2 100; do
    "$bin/sample_diffusion" --checkpoint "$run" --sampler euler --steps "$n" --n 5000 --out "$run/euler$n.safetensors" > /dev/null
    "$bin/sample_diffusion" --checkpoint "$run" --sampler euler --steps "$n" --n 5000 --out "$run/euler$n.png" > /dev/null
    printf "%-13s %-10s euler  %4s   %s\n" "$toy" "$(basename "$run" | cut -d_ -f1)" "$n" "$(score "toy:$toy" "$run/euler$n.safetensors")"
  done
done
