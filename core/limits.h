#pragma once
// Upper bounds on sizes that come from input — data files, data specs, the configs that
// checkpoints carry — checked before anything of that size is allocated. Without them a
// corrupt label, a typo in a spec or a hostile file makes a loader ask for terabytes and
// die with std::bad_alloc, or slowly build something no machine could train. Each bound is
// far above every real use (its comment says what it was measured against and what one
// unit costs); raise one here, with its reason, if a real data set needs more.
#include <cstdint>
#include <string>

#include "core/error.h"

namespace zoo {

struct Limit {
  const char* name;  // the constant's name, so an error says which limit to raise
  int64_t max;
  const char* unit;  // what is counted, as an error says it
};

// Classes of a labelled data set or a classifier. ImageNet-21k, the largest label set in
// common use, has 21,843. Labels are numbered, so a corrupt label of 2^31 − 1 would
// otherwise ask for 2^31 class names (over 64 GB) and a classifier head as wide.
inline constexpr Limit kMaxClasses{"kMaxClasses", 100'000, "classes"};

// The side of the square images a loader returns or a model is configured for: about 7x
// EfficientNet-B7's 600. One float image [3, 4096, 4096] is already 200 MB, a batch of 64
// of them 13 GB.
inline constexpr Limit kMaxImageSide{"kMaxImageSide", 4096, "pixels a side"};

// Pixels of one image file, read from its header before it is decoded: 2^28 is 16384 x
// 16384, a large panorama. Decoded to float RGB that is 3 GB; OpenCV's own cap (2^30)
// would allow 12 GB.
inline constexpr Limit kMaxImagePixels{"kMaxImagePixels", int64_t{1} << 28, "pixels"};

// Channels of an input image or of one layer: 17x the widest layer of the largest released
// EfficientNets (3840, B7's and V2-L's expanded last stage). A 1x1 convolution between two
// such layers already holds 2^32 weights (16 GB).
inline constexpr Limit kMaxChannels{"kMaxChannels", 65'536, "channels"};

// Blocks of one network: over 12x EfficientNetV2-L's 79. Every block is a handful of
// modules built and run one after another; far more is a corrupt depth multiplier.
inline constexpr Limit kMaxBlocks{"kMaxBlocks", 1'000, "blocks"};

// Weights of one model: over 8x EfficientNetV2-L's 118 million. That is 4 GB of float32
// parameters, and training holds three times as much again (gradients, Adam's moments).
inline constexpr Limit kMaxParameters{"kMaxParameters", 1'000'000'000, "parameters"};

// Points a toy distribution draws for one split, at load time: 500x the default 20,000;
// 160 MB while drawing (in double), 80 MB held.
inline constexpr Limit kMaxToyPoints{"kMaxToyPoints", 10'000'000, "points"};

// Buckets of one categorical feature column. Its indicator is a one-hot vector that wide
// per row, its embedding a table with a row per bucket; 2^20 is more buckets than a table
// one trains on a CPU has rows.
inline constexpr Limit kMaxBuckets{"kMaxBuckets", int64_t{1} << 20, "buckets"};

// Width of the dense vector feature columns build (numeric + indicators' buckets +
// embeddings' dimensions): the network's first layer holds width x hidden weights, and
// 2^20 x 256 is 1 GB of float32.
inline constexpr Limit kMaxFeatureWidth{"kMaxFeatureWidth", int64_t{1} << 20, "features"};

// Bytes of one IDX file once decompressed, held in memory whole: 85x Fashion-MNIST's
// training images (47 MB), 7x EMNIST's largest split. A gzip member can inflate 1032-fold,
// so a small hostile .gz could otherwise ask for gigabytes.
inline constexpr Limit kMaxIdxBytes{"kMaxIdxBytes", int64_t{1} << 32, "bytes"};

// Throws zoo::Error(kind) "<what> is <value>, over the limit of <max> <unit> (<name> in
// core/limits.h)" unless value <= limit.max (NaN included). `value` is a double so that
// callers can check products (channels x width multiplier, a parameter count) before they
// could overflow an integer; integers below 2^53 are printed exactly. Lower bounds (at
// least 1, positive) stay with the callers, whose messages say what the value means.
void check_limit(const std::string& what, double value, const Limit& limit, ErrorKind kind = ErrorKind::input);

}  // namespace zoo
