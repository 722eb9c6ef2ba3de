#!/usr/bin/env bash
# ONNX Runtime for the benchmarks, in a folder the bench owns: onnxruntime-node from the npm
# registry (its CPU library ships inside the package, so no install script runs), and
# torchvision's EfficientNet-B0 exported to ONNX by Debian's PyTorch.
#   bench/onnxruntime/install.sh DIR [PYTHON]
set -euo pipefail
dir=$1
python=${2:-/usr/bin/python3}
here=$(cd "$(dirname "$0")" && pwd)
version=1.31.1
mkdir -p "$dir"
if [ ! -f "$dir/node_modules/onnxruntime-node/package.json" ]; then
  command -v npm > /dev/null || { echo "error: npm is missing (apt-get install npm)" >&2; exit 1; }
  (cd "$dir" && npm install --ignore-scripts --no-audit --no-fund --silent "onnxruntime-node@$version") ||
    { echo "error: could not install onnxruntime-node $version from the npm registry" >&2; exit 1; }
fi
if [ ! -f "$dir/efficientnet_b0.onnx" ]; then
  "$python" "$here/export_onnx.py" --out "$dir/efficientnet_b0.onnx.partial" --reference "$dir/reference.json"
  mv "$dir/efficientnet_b0.onnx.partial" "$dir/efficientnet_b0.onnx"
fi
