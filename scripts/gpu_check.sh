#!/usr/bin/env bash
# Runs on the GPU machine (see DESIGN.md): builds zoo against that machine's LibTorch 2.x
# with CUDA, without OpenCV, using the dependencies scripts/vendor_deps.sh copied into
# third_party/ beforehand; runs the unit and CUDA tests and the benchmarks on CUDA; and
# writes its log to $OUT/gpu_check.log.
#   here:   bash scripts/vendor_deps.sh
#   there:  bash scripts/gpu_check.sh        (with third_party carried along)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu_check_out}
mkdir -p "$out"
log="$out/gpu_check.log"
exec > >(tee "$log") 2>&1

echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())'
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')

echo "== build (LibTorch from $prefix)"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
start=$(date +%s)
cmake -S . -B build-gpu "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DZOO_WITH_OPENCV=OFF -DZOO_CUDA_TESTS=ON || exit 1
cmake --build build-gpu -j"$(nproc)" || exit 1
echo "build took $(( $(date +%s) - start )) s"

echo "== tests: cuda and unit"
(cd build-gpu && ctest -L 'cuda|unit' --output-on-failure -j4)
status=$?

echo "== benchmarks on cuda"
bash bench/run.sh build-gpu/bin cuda python3 || status=1
exit $status
