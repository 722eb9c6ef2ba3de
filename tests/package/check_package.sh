#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds a consumer project against it
# with find_package(zoo): the exported CMake package must carry everything it needs.
set -euo pipefail
build_dir=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" > /dev/null
mkdir "$work/consumer"
cp "$here/consumer.cpp" "$work/consumer/"
cat > "$work/consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.18)
project(consumer CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(zoo REQUIRED)
add_executable(consumer consumer.cpp)
target_link_libraries(consumer PRIVATE zoo::zoo)
CMAKE
cmake -S "$work/consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" > /dev/null
cmake --build "$work/build" > /dev/null
output=$("$work/build/consumer")
[ "$output" = "[4, 2]" ] || { echo "consumer printed '$output', expected '[4, 2]'"; exit 1; }
echo "find_package(zoo) consumer built and ran"
