#include "core/run_dir.h"

#include <filesystem>

#include "core/error.h"

namespace zoo {
namespace fs = std::filesystem;

RunDir RunDir::create(const std::string& path, const Json& config) {
  if (path.empty()) throw Error("--out: a run directory is required", ErrorKind::usage);
  RunDir run(path);
  if (fs::exists(run.config_path()) || fs::exists(run.path_ + "/checkpoints"))
    throw Error(path + " already holds a run: pass --resume to continue it, or choose another --out",
                ErrorKind::usage);
  if (fs::exists(path) && !fs::is_directory(path)) throw Error(path + " exists and is not a directory", ErrorKind::usage);
  fs::create_directories(path + "/checkpoints");
  fs::create_directories(run.samples_dir());
  run.save_config(config);
  return run;
}

RunDir RunDir::open(const std::string& path) {
  RunDir run(path);
  if (!fs::exists(run.config_path()))
    throw Error("--resume: " + path + " holds no run (no config.json)", ErrorKind::usage);
  if (!fs::exists(run.checkpoint_stem("last") + ".safetensors"))
    throw Error("--resume: " + path + " has no checkpoint to resume from (checkpoints/last.safetensors)",
                ErrorKind::usage);
  fs::create_directories(run.samples_dir());
  return run;
}

RunDir RunDir::join(const std::string& path) { return RunDir(path); }

Json RunDir::config() const { return load_json_file(config_path()); }

void RunDir::save_config(const Json& config) const { save_json_file(config_path(), config); }

Json read_run_config(const std::string& path) { return RunDir::open(path).config(); }

}  // namespace zoo
