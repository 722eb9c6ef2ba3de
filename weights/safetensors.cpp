#include "weights/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <tuple>
#include <unordered_set>

#include "core/atomic_file.h"
#include "core/error.h"

// The format is little-endian and tensors are made over the file's bytes as they are.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define ZOO_TORCH_HAS_FLOAT8 1
#endif

namespace zoo::weights {
namespace {

using json = nlohmann::json;

constexpr size_t kLengthBytes = 8;               // the u64 header length
constexpr uint64_t kMaxHeaderBytes = 100000000;  // the format's limit; more is not a safetensors file

// Makes the tensor for a dtype LibTorch lacks from its (possibly unaligned) file bytes.
using Widen = torch::Tensor (*)(const char* bytes, torch::IntArrayRef shape, const std::string& where);

struct Dtype {
  const char* name;        // as written in the header
  size_t bytes;            // element size in the file
  torch::ScalarType type;  // the tensor's type in LibTorch
  Widen widen;             // only for the unsigned types LibTorch 1.13 lacks; never written
};

// Stores unsigned values in the next wider signed type; only U64 can hold values that
// do not fit, and those are refused rather than wrapped to negative numbers.
template <typename Unsigned, typename Signed>
torch::Tensor widen(const char* bytes, torch::IntArrayRef shape, const std::string& where) {
  torch::Tensor out = torch::empty(shape, torch::dtype<Signed>());
  Signed* values = out.data_ptr<Signed>();
  for (int64_t i = 0; i < out.numel(); ++i) {
    Unsigned value;
    std::memcpy(&value, bytes + i * sizeof(Unsigned), sizeof(Unsigned));
    if constexpr (sizeof(Unsigned) == sizeof(Signed)) {
      if (value > static_cast<Unsigned>(std::numeric_limits<Signed>::max()))
        throw Error(where + ": value " + std::to_string(value) + " at element " + std::to_string(i) +
                    " does not fit in int64");
    }
    values[i] = static_cast<Signed>(value);
  }
  return out;
}

const Dtype kDtypes[] = {
    {"BOOL", 1, torch::kBool, nullptr},
    {"U8", 1, torch::kByte, nullptr},
    {"I8", 1, torch::kChar, nullptr},
    {"I16", 2, torch::kShort, nullptr},
    {"U16", 2, torch::kInt, widen<uint16_t, int32_t>},
    {"F16", 2, torch::kHalf, nullptr},
    {"BF16", 2, torch::kBFloat16, nullptr},
    {"I32", 4, torch::kInt, nullptr},
    {"U32", 4, torch::kLong, widen<uint32_t, int64_t>},
    {"F32", 4, torch::kFloat, nullptr},
    {"F64", 8, torch::kDouble, nullptr},
    {"I64", 8, torch::kLong, nullptr},
    {"U64", 8, torch::kLong, widen<uint64_t, int64_t>},
#ifdef ZOO_TORCH_HAS_FLOAT8
    {"F8_E4M3", 1, c10::ScalarType::Float8_e4m3fn, nullptr},
    {"F8_E5M2", 1, c10::ScalarType::Float8_e5m2, nullptr},
#endif
};

const Dtype* dtype_named(const std::string& name) {
  for (const Dtype& dtype : kDtypes)
    if (name == dtype.name) return &dtype;
  return nullptr;
}

const Dtype* dtype_for_writing(torch::ScalarType type) {
  for (const Dtype& dtype : kDtypes)
    if (dtype.type == type && !dtype.widen) return &dtype;
  return nullptr;
}

std::string supported_dtype_names() {
  std::string names;
  for (const Dtype& dtype : kDtypes) names += (names.empty() ? "" : " ") + std::string(dtype.name);
  return names;
}

// The bytes of a whole file; tensors made over them hold a reference to keep them alive.
struct Bytes {
  std::shared_ptr<char> data;
  size_t size = 0;
};

[[noreturn]] void throw_system_error(const std::string& action, const std::string& path) {
  const int error = errno;
  throw Error("cannot " + action + " " + path + ": " + std::strerror(error));
}

Bytes map_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_system_error("open", path);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat status;
  if (::fstat(fd, &status) != 0) throw_system_error("stat", path);
  const size_t size = static_cast<size_t>(status.st_size);
  if (size == 0) return {};  // mmap refuses empty ranges; the parser reports the short file
  // Private and writable: tensors over the mapping behave like any tensor, a write copies
  // the page, and the file itself is never changed.
  void* address = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (address == MAP_FAILED) throw_system_error("map", path);
  return {std::shared_ptr<char>(static_cast<char*>(address), [size](char* p) { ::munmap(p, size); }), size};
}

// The first of two passes over a header. nlohmann's parser silently keeps the last of
// repeated keys, but the format forbids them (a repeated tensor name would make the file
// mean two things), so this pass refuses them at every level. Its own callback parser could
// catch them in one pass, but after each nested object it scans the enclosing one for
// values to discard, which makes n tensors cost n² steps: minutes for 200,000. This pass
// keeps only the keys of the objects still open, so it is linear. It also refuses nesting
// far deeper than a header has (3 levels: header, tensor, shape), which would make
// printing a value for a message recurse without bound.
class HeaderCheck final : public nlohmann::json_sax<json> {
 public:
  explicit HeaderCheck(const std::string& source) : source_(source) {}

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    open_objects_.emplace_back();
    return enter();
  }
  bool key(string_t& key) override {
    if (!open_objects_.back().insert(key).second)
      throw Error("header of " + source_ + " repeats the " + (open_objects_.size() == 1 ? "tensor name '" : "key '") +
                  key + "'");
    return true;
  }
  bool end_object() override {
    open_objects_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const json::exception& e) override {
    throw Error("header of " + source_ + " is not valid JSON: " + e.what());
  }

 private:
  static constexpr int kMaxDepth = 64;

  bool enter() {
    if (++depth_ > kMaxDepth)
      throw Error("header of " + source_ + " nests deeper than " + std::to_string(kMaxDepth) + " levels");
    return true;
  }

  const std::string& source_;
  std::vector<std::unordered_set<std::string>> open_objects_;  // the keys of each
  int depth_ = 0;
};

// Both passes are linear in the header; the second builds the document.
json parse_header(const char* text, size_t size, const std::string& source) {
  HeaderCheck check(source);
  json::sax_parse(text, text + size, &check);
  try {
    json header = json::parse(text, text + size);
    if (!header.is_object())
      throw Error("header of " + source + " is a JSON " + header.type_name() + ", expected an object");
    return header;
  } catch (const json::exception& e) {
    throw Error("header of " + source + " is not valid JSON: " + e.what());
  }
}

std::map<std::string, std::string> parse_metadata(const json& value, const std::string& source) {
  if (!value.is_object())
    throw Error("__metadata__ in " + source + " must be an object of strings, got " + value.type_name());
  std::map<std::string, std::string> metadata;
  for (auto item = value.begin(); item != value.end(); ++item) {
    if (!item.value().is_string())
      throw Error("__metadata__ in " + source + ": the value of '" + item.key() + "' must be a string, got " +
                  item.value().type_name());
    metadata[item.key()] = item.value().get<std::string>();
  }
  return metadata;
}

// One tensor's header entry, checked on its own; where its bytes lie relative to the
// other tensors is checked by check_layout.
struct Entry {
  std::string name;
  const Dtype* dtype;
  std::vector<int64_t> shape;
  uint64_t begin;  // byte range in the data that follows the header
  uint64_t end;
};

const json& field(const json& entry, const char* key, const std::string& where) {
  auto found = entry.find(key);
  if (found == entry.end()) throw Error(where + " has no '" + key + "'");
  return *found;
}

// JSON integers that are non-negative (and fit the range LibTorch sizes use).
bool all_non_negative_integers(const json& array) {
  return std::all_of(array.begin(), array.end(), [](const json& v) {
    return v.is_number_unsigned() && v.get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max());
  });
}

// shape × element size in bytes, refusing products that overflow 64 bits.
uint64_t byte_size(const Entry& entry, const std::string& where) {
  uint64_t bytes = entry.dtype->bytes;
  for (int64_t dim : entry.shape)
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes))
      throw Error(where + ": the element count of shape " + c10::str(torch::IntArrayRef(entry.shape)) + " overflows");
  return bytes;
}

Entry parse_entry(const std::string& name, const json& info, const std::string& source) {
  const std::string where = "tensor '" + name + "' in " + source;
  if (!info.is_object())
    throw Error(where + ": expected an object with dtype, shape and data_offsets, got " + info.type_name());

  const json& dtype = field(info, "dtype", where);
  const Dtype* known = dtype.is_string() ? dtype_named(dtype.get<std::string>()) : nullptr;
  if (!known)
    throw Error(where + ": unsupported dtype " + dtype.dump() + " (supported: " + supported_dtype_names() + ")");

  const json& shape = field(info, "shape", where);
  if (!shape.is_array() || !all_non_negative_integers(shape))
    throw Error(where + ": shape must be a list of non-negative integers, got " + shape.dump());

  const json& offsets = field(info, "data_offsets", where);
  if (!offsets.is_array() || offsets.size() != 2 || !all_non_negative_integers(offsets))
    throw Error(where + ": data_offsets must be [begin, end] with non-negative integers, got " + offsets.dump());

  Entry entry{name, known, shape.get<std::vector<int64_t>>(), offsets[0].get<uint64_t>(), offsets[1].get<uint64_t>()};
  if (entry.end < entry.begin) throw Error(where + ": data_offsets " + offsets.dump() + " end before they begin");
  const uint64_t bytes = byte_size(entry, where);
  if (bytes != entry.end - entry.begin)
    throw Error(where + ": shape " + shape.dump() + " of " + known->name + " needs " + std::to_string(bytes) +
                " bytes but data_offsets " + offsets.dump() + " hold " + std::to_string(entry.end - entry.begin));
  return entry;
}

// The tensors' bytes must tile the data exactly: from 0, in order, no gap, no overlap,
// nothing after the last one. Sorts the entries into file order.
void check_layout(std::vector<Entry>& entries, uint64_t data_bytes, const std::string& source) {
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  uint64_t next = 0;
  for (const Entry& entry : entries) {
    if (entry.begin != next)
      throw Error("data_offsets in " + source + " are not contiguous: tensor '" + entry.name + "' begins at byte " +
                  std::to_string(entry.begin) + ", expected " + std::to_string(next) +
                  (entry.begin > next ? " (a gap before it)" : " (it overlaps the previous tensor)"));
    next = entry.end;
  }
  if (next < data_bytes)
    throw Error(source + " has " + std::to_string(data_bytes - next) + " trailing bytes after the last tensor");
  if (next > data_bytes)
    throw Error("tensors in " + source + " need " + std::to_string(next) + " bytes of data but the file has " +
                std::to_string(data_bytes) + " (truncated?)");
}

torch::Tensor make_tensor(const Entry& entry, const std::shared_ptr<char>& data, const std::string& source) {
  char* bytes = data.get() + entry.begin;
  if (entry.dtype->widen) return entry.dtype->widen(bytes, entry.shape, "tensor '" + entry.name + "' in " + source);
  const auto options = torch::dtype(entry.dtype->type);
  // Writers need not align tensors (a U8 tensor may push an F32 one off a 4-byte
  // boundary) and LibTorch kernels assume alignment, so only aligned bytes are shared.
  if (reinterpret_cast<uintptr_t>(bytes) % entry.dtype->bytes == 0)
    return torch::from_blob(
        bytes, entry.shape, [data](void*) {}, options);
  torch::Tensor copy = torch::empty(entry.shape, options);
  if (entry.end > entry.begin) std::memcpy(copy.data_ptr(), bytes, entry.end - entry.begin);
  return copy;
}

// The one reader behind read_safetensors and parse_safetensors: every rule of the format
// is checked before any tensor is made.
SafeTensors parse(const Bytes& file, const std::string& source) {
  if (file.size < kLengthBytes)
    throw Error(source + " is too small to be a safetensors file: " + std::to_string(file.size) +
                " bytes, a header length needs 8");
  uint64_t header_bytes;
  std::memcpy(&header_bytes, file.data.get(), kLengthBytes);
  if (header_bytes > kMaxHeaderBytes)
    throw Error(source + " is not a safetensors file: header length " + std::to_string(header_bytes) +
                " exceeds the format's limit of " + std::to_string(kMaxHeaderBytes) + " bytes");
  if (header_bytes > file.size - kLengthBytes)
    throw Error("header of " + source + " (" + std::to_string(header_bytes) +
                " bytes) runs past the end of the file (" + std::to_string(file.size) + " bytes)");

  const json header = parse_header(file.data.get() + kLengthBytes, header_bytes, source);
  SafeTensors result;
  result.source = source;
  std::vector<Entry> entries;
  for (auto item = header.begin(); item != header.end(); ++item) {
    if (item.key() == "__metadata__")
      result.metadata = parse_metadata(item.value(), source);
    else
      entries.push_back(parse_entry(item.key(), item.value(), source));
  }
  const uint64_t data_offset = kLengthBytes + header_bytes;
  check_layout(entries, file.size - data_offset, source);

  const std::shared_ptr<char> data(file.data, file.data.get() + data_offset);  // shares ownership of the file
  for (const Entry& entry : entries) result.tensors.emplace_back(entry.name, make_tensor(entry, data, source));
  return result;
}

}  // namespace

const torch::Tensor* SafeTensors::find(const std::string& name) const {
  for (const auto& [tensor_name, tensor] : tensors)
    if (tensor_name == name) return &tensor;
  return nullptr;
}

torch::Tensor SafeTensors::at(const std::string& name) const {
  if (const torch::Tensor* tensor = find(name)) return *tensor;
  throw Error("missing tensor '" + name + "' in " + source);
}

SafeTensors read_safetensors(const std::string& path) { return parse(map_file(path), path); }

SafeTensors parse_safetensors(std::string bytes, const std::string& source_name) {
  auto owner = std::make_shared<std::string>(std::move(bytes));
  return parse({std::shared_ptr<char>(owner, owner->data()), owner->size()}, source_name);
}

std::string serialize_safetensors(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  // Ordered so the header lists tensors in the order given, as their bytes are laid out.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> contents;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") throw Error("'__metadata__' is reserved and cannot name a tensor");
    if (header.contains(name)) throw Error("tensor name '" + name + "' is given twice");
    if (!tensor.defined()) throw Error("tensor '" + name + "' is undefined");
    const Dtype* dtype = dtype_for_writing(tensor.scalar_type());
    if (!dtype)
      throw Error("tensor '" + name + "' has dtype " + c10::toString(tensor.scalar_type()) +
                  ", which safetensors files written here cannot hold");
    torch::Tensor cpu = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = cpu.numel() * dtype->bytes;
    header[name] = {{"dtype", dtype->name}, {"shape", cpu.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contents.push_back(std::move(cpu));
  }

  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::ordered_json::type_error& e) {
    throw Error(std::string("tensor names and metadata must be valid UTF-8: ") + e.what());
  }
  text.append((kLengthBytes - text.size() % kLengthBytes) % kLengthBytes, ' ');  // aligns the data

  const uint64_t header_bytes = text.size();
  std::string out;
  out.reserve(kLengthBytes + header_bytes + offset);
  out.append(reinterpret_cast<const char*>(&header_bytes), kLengthBytes);
  out += text;
  for (const torch::Tensor& tensor : contents)
    out.append(static_cast<const char*>(tensor.data_ptr()), tensor.numel() * tensor.element_size());
  return out;
}

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::string bytes;
  try {
    bytes = serialize_safetensors(tensors, metadata);
  } catch (const Error& e) {
    throw Error("cannot write " + path + ": " + e.what(), e.kind());
  }
  write_file_atomic(path, bytes);
}

}  // namespace zoo::weights
