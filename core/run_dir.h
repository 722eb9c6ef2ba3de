#pragma once
// A training run's directory:
//   config.json            the resolved options: enough to rebuild the model and resume
//   metrics.jsonl          one JSON object a line
//   checkpoints/           last.* (and best.*) written atomically
//   samples/               pictures written during and after training
//   loss.png               the loss curve drawn from metrics.jsonl
// A new run refuses a directory that already holds one, so nothing saved is overwritten
// by accident; --resume opens it instead.
#include <string>

#include "core/cli.h"

namespace zoo {

class RunDir {
 public:
  // Starts a new run in `path` and saves its config. Throws if a run is already there.
  static RunDir create(const std::string& path, const Json& config);
  // Opens an existing run for --resume. Throws if there is no run or no checkpoint.
  static RunDir open(const std::string& path);
  // The run rank 0 of a distributed run manages, seen from another rank: a path only. That
  // rank writes nothing there and reads from it only to resume (which therefore needs a
  // filesystem the machines share; a fresh run does not).
  static RunDir join(const std::string& path);

  const std::string& path() const { return path_; }
  std::string config_path() const { return path_ + "/config.json"; }
  std::string metrics_path() const { return path_ + "/metrics.jsonl"; }
  std::string checkpoint_stem(const std::string& name) const { return path_ + "/checkpoints/" + name; }
  std::string samples_dir() const { return path_ + "/samples"; }
  std::string sample_path(const std::string& file) const { return samples_dir() + "/" + file; }
  std::string loss_plot_path() const { return path_ + "/loss.png"; }

  Json config() const;
  void save_config(const Json& config) const;

 private:
  explicit RunDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Reads the saved config of the run in `path` (used before parsing flags on --resume).
Json read_run_config(const std::string& path);

}  // namespace zoo
