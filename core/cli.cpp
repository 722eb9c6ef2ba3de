#include "core/cli.h"

#include <c10/util/Exception.h>
#include <cxxopts.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <type_traits>

#include "core/error.h"
#include "core/strings.h"

namespace zoo {

namespace {

template <typename T>
T parse_number(const std::string& name, const std::string& text) {
  size_t used = 0;
  T value{};
  try {
    if constexpr (std::is_integral_v<T>)
      value = static_cast<T>(std::stoll(text, &used));
    else
      value = static_cast<T>(std::stod(text, &used));
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    throw Error(
        "--" + name + ": expected " + (std::is_integral_v<T> ? "an integer" : "a number") + ", got '" + text + "'",
        ErrorKind::usage);
  return value;
}

}  // namespace

std::string option_key(const std::string& name) {
  std::string key = name;
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

std::string flag_name(const std::string& key) {
  std::string name = key;
  std::replace(name.begin(), name.end(), '_', '-');
  return "--" + name;
}

Cli::Cli(std::string program, std::string description)
    : program_(std::move(program)), description_(std::move(description)) {}

Cli& Cli::add(Option option) {
  options_.push_back(std::move(option));
  return *this;
}

Cli& Cli::flag(const std::string& name, const std::string& help) {
  return add({name, help, Kind::flag, false, {}, {}, false});
}
Cli& Cli::integer(const std::string& name, const std::string& help, int64_t value, Bounds bounds) {
  return add({name, help, Kind::integer, value, bounds, {}, false});
}
Cli& Cli::real(const std::string& name, const std::string& help, double value, Bounds bounds) {
  return add({name, help, Kind::real, value, bounds, {}, false});
}
Cli& Cli::text(const std::string& name, const std::string& help, const std::string& value) {
  return add({name, help, Kind::text, value, {}, {}, false});
}
Cli& Cli::texts(const std::string& name, const std::string& help) {
  return add({name, help, Kind::texts, Json::array(), {}, {}, false});
}
Cli& Cli::required(const std::string& name, const std::string& help) {
  return add({name, help, Kind::text, nullptr, {}, {}, false});
}
Cli& Cli::optional_real(const std::string& name, const std::string& help, Bounds bounds) {
  return add({name, help, Kind::real, nullptr, bounds, {}, true});
}
Cli& Cli::optional_integer(const std::string& name, const std::string& help, Bounds bounds) {
  return add({name, help, Kind::integer, nullptr, bounds, {}, true});
}
Cli& Cli::choice(const std::string& name, const std::string& help, const std::string& value,
                 std::vector<std::string> choices) {
  return add({name, help + " (" + or_list(choices) + ")", Kind::text, value, {}, std::move(choices), false});
}

const Cli::Option* Cli::find(const std::string& key) const {
  for (const auto& option : options_)
    if (option_key(option.name) == key) return &option;
  return nullptr;
}

// Declares the options to cxxopts. For parsing, defaults are left out and applied by us,
// so that "given on the command line" can be told apart from "defaulted"; for --help
// they are shown.
static void declare(cxxopts::Options& parser, const std::string& name, const std::string& help,
                    const std::shared_ptr<cxxopts::Value>& value) {
  if (value)
    parser.add_options()(name, help, value);
  else
    parser.add_options()(name, help);
}

cxxopts::Options Cli::parser(bool with_defaults) const {
  cxxopts::Options parser(program_, description_);
  for (const auto& o : options_) {
    const bool show = with_defaults && !o.default_value.is_null();
    std::shared_ptr<cxxopts::Value> value;
    switch (o.kind) {
      case Kind::flag: break;
      // Numbers are taken as text and converted by us, so that a bad value's message can
      // name its flag (cxxopts' own does not).
      case Kind::integer:
      case Kind::real:
      case Kind::text: value = cxxopts::value<std::string>(); break;
      case Kind::texts: value = cxxopts::value<std::vector<std::string>>(); break;
    }
    if (show && value && o.kind != Kind::texts)
      value->default_value(o.default_value.is_string() ? o.default_value.get<std::string>() : o.default_value.dump());
    declare(parser, o.name, o.default_value.is_null() && !o.optional ? o.help + " (required)" : o.help, value);
  }
  parser.add_options()("h,help", "show this help");
  return parser;
}

std::string Cli::help() const { return parser(true).help(); }

Json Cli::config_value(const std::string& file, const std::string& key, const Json& value) const {
  const Option* o = find(key);
  if (!o) throw Error(file + ": unknown option '" + key + "' for " + program_);
  bool ok = false;
  switch (o->kind) {
    case Kind::flag: ok = value.is_boolean(); break;
    case Kind::integer: ok = value.is_number_integer() || (o->optional && value.is_null()); break;
    case Kind::real:
      ok = value.is_number() || (o->optional && value.is_null());
      break;  // an integer may stand for a real
    case Kind::text: ok = value.is_string(); break;
    case Kind::texts: ok = value.is_array(); break;
  }
  if (!ok) throw Error(file + ": option '" + key + "' has the wrong type (" + value.dump() + ")");
  return o->kind == Kind::real && !value.is_null() ? Json(value.get<double>()) : value;
}

Json Cli::parse(int argc, const char* const* argv, const Json& base) const {
  cxxopts::Options parser = this->parser(false);
  Json resolved = Json::object();
  for (const auto& o : options_) resolved[option_key(o.name)] = o.default_value;
  for (const auto& [key, value] : base.items()) resolved[key] = config_value("the run's config.json", key, value);

  // cxxopts takes one-letter names as short options only (-n); accept --n and --n=V too,
  // as users of the long forms expect.
  std::vector<std::string> args(argv, argv + argc);
  for (std::string& arg : args)
    if (arg.size() >= 3 && arg.compare(0, 2, "--") == 0 && (arg.size() == 3 || arg[3] == '=') && find(arg.substr(2, 1)))
      arg = "-" + arg.substr(2, 1) + (arg.size() > 3 ? arg.substr(4) : "");
  std::vector<const char*> pointers;
  for (const std::string& arg : args) pointers.push_back(arg.c_str());

  try {
    const auto result = parser.parse(argc, pointers.data());
    if (result.count("help")) {
      std::cout << help();
      throw HelpRequested{};
    }
    if (!result.unmatched().empty())
      throw Error("unexpected argument '" + result.unmatched().front() + "' (see --help)", ErrorKind::usage);

    if (find("config") && result.count("config")) {
      const std::string file = result["config"].as<std::string>();
      const Json config = load_json_file(file);
      if (!config.is_object()) throw Error(file + ": expected a JSON object of option values");
      for (const auto& [key, value] : config.items()) resolved[key] = config_value(file, key, value);
    }

    for (const auto& o : options_) {
      if (!result.count(o.name)) continue;
      Json& slot = resolved[option_key(o.name)];
      switch (o.kind) {
        case Kind::flag: slot = true; break;
        case Kind::integer: slot = parse_number<int64_t>(o.name, result[o.name].as<std::string>()); break;
        case Kind::real: slot = parse_number<double>(o.name, result[o.name].as<std::string>()); break;
        case Kind::text: slot = result[o.name].as<std::string>(); break;
        case Kind::texts: slot = result[o.name].as<std::vector<std::string>>(); break;  // cxxopts splits at commas
      }
    }
  } catch (const cxxopts::exceptions::exception& e) {
    throw Error(std::string(e.what()) + " (see --help)", ErrorKind::usage);
  }

  for (const auto& o : options_) {
    const Json& value = resolved[option_key(o.name)];
    if (value.is_null() && o.optional) continue;
    if (value.is_null()) throw Error("missing required option --" + o.name + " (see --help)", ErrorKind::usage);
    check_value(o, value);
  }
  return resolved;
}

void Cli::check_value(const Option& o, const Json& value) const {
  if (!o.choices.empty() && std::find(o.choices.begin(), o.choices.end(), value) == o.choices.end())
    throw Error("--" + o.name + " " + value.get<std::string>() + ": expected " + or_list(o.choices), ErrorKind::usage);
  if (o.kind != Kind::integer && o.kind != Kind::real) return;
  const double x = value.get<double>();
  const auto show = [&](double number) {
    char text[32];
    std::snprintf(text, sizeof text, o.kind == Kind::integer ? "%.0f" : "%g", number);
    return std::string(text);
  };
  const std::string given = "--" + o.name + " " + show(x);
  if (!std::isfinite(x)) throw Error(given + ": expected a finite number", ErrorKind::usage);
  const Bounds& b = o.bounds;
  if (b.low_open ? !(x > b.low) : !(x >= b.low))
    throw Error(given + ": must be " + (b.low_open ? "greater than " : "at least ") + show(b.low), ErrorKind::usage);
  if (!(x <= b.high)) throw Error(given + ": must be at most " + show(b.high), ErrorKind::usage);
}

Json key_value_overrides(const Json& items) {
  Json overrides = Json::object();
  for (const auto& item : items) {
    const std::string text = item.get<std::string>();
    const size_t equals = text.find('=');
    if (equals == std::string::npos || equals == 0)
      throw Error("--set expects KEY=VALUE, got '" + text + "'", ErrorKind::usage);
    const std::string value = text.substr(equals + 1);
    const Json parsed = Json::parse(value, nullptr, /*allow_exceptions=*/false);
    overrides[text.substr(0, equals)] = parsed.is_discarded() ? Json(value) : parsed;
  }
  return overrides;
}

int run_main(const std::function<int()>& body) {
  try {
    return body();
  } catch (const HelpRequested&) {
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", first_line(e).c_str());
    return e.exit_code();
  } catch (const Json::exception& e) {
    std::fprintf(stderr, "error: %s\n", first_line(e).c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", first_line(e).c_str());
    return 1;
  }
}

}  // namespace zoo
