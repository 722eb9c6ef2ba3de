#pragma once
// The command line every zoo executable shares, by key; executables reach it through their
// typed options (core/options.h). Options are declared once with a type and a default;
// parse() resolves them into one JSON object in layers:
//   defaults  <  a resumed run's config.json  <  --config FILE  <  flags given on the command line.
// That object is what the program reads, and what a training run saves as its config,
// so a run can be rebuilt from config.json alone. Keys are the flag names with '-'
// turned into '_' (--batch-size -> "batch_size").
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/json.h"

namespace cxxopts {
class Options;
}

namespace zoo {

// The values a number option accepts, checked on the resolved value (a flag, --config or a
// resumed run's config.json alike) so a bad value is refused before anything is written.
// Every real option must also be finite.
struct Bounds {
  double low = -std::numeric_limits<double>::infinity();
  double high = std::numeric_limits<double>::infinity();
  bool low_open = false;  // low itself is refused (a learning rate must be above 0)

  static Bounds at_least(double low) { return {low}; }
  static Bounds above(double low) { return {low, std::numeric_limits<double>::infinity(), true}; }
  static Bounds between(double low, double high) { return {low, high}; }
};

class Cli {
 public:
  Cli(std::string program, std::string description);

  Cli& flag(const std::string& name, const std::string& help);  // a switch, default false
  Cli& integer(const std::string& name, const std::string& help, int64_t default_value, Bounds bounds = {});
  Cli& real(const std::string& name, const std::string& help, double default_value, Bounds bounds = {});
  Cli& text(const std::string& name, const std::string& help, const std::string& default_value);
  // A list of strings: repeat the flag or separate values with commas.
  Cli& texts(const std::string& name, const std::string& help);
  // A string option with no default that the user must supply (here or in --config).
  Cli& required(const std::string& name, const std::string& help);
  // A number that may be left unset (null in the resolved object): the program then picks
  // the value itself.
  Cli& optional_real(const std::string& name, const std::string& help, Bounds bounds = {});
  Cli& optional_integer(const std::string& name, const std::string& help, Bounds bounds = {});
  // A string that must be one of `choices` (checked wherever the value comes from); the
  // help text ends with them.
  Cli& choice(const std::string& name, const std::string& help, const std::string& default_value,
              std::vector<std::string> choices);

  // Throws HelpRequested after printing help, zoo::Error(usage) for a bad flag or value.
  // `base` is a layer between the defaults and --config: a resumed run's saved options.
  Json parse(int argc, const char* const* argv, const Json& base = Json::object()) const;
  std::string help() const;

 private:
  enum class Kind { flag, integer, real, text, texts };
  struct Option {
    std::string name, help;
    Kind kind;
    Json default_value;                // null: no default (required)
    Bounds bounds;                     // integer and real options
    std::vector<std::string> choices;  // text options: the values allowed (empty: any)
    bool optional = false;             // may stay unset (null)
  };
  void check_value(const Option& option, const Json& value) const;
  Cli& add(Option option);
  cxxopts::Options parser(bool with_defaults) const;
  Json config_value(const std::string& file, const std::string& key, const Json& value) const;
  const Option* find(const std::string& key) const;

  std::string program_, description_;
  std::vector<Option> options_;
};

// --set KEY=VALUE items as one JSON object {"KEY": VALUE}: a value that parses as JSON is
// taken as JSON (phi=-2, same_padding=true), anything else as a string.
Json key_value_overrides(const Json& items);

// Turns an option key ("batch_size") back into its flag ("--batch-size") for messages.
std::string flag_name(const std::string& key);
// The key of a flag's name ("batch-size" -> "batch_size").
std::string option_key(const std::string& name);

// Runs an executable's body: catches everything, prints "error: ..." on one line, and
// returns the exit status (0, 1, or 2 for bad usage or input).
int run_main(const std::function<int()>& body);

}  // namespace zoo
