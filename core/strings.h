#pragma once
// Small string helpers that several executables and readers need.
#include <sstream>
#include <string>
#include <vector>

namespace zoo {

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "a, b, c" from any streamable values.
template <class T>
std::string join(const std::vector<T>& values, const std::string& separator) {
  std::ostringstream out;
  for (size_t i = 0; i < values.size(); ++i) out << (i ? separator : "") << values[i];
  return out.str();
}

}  // namespace zoo
