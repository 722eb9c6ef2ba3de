#!/usr/bin/env bash
# Side-by-side benchmarks: each workload in zoo (C++) and in PyTorch (Python) in the same
# invocation, same thread count; prints both rates and their ratio. PyTorch runs at each
# thread count we try, and its best is the baseline.
#   bench/run.sh BIN_DIR [DEVICE] [PYTHON]
set -euo pipefail
bin=${1:-build/bin}
device=${2:-cpu}
python=${3:-/usr/bin/python3}
here=$(cd "$(dirname "$0")" && pwd)
cores=$(nproc)

rate() { sed -n 's/.*"steps_per_second": *\([0-9.e+-]*\).*/\1/p'; }

echo "workload   device  threads  zoo steps/s  pytorch steps/s  ratio (zoo/pytorch)"
for threads in 1 "$cores"; do
  zoo=$("$bin/bench_mlp_step" --device "$device" --threads "$threads" | rate)
  torch=$("$python" "$here/mlp_step.py" --device "$device" --threads "$threads" | rate)
  awk -v t="$threads" -v d="$device" -v z="$zoo" -v p="$torch" \
    'BEGIN { printf "mlp_step   %-6s  %7s  %11.1f  %15.1f  %.2f\n", d, t, z, p, z / p }'
  [ "$device" = "cpu" ] || break
done

echo
echo "workload      what                                    seconds   ratio (load/read)"
"$bin/bench_load_weights" | sed -n 's/.*"load_seconds":\([0-9.e+-]*\).*"megabytes":\([0-9.e+-]*\).*"ratio":\([0-9.e+-]*\).*"read_seconds":\([0-9.e+-]*\).*/\1 \2 \3 \4/p' |
  awk '{ printf "load_weights  read %.0f MB file                       %7.3f\nload_weights  read_safetensors + load_state_dict    %7.3f   %.2f\n", $2, $4, $1, $3 }'

echo
echo "workload               threads  zoo img/s  torchvision img/s  ratio  zoo peak MB  torchvision peak MB"
field() { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p"; }
# zoo's inference path: BatchNorm folded into the convolutions, channels-last; torchvision
# runs eager as users run it. Training runs twice in zoo: the default layout (the same
# kernels as torchvision's) and train_classifier --channels-last.
for row in infer train train_channels_last; do
  workload=${row%%_*} extra=()
  [ "$row" != train ] && extra=(--channels-last)
  zoo=$("$bin/bench_efficientnet" --workload "$workload" --device "$device" --threads "$cores" "${extra[@]}")
  tv=$("$python" "$here/efficientnet.py" --workload "$workload" --device "$device" --threads "$cores")
  awk -v w="b0_$row" -v t="$cores" -v z="$(echo "$zoo" | field images_per_second)" -v p="$(echo "$tv" | field images_per_second)" \
      -v zm="$(echo "$zoo" | field peak_rss_mb)" -v pm="$(echo "$tv" | field peak_rss_mb)" \
    'BEGIN { printf "%-22s %7s  %9.1f  %17.1f  %5.2f  %11.0f  %19.0f\n", w, t, z, p, z / p, zm, pm }'
done

echo
# Rows of zoo against its PyTorch twin: bench_NAME and NAME.py, which rebuild the same
# networks layer by layer (equal parameter counts say so).
# Args: NAME WORKLOAD:RATE_FIELD[:BATCH]... (no BATCH: the workload's own)
twin_rows() {
  local name=$1 spec workload rate_field batch label unit zoo pt extra
  shift
  for spec in "$@"; do
    IFS=: read -r workload rate_field batch <<<"$spec"
    label=$workload extra=()
    [ -n "$batch" ] && label="$workload/$batch" extra=(--batch "$batch")
    unit=steps/s
    [ "$rate_field" = samples_per_second ] && unit=samples/s
    zoo=$("$bin/bench_$name" --workload "$workload" --device "$device" --threads "$cores" "${extra[@]}")
    pt=$("$python" "$here/$name.py" --workload "$workload" --device "$device" --threads "$cores" "${extra[@]}")
    awk -v w="$label" -v t="$cores" -v u="$unit" -v z="$(echo "$zoo" | field "$rate_field")" -v p="$(echo "$pt" | field "$rate_field")" \
        -v zp="$(echo "$zoo" | field parameters)" -v pp="$(echo "$pt" | field parameters)" \
        -v zm="$(echo "$zoo" | field peak_rss_mb)" -v pm="$(echo "$pt" | field peak_rss_mb)" \
      'BEGIN { printf "%-12s  %7s  %-9s  %8.1f  %12.1f  %5.2f  %10d  %14d  %11.0f  %15.0f\n", w, t, u, z, p, z / p, zp, pp, zm, pm }'
  done
}

echo "workload      threads  unit        zoo rate  pytorch rate  ratio  zoo params  pytorch params  zoo peak MB  pytorch peak MB"
twin_rows diffusion unet_sample:samples_per_second mlp_train:steps_per_second mlp_train:steps_per_second:64
twin_rows flows nice_train:steps_per_second glow_sample:samples_per_second
