#include "data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/limits.h"

namespace zoo::data {
namespace fs = std::filesystem;

namespace {

// The IDX type codes and the tensor types they read into.
struct IdxType {
  uint8_t code;
  torch::ScalarType dtype;
};
constexpr IdxType kIdxTypes[] = {{0x08, torch::kByte}, {0x09, torch::kChar},  {0x0B, torch::kShort},
                                 {0x0C, torch::kInt},  {0x0D, torch::kFloat}, {0x0E, torch::kDouble}};

std::string hex_byte(uint8_t value) {
  const char* digits = "0123456789abcdef";
  return {digits[value >> 4], digits[value & 15]};
}

uint8_t byte_at(const std::string& bytes, size_t index) { return static_cast<uint8_t>(bytes[index]); }

uint32_t big_endian_u32(const std::string& bytes, size_t offset) {
  return (uint32_t{byte_at(bytes, offset)} << 24) | (uint32_t{byte_at(bytes, offset + 1)} << 16) |
         (uint32_t{byte_at(bytes, offset + 2)} << 8) | uint32_t{byte_at(bytes, offset + 3)};
}

// Recognised by content, not by name, so a decompressed file still called *.gz reads too.
bool is_gzip(const std::string& bytes) {
  return bytes.size() >= 2 && byte_at(bytes, 0) == 0x1f && byte_at(bytes, 1) == 0x8b;
}

// zlib counts in 32-bit uInt: larger buffers are handed over in pieces.
uInt zlib_chunk(size_t available) { return static_cast<uInt>(std::min<size_t>(available, UINT_MAX)); }

// The gzip trailer ends with the uncompressed size (mod 2^32): a good first guess of the
// output buffer's size, capped at deflate's largest ratio (1032:1) so that a corrupt
// trailer cannot make us allocate gigabytes. 18 bytes: the smallest gzip member.
size_t gzip_size_guess(const std::string& compressed) {
  if (compressed.size() < 18) return 0;
  const size_t tail = compressed.size() - 4;
  const size_t stated = (size_t{byte_at(compressed, tail + 3)} << 24) | (size_t{byte_at(compressed, tail + 2)} << 16) |
                        (size_t{byte_at(compressed, tail + 1)} << 8) | size_t{byte_at(compressed, tail)};
  return std::min(stated, 1032 * compressed.size());
}

// A gzip member's data, or only its first `max_bytes` when it holds more (`more` then
// says so): the caller, who knows how much it expects, inflates no further than that.
struct Inflated {
  std::string data;
  bool more = false;
};

Inflated gunzip(const std::string& path, const std::string& compressed, size_t max_bytes) {
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK)  // 16: expect a gzip header, not zlib's
    throw Error(path + ": cannot initialise zlib", ErrorKind::runtime);
  const std::unique_ptr<z_stream, int (*)(z_streamp)> end_stream(&stream, inflateEnd);

  Inflated out;
  out.data.resize(std::min(max_bytes, std::max<size_t>(gzip_size_guess(compressed), 1 << 16)));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  int status = Z_OK;
  while (status == Z_OK) {
    if (stream.total_out == out.data.size()) {
      if (out.data.size() == max_bytes) {
        out.more = true;
        return out;
      }
      out.data.resize(std::min(max_bytes, 2 * out.data.size()));
    }
    stream.avail_in = zlib_chunk(compressed.size() - stream.total_in);
    stream.next_out = reinterpret_cast<Bytef*>(&out.data[stream.total_out]);
    stream.avail_out = zlib_chunk(out.data.size() - stream.total_out);
    status = inflate(&stream, Z_NO_FLUSH);
  }
  // Z_BUF_ERROR with output room left means the input ran out before the stream ended.
  if (status == Z_BUF_ERROR) throw Error(path + ": truncated gzip stream (the file ends inside the compressed data)");
  if (status != Z_STREAM_END)
    throw Error(path + ": corrupt gzip stream" + (stream.msg ? std::string(": ") + stream.msg : std::string()));
  if (stream.total_in != compressed.size())
    throw Error(path + ": " + std::to_string(compressed.size() - stream.total_in) +
                " bytes of unexpected data after the end of the gzip stream");
  out.data.resize(stream.total_out);
  return out;
}

torch::ScalarType idx_dtype(const std::string& path, uint8_t code) {
  for (const IdxType& type : kIdxTypes)
    if (type.code == code) return type.dtype;
  throw Error(path + ": unknown IDX data type code 0x" + hex_byte(code) +
              " (expected 08 ubyte, 09 sbyte, 0b short, 0c int, 0d float or 0e double)");
}

// Saturates rather than wraps, so a corrupt header with huge dimensions reads as "more
// data than the file holds" instead of as some small wrapped-around size.
uint64_t declared_bytes(const std::vector<int64_t>& shape, size_t element_size) {
  uint64_t bytes = element_size;
  for (int64_t dim : shape) {
    const auto d = static_cast<uint64_t>(dim);
    bytes = bytes > UINT64_MAX / d ? UINT64_MAX : bytes * d;
  }
  return bytes;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text;
  for (int64_t dim : shape) text += (text.empty() ? "" : "x") + std::to_string(dim);
  return text;
}

bool host_is_little_endian() {
  const uint16_t one = 1;
  uint8_t first_byte;
  std::memcpy(&first_byte, &one, 1);
  return first_byte == 1;
}

void big_endian_to_host(torch::Tensor& tensor) {
  const size_t width = tensor.element_size();
  if (width == 1 || !host_is_little_endian()) return;
  auto* data = static_cast<char*>(tensor.data_ptr());
  for (int64_t i = 0; i < tensor.numel(); ++i) std::reverse(data + i * width, data + (i + 1) * width);
}

// What an IDX header declares: the element type, the shape, and so the file's exact size.
struct IdxHeader {
  torch::ScalarType dtype;
  std::vector<int64_t> shape;
  size_t header_size;
  uint64_t data_size;  // saturated at UINT64_MAX
  std::string declared() const {
    return "header says " + shape_text(shape) + " = " +
           (data_size == UINT64_MAX ? "over 2^64" : std::to_string(data_size)) + " bytes of data";
  }
};

// The largest header: the magic and four dimensions.
constexpr size_t kMaxIdxHeaderSize = 4 + 4 * 4;

// Reads the header from the file's first bytes (all of them, or at least kMaxIdxHeaderSize)
// and checks the data it declares against kMaxIdxBytes, before anything that size exists.
IdxHeader parse_idx_header(const std::string& path, const std::string& bytes) {
  if (bytes.size() < 4)
    throw Error(path + ": not an IDX file: " + std::to_string(bytes.size()) +
                " bytes, too short for the 4-byte magic number");
  if (byte_at(bytes, 0) != 0 || byte_at(bytes, 1) != 0)
    throw Error(path + ": not an IDX file: bad magic number " + hex_byte(byte_at(bytes, 0)) + " " +
                hex_byte(byte_at(bytes, 1)) + " " + hex_byte(byte_at(bytes, 2)) + " " + hex_byte(byte_at(bytes, 3)) +
                " (expected 00 00 <type> <number of dimensions>)");
  IdxHeader header;
  header.dtype = idx_dtype(path, byte_at(bytes, 2));
  const size_t rank = byte_at(bytes, 3);
  if (rank < 1 || rank > 4)
    throw Error(path + ": the IDX header gives " + std::to_string(rank) + " dimensions; expected 1 to 4");
  header.header_size = 4 + 4 * rank;
  if (bytes.size() < header.header_size)
    throw Error(path + ": truncated IDX header: " + std::to_string(rank) + " dimensions need " +
                std::to_string(header.header_size) + " bytes, the file holds " + std::to_string(bytes.size()));
  for (size_t i = 0; i < rank; ++i) {
    header.shape.push_back(big_endian_u32(bytes, 4 + 4 * i));
    if (header.shape.back() == 0) throw Error(path + ": dimension " + std::to_string(i) + " of the IDX header is 0");
  }
  header.data_size = declared_bytes(header.shape, c10::elementSize(header.dtype));
  check_limit(path + ": the data its header declares (" + shape_text(header.shape) + ")",
              static_cast<double>(header.data_size), kMaxIdxBytes);
  return header;
}

torch::Tensor parse_idx(const std::string& path, const std::string& bytes) {
  const IdxHeader header = parse_idx_header(path, bytes);
  const uint64_t expected = header.data_size;
  const uint64_t actual = bytes.size() - header.header_size;
  if (actual < expected)
    throw Error(path + ": truncated: " + header.declared() + " but the file holds " + std::to_string(actual));
  if (actual > expected)
    throw Error(path + ": " + std::to_string(actual - expected) + " bytes of trailing data: " + header.declared() +
                " but the file holds " + std::to_string(actual));

  torch::Tensor tensor = torch::empty(header.shape, header.dtype);
  std::memcpy(tensor.data_ptr(), bytes.data() + header.header_size, expected);
  big_endian_to_host(tensor);
  return tensor;
}

// The first spelling of an IDX file found in dir, e.g. train-images-idx3-ubyte.gz. The
// error lists what was looked for so that a user can rename their copy.
std::string find_idx_file(const std::string& dir, const std::string& stem_dash, const std::string& stem_dot) {
  for (const std::string& stem : {stem_dash, stem_dot})
    for (const char* suffix : {"", ".gz"}) {
      const fs::path candidate = fs::path(dir) / (stem + suffix);
      std::error_code ignored;  // unreadable counts as absent; the error below names what was looked for
      if (fs::is_regular_file(candidate, ignored)) return candidate.string();
    }
  throw Error(dir + ": missing " + stem_dash + "[.gz] (also looked for " + stem_dot + "[.gz])");
}

std::string split_prefix(Split split) { return split == Split::train ? "train" : "t10k"; }

std::string labels_path(const std::string& dir, Split split) {
  const std::string prefix = split_prefix(split);
  return find_idx_file(dir, prefix + "-labels-idx1-ubyte", prefix + "-labels.idx1-ubyte");
}

// Labels [N] as int64, from a 1-D integer IDX file.
torch::Tensor read_labels(const std::string& path) {
  const torch::Tensor labels = read_idx(path);
  if (labels.dim() != 1 || labels.is_floating_point())
    throw Error(path + ": expected integer labels [N], found " + std::string(c10::toString(labels.scalar_type())) +
                " of shape " + c10::str(labels.sizes()));
  return labels.to(torch::kLong);
}

// The classes of a data set without class names: "0".."K-1" with K = the largest training
// label + 1, for both splits, so that a model trained on the train split can predict every
// test label, and both splits have one class list. A test label >= K is then an error at
// load, not a surprise at the first evaluation; K is checked against kMaxClasses before
// K names are made (one corrupt label of 2^31 - 1 would ask for 2^31 of them).
std::vector<std::string> classes_from_training_labels(const std::string& path, const torch::Tensor& labels) {
  const int64_t highest = labels.max().item<int64_t>();  // negative labels: check_labels
  check_limit(path + ": the number of classes (largest label " + std::to_string(highest) + " + 1)",
              static_cast<double>(highest) + 1, kMaxClasses);
  return numbered_classes(highest + 1);
}

void check_labels(const torch::Tensor& labels, const std::string& path, const std::vector<std::string>& classes,
                  const std::string& classes_origin) {
  const int64_t lowest = labels.min().item<int64_t>();
  const int64_t highest = labels.max().item<int64_t>();
  const int64_t bad = lowest < 0 ? lowest : highest;
  if (lowest < 0 || highest >= static_cast<int64_t>(classes.size()))
    throw Error(path + ": label " + std::to_string(bad) + " (example " +
                std::to_string(labels.eq(bad).nonzero()[0][0].item<int64_t>()) + ") is out of range for " +
                std::to_string(classes.size()) + " classes" + classes_origin);
}

}  // namespace

torch::Tensor read_idx(const std::string& path) {
  std::error_code error;
  const uintmax_t file_size = fs::file_size(path, error);
  // A gzip file is smaller than its data, so this bounds both kinds before reading either.
  if (!error) check_limit(path + ": the file's size", static_cast<double>(file_size), kMaxIdxBytes);
  const std::string bytes = read_file(path);
  if (!is_gzip(bytes)) return parse_idx(path, bytes);
  // The header first, then no more than it declares (+1 byte, to notice trailing data): a
  // gzip member can inflate 1032-fold, so its size is known only from the header.
  const IdxHeader header = parse_idx_header(path, gunzip(path, bytes, kMaxIdxHeaderSize).data);
  const Inflated data = gunzip(path, bytes, header.header_size + header.data_size + 1);
  if (data.more) throw Error(path + ": trailing data: " + header.declared() + " but the gzip stream holds more");
  return parse_idx(path, data.data);
}

DatasetPtr load_idx_dataset(const std::string& dir, Split split, const std::string& name,
                            std::vector<std::string> classes) {
  const std::string prefix = split_prefix(split);
  std::error_code error;
  if (!fs::is_directory(dir, error))
    throw Error(dir + ": no such directory (expected " + prefix + "-images-idx3-ubyte[.gz] and " + prefix +
                "-labels-idx1-ubyte[.gz] in it)");
  const std::string image_path = find_idx_file(dir, prefix + "-images-idx3-ubyte", prefix + "-images.idx3-ubyte");
  const std::string label_path = labels_path(dir, split);

  const torch::Tensor images = read_idx(image_path);
  if (images.scalar_type() != torch::kByte || images.dim() != 3)
    throw Error(image_path + ": expected uint8 images [N, H, W], found " +
                std::string(c10::toString(images.scalar_type())) + " of shape " + c10::str(images.sizes()));
  const torch::Tensor labels = read_labels(label_path);
  if (labels.size(0) != images.size(0))
    throw Error(label_path + ": " + std::to_string(labels.size(0)) + " labels for the " +
                std::to_string(images.size(0)) + " images of " + image_path);
  std::string classes_origin;
  if (classes.empty()) {
    const std::string train_path = split == Split::train ? label_path : labels_path(dir, Split::train);
    classes = classes_from_training_labels(train_path, split == Split::train ? labels : read_labels(train_path));
    if (split != Split::train) classes_origin = " (numbered from the largest label in " + train_path + ")";
  }
  check_labels(labels, label_path, classes, classes_origin);

  DatasetInfo info{name, {}, std::move(classes)};
  return std::make_shared<TensorDataset>(std::move(info), images.unsqueeze(1), labels);
}

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

const std::vector<std::string>& mnist_classes() {
  static const std::vector<std::string> names = numbered_classes(10);
  return names;
}

}  // namespace zoo::data
