#pragma once
// A training run's directory:
//   config.json            the resolved options: enough to rebuild the model and resume
//   metrics.jsonl          one JSON object a line
//   checkpoints/           last.* (and best.*), each checkpoint committed as one unit
//   samples/               pictures written during and after training
//   loss.png               the loss curve drawn from metrics.jsonl
// Nothing is written until the run starts (start()): a run refused for a bad flag, a bad
// file or a failed --resume leaves the directory as it found it. A new run takes only a
// directory that is missing or empty, so nothing saved is overwritten or appended to by
// accident; --resume opens a run instead.
#include <string>

#include "core/json.h"

namespace zoo {

class RunDir {
 public:
  // A new run in `path` with this config. Throws if `path` holds a run or any other file.
  static RunDir create(const std::string& path, const Json& config);
  // An existing run for --resume, whose config becomes `config` once the run starts.
  // Throws if there is no run. A run killed before its first checkpoint resumes from step 0.
  static RunDir open(const std::string& path, const Json& config);
  // The run rank 0 of a distributed run manages, seen from another rank: a path only. That
  // rank writes nothing there and reads from it only to resume (which therefore needs a
  // filesystem the machines share; a fresh run does not).
  static RunDir join(const std::string& path);

  // Makes the layout, writes config.json and removes what killed writers left behind
  // (temporary files, a checkpoint's uncommitted parts). Called once everything the run
  // needs has been checked; calling it again is harmless.
  void start() const;

  const std::string& path() const { return path_; }
  std::string config_path() const { return path_ + "/config.json"; }
  std::string metrics_path() const { return path_ + "/metrics.jsonl"; }
  std::string checkpoint_stem(const std::string& name) const { return path_ + "/checkpoints/" + name; }
  bool has_checkpoint(const std::string& name) const;
  std::string samples_dir() const { return path_ + "/samples"; }
  std::string sample_path(const std::string& file) const { return samples_dir() + "/" + file; }
  std::string loss_plot_path() const { return path_ + "/loss.png"; }

  Json config() const;

 private:
  RunDir(std::string path, Json config, bool writer)
      : path_(std::move(path)), config_(std::move(config)), writer_(writer) {}
  std::string path_;
  Json config_;  // written by start()
  bool writer_;  // false on a joined rank, which writes nothing
};

// Reads the saved config of the run in `path` (used before parsing flags on --resume).
Json read_run_config(const std::string& path);

}  // namespace zoo
