#!/usr/bin/env bash
# Copies the header-only and source dependencies from this Debian machine into
# third_party/ (git-ignored), for machines without Debian's packages: the GPU machine
# builds with them (scripts/gpu_check.sh). CMake falls back to third_party/ only when
# find_package does not find a system copy.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf third_party
mkdir -p third_party/cxxopts/include third_party/nlohmann_json/include
cp /usr/include/cxxopts.hpp third_party/cxxopts/include/
cp -r /usr/include/nlohmann third_party/nlohmann_json/include/
cp -r /usr/src/googletest third_party/googletest
mkdir -p third_party/zlib/include
cp /usr/include/zlib.h /usr/include/zconf.h third_party/zlib/include/
echo "vendored cxxopts, nlohmann/json, googletest and the zlib headers into third_party/"

# The GPU machine has no Fashion-MNIST: a slice of it (6,000 training and 2,000 test
# images, still IDX) lets gpu_check.sh run the executables end to end on CUDA.
/usr/bin/python3 - <<'PY'
import gzip, os, struct
src, dst = "/usr/share/datasets/fashion-mnist", "third_party/fashion-mnist-small"
os.makedirs(dst, exist_ok=True)
for split, n in (("train", 6000), ("t10k", 2000)):
    for kind, item in (("images-idx3", 784), ("labels-idx1", 1)):
        name = f"{split}-{kind}-ubyte.gz"
        data = gzip.open(f"{src}/{name}").read()
        header = 16 if item == 784 else 8
        fields = list(struct.unpack(">" + "I" * (header // 4), data[:header]))
        fields[1] = n
        with gzip.open(f"{dst}/{name}", "wb") as out:
            out.write(struct.pack(">" + "I" * (header // 4), *fields) + data[header:header + n * item])
PY
echo "wrote a 6,000/2,000-image slice of Fashion-MNIST into third_party/fashion-mnist-small/"
