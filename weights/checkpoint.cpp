#include "weights/checkpoint.h"

#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/seed.h"
#include "core/strings.h"
#include "weights/state_dict.h"

namespace zoo::weights {
namespace fs = std::filesystem;

namespace {

// Metadata keys of STEM.safetensors naming its companions (file names in the same folder).
const char* const kTrainStateKey = "zoo.train_state";
const char* const kEmaKey = "zoo.ema";

std::string companion_name(const std::string& stem, int64_t step, const std::string& suffix) {
  char digits[32];
  std::snprintf(digits, sizeof digits, ".%08lld", static_cast<long long>(step));
  return fs::path(stem).filename().string() + digits + suffix;
}

std::string beside(const std::string& stem, const std::string& name) {
  return (fs::path(stem).parent_path() / name).string();
}

int64_t metadata_step(const SafeTensors& file) {
  auto it = file.metadata.find("zoo.step");
  if (it == file.metadata.end()) return -1;
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    throw Error(file.source + ": metadata zoo.step is not a number");
  }
}

Json metadata_json(const SafeTensors& file, const std::string& key) {
  auto it = file.metadata.find(key);
  if (it == file.metadata.end()) return nullptr;
  try {
    return Json::parse(it->second);
  } catch (const Json::parse_error&) {
    throw Error(file.source + ": metadata " + key + " is not valid JSON");
  }
}

// The path of a companion a checkpoint names, or "" when it names none. A name is a plain
// file name: metadata never points outside the checkpoint's folder.
std::string companion_path(const SafeTensors& file, const std::string& key) {
  auto it = file.metadata.find(key);
  if (it == file.metadata.end()) return "";
  if (it->second.empty() || it->second.find('/') != std::string::npos || it->second == "." || it->second == "..")
    throw Error(file.source + ": metadata " + key + " is not a file name");
  return beside(file.source, it->second);
}

// Checkpoints written before companions had step names: STEM.train.pt and STEM.ema.safetensors.
std::string legacy_companion(const std::string& stem, const std::string& suffix) {
  const std::string path = stem + suffix;
  return fs::exists(path) ? path : "";
}

}  // namespace

void save_checkpoint(const std::string& stem, const torch::nn::Module& model, const Json& model_config,
                     const TrainState& state, const TrainingParts& parts) {
  std::map<std::string, std::string> metadata{
      {"zoo.model", model_config.dump()}, {"zoo.step", std::to_string(state.step)}, {"zoo.extra", state.extra.dump()}};
  if (parts.optimizer) {
    torch::serialize::OutputArchive archive;
    parts.optimizer->save(archive);
    archive.write("zoo_rng_state", cpu_rng_state());
    archive.write("zoo_step", torch::tensor(state.step, torch::kLong));
    archive.write("zoo_interval_loss_sum", torch::tensor(state.interval_loss_sum, torch::kDouble));
    archive.write("zoo_interval_steps", torch::tensor(state.interval_steps, torch::kLong));
    std::ostringstream bytes;
    archive.save_to(bytes);
    const std::string name = companion_name(stem, state.step, ".train.pt");
    write_file_atomic(beside(stem, name), bytes.str());
    metadata[kTrainStateKey] = name;
  }
  if (parts.ema) {
    const std::string name = companion_name(stem, state.step, ".ema.safetensors");
    write_safetensors(beside(stem, name), *parts.ema);
    metadata[kEmaKey] = name;
  }
  write_safetensors(stem + ".safetensors", state_dict(model), metadata);  // the commit
  remove_uncommitted_parts(stem);
}

void remove_uncommitted_parts(const std::string& stem) {
  const fs::path folder = fs::path(stem).parent_path();
  const std::string prefix = fs::path(stem).filename().string() + ".";
  std::set<std::string> keep;
  if (fs::exists(stem + ".safetensors")) {
    // Memory-mapped: reading the metadata does not read the weights.
    const std::map<std::string, std::string> metadata = read_safetensors(stem + ".safetensors").metadata;
    for (const char* key : {kTrainStateKey, kEmaKey})
      if (auto it = metadata.find(key); it != metadata.end()) keep.insert(it->second);
  }
  // Companions are STEM.<8+ digits>.<suffix>; anything else (STEM.safetensors, another
  // checkpoint's files) is not this function's to remove.
  std::error_code error;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0 || keep.count(name)) continue;
    const size_t digits_end = name.find_first_not_of("0123456789", prefix.size());
    if (digits_end == std::string::npos || digits_end - prefix.size() < 8) continue;
    const std::string suffix = name.substr(digits_end);
    if (suffix == ".train.pt" || suffix == ".ema.safetensors") fs::remove(it->path(), error);
  }
}

TrainState load_training_checkpoint(const std::string& stem, torch::nn::Module& model,
                                    torch::optim::Optimizer& optimizer, NamedTensors* ema) {
  const SafeTensors weights = read_safetensors(stem + ".safetensors");
  std::string train_path = companion_path(weights, kTrainStateKey);
  if (train_path.empty()) train_path = legacy_companion(stem, ".train.pt");
  if (train_path.empty() || !fs::exists(train_path))
    throw Error(stem + ".safetensors: its training state is missing: the run cannot be resumed exactly without it");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(train_path);
  } catch (const c10::Error&) {
    throw Error(train_path + ": not a readable training-state archive");
  }
  torch::Tensor step, rng, interval_sum, interval_steps;
  archive.read("zoo_step", step);
  archive.read("zoo_rng_state", rng);
  TrainState state;
  state.step = step.item<int64_t>();
  if (state.step != metadata_step(weights))
    throw Error(stem + ": weights are from step " + std::to_string(metadata_step(weights)) +
                " but the training state from step " + std::to_string(state.step));
  if (archive.try_read("zoo_interval_loss_sum", interval_sum) &&
      archive.try_read("zoo_interval_steps", interval_steps)) {
    state.interval_loss_sum = interval_sum.item<double>();
    state.interval_steps = interval_steps.item<int64_t>();
  }
  if (ema) {
    std::string ema_path = companion_path(weights, kEmaKey);
    if (ema_path.empty()) ema_path = legacy_companion(stem, ".ema.safetensors");
    if (ema_path.empty()) throw Error(stem + ".safetensors was saved without an EMA of the weights");
    *ema = read_safetensors(ema_path).tensors;
  }
  load_state_dict(model, weights.tensors, /*strict=*/true);
  optimizer.load(archive);
  set_cpu_rng_state(rng);
  const Json extra = metadata_json(weights, "zoo.extra");
  if (extra.is_object()) state.extra = extra;
  return state;
}

ModelCheckpoint read_checkpoint(const std::string& file_or_run_dir, bool prefer_ema) {
  std::string path = file_or_run_dir;
  if (fs::is_directory(path)) {
    const std::string best = path + "/checkpoints/best.safetensors", last = path + "/checkpoints/last.safetensors";
    if (fs::exists(best))
      path = best;
    else if (fs::exists(last))
      path = last;
    else
      throw Error("--checkpoint " + file_or_run_dir +
                  ": a directory without checkpoints/best.safetensors or last.safetensors");
  } else if (!fs::exists(path)) {
    throw Error("--checkpoint " + path + ": no such file or run directory");
  }
  ModelCheckpoint checkpoint;
  checkpoint.path = path;
  checkpoint.weights = read_safetensors(path);
  checkpoint.model_config = metadata_json(checkpoint.weights, "zoo.model");
  checkpoint.step = metadata_step(checkpoint.weights);
  const std::string suffix = ".safetensors";
  if (prefer_ema && ends_with(path, suffix)) {
    std::string ema = companion_path(checkpoint.weights, kEmaKey);
    if (ema.empty()) ema = legacy_companion(path.substr(0, path.size() - suffix.size()), ".ema" + suffix);
    if (!ema.empty()) {
      checkpoint.weights = read_safetensors(ema);
      checkpoint.path = ema;
    }
  }
  return checkpoint;
}

ModelCheckpoint read_checkpoint_of(const std::string& model, const std::string& file_or_run_dir, bool prefer_ema) {
  ModelCheckpoint file = read_checkpoint(file_or_run_dir, prefer_ema);
  const Json& saved = file.model_config;
  if (!saved.is_object() || saved.value("model", "") != model)
    throw Error(
        file.path + " is not a " + model + " checkpoint (it holds " +
            (saved.is_object() && saved.contains("model") ? "a '" + saved["model"].get<std::string>() + "' model"
                                                          : std::string("no zoo model config")) +
            ")",
        ErrorKind::input);
  return file;
}

}  // namespace zoo::weights
