#pragma once
// CIFAR-10 and CIFAR-100 in their binary versions (https://www.cs.toronto.edu/~kriz/cifar.html):
// files of fixed-size records, each the label byte(s) followed by a 32x32 RGB image stored
// channel by channel (1024 red, 1024 green, 1024 blue bytes, rows top to bottom).
// Inputs are [3, 32, 32], held as one uint8 tensor and scaled to [0, 1] on access.
#include <string>

#include "data/dataset.h"

namespace zoo::data {

// data_batch_1.bin .. data_batch_5.bin (train, 50000 images) or test_batch.bin (10000),
// in dir or in dir/cifar-10-batches-bin (where the archive unpacks). Class names come
// from batches.meta.txt when present (one per line), else the standard ten.
DatasetPtr load_cifar10(const std::string& dir, Split split);

// train.bin or test.bin in dir or dir/cifar-100-binary; each record holds a coarse
// (0..19) and a fine (0..99) label, and `fine` picks which one the examples carry. Names
// come from fine_label_names.txt / coarse_label_names.txt when present, else "0", "1", ...
DatasetPtr load_cifar100(const std::string& dir, Split split, bool fine = true);

}  // namespace zoo::data
