#include "core/json.h"

#include "core/atomic_file.h"
#include "core/error.h"

namespace zoo {

Json load_json_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw Error(path + ": invalid JSON: " + e.what());
  }
}

void save_json_file(const std::string& path, const Json& value) { write_file_atomic(path, value.dump(2) + "\n"); }

}  // namespace zoo
