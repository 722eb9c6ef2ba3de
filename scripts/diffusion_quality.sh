#!/usr/bin/env bash
# The diffusion quality results of the README:
#   toys    checkerboard, 8gaussians and moons: an EDM-preconditioned MLP sampled with Heun
#           at 35 NFE against fresh data (sliced Wasserstein distance to the test split)
#   reflow  Liu et al.'s reflow result on checkerboard: 2-rectified flow at one Euler step
#           against 1-rectified flow at one step
#   images  a class-conditional U-Net on Fashion-MNIST (RUN, trained beforehand; see the
#           README): Heun at 35 NFE against Euler at 256 steps in FD-fashion-mnist, and how
#           often a zoo classifier (CLASSIFIER) agrees with the guided samples' labels
#   reflow-images  the same on Fashion-MNIST with U-Nets trained beforehand (RF1, RF2; see
#           the README): FD-fashion-mnist of Euler at 1, 2 and 4 steps and Heun at 31 NFE
#   samplers  the README's sampler table: every fixed-step sampler's sliced Wasserstein distance
#           on the toy checkerboard model at about 5, 10, 20 and 50 NFE (the most steps within
#           that many evaluations), and the adaptive ones at their default tolerances
#   samplers-images  the same table for the Fashion-MNIST U-Net (RUN and CLASSIFIER as for
#           images): FD-fashion-mnist of N (default 500) samples at guidance GUIDANCE (default
#           1, one network evaluation per NFE), and the same ten seeds under each sampler at 10 NFE
#   scripts/diffusion_quality.sh [toys|reflow|images|reflow-images|samplers|samplers-images|all] [BIN_DIR] [OUT_DIR]
set -euo pipefail
what=${1:-all}
bin=${2:-build/bin}
out=${3:-runs/diffusion_quality}
steps=${STEPS:-4000}
mkdir -p "$out"
field() { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p" | tail -1; }
score() {  # data samples -> "swd fresh ratio"
  local json
  json=$("$bin/evaluate_samples" --data "$1" --samples "$2" --format json --threads 1)
  echo "swd $(echo "$json" | field swd) fresh $(echo "$json" | field swd_fresh_data) ratio $(echo "$json" | field ratio)"
}
# Networks this small run fastest on one thread.
small=(--threads 1 --workers 0)

train_toy() {  # toy run: the EDM MLP of the toy results, trained once
  [ -d "$2" ] || "$bin/train_diffusion" --out "$2" --data "toy:$1" --objective edm --steps "$steps" \
    --batch-size 512 --lr 2e-3 --sample-every 1000 "${small[@]}" > "$2.log" 2>&1
}
nfe() { sed -n 's/.*NFE \([0-9]*\) per sample.*/\1/p'; }

if [ "$what" = toys ] || [ "$what" = all ]; then
  echo "toy           objective  sampler  NFE  result"
  for toy in checkerboard 8gaussians moons; do
    run="$out/edm_$toy"
    train_toy "$toy" "$run"
    "$bin/sample_diffusion" --checkpoint "$run" --sampler heun --steps 18 --n 5000 --out "$run/heun35.safetensors" --threads 1 > /dev/null
    "$bin/sample_diffusion" --checkpoint "$run" --sampler heun --steps 18 --n 5000 --out "$run/heun35.png" --threads 1 > /dev/null
    printf "%-13s edm        heun     35   %s\n" "$toy" "$(score "toy:$toy" "$run/heun35.safetensors")"
  done
fi

if [ "$what" = reflow ] || [ "$what" = all ]; then
  toy=checkerboard
  rf1="$out/rf1_$toy"
  rf2="$out/rf2_$toy"
  [ -d "$rf1" ] || "$bin/train_diffusion" --out "$rf1" --data "toy:$toy" --objective rf --steps "$steps" \
    --batch-size 512 --lr 2e-3 --sample-every 1000 "${small[@]}" > "$rf1.log" 2>&1
  [ -d "$rf2" ] || "$bin/train_diffusion" --out "$rf2" --objective rf --reflow-from "$rf1" --pairs 50000 \
    --pair-sampler rk45 --steps "$steps" --batch-size 512 --lr 1e-3 --sample-every 1000 "${small[@]}" > "$rf2.log" 2>&1
  echo "toy           flow  sampler  steps  result"
  for run in "$rf1" "$rf2"; do
    for n in 1 2 100; do
      "$bin/sample_diffusion" --checkpoint "$run" --sampler euler --steps "$n" --n 5000 --out "$run/euler$n.safetensors" --threads 1 > /dev/null
      "$bin/sample_diffusion" --checkpoint "$run" --sampler euler --steps "$n" --n 5000 --out "$run/euler$n.png" --threads 1 > /dev/null
      printf "%-13s %-5s euler    %5s  %s\n" "$toy" "$(basename "$run" | cut -d_ -f1)" "$n" "$(score "toy:$toy" "$run/euler$n.safetensors")"
    done
  done
fi

if [ "$what" = images ] || [ "$what" = all ]; then
  run=${RUN:-runs/fmnist_unet}
  classifier=${CLASSIFIER:-runs/fmnist94}
  n=${N:-500}
  fd() {
    "$bin/evaluate_samples" --data fashion-mnist --samples "$1" --classifier "$classifier" --format json
  }
  echo "sampler    NFE   guidance  seconds  FD-fashion-mnist  fresh data  classifier agrees"
  for spec in "heun 18 1" "euler 256 1" "heun 18 3"; do
    set -- $spec
    file="$out/fmnist_$1$2_w$3.safetensors"
    # "N samples with S, K steps: NFE 35 per sample, 13.72 s, ..."
    s=$("$bin/sample_diffusion" --checkpoint "$run" --sampler "$1" --steps "$2" --guidance "$3" --n "$n" --out "$file")
    r=$(fd "$file")
    printf "%-9s  %4s  %8s  %7s  %16.4f  %10.4f  %16.1f%%\n" "$1" "$(echo "$s" | sed -n 's/.*NFE \([0-9]*\) per sample.*/\1/p')" "$3" \
      "$(echo "$s" | sed -n 's/.*per sample, \([0-9.]*\) s,.*/\1/p')" "$(echo "$r" | field fd)" \
      "$(echo "$r" | field fd_fresh_data)" "$(echo "$r" | field classifier_agreement | awk '{ print 100 * $1 }')"
  done
  "$bin/sample_diffusion" --checkpoint "$run" --sampler heun --steps 18 --guidance 3 --n 100 --out "$out/fmnist_guided.png" > /dev/null
fi

if [ "$what" = reflow-images ]; then
  classifier=${CLASSIFIER:-runs/fmnist94}
  n=${N:-500}
  echo "flow  sampler  NFE  seconds  FD-fashion-mnist  fresh data"
  for run in "${RF1:-runs/fmnist_rf}" "${RF2:-runs/fmnist_2rf}"; do
    name=$(basename "$run")
    for spec in "euler 1" "euler 2" "euler 4" "heun 16"; do
      set -- $spec
      file="$out/${name}_$1$2.safetensors"
      s=$("$bin/sample_diffusion" --checkpoint "$run" --sampler "$1" --steps "$2" --n "$n" --seed 1 --out "$file")
      r=$("$bin/evaluate_samples" --data fashion-mnist --samples "$file" --classifier "$classifier" --format json)
      printf "%-12s  %-7s  %3s  %7s  %16.4f  %10.4f\n" "$name" "$1" "$(echo "$s" | sed -n 's/.*NFE \([0-9]*\) per sample.*/\1/p')" \
        "$(echo "$s" | sed -n 's/.*per sample, \([0-9.]*\) s,.*/\1/p')" "$(echo "$r" | field fd)" "$(echo "$r" | field fd_fresh_data)"
    done
    "$bin/sample_diffusion" --checkpoint "$run" --sampler euler --steps 1 --n 64 --seed 1 --out "$out/${name}_euler1.png" > /dev/null
  done
fi

# compare_samplers draws the same seeds with every fixed-step sampler within each budget;
# each sampler's samples are scored here. For the toy its 10-NFE picture is the README's (an
# image table's pictures have N columns; samplers-images draws ten seeds for the README).
# samplers: compare_samplers' comma-separated list, or "" for every fixed-step sampler.
table() {  # title score_command checkpoint n samplers [flags...]: one markdown table, score (NFE) per cell
  local title=$1 score=$2 run=$3 n=$4 samplers=$5 budget name
  shift 5
  for budget in 5 10 20 50; do
    "$bin/compare_samplers" --checkpoint "$run" --nfe "$budget" --n "$n" --out "$out/samplers/nfe$budget.png" \
      --samples-dir "$out/samplers/nfe$budget" --format json ${samplers:+--samplers "$samplers"} "$@" \
      > "$out/samplers/nfe$budget.json"
  done
  echo "| $title | 5 | 10 | 20 | 50 |"
  echo "|---|---|---|---|---|"
  for name in $(sed -n 's/.*"sampler": "\(.*\)".*/\1/p' "$out/samplers/nfe5.json"); do
    local row="| $name |"
    for budget in 5 10 20 50; do
      local nfe
      nfe=$(tr -d '\n ' < "$out/samplers/nfe$budget.json" | sed "s/.*\"nfe\":\([0-9]*\),\"sampler\":\"$name\".*/\1/")
      row="$row $(printf %.4g "$($score "$out/samplers/nfe$budget/$name.safetensors")") ($nfe) |"
    done
    echo "$row"
  done
  for name in dpm_adaptive rk45; do
    local s
    s=$("$bin/sample_diffusion" --checkpoint "$run" --sampler "$name" --n "$n" --out "$out/samplers/$name.safetensors" "$@")
    echo "| $name, default tolerance | $(printf %.4g "$($score "$out/samplers/$name.safetensors")") ($(echo "$s" | nfe)) | | | |"
  done
}

if [ "$what" = samplers ] || [ "$what" = all ]; then
  mkdir -p "$out/samplers"
  toy_swd() { "$bin/evaluate_samples" --data toy:checkerboard --samples "$1" --format json --threads 1 | field swd; }
  run="$out/edm_checkerboard"
  train_toy checkerboard "$run"
  table "checkerboard: SWD (NFE)" toy_swd "$run" 5000 "" --threads 1
  echo "fresh data: $("$bin/evaluate_samples" --data toy:checkerboard --samples "$out/samplers/dpm_adaptive.safetensors" \
    --format json --threads 1 | field swd_fresh_data)"
fi

if [ "$what" = samplers-images ] || [ "$what" = all ]; then
  run=${RUN:-runs/fmnist_unet}
  classifier=${CLASSIFIER:-runs/fmnist94}
  image_fd() {
    "$bin/evaluate_samples" --data fashion-mnist --samples "$1" --classifier "$classifier" --format json | field fd
  }
  guidance=${GUIDANCE:-1}
  # Without guidance edm (no churn) is heun, ddim (η = 0) euler, and the CFG++ samplers euler
  # and euler_ancestral: those rows would repeat at the cost of a fifth of the table.
  samplers=""
  [ "$guidance" = 1 ] && samplers=euler,heun,euler_ancestral,dpm_2,lms,dpm_2_ancestral,dpmpp_2s_ancestral,dpmpp_sde,\
dpmpp_2m,dpmpp_2m_sde,dpmpp_2m_sde_heun,dpmpp_3m_sde,ipndm,ipndm_v,deis,unipc,res_multistep,dpm_fast,lcm
  out="$out/images" && mkdir -p "$out/samplers"
  table "Fashion-MNIST U-Net, w = $guidance: FD (NFE)" image_fd "$run" "${N:-500}" "$samplers" --guidance "$guidance"
  "$bin/compare_samplers" --checkpoint "$run" --nfe 10 --n 10 --guidance "$guidance" ${samplers:+--samplers "$samplers"} \
    --out "$out/samplers/nfe10_ten_seeds.png" > /dev/null
  echo "fresh data: $("$bin/evaluate_samples" --data fashion-mnist --samples "$out/samplers/dpm_adaptive.safetensors" \
    --classifier "$classifier" --format json | field fd_fresh_data)"
fi
