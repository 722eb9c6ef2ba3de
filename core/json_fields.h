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
//
// A field may be a number, bool, string, a list of integers, JSON as it is, an optional
// (null when empty), a struct with visit_fields of its own (an object), or a list of such structs. An
// enum joins with two functions beside it, in its namespace, found by argument lookup:
//   Json to_json_value(Kind kind);
//   void read_json_value(const Json& value, const std::string& what, Kind& out);
// A struct that reads differently (keys it requires, say) declares its own read_json_value
// the same way.
#include <c10/util/Optional.h>

#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/json.h"

namespace zoo {

// zoo::Error(input) for a non-object or a key outside `known`, listing the known keys.
void check_keys(const Json& json, const std::set<std::string>& known, const std::string& where);
// An integer (3.0 is accepted as 3, 3.5 is not); `what` names the value in the error.
int64_t json_int(const Json& value, const std::string& what);
double json_real(const Json& value, const std::string& what);

// zoo::Error: "WHAT must be EXPECTED, got VALUE".
[[noreturn]] void throw_json_type_error(const Json& value, const std::string& what, const std::string& expected);

void read_json_value(const Json& value, const std::string& what, int64_t& out);
void read_json_value(const Json& value, const std::string& what, double& out);
void read_json_value(const Json& value, const std::string& what, bool& out);
void read_json_value(const Json& value, const std::string& what, std::string& out);
void read_json_value(const Json& value, const std::string& what, std::vector<int64_t>& out);
// A field holding JSON as it is: a nested config that another parser reads.
void read_json_value(const Json& value, const std::string& what, Json& out);

namespace detail {
struct AnyField {
  template <class V>
  void operator()(const char*, V&) const {}
};
template <class T, class = void>
struct has_fields : std::false_type {};
template <class T>
struct has_fields<T, std::void_t<decltype(visit_fields(std::declval<T&>(), AnyField{}))>> : std::true_type {};
}  // namespace detail

template <class T>
Json fields_to_json(const T& options);
template <class T>
T fields_from_json(const Json& json, const std::string& where, T options = T{});

template <class T>
Json to_json_value(const T& value) {
  if constexpr (detail::has_fields<T>::value)
    return fields_to_json(value);
  else
    return Json(value);
}
template <class T>
Json to_json_value(const c10::optional<T>& value) {
  return value ? to_json_value(*value) : Json(nullptr);
}
template <class T>
Json to_json_value(const std::vector<T>& values) {
  Json json = Json::array();
  for (const T& value : values) json.push_back(to_json_value(value));
  return json;
}

template <class T, std::enable_if_t<detail::has_fields<T>::value, int> = 0>
void read_json_value(const Json& value, const std::string& what, T& out) {
  out = fields_from_json(value, what, std::move(out));
}
template <class T>
void read_json_value(const Json& value, const std::string& what, c10::optional<T>& out) {
  if (value.is_null()) {
    out = c10::nullopt;
    return;
  }
  T present{};
  read_json_value(value, what, present);
  out = std::move(present);
}
template <class T>
void read_json_value(const Json& value, const std::string& what, std::vector<T>& out) {
  if (!value.is_array()) throw_json_type_error(value, what, "an array");
  std::vector<T> values(value.size());
  for (size_t i = 0; i < value.size(); ++i) read_json_value(value[i], what + "[" + std::to_string(i) + "]", values[i]);
  out = std::move(values);
}

// The keys a struct's visit_fields names.
template <class T>
std::set<std::string> field_names() {
  T options{};
  std::set<std::string> known;
  visit_fields(options, [&](const char* key, const auto&) { known.insert(key); });
  return known;
}

template <class T>
Json fields_to_json(const T& options) {
  Json json = Json::object();
  visit_fields(const_cast<T&>(options), [&](const char* key, const auto& value) { json[key] = to_json_value(value); });
  return json;
}

template <class T>
T fields_from_json(const Json& json, const std::string& where, T options) {
  check_keys(json, field_names<T>(), where);
  visit_fields(options, [&](const char* key, auto& value) {
    if (json.contains(key)) read_json_value(json.at(key), where + ": " + key, value);
  });
  return options;
}

}  // namespace zoo
