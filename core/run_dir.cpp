#include "core/run_dir.h"

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"

namespace zoo {
namespace fs = std::filesystem;

RunDir RunDir::create(const std::string& path, const Json& config) {
  if (path.empty()) throw Error("--out: a run directory is required", ErrorKind::usage);
  RunDir run(path, config, true);
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (!fs::exists(status)) return run;
  if (!fs::is_directory(status)) throw Error("--out " + path + " exists and is not a directory", ErrorKind::usage);
  if (fs::exists(run.config_path()))
    throw Error(path + " already holds a run: pass --resume to continue it, or choose another --out", ErrorKind::usage);
  // A killed writer's temporary files are no run; start() removes them.
  for (const fs::directory_entry& entry : fs::directory_iterator(path, error))
    if (!is_temporary_file_name(entry.path().filename().string()))
      throw Error("--out " + path + " holds files but no run (no config.json): choose an empty or new directory",
                  ErrorKind::usage);
  return run;
}

RunDir RunDir::open(const std::string& path, const Json& config) {
  RunDir run(path, config, true);
  if (!fs::exists(run.config_path()))
    throw Error("--resume: " + path + " holds no run (no config.json)", ErrorKind::usage);
  return run;
}

RunDir RunDir::join(const std::string& path) { return RunDir(path, nullptr, false); }

void RunDir::start() const {
  if (!writer_) return;
  if (fs::exists(path_)) remove_stale_temporaries(path_);
  // The config first: until it is in place the directory holds no run, and a kill before
  // then must leave nothing that blocks running again.
  save_json_file(config_path(), config_);
  fs::create_directories(path_ + "/checkpoints");
  fs::create_directories(samples_dir());
}

bool RunDir::has_checkpoint(const std::string& name) const {
  return fs::exists(checkpoint_stem(name) + ".safetensors");
}

Json RunDir::config() const { return load_json_file(config_path()); }

Json read_run_config(const std::string& path) { return RunDir::open(path, nullptr).config(); }

}  // namespace zoo
