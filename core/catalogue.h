#pragma once
// A list of named things a user picks by name (samplers, schedules, ...), declared once:
// lookup, the names for --help and the error for an unknown name all come from it, so a
// new entry is one line and no list of names can fall behind.
//
//   const Catalogue<Sampler> samplers("sampler", {{"euler", sample_euler}, ...});
//   samplers.find("heun");   // zoo::Error(usage): "unknown sampler 'x' (expected euler, heun or ...)"
//   samplers.names_text();   // "euler, heun or ..."
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/strings.h"

namespace zoo {

template <class T>
class Catalogue {
 public:
  struct Entry {
    std::string name;
    T value;
  };

  Catalogue(std::string kind, std::vector<Entry> entries) : kind_(std::move(kind)), entries_(std::move(entries)) {}

  const T& find(const std::string& name) const {
    for (const Entry& entry : entries_)
      if (entry.name == name) return entry.value;
    throw Error("unknown " + kind_ + " '" + name + "' (expected " + names_text() + ")", ErrorKind::usage);
  }
  // In the order declared.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const Entry& entry : entries_) out.push_back(entry.name);
    return out;
  }
  // "a, b or c", for help texts and messages.
  std::string names_text() const { return or_list(names()); }

 private:
  std::string kind_;
  std::vector<Entry> entries_;
};

}  // namespace zoo
