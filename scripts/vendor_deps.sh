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
echo "vendored cxxopts, nlohmann/json and googletest into third_party/"
