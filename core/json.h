#pragma once
// JSON, the form of every config, metadata record and metrics line zoo writes: the one
// type name the library uses for it, and its files.
#include <nlohmann/json.hpp>

#include <string>

namespace zoo {

using Json = nlohmann::json;

// Reads a JSON file: a zoo::Error names the file and the parse problem.
Json load_json_file(const std::string& path);
// Writes pretty JSON atomically.
void save_json_file(const std::string& path, const Json& value);

}  // namespace zoo
