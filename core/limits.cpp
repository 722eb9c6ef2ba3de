#include "core/limits.h"

#include <cmath>
#include <cstdio>

namespace zoo {

namespace {

std::string number_text(double value) {
  if (std::isfinite(value) && value == std::floor(value) && std::abs(value) < 0x1p53)
    return std::to_string(static_cast<int64_t>(value));
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

}  // namespace

void check_limit(const std::string& what, double value, const Limit& limit, ErrorKind kind) {
  if (value <= static_cast<double>(limit.max)) return;
  throw Error(what + " is " + number_text(value) + ", over the limit of " + std::to_string(limit.max) + " " +
                  limit.unit + " (" + limit.name + " in core/limits.h)",
              kind);
}

}  // namespace zoo
