#pragma once
// Per-channel mean and standard deviation of a dataset's inputs (per coordinate for
// points), accumulated in double in one pass.
#include <functional>
#include <vector>

#include "data/dataset.h"

namespace zoo::data {

struct ChannelStats {
  std::vector<double> mean, std;
};

// Over the first `max_examples` examples (all when negative); `visit` sees every example
// read, so a caller can gather more in the same pass.
ChannelStats channel_stats(const Dataset& dataset, int64_t max_examples = -1,
                           const std::function<void(const Example&)>& visit = {});

}  // namespace zoo::data
