#include "weights/weight_file.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/script.h>
#include <torch/serialize.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>

#include "core/atomic_file.h"
#include "core/error.h"
#include "weights/pth.h"
#include "weights/torchscript.h"

namespace zoo::weights {
namespace {

constexpr uint64_t kMaxSafetensorsHeader = 100000000;  // the format's own limit

struct Head {
  std::string bytes;  // the first few bytes of the file
  uint64_t size = 0;  // of the whole file
};

Head read_file_head(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error("cannot open " + path + ": " + std::strerror(errno));
  Head head;
  head.size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  head.bytes.resize(16);
  in.read(head.bytes.data(), static_cast<std::streamsize>(head.bytes.size()));
  head.bytes.resize(static_cast<size_t>(in.gcount()));
  return head;
}

// A little-endian header length that fits the file, followed by the JSON object's '{'.
bool is_safetensors(const Head& head) {
  if (head.bytes.size() < 9) return false;
  uint64_t length;
  std::memcpy(&length, head.bytes.data(), 8);
  return length <= kMaxSafetensorsHeader && length <= head.size - 8 && head.bytes[8] == '{';
}

// Both torch.save and torch.jit.save write a zip with data.pkl; only TorchScript adds
// its constants and code.
bool is_torchscript_zip(const std::string& path) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    if (reader.hasRecord("constants.pkl")) return true;
    for (const std::string& record : reader.getAllRecords())
      if (record.compare(0, 5, "code/") == 0) return true;
    return false;
  } catch (const std::exception&) {
    return false;  // not readable as a PyTorch zip: read_pth says why
  }
}

}  // namespace

WeightFormat detect_weight_format(const std::string& path) {
  const Head head = read_file_head(path);
  if (is_safetensors(head)) return WeightFormat::safetensors;
  if (std::string_view(head.bytes).substr(0, 4) == std::string_view("PK\x03\x04", 4))
    return is_torchscript_zip(path) ? WeightFormat::torchscript : WeightFormat::pth;
  // A pickle stream: the legacy torch.save format, which read_pth explains.
  if (!head.bytes.empty() && head.bytes[0] == '\x80') return WeightFormat::pth;
  throw Error(path +
              ": unknown weight file format (expected safetensors, a torch.save .pth/.pt file "
              "or a TorchScript archive)");
}

NamedTensors read_weights(const std::string& path, const PthOptions& pth) {
  switch (detect_weight_format(path)) {
    case WeightFormat::safetensors: return read_safetensors(path).tensors;
    case WeightFormat::pth: return read_pth(path, pth).tensors;
    case WeightFormat::torchscript: return read_torchscript(path);
  }
  throw Error(path + ": unknown weight file format");
}

std::string format_name(WeightFormat format) {
  switch (format) {
    case WeightFormat::safetensors: return "safetensors";
    case WeightFormat::pth: return "pth";
    case WeightFormat::torchscript: return "torchscript";
  }
  return "unknown";
}

WeightFormat parse_weight_format(const std::string& name) {
  for (WeightFormat f : {WeightFormat::safetensors, WeightFormat::pth, WeightFormat::torchscript})
    if (format_name(f) == name) return f;
  throw Error("unknown weight format '" + name + "' (expected safetensors, pth or torchscript)", ErrorKind::usage);
}

WeightFormat format_for_path(const std::string& path) {
  const std::string extension = std::filesystem::path(path).extension().string();
  if (extension == ".safetensors") return WeightFormat::safetensors;
  if (extension == ".pth" || extension == ".bin") return WeightFormat::pth;
  if (extension == ".pt" || extension == ".ts") return WeightFormat::torchscript;
  throw Error(path + ": cannot tell the format from the extension; name it with --to", ErrorKind::usage);
}

namespace {

std::string pth_bytes(const NamedTensors& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, tensor] : tensors) {
    if (dict.contains(name)) throw Error("tensor name '" + name + "' appears twice");
    dict.insert(name, tensor.detach().cpu().contiguous());
  }
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  return std::string(bytes.begin(), bytes.end());
}

// A TorchScript module tree whose state_dict() names are the tensors' dotted names.
struct ModuleNode {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  std::map<std::string, ModuleNode> children;
};

torch::jit::Module build_module(const ModuleNode& node, const std::string& type_name) {
  torch::jit::Module module(type_name);
  for (const auto& [name, child] : node.children)
    module.register_module(name, build_module(child, type_name + "_" + name));
  for (const auto& [name, tensor] : node.tensors) {
    // Integer tensors cannot be parameters (no gradient): they go in as buffers.
    module.register_parameter(name, tensor, /*is_buffer=*/!tensor.is_floating_point());
  }
  return module;
}

std::string torchscript_bytes(const NamedTensors& tensors) {
  ModuleNode root;
  for (const auto& [name, tensor] : tensors) {
    ModuleNode* node = &root;
    size_t start = 0, dot;
    while ((dot = name.find('.', start)) != std::string::npos) {
      node = &node->children[name.substr(start, dot - start)];
      start = dot + 1;
    }
    node->tensors.emplace_back(name.substr(start), tensor.detach().cpu().contiguous());
  }
  std::ostringstream out;
  build_module(root, "__torch__.zoo.Weights").save(out);
  return out.str();
}

}  // namespace

void write_weights(const std::string& path, WeightFormat format, const NamedTensors& tensors,
                   const std::map<std::string, std::string>& metadata) {
  switch (format) {
    case WeightFormat::safetensors: write_safetensors(path, tensors, metadata); return;
    case WeightFormat::pth: write_file_atomic(path, pth_bytes(tensors)); return;
    case WeightFormat::torchscript: write_file_atomic(path, torchscript_bytes(tensors)); return;
  }
}

}  // namespace zoo::weights
