#!/usr/bin/env bash
# Installs what zoo needs on Debian 12, with apt, and only what is missing: safe to run
# again and again (make setup, make test and make demo all call it). With --bench also what
# make bench needs beside PyTorch: Node.js and npm, for ONNX Runtime (bench/onnxruntime).
set -euo pipefail
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

packages=(
  build-essential cmake ccache pkg-config zlib1g-dev
  clang                   # compiles zoo ~8x faster than GCC here (see the Makefile)
  clang-format            # the style check (make format-check, in CI)
  libtorch-dev            # LibTorch 1.13 (CPU)
  libopenblas0-openmp     # LibTorch otherwise runs on the reference BLAS (~10x slower here)
  libdnnl-dev             # oneDNN's headers: the library LibTorch runs its CPU convolutions on
  ocl-icd-opencl-dev      # Debian's oneDNN is built with an OpenCL GPU runtime: its CMake config requires OpenCL
  libopencv-dev           # image files (optional for the build, used when present)
  libcxxopts-dev nlohmann-json3-dev libgtest-dev
  libgloo-dev             # headers of the Gloo backend LibTorch's c10d uses (distributed training)
  dataset-fashion-mnist   # the real data the demo and tests use
  python3-vega-datasets   # seattle-weather.csv, the README's tabular example
  python3-torch python3-torchvision  # PyTorch models for parity tests (/usr/bin/python3)
)
# (A Node.js from elsewhere, with its own npm, is used as it is: Debian's npm conflicts with it.)
[ "${1:-}" = --bench ] && ! command -v npm > /dev/null && packages+=(nodejs npm)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install_deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install_deps: all dependencies present"
fi

# Debian picks the BLAS behind LibTorch through alternatives; prefer OpenBLAS's OpenMP
# build, which shares LibTorch's OpenMP thread pool instead of starting a second one.
# BLAS, LAPACK and OpenBLAS itself must all point at the same build.
for library in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
  name="$library-x86_64-linux-gnu"
  choice="/usr/lib/x86_64-linux-gnu/openblas-openmp/$library"
  [ -e "$choice" ] || continue
  current=$(update-alternatives --query "$name" 2>/dev/null | awk '/^Value:/ {print $2}')
  [ "$current" = "$choice" ] || $sudo update-alternatives --set "$name" "$choice" >/dev/null
done
