#include "core/shard.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace zoo {

std::pair<int64_t, int64_t> contiguous_share(int64_t n, int64_t rank, int64_t world) {
  if (n < world)
    throw Error("cannot share " + std::to_string(n) + " examples among " + std::to_string(world) + " processes",
                ErrorKind::usage);
  const int64_t base = n / world, extra = n % world;
  const int64_t begin = rank * base + std::min(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

}  // namespace zoo
