#pragma once
// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a 4-byte
// magic (0, 0, type code, number of dimensions), one big-endian uint32 per dimension, then
// the big-endian data. Files may be gzip-compressed, as they are distributed.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "data/dataset.h"

namespace zoo::data {

// Debian's dataset-fashion-mnist package installs the four .gz files here.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Reads a raw or gzip-compressed IDX file into a tensor of its shape and type (uint8 for
// type 0x08, int8, int16, int32, float32, float64). Throws zoo::Error naming the file for
// anything that is not exactly one well-formed IDX array: a bad magic or type code, a
// dimension count outside 1..4, a zero dimension, truncated or trailing data, or a
// corrupt gzip stream.
torch::Tensor read_idx(const std::string& path);

// Loads {train,t10k}-images-idx3-ubyte and {train,t10k}-labels-idx1-ubyte from `dir`,
// each with or without .gz (the "-images.idx3-ubyte" spelling of some MNIST copies is
// accepted too). Images [N, H, W] uint8 become inputs [N, 1, H, W]; labels must be 1-D with
// one per image and lie below classes.size(). With no class names given, classes are
// named "0".."K-1" with K = the largest *training* label + 1 in both splits (the test
// split reads the training labels too), at most kMaxClasses (core/limits.h): both splits
// then have one class list, and a test label the model cannot predict is an error here.
// Files larger than kMaxIdxBytes, raw or once inflated, are errors before they are read.
DatasetPtr load_idx_dataset(const std::string& dir, Split split, const std::string& name,
                            std::vector<std::string> classes);

const std::vector<std::string>& fashion_mnist_classes();
const std::vector<std::string>& mnist_classes();

}  // namespace zoo::data
