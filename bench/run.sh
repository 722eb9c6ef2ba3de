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
field() { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p"; }

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
# EfficientNet-B0 against what a user who wants speed would run instead: PyTorch eager,
# channels-last and (inference) traced + frozen + optimize_for_inference, and ONNX Runtime's
# CPU provider (installed by bench/onnxruntime/install.sh into the build folder). Every row's
# ratio is against its best anchor. zoo's inference path: BatchNorm folded into oneDNN
# convolutions with SiLU and residual adds fused (models/nn/packed_conv.h), channels-last.
ort_dir="$bin/../bench/onnxruntime"
if [ "$device" = cpu ]; then
  bash "$here/onnxruntime/install.sh" "$ort_dir" "$python" ||
    { echo "error: ONNX Runtime could not be installed; no EfficientNet table without it" >&2; exit 1; }
fi
images() { field images_per_second; }
best_of() { printf '%s\n' "$@" | sort -g | tail -1; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# On a shared machine one run's rate can be 20% off its neighbour's: each rate is the median
# of ROUNDS rounds, in which zoo and every anchor run in turn.
rounds=${ROUNDS:-3}
# bfloat16 where the device computes in it (CUDA, or a CPU with AVX512-BF16): zoo under
# --precision bf16 against PyTorch channels-last in bfloat16 and ONNX Runtime in float32.
bf16=no
"$bin/bench_efficientnet" --workload infer --batch 1 --iterations 1 --precision bf16 --device "$device" \
  --threads "$cores" > /dev/null 2>&1 && bf16=yes
bf16_rows=""
echo "EfficientNet-B0 inference, 224x224, $cores threads, images/s (medians of $rounds alternating rounds)"
echo "batch  zoo      pytorch eager  channels_last  frozen+optimized  onnxruntime  zoo/best anchor"
for batch in 1 8; do
  zoo=() eager=() channels_last=() frozen=() ort=() zoo16=() torch16=()
  for ((round = 0; round < rounds; ++round)); do
    zoo+=("$("$bin/bench_efficientnet" --workload infer --batch "$batch" --device "$device" --threads "$cores" --channels-last | images)")
    for mode in eager channels_last frozen; do
      rate=$("$python" "$here/efficientnet.py" --workload infer --batch "$batch" --mode "$mode" --device "$device" --threads "$cores" | images)
      case $mode in eager) eager+=("$rate") ;; channels_last) channels_last+=("$rate") ;; frozen) frozen+=("$rate") ;; esac
    done
    if [ "$device" = cpu ]; then
      ort+=("$(NODE_PATH="$ort_dir/node_modules" node "$here/onnxruntime/ort_bench.js" "$ort_dir/efficientnet_b0.onnx" \
        "$ort_dir/reference.json" "$batch" "$cores" 10 | images)")
    fi
    if [ $bf16 = yes ]; then
      zoo16+=("$("$bin/bench_efficientnet" --workload infer --batch "$batch" --device "$device" --threads "$cores" --channels-last --precision bf16 | images)")
      torch16+=("$("$python" "$here/efficientnet.py" --workload infer --batch "$batch" --mode bf16 --device "$device" --threads "$cores" | images)")
    fi
  done
  z=$(median "${zoo[@]}") e=$(median "${eager[@]}") c=$(median "${channels_last[@]}") f=$(median "${frozen[@]}") o=-
  [ "$device" = cpu ] && o=$(median "${ort[@]}")
  best=$(best_of "$e" "$c" "$f" "${o/-/0}")
  awk -v b="$batch" -v z="$z" -v e="$e" -v c="$c" -v f="$f" -v o="$o" -v best="$best" \
    'BEGIN { printf "%5s  %7.1f  %13.1f  %13.1f  %16.1f  %11s  %15.2f\n", b, z, e, c, f, (o == "-") ? o : sprintf("%.1f", o), z / best }'
  if [ $bf16 = yes ]; then
    bf16_rows+=$(awk -v b="$batch" -v z="$(median "${zoo16[@]}")" -v t="$(median "${torch16[@]}")" -v best="$best" \
      'BEGIN { printf "%5s  %8.1f  %12.1f  %19.1f  %18.2f  %17.2f\n", b, z, t, best, z / best, z / t }')$'\n'
  fi
done
echo
if [ $bf16 = yes ]; then
  echo "EfficientNet-B0 inference in bfloat16 (same rounds), images/s"
  echo "batch  zoo bf16  pytorch bf16  best float32 anchor  zoo bf16/best fp32  zoo bf16/pytorch bf16"
  printf '%s' "$bf16_rows"
else
  echo "EfficientNet-B0 inference in bfloat16: not timed (this $device has no bfloat16 arithmetic)"
fi
echo
echo "EfficientNet-B0 training step, batch 128 at 32x32, $cores threads, images/s (medians of $rounds alternating rounds)"
echo "zoo channels-last  pytorch eager  pytorch channels_last  zoo/best anchor"
zoo=() eager=() channels_last=()
for ((round = 0; round < rounds; ++round)); do
  zoo+=("$("$bin/bench_efficientnet" --workload train --device "$device" --threads "$cores" --channels-last | images)")
  eager+=("$("$python" "$here/efficientnet.py" --workload train --mode eager --device "$device" --threads "$cores" | images)")
  channels_last+=("$("$python" "$here/efficientnet.py" --workload train --mode channels_last --device "$device" --threads "$cores" | images)")
done
z=$(median "${zoo[@]}") e=$(median "${eager[@]}") c=$(median "${channels_last[@]}")
awk -v z="$z" -v e="$e" -v c="$c" -v best="$(best_of "$e" "$c")" \
  'BEGIN { printf "%17.1f  %13.1f  %21.1f  %15.2f\n", z, e, c, z / best }'

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
