#pragma once
// How n items are split among the ranks of a data-parallel group: in rank order, each rank a
// contiguous run, sizes differing by at most one. Evaluation splits a test set this way and
// the loader splits a short last global batch this way, so there is one rule to reason about.
#include <cstdint>
#include <utility>

namespace zoo {

// [begin, end) of `rank`'s share of n items among `world` ranks, the larger shares first.
// A usage error when n < world: some rank would get nothing to compute on.
std::pair<int64_t, int64_t> contiguous_share(int64_t n, int64_t rank, int64_t world);

}  // namespace zoo
