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
[ "${#generator[@]}" -eq 0 ] && { echo "the -k 0 below assumes ninja"; exit 1; }
export PYTHONUNBUFFERED=1
start=$(date +%s)
# nccl.h for c10d's ProcessGroupNCCL: PyTorch's wheels ship it in the nvidia-nccl package.
if nccl=$(python3 -c 'import nvidia.nccl as n; print(list(n.__path__)[0])' 2>/dev/null); then export NCCL_HOME="$nccl"; fi
cmake -S . -B build-gpu "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DZOO_WITH_OPENCV=OFF -DZOO_WITH_ONEDNN=OFF -DZOO_CUDA_TESTS=ON || exit 1
# -k: a LibTorch API change shows every place it breaks in one run, not just the first.
cmake --build build-gpu -j"$(nproc)" -- -k 0 || exit 1
echo "build took $(( $(date +%s) - start )) s"

bin=build-gpu/bin
fm=mnist:third_party/fashion-mnist-small
runs=$(mktemp -d)
status=0
e2e() { echo "\$ $*"; "$@" || { echo "FAILED: $1"; status=1; }; }

echo "== distributed (c10d) first: nothing else checks the NCCL path"
# c10d against this LibTorch: Gloo on the CPU, two processes (configure printed which
# distributed backends the build has). PyTorch's wheels link Gloo but ship no gloo headers,
# so a wheel build has NCCL only unless the headers are found (ZOO_GLOO_INCLUDE_DIR).
no_gloo=false
grep -q "ZOO_GLOO_INCLUDE_DIR:PATH=.*NOTFOUND" build-gpu/CMakeCache.txt && no_gloo=true
if $no_gloo; then
  echo "no gloo headers for this LibTorch: the Gloo run is skipped (it runs in CI on Debian's LibTorch)"
else
  e2e "$bin/zoo_launch" --nproc 2 -- train_diffusion --device cpu --out "$runs/dp" --data toy:moons --steps 200 --batch-size 256 --threads 1
fi
# NCCL on the one GPU: a launched process is a group even alone, so gradients, buffers and
# the shared evaluation go through ProcessGroupNCCL (its "data-parallel:" line says so).
e2e "$bin/zoo_launch" --nproc 1 -- train_classifier --device cuda --out "$runs/dp_nccl" --data "$fm" --limit 4096 \
  --model efficientnet_phi --set phi=-3 --image-size 32 --epochs 1 --sync-batch-norm

echo "== tests: cuda"
(cd build-gpu && ctest -L cuda --output-on-failure) || status=1

echo "== executables end to end on cuda (a 6,000-image slice of Fashion-MNIST, toy data)"
start=$(date +%s)
e2e "$bin/train_classifier" --device cuda --out "$runs/classifier" --data "$fm" --model efficientnet_phi --set phi=-3 \
  --image-size 32 --epochs 3 --batch-size 64 --lr 0.01
e2e "$bin/train_diffusion" --device cuda --out "$runs/toy" --data toy:checkerboard --steps 2000 --batch-size 512 --lr 2e-3
e2e "$bin/sample_diffusion" --device cuda --checkpoint "$runs/toy" --sampler heun --steps 18 --n 5000 --out "$runs/toy.safetensors"
e2e "$bin/evaluate_samples" --data toy:checkerboard --samples "$runs/toy.safetensors"
e2e "$bin/train_diffusion" --device cuda --out "$runs/unet" --data "$fm" --net unet --classes --epochs 2 --batch-size 128
e2e "$bin/sample_diffusion" --device cuda --checkpoint "$runs/unet" --sampler heun --steps 18 --n 64 --class 3 --guidance 2 --out "$out/unet_samples.png"
e2e "$bin/sample_diffusion" --device cuda --checkpoint "$runs/unet" --sampler heun --steps 18 --n 1000 --guidance 2 --out "$runs/unet.safetensors"
e2e "$bin/evaluate_samples" --device cuda --data "$fm" --samples "$runs/unet.safetensors" --classifier "$runs/classifier"
e2e "$bin/train_flow" --device cuda --out "$runs/glow" --data "$fm" --model glow --epochs 1 --batch-size 64
e2e "$bin/sample_flow" --device cuda --checkpoint "$runs/glow" --n 64 --temperature 0.7 --out "$out/glow_samples.png"
e2e "$bin/sample_flow" --device cuda --checkpoint "$runs/glow" --reconstruct --limit 256
e2e "$bin/train_vae" --device cuda --out "$runs/vae" --data "$fm" --latent categorical --epochs 2
# A table made here (the Debian seattle-weather file is not on this machine): y = x² + 1 by city.
awk 'BEGIN { srand(1); print "x,city,y"; for (i = 0; i < 2000; ++i) { x = rand() * 2; c = (i % 2) ? "a" : "b";
  print x "," c "," x * x + (c == "a") } }' > "$runs/table.csv"
echo '{"columns": [{"type": "numeric", "key": "x", "normalizer": "standard"},
  {"type": "embedding", "dimension": 2, "categorical": {"type": "vocabulary", "key": "city"}}]}' > "$runs/columns.json"
e2e "$bin/train_tabular" --device cuda --out "$runs/tabular" --data "csv:$runs/table.csv" --columns "$runs/columns.json" \
  --target y --epochs 10
e2e "$bin/receptive_field" --model efficientnet_b0 --input-size 960 --verify
e2e "$bin/model_info" --device cuda --model unet
echo "executables took $(( $(date +%s) - start )) s"

# GPU_CHECK_BENCH=0 skips them when something else shares the GPU (their ratios would mean little).
if [ "${GPU_CHECK_BENCH:-1}" != 0 ]; then
  echo "== benchmarks on cuda"
  bash bench/run.sh build-gpu/bin cuda python3 || status=1
fi

echo "== tests: unit (the CPU suite, against this LibTorch)"
# Left out, and said so, where this machine lacks what they need (CI runs them all).
skip=()
$no_gloo && { echo "left out: Distributed.* (Gloo)"; skip+=('Distributed\.'); }
[ -d /usr/share/datasets/fashion-mnist ] || {
  echo "left out: IdxOnFashionMnist.*, which read Debian's Fashion-MNIST (/usr/share/datasets/fashion-mnist)"
  skip+=('IdxOnFashionMnist\.'); }
/usr/bin/python3 -c 'import torch' 2>/dev/null || {
  echo "left out: the Pth and SafeTensorsPython tests, which make their files with torch in /usr/bin/python3"
  skip+=('Pth\.' 'SafeTensorsPython\.'); }
exclude=()
[ "${#skip[@]}" -gt 0 ] && exclude=(-E "$(IFS='|'; echo "${skip[*]}")")
(cd build-gpu && ctest -L unit "${exclude[@]}" --output-on-failure -j"$(nproc)") || status=1
exit $status
