#pragma once
// A list of named things a user picks by name (models, flows, diffusion networks, samplers,
// schedules), declared once: lookup, the names for --help and the error for an unknown name
// all come from it, so a new entry is one line and no list of names can fall behind.
//
//   const Catalogue<Sampler> samplers("sampler", {{"euler", sample_euler}, ...});
//   samplers.find("heun");   // zoo::Error(usage): "unknown sampler 'x' (expected euler, heun or ...)"
//   samplers.names_text();   // "euler, heun or ..."
#include <deque>
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

  Catalogue(std::string kind, std::vector<Entry> entries) : kind_(std::move(kind)) {
    for (Entry& entry : entries) add(std::move(entry));
  }

  // A name already taken is an error. References to entries stay valid.
  void add(Entry entry) {
    if (contains(entry.name)) throw Error(kind_ + " '" + entry.name + "' is declared twice", ErrorKind::runtime);
    entries_.push_back(std::move(entry));
  }
  bool contains(const std::string& name) const {
    for (const Entry& entry : entries_)
      if (entry.name == name) return true;
    return false;
  }

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
  const std::deque<Entry>& entries() const { return entries_; }

 private:
  std::string kind_;
  std::deque<Entry> entries_;  // a deque: adding keeps references to entries valid
};

}  // namespace zoo
