#!/usr/bin/env bash
# Compiles (syntax only) core/distributed.cpp's ProcessGroupNCCL path on a machine without a
# GPU or a CUDA build of LibTorch: against this LibTorch's c10d headers and a CUDA toolkit's
# headers (nccl.h, cuda_runtime.h). It catches API misuse before a GPU session runs
# scripts/gpu_check.sh; it does not link or run anything.
#   bash scripts/check_nccl_source.sh [BUILD_DIR]     (CUDA_HOME: default /usr/local/cuda*)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
flags="$build/CMakeFiles/zoo.dir/flags.make"
[ -f "$flags" ] || { echo "error: $flags not found: configure zoo first (cmake -S . -B $build)" >&2; exit 2; }
cuda=${CUDA_HOME:-$(ls -d /usr/local/cuda* 2>/dev/null | sort -V | tail -n 1)}
[ -f "$cuda/include/nccl.h" ] || { echo "error: no nccl.h under '$cuda/include' (set CUDA_HOME)" >&2; exit 2; }
# Debian's LibTorch is a CPU build: its c10/cuda headers lack the one CMake would generate.
shim=$(mktemp -d)
trap 'rm -rf "$shim"' EXIT
mkdir -p "$shim/c10/cuda/impl"
echo '#define C10_CUDA_BUILD_SHARED_LIBS' > "$shim/c10/cuda/impl/cuda_cmake_macros.h"
defines=$(sed -n 's/^CXX_DEFINES = //p' "$flags")
includes=$(sed -n 's/^CXX_INCLUDES = //p' "$flags")
# shellcheck disable=SC2086  # the flag lists are word lists
c++ -fsyntax-only -std=c++17 -D_GLIBCXX_USE_CXX11_ABI=1 $defines -DZOO_HAVE_GLOO -DZOO_HAVE_NCCL $includes \
  -isystem "$shim" -isystem "$cuda/include" core/distributed.cpp
echo "core/distributed.cpp compiles with ProcessGroupNCCL ($cuda/include/nccl.h)"
