#pragma once
// Option structs to and from JSON with one list of fields per struct, so a config's
// writer and its reader cannot drift apart. A struct opts in with a visitor:
//
//   template <class Visit> void visit_fields(MlpNetOptions& o, Visit&& field) {
//     field("hidden", o.hidden);
//     field("blocks", o.blocks);
//   }
//   Json j = fields_to_json(options);
//   MlpNetOptions o = fields_from_json<MlpNetOptions>(j, "mlp config");
//
// Reading starts from the struct's defaults, takes the keys present, and rejects unknown
// keys and values of the wrong type with an error naming the key.
#include <set>
#include <string>
#include <vector>

#include "core/json.h"

namespace zoo {

// zoo::Error(input) for a non-object or a key outside `known`, listing the known keys.
void check_keys(const Json& json, const std::set<std::string>& known, const std::string& where);
// An integer (3.0 is accepted as 3, 3.5 is not); `what` names the value in the error.
int64_t json_int(const Json& value, const std::string& what);
double json_real(const Json& value, const std::string& what);

void read_json_value(const Json& value, const std::string& what, int64_t& out);
void read_json_value(const Json& value, const std::string& what, double& out);
void read_json_value(const Json& value, const std::string& what, bool& out);
void read_json_value(const Json& value, const std::string& what, std::string& out);
void read_json_value(const Json& value, const std::string& what, std::vector<int64_t>& out);

template <class T>
Json fields_to_json(const T& options) {
  Json json = Json::object();
  visit_fields(const_cast<T&>(options), [&](const char* key, const auto& value) { json[key] = value; });
  return json;
}

template <class T>
T fields_from_json(const Json& json, const std::string& where, T options = T{}) {
  std::set<std::string> known;
  visit_fields(options, [&](const char* key, const auto&) { known.insert(key); });
  check_keys(json, known, where);
  visit_fields(options, [&](const char* key, auto& value) {
    if (json.contains(key)) read_json_value(json.at(key), where + ": " + key, value);
  });
  return options;
}

}  // namespace zoo
