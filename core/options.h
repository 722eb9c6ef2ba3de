#pragma once
// Typed options: every executable declares a struct of its options and binds each field to a
// flag once, with its help text and bounds; the field's initial value is the default.
// Parsing resolves the layers of core/cli.h (defaults < a resumed run's config.json <
// --config FILE < the command line), checks every value once, and fills the struct, so no
// program reads an option by name.
//
//   struct SampleOptions : CommonOptions {
//     std::string checkpoint;
//     int64_t n = 64;
//   };
//   Flags<SampleOptions> flags("sample", "Draw samples");
//   flags.common().required("checkpoint", "run directory", &SampleOptions::checkpoint)
//        .integer("n", "samples", &SampleOptions::n, Bounds::at_least(1));
//   const SampleOptions options = flags.parse(argc, argv);
#include <c10/util/Optional.h>

#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/cli.h"
#include "core/run_dir.h"

namespace zoo {

// --device, --threads, --seed, --config: every executable has them.
struct CommonOptions {
  std::string device = "auto";
  int64_t threads = 0;  // 0: OMP_NUM_THREADS when set, else all cores
  int64_t seed = 0;
  std::string config;  // --config FILE
  // Every option by key as resolved: what a training run saves as its config.json, from
  // which --resume rebuilds the run.
  Json resolved;
};

// What every training executable shares.
struct TrainingOptions : CommonOptions {
  std::string data;
  std::string model;  // empty in the defaults: no --model (the executable names its network otherwise)
  std::string out;
  int64_t epochs = 1;
  int64_t steps = 0;  // 0: use epochs
  int64_t batch_size = 128;
  double lr = 1e-3;
  int64_t limit = 0;
  int64_t workers = 2;  // background data-loading threads
  std::string precision = "auto";
  bool resume = false;
};

template <class T>
class Flags {
 public:
  Flags(std::string program, std::string description, T defaults = T{})
      : cli_(std::move(program), std::move(description)), defaults_(std::move(defaults)) {}

  Flags& flag(const std::string& name, const std::string& help, bool T::*field) {
    cli_.flag(name, help);
    return bind(name, field);
  }
  Flags& integer(const std::string& name, const std::string& help, int64_t T::*field, Bounds bounds = {}) {
    cli_.integer(name, help, defaults_.*field, bounds);
    return bind(name, field);
  }
  Flags& real(const std::string& name, const std::string& help, double T::*field, Bounds bounds = {}) {
    cli_.real(name, help, defaults_.*field, bounds);
    return bind(name, field);
  }
  // A number the user may leave unset; the program then picks it (its help says how).
  Flags& real(const std::string& name, const std::string& help, c10::optional<double> T::*field, Bounds bounds = {}) {
    cli_.optional_real(name, help, bounds);
    return bind_optional(name, field);
  }
  Flags& integer(const std::string& name, const std::string& help, c10::optional<int64_t> T::*field,
                 Bounds bounds = {}) {
    cli_.optional_integer(name, help, bounds);
    return bind_optional(name, field);
  }
  Flags& text(const std::string& name, const std::string& help, std::string T::*field) {
    cli_.text(name, help, defaults_.*field);
    return bind(name, field);
  }
  // One of `choices`; the help text ends with them.
  Flags& choice(const std::string& name, const std::string& help, std::string T::*field,
                std::vector<std::string> choices) {
    cli_.choice(name, help, defaults_.*field, std::move(choices));
    return bind(name, field);
  }
  // --format: how a report is printed (the convention of every executable that reports).
  Flags& format(std::string T::*field, std::vector<std::string> forms = {"table", "json"},
                const std::string& help = "the report's form") {
    return choice("format", help, field, std::move(forms));
  }
  // A list of strings: repeat the flag or separate values with commas.
  Flags& texts(const std::string& name, const std::string& help, std::vector<std::string> T::*field) {
    cli_.texts(name, help);
    return bind(name, field);
  }
  // A string the user must give (here or in --config).
  Flags& required(const std::string& name, const std::string& help, std::string T::*field) {
    cli_.required(name, help);
    return bind(name, field);
  }

  Flags& common() {
    static_assert(std::is_base_of_v<CommonOptions, T>, "common() binds CommonOptions fields");
    return text("device", "auto, cpu, cuda or cuda:N (auto = CUDA when present)", &T::device)
        .integer("threads", "CPU threads (0 = OMP_NUM_THREADS when set, else all cores)", &T::threads,
                 Bounds::at_least(0))
        .integer("seed", "random seed", &T::seed, Bounds::at_least(0))
        .text("config", "JSON file of option values (flags given here override it)", &T::config);
  }

  // --data, --model (when the defaults name one; one of `models` when given), --out,
  // --epochs, --steps, --batch-size, --lr, --limit, --workers, --precision, --resume.
  Flags& training(std::vector<std::string> models = {}) {
    static_assert(std::is_base_of_v<TrainingOptions, T>, "training() binds TrainingOptions fields");
    text("data", "dataset spec (fashion-mnist, mnist:DIR, idx:DIR, cifar10:DIR, cifar100:DIR, folder:DIR, toy:NAME)",
         &T::data);
    if (!models.empty())
      choice("model", "the model", &T::model, std::move(models));
    else if (!defaults_.model.empty())
      text("model", "model name", &T::model);
    return required("out", "run directory to write", &T::out)
        .integer("epochs", "epochs to train (ignored when --steps is set)", &T::epochs, Bounds::at_least(1))
        .integer("steps", "optimizer steps to train (0 = use --epochs)", &T::steps, Bounds::at_least(0))
        .integer("batch-size", "examples per step", &T::batch_size, Bounds::at_least(1))
        .real("lr", "learning rate", &T::lr, Bounds::above(0))
        .integer("limit", "use only the first N training examples (0 = all)", &T::limit, Bounds::at_least(0))
        .integer("workers", "background data-loading threads", &T::workers, Bounds::between(0, 64))
        .choice("precision", "auto: bf16 autocast on CUDA, fp32 on the CPU", &T::precision, {"auto", "fp32", "bf16"})
        .flag("resume", "continue the run in --out from its last checkpoint", &T::resume);
  }

  // Throws HelpRequested after printing help, zoo::Error(usage) for a bad flag or value. A
  // training run given --resume resolves its saved config.json under the flags given now
  // (so `--resume --steps N` extends a run).
  T parse(int argc, const char* const* argv) const {
    T options = fill(cli_.parse(argc, argv));
    if constexpr (std::is_base_of_v<TrainingOptions, T>)
      if (options.resume) options = fill(cli_.parse(argc, argv, read_run_config(options.out)));
    return options;
  }
  std::string help() const { return cli_.help(); }

 private:
  template <class V>
  Flags& bind(const std::string& name, V T::*field) {
    readers_.push_back([key = option_key(name), field](const Json& resolved, T& out) {
      out.*field = resolved.at(key).template get<V>();
    });
    return *this;
  }
  template <class V>
  Flags& bind_optional(const std::string& name, c10::optional<V> T::*field) {
    readers_.push_back([key = option_key(name), field](const Json& resolved, T& out) {
      const Json& value = resolved.at(key);
      out.*field = value.is_null() ? c10::nullopt : c10::optional<V>(value.template get<V>());
    });
    return *this;
  }
  T fill(Json resolved) const {
    T options = defaults_;
    for (const auto& read : readers_) read(resolved, options);
    if constexpr (std::is_base_of_v<CommonOptions, T>) options.resolved = std::move(resolved);
    return options;
  }

  Cli cli_;
  T defaults_;
  std::vector<std::function<void(const Json&, T&)>> readers_;
};

}  // namespace zoo
