#include "core/json_fields.h"

#include <cmath>

#include "core/error.h"

namespace zoo {

void check_keys(const Json& json, const std::set<std::string>& known, const std::string& where) {
  if (!json.is_object()) throw Error(where + " must be a JSON object, got " + std::string(json.type_name()));
  for (const auto& item : json.items())
    if (!known.count(item.key())) {
      std::string names;
      for (const std::string& k : known) names += (names.empty() ? "" : ", ") + k;
      throw Error("unknown key '" + item.key() + "' in " + where + " (known: " + names + ")");
    }
}

void throw_json_type_error(const Json& value, const std::string& what, const std::string& expected) {
  throw Error(what + " must be " + expected + ", got " + value.dump());
}

int64_t json_int(const Json& v, const std::string& what) {
  if (v.is_number_integer()) return v.get<int64_t>();
  // Accept 3.0 (JSON writers that print every number as a float) but not 3.5.
  if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>())
    return static_cast<int64_t>(v.get<double>());
  throw_json_type_error(v, what, "an integer");
}

double json_real(const Json& v, const std::string& what) {
  if (!v.is_number()) throw_json_type_error(v, what, "a number");
  return v.get<double>();
}

void read_json_value(const Json& value, const std::string& what, int64_t& out) { out = json_int(value, what); }
void read_json_value(const Json& value, const std::string&, Json& out) { out = value; }
void read_json_value(const Json& value, const std::string& what, double& out) { out = json_real(value, what); }

void read_json_value(const Json& value, const std::string& what, bool& out) {
  if (!value.is_boolean()) throw_json_type_error(value, what, "true or false");
  out = value.get<bool>();
}

void read_json_value(const Json& value, const std::string& what, std::string& out) {
  if (!value.is_string()) throw_json_type_error(value, what, "a string");
  out = value.get<std::string>();
}

void read_json_value(const Json& value, const std::string& what, std::vector<int64_t>& out) {
  if (!value.is_array()) throw_json_type_error(value, what, "an array of integers");
  out.clear();
  for (size_t i = 0; i < value.size(); ++i) out.push_back(json_int(value[i], what + "[" + std::to_string(i) + "]"));
}

}  // namespace zoo
