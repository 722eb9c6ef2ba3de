#include "weights/weight_file.h"

#include <caffe2/serialize/inline_container.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string_view>

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

Head read_head(const std::string& path) {
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
  const Head head = read_head(path);
  if (is_safetensors(head)) return WeightFormat::safetensors;
  if (std::string_view(head.bytes).substr(0, 4) == std::string_view("PK\x03\x04", 4))
    return is_torchscript_zip(path) ? WeightFormat::torchscript : WeightFormat::pth;
  // A pickle stream: the legacy torch.save format, which read_pth explains.
  if (!head.bytes.empty() && head.bytes[0] == '\x80') return WeightFormat::pth;
  throw Error(path + ": unknown weight file format (expected safetensors, a torch.save .pth/.pt file "
                     "or a TorchScript archive)");
}

NamedTensors read_weights(const std::string& path) {
  switch (detect_weight_format(path)) {
    case WeightFormat::safetensors: return read_safetensors(path).tensors;
    case WeightFormat::pth: return read_pth(path).tensors;
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

}  // namespace zoo::weights
