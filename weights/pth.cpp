#include "weights/pth.h"

#include <caffe2/serialize/file_adapter.h>
#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/error.h"

// Storages are made over the archive's bytes as they are: torch.save writes the host's
// byte order, and a "byteorder" record (PyTorch 2.x) is checked to say little.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the .pth reader assumes a little-endian host");

namespace zoo::weights {
namespace {

using caffe2::serialize::PyTorchStreamReader;

// ---------------------------------------------------------------------------------------
// The zip archive, through LibTorch's reader (it handles the archive's top folder, whose
// name is the file stem at save time, so records are named "data.pkl", "data/0").

// LibTorch's zip reader throws c10::Error, and for some damage std exceptions; both
// become a zoo::Error that starts with `context`.
template <typename Function>
auto rethrow_as_error(const std::string& context, Function&& function) -> decltype(function()) {
  try {
    return function();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(context + ": " + first_line(e));
  }
}

// torch.save before PyTorch 1.6 wrote a bare pickle stream that starts (after PROTO, and
// a FRAME for protocol 4) with this magic number, pickled as an 80-bit LONG1.
constexpr std::string_view kLegacyMagic("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10);
constexpr std::string_view kZipSignature("PK\x03\x04", 4);
constexpr size_t kHeadBytes = 32;  // enough of the file to tell the formats apart

void check_head(std::string_view head, const std::string& source) {
  if (!head.empty() && head[0] == '\x80' && head.substr(0, kHeadBytes).find(kLegacyMagic) != std::string_view::npos)
    throw Error(source +
                ": legacy (pre-1.6) torch.save format; re-save it with torch.save(obj, path, "
                "_use_new_zipfile_serialization=True) or convert it with convert_weights");
  if (head.substr(0, kZipSignature.size()) != kZipSignature)
    throw Error(source + ": not a torch.save file (it does not begin with the zip signature PK\\x03\\x04)");
}

// PyTorchStreamReader over bytes in memory. A read past the end comes back short, which
// the zip reader reports as an error.
class MemoryAdapter final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit MemoryAdapter(std::string bytes) : bytes_(std::move(bytes)) {}
  size_t size() const override { return bytes_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (pos >= bytes_.size()) return 0;
    n = static_cast<size_t>(std::min<uint64_t>(n, bytes_.size() - pos));
    std::memcpy(buf, bytes_.data() + pos, n);
    return n;
  }

 private:
  std::string bytes_;
};

// torch.save stores its records uncompressed, and the zip reader checks a stored record's
// size against the archive's. A compressed record's size is checked against nothing, and
// deflate inflates up to 1032-fold: a 200 KB file could make the reader fill 200 MB, a
// 20 MB one 20 GB. So every record must be stored, which the central directory says before
// any record is read. Where the directory cannot be found or walked, the zip reader, which
// looks for it the same way, reports the damage.

using caffe2::serialize::ReadAdapterInterface;

uint64_t little_endian_field(const unsigned char* bytes, size_t size) {
  uint64_t value = 0;
  for (size_t i = size; i-- > 0;) value = value << 8 | bytes[i];
  return value;
}

// n bytes at `position`, or nothing where the file is shorter.
std::optional<std::vector<unsigned char>> read_at(const ReadAdapterInterface& in, uint64_t position, uint64_t n) {
  if (position > in.size() || n > in.size() - position) return std::nullopt;
  std::vector<unsigned char> bytes(n);
  if (in.read(position, bytes.data(), n, "zip directory") != n) return std::nullopt;
  return bytes;
}

struct CentralDirectory {
  uint64_t offset = 0;
  uint64_t entries = 0;
};

// The end-of-directory record is the last of its signature in the file's last 64 KiB + 22
// bytes (its comment may be up to 64 KiB); a zip64 locator just before it points to the
// zip64 record, whose fields then hold the directory's place.
std::optional<CentralDirectory> find_central_directory(const ReadAdapterInterface& in) {
  constexpr uint64_t kEndBytes = 22, kLocatorBytes = 20, kEnd64Bytes = 56, kMaxComment = 65535;
  const uint64_t tail = std::min<uint64_t>(in.size(), kEndBytes + kMaxComment);
  const auto bytes = read_at(in, in.size() - tail, tail);
  if (!bytes || tail < kEndBytes) return std::nullopt;
  for (uint64_t end = tail - kEndBytes + 1; end-- > 0;) {
    const unsigned char* record = bytes->data() + end;
    if (little_endian_field(record, 4) != 0x06054b50) continue;
    CentralDirectory directory{little_endian_field(record + 16, 4), little_endian_field(record + 10, 2)};
    const uint64_t at = in.size() - tail + end;
    if (at < kLocatorBytes) return directory;
    const auto locator = read_at(in, at - kLocatorBytes, kLocatorBytes);
    if (!locator || little_endian_field(locator->data(), 4) != 0x07064b50) return directory;
    const auto end64 = read_at(in, little_endian_field(locator->data() + 8, 8), kEnd64Bytes);
    if (!end64 || little_endian_field(end64->data(), 4) != 0x06064b50) return directory;
    return CentralDirectory{little_endian_field(end64->data() + 48, 8), little_endian_field(end64->data() + 32, 8)};
  }
  return std::nullopt;
}

void check_records_stored(const ReadAdapterInterface& in, const std::string& source) {
  constexpr uint64_t kEntryBytes = 46;
  const std::optional<CentralDirectory> directory = find_central_directory(in);
  if (!directory) return;
  uint64_t position = directory->offset;
  for (uint64_t i = 0; i < directory->entries; ++i) {
    const auto entry = read_at(in, position, kEntryBytes);
    if (!entry || little_endian_field(entry->data(), 4) != 0x02014b50) return;
    const uint64_t method = little_endian_field(entry->data() + 10, 2);
    const uint64_t name_bytes = little_endian_field(entry->data() + 28, 2);
    if (method != 0) {
      const auto name = read_at(in, position + kEntryBytes, name_bytes);
      throw Error(source + ": record " + (name ? std::string(name->begin(), name->end()) : "?") +
                  " is compressed (zip method " + std::to_string(method) +
                  "); torch.save stores records uncompressed, and compressed ones are not read, since a small "
                  "file could inflate a thousandfold");
    }
    position += kEntryBytes + name_bytes + little_endian_field(entry->data() + 30, 2) +
                little_endian_field(entry->data() + 32, 2);
  }
}

struct Record {
  at::DataPtr data;
  size_t size = 0;
  std::string_view bytes() const { return {static_cast<const char*>(data.get()), size}; }
};

class Archive {
 public:
  Archive(PyTorchStreamReader& reader, const std::string& source) : reader_(reader), source_(source) {}

  const std::string& source() const { return source_; }

  bool has(const std::string& record) {
    return rethrow_as_error(source_ + ": cannot look up record " + record, [&] { return reader_.hasRecord(record); });
  }

  Record read(const std::string& record) {
    if (!has(record)) throw Error(source_ + ": the archive has no record " + record);
    return rethrow_as_error(source_ + ": cannot read record " + record, [&] {
      auto [data, size] = reader_.getRecord(record);
      return Record{std::move(data), size};
    });
  }

 private:
  PyTorchStreamReader& reader_;
  const std::string& source_;
};

// ---------------------------------------------------------------------------------------
// Pickled values. The unpickler owns them all in an arena and containers point into it,
// so a hostile pickle that puts a dict inside itself makes no ownership cycle, and freeing
// a deeply nested value never recurses; nothing here walks values recursively either.

enum class Kind { none, boolean, integer, real, string, tuple, list, dict, global, storage, tensor, object };

struct Value {
  explicit Value(Kind of) : kind(of) {}
  Kind kind;
  int64_t integer = 0;  // boolean (0 or 1) and integer
  double real = 0;
  std::string text;           // string; "module.name" of a global or of an object's class; storage: its record
  std::vector<Value*> items;  // tuple and list
  std::vector<std::pair<Value*, Value*>> entries;  // dict, in insertion order
  // dict: entry of each string key, so that a repeated key replaces its value, as in
  // Python, and lookups by name are cheap. The keys view the key values' own text, so a
  // long key put into many dicts is not copied into each; only dicts with string keys
  // have an index, which keeps every other value small.
  std::unique_ptr<std::unordered_map<std::string_view, size_t>> index;
  torch::Tensor tensor;  // storage (1-D, all its elements) and tensor (a view of a storage)
};

std::string describe(const Value& value) {
  switch (value.kind) {
    case Kind::none: return "None";
    case Kind::boolean: return "a bool";
    case Kind::integer: return "an int";
    case Kind::real: return "a float";
    case Kind::string: return "a str";
    case Kind::tuple: return "a tuple of " + std::to_string(value.items.size());
    case Kind::list: return "a list";
    case Kind::dict: return "a dict";
    case Kind::global: return "the Python name " + value.text;
    case Kind::storage: return "a storage";
    case Kind::tensor: return "a tensor";
    case Kind::object: return "an object of type " + value.text;
  }
  return "a value";
}

const Value* find_entry(const Value& dict, const std::string& key) {
  if (!dict.index) return nullptr;
  const auto found = dict.index->find(key);
  return found == dict.index->end() ? nullptr : dict.entries[found->second].second;
}

// The storage classes torch.save names in persistent ids, one per dtype.
std::optional<torch::ScalarType> storage_dtype(const std::string& name) {
  static const std::unordered_map<std::string, torch::ScalarType> kTypes = {
      {"torch.FloatStorage", torch::kFloat}, {"torch.DoubleStorage", torch::kDouble},
      {"torch.HalfStorage", torch::kHalf},   {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kLong},   {"torch.IntStorage", torch::kInt},
      {"torch.ShortStorage", torch::kShort}, {"torch.CharStorage", torch::kChar},
      {"torch.ByteStorage", torch::kByte},   {"torch.BoolStorage", torch::kBool},
  };
  const auto found = kTypes.find(name);
  if (found == kTypes.end()) return std::nullopt;
  return found->second;
}

// The globals a pickle may name unless the file is trusted: those torch.load(weights_only
// =True) allows (torch/_weights_only_unpickler.py, _get_allowed_globals), which is what
// torch.save writes for tensors, parameters, their storages and dtypes, and plain
// containers. The unpickler interprets the few a state dict needs (OrderedDict, the tensor
// and parameter rebuilders, the storage types above); the others become opaque values.
// Only names are compared: nothing is ever imported or called.
bool is_allowed_global(const std::string& name) {
  static const std::unordered_set<std::string> kAllowed = [] {
    std::unordered_set<std::string> names = {
        "collections.OrderedDict",
        "collections.Counter",
        "builtins.set",
        "builtins.frozenset",
        "builtins.bytearray",
        "builtins.complex",
        "_codecs.encode",  // how protocol 2 pickles bytes
        "torch.Size",
        "torch.device",
        "torch.Tensor",
        "torch.nn.parameter.Parameter",
        "torch.serialization._get_layout",
        "torch._tensor._rebuild_from_type_v2",
        // LibTorch's torch::pickle_save, which write_weights uses for .pth, tags typed dicts with it.
        "torch.jit._pickle.restore_type_tag",
        "torch.per_tensor_affine",
        "torch.per_tensor_symmetric",
        "torch.per_channel_affine",
        "torch.per_channel_symmetric",
        "torch.per_channel_affine_float_qparams",
    };
    for (const char* rebuild : {"_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
                                "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_sparse_tensor",
                                "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass",
                                "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor"})
      names.insert(std::string("torch._utils.") + rebuild);
    for (const char* element : {"Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool"})
      for (const char* module : {"torch.", "torch.cuda."}) {
        names.insert(module + std::string(element) + "Storage");
        names.insert(module + std::string(element) + "Tensor");  // the legacy tensor types
      }
    for (const char* element : {"ComplexFloat", "ComplexDouble", "QUInt8", "QInt8", "QInt32", "QUInt4x2", "QUInt2x4"})
      names.insert("torch." + std::string(element) + "Storage");
    for (const char* dtype :
         {"float32",       "float64",     "float16",         "bfloat16",       "complex32", "complex64", "complex128",
          "uint8",         "int8",        "int16",           "int32",          "int64",     "bool",      "qint8",
          "quint8",        "qint32",      "quint4x2",        "quint2x4",       "uint16",    "uint32",    "uint64",
          "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz"})
      names.insert("torch." + std::string(dtype));
    return names;
  }();
  return kAllowed.count(name) > 0;
}

// ---------------------------------------------------------------------------------------
// The one bounds-checked cursor over data.pkl: every byte the unpickler reads comes
// through it, so no opcode argument can run past the end of the record.

class ByteReader {
 public:
  ByteReader(std::string_view bytes, const std::string& source) : bytes_(bytes), source_(source) {}

  bool done() const { return position_ == bytes_.size(); }
  size_t position() const { return position_; }
  size_t size() const { return bytes_.size(); }

  std::string_view bytes(uint64_t n) {
    if (n > bytes_.size() - position_)
      throw Error(source_ + ": data.pkl ends at byte " + std::to_string(bytes_.size()) + " in the middle of a " +
                  std::to_string(n) + "-byte argument at byte " + std::to_string(position_) + " (truncated?)");
    const std::string_view out = bytes_.substr(position_, n);
    position_ += n;
    return out;
  }

  uint8_t byte() { return static_cast<uint8_t>(bytes(1)[0]); }

  template <typename T>
  T little_endian() {
    T value;
    std::memcpy(&value, bytes(sizeof(T)).data(), sizeof(T));
    return value;
  }

  double big_endian_double() {
    const std::string_view raw = bytes(8);
    char swapped[8];
    std::reverse_copy(raw.begin(), raw.end(), swapped);
    double value;
    std::memcpy(&value, swapped, 8);
    return value;
  }

  // The text up to the next newline, which is consumed but not returned.
  std::string_view line() {
    const size_t end = bytes_.find('\n', position_);
    if (end == std::string_view::npos)
      throw Error(source_ + ": data.pkl ends at byte " + std::to_string(bytes_.size()) +
                  " inside a line of text that starts at byte " + std::to_string(position_) + " (truncated?)");
    const std::string_view out = bytes_.substr(position_, end - position_);
    position_ = end + 1;
    return out;
  }

 private:
  std::string_view bytes_;
  size_t position_ = 0;
  const std::string& source_;
};

// ---------------------------------------------------------------------------------------
// The unpickler: the opcodes torch.save emits (protocol 2, plus the protocol 4 framing
// and memo opcodes), with Python's semantics but no Python. Calls are never made: the
// functions torch.save relies on (OrderedDict, _rebuild_tensor_v2, _rebuild_parameter)
// are interpreted here, and every other call gives an opaque object.

// The opcodes as a table.
// clang-format off
namespace op {
enum : uint8_t {
  MARK = '(', STOP = '.', BININT = 'J', BININT1 = 'K', BININT2 = 'M', NONE = 'N', BINPERSID = 'Q', REDUCE = 'R',
  BINUNICODE = 'X', APPEND = 'a', BUILD = 'b', GLOBAL = 'c', APPENDS = 'e', BINGET = 'h', LONG_BINGET = 'j',
  BINPUT = 'q', LONG_BINPUT = 'r', SETITEM = 's', TUPLE = 't', SETITEMS = 'u', BINFLOAT = 'G', EMPTY_TUPLE = ')',
  EMPTY_LIST = ']', EMPTY_DICT = '}', PROTO = 0x80, NEWOBJ = 0x81, TUPLE1 = 0x85, TUPLE2 = 0x86, TUPLE3 = 0x87,
  NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, SHORT_BINUNICODE = 0x8c, STACK_GLOBAL = 0x93, MEMOIZE = 0x94,
  FRAME = 0x95,
};
// clang-format on
}  // namespace op

// A hostile pickle can ask for far more memory than it occupies: each 1-byte opcode that
// makes a value ('}', ']', 'N') costs a Value of over a hundred bytes, and memo reads of a
// few bytes can repeat a long string, a wide tuple or a tensor view of many dimensions
// without end. So all that the unpickler keeps is charged to a budget in proportion to
// data.pkl's size. torch.save's pickles take 22 to 32 bytes a byte (measured: ResNet-50 and
// EfficientNet-B0 state dicts at protocols 2 and 4, a ResNet-50 checkpoint with its Adam
// state, 20,000 one-element tensors); kBudgetPerByte allows twice that, and kBudgetBase
// lets any small file through whatever its make-up.
constexpr uint64_t kBudgetPerByte = 64;
constexpr uint64_t kBudgetBase = uint64_t(64) << 20;
// MARKs nest as deep as the containers they build, and Python's pickler stops at its
// recursion limit (1000 unless raised): far deeper is no file torch.save wrote.
constexpr size_t kMaxOpenMarks = 10000;

// The memory of one more entry in a hash map: the node's value, its next pointer and
// cached hash, and a bucket.
template <typename Map>
constexpr uint64_t hash_entry_bytes() {
  return sizeof(typename Map::value_type) + 3 * sizeof(void*);
}

class Unpickler {
 public:
  Unpickler(std::string_view pickle, Archive& archive, const PthOptions& options)
      : in_(pickle, archive.source()),
        archive_(archive),
        options_(options),
        budget_(kBudgetBase + kBudgetPerByte * pickle.size()),
        budget_left_(budget_) {}

  // The object the pickle describes.
  const Value& run() {
    while (true) {
      opcode_position_ = in_.position();
      if (in_.done()) fail("data.pkl ends without a STOP opcode (truncated?)");
      if (!step()) return pop("STOP");
    }
  }

  // Bytes of all storages read, which bounds what the views of them may be copied into.
  uint64_t storage_bytes() const { return storage_bytes_; }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw Error(archive_.source() + ": " + message + " at byte " + std::to_string(opcode_position_) + " of data.pkl");
  }

  // Counts memory against the budget before it is allocated.
  void charge(uint64_t bytes) {
    if (bytes > budget_left_)
      fail("unpickling would take more than " + std::to_string(budget_) + " bytes of memory, more than any " +
           std::to_string(in_.size()) + "-byte pickle of tensors needs (a hostile file?)");
    budget_left_ -= bytes;
  }

  Value& make(Kind kind) {
    charge(sizeof(Value));
    return arena_.emplace_back(kind);
  }

  Value& make_integer(Kind kind, int64_t integer) {
    Value& value = make(kind);
    value.integer = integer;
    return value;
  }

  Value& make_text(Kind kind, std::string text) {
    charge(text.size());
    Value& value = make(kind);
    value.text = std::move(text);
    return value;
  }

  Value& make_tuple(std::vector<Value*> items) {
    charge(items.size() * sizeof(Value*));
    Value& value = make(Kind::tuple);
    value.items = std::move(items);
    return value;
  }

  // Values pushed since the last MARK; Python's unpickler cannot reach below it either,
  // so a mark always stays within the stack.
  size_t available() const { return stack_.size() - (marks_.empty() ? 0 : marks_.back()); }

  void push(Value& value) {
    charge(sizeof(Value*));
    stack_.push_back(&value);
  }

  void mark() {
    if (marks_.size() == kMaxOpenMarks) fail("more than " + std::to_string(kMaxOpenMarks) + " MARKs are open");
    charge(sizeof(size_t));
    marks_.push_back(stack_.size());
  }

  Value& top(const char* opcode) {
    if (available() == 0) fail(std::string(opcode) + " on an empty stack");
    return *stack_.back();
  }

  Value& pop(const char* opcode) {
    Value& value = top(opcode);
    stack_.pop_back();
    return value;
  }

  std::vector<Value*> pop_n(size_t n, const char* opcode) {
    if (available() < n) fail(std::string(opcode) + " needs " + std::to_string(n) + " values on the stack");
    std::vector<Value*> items(stack_.end() - n, stack_.end());
    stack_.resize(stack_.size() - n);
    return items;
  }

  std::vector<Value*> pop_to_mark(const char* opcode) {
    if (marks_.empty()) fail(std::string(opcode) + " without a MARK");
    std::vector<Value*> items(stack_.begin() + marks_.back(), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }

  void memo_put(uint32_t index, const char* opcode) {
    Value& value = top(opcode);
    charge(hash_entry_bytes<decltype(memo_)>());
    memo_[index] = &value;
  }

  Value& memo_get(uint32_t index) {
    const auto found = memo_.find(index);
    if (found == memo_.end()) fail("memo entry " + std::to_string(index) + " is read before it is written");
    return *found->second;
  }

  bool step();
  Value& long1(std::string_view bytes);
  Value& global(std::string module, std::string_view name);
  Value& reduce(Value& callable, Value& args);
  Value& new_object(Value& cls, Value& args);
  Value& rebuild_tensor(const std::vector<Value*>& args);
  Value& rebuild_parameter(const std::vector<Value*>& args);
  Value& persistent_load(Value& pid);
  torch::Tensor load_storage(const std::string& record, torch::ScalarType dtype, int64_t numel);
  void set_item(Value& target, Value& key, Value& value);
  void append(Value& target, Value& item);
  int64_t count(const Value* value, const char* what);
  std::vector<int64_t> counts(const Value* value, const char* what);

  ByteReader in_;
  Archive& archive_;
  const PthOptions options_;
  const uint64_t budget_;  // bytes of memory the values may take
  uint64_t budget_left_;
  size_t opcode_position_ = 0;
  std::deque<Value> arena_;  // a deque never moves what it holds
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;  // stack sizes at each open MARK
  std::unordered_map<uint32_t, Value*> memo_;
  std::unordered_map<std::string, Value*> storages_;  // by record: each is read once
  uint64_t storage_bytes_ = 0;
};

// Runs one opcode; false at STOP.
bool Unpickler::step() {
  const uint8_t opcode = in_.byte();
  switch (opcode) {
    case op::PROTO: in_.byte(); break;                     // the opcodes, not the version, decide what is read
    case op::FRAME: in_.little_endian<uint64_t>(); break;  // frames only group opcodes for buffering
    case op::STOP: return false;
    case op::MARK: mark(); break;
    case op::EMPTY_DICT: push(make(Kind::dict)); break;
    case op::EMPTY_LIST: push(make(Kind::list)); break;
    case op::EMPTY_TUPLE: push(make(Kind::tuple)); break;
    case op::NONE: push(make(Kind::none)); break;
    case op::NEWTRUE: push(make_integer(Kind::boolean, 1)); break;
    case op::NEWFALSE: push(make_integer(Kind::boolean, 0)); break;
    case op::BININT: push(make_integer(Kind::integer, in_.little_endian<int32_t>())); break;
    case op::BININT1: push(make_integer(Kind::integer, in_.byte())); break;
    case op::BININT2: push(make_integer(Kind::integer, in_.little_endian<uint16_t>())); break;
    case op::LONG1: push(long1(in_.bytes(in_.byte()))); break;
    case op::BINFLOAT: {
      Value& value = make(Kind::real);
      value.real = in_.big_endian_double();
      push(value);
      break;
    }
    case op::BINUNICODE: push(make_text(Kind::string, std::string(in_.bytes(in_.little_endian<uint32_t>())))); break;
    case op::SHORT_BINUNICODE: push(make_text(Kind::string, std::string(in_.bytes(in_.byte())))); break;
    case op::TUPLE: push(make_tuple(pop_to_mark("TUPLE"))); break;
    case op::TUPLE1: push(make_tuple(pop_n(1, "TUPLE1"))); break;
    case op::TUPLE2: push(make_tuple(pop_n(2, "TUPLE2"))); break;
    case op::TUPLE3: push(make_tuple(pop_n(3, "TUPLE3"))); break;
    case op::GLOBAL: {
      std::string module(in_.line());
      push(global(std::move(module), in_.line()));
      break;
    }
    case op::STACK_GLOBAL: {
      const std::vector<Value*> names = pop_n(2, "STACK_GLOBAL");
      if (names[0]->kind != Kind::string || names[1]->kind != Kind::string)
        fail("STACK_GLOBAL needs a module and a name as strings");
      push(global(names[0]->text, names[1]->text));
      break;
    }
    case op::REDUCE: {
      const std::vector<Value*> call = pop_n(2, "REDUCE");
      push(reduce(*call[0], *call[1]));
      break;
    }
    case op::NEWOBJ: {
      const std::vector<Value*> call = pop_n(2, "NEWOBJ");
      push(new_object(*call[0], *call[1]));
      break;
    }
    // The state set on an object: an OrderedDict's _metadata, a Parameter's hooks; none
    // of it is needed for the tensors.
    case op::BUILD:
      pop("BUILD");
      top("BUILD");
      break;
    case op::BINPERSID: push(persistent_load(pop("BINPERSID"))); break;
    case op::SETITEM: {
      const std::vector<Value*> item = pop_n(2, "SETITEM");
      set_item(top("SETITEM"), *item[0], *item[1]);
      break;
    }
    case op::SETITEMS: {
      const std::vector<Value*> items = pop_to_mark("SETITEMS");
      if (items.size() % 2 != 0) fail("SETITEMS with an odd number of values");
      Value& target = top("SETITEMS");
      for (size_t i = 0; i < items.size(); i += 2) set_item(target, *items[i], *items[i + 1]);
      break;
    }
    case op::APPEND: {
      Value& item = pop("APPEND");
      append(top("APPEND"), item);
      break;
    }
    case op::APPENDS: {
      const std::vector<Value*> items = pop_to_mark("APPENDS");
      Value& target = top("APPENDS");
      for (Value* item : items) append(target, *item);
      break;
    }
    case op::BINPUT: memo_put(in_.byte(), "BINPUT"); break;
    case op::LONG_BINPUT: memo_put(in_.little_endian<uint32_t>(), "LONG_BINPUT"); break;
    case op::MEMOIZE: memo_put(static_cast<uint32_t>(memo_.size()), "MEMOIZE"); break;
    case op::BINGET: push(memo_get(in_.byte())); break;
    case op::LONG_BINGET: push(memo_get(in_.little_endian<uint32_t>())); break;
    default: {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", opcode);
      fail(std::string("unsupported pickle opcode ") + hex);
    }
  }
  return true;
}

// A little-endian two's complement integer of any length; pickle writes the fewest bytes,
// so more than 8 means it does not fit in int64, and it becomes an opaque value.
Value& Unpickler::long1(std::string_view bytes) {
  if (bytes.size() > 8) return make_text(Kind::object, "int (wider than 64 bits)");
  uint64_t value = 0;
  for (size_t i = 0; i < bytes.size(); ++i) value |= uint64_t(static_cast<uint8_t>(bytes[i])) << (8 * i);
  const bool negative = !bytes.empty() && (static_cast<uint8_t>(bytes.back()) & 0x80);
  if (negative && bytes.size() < 8) value |= ~uint64_t(0) << (8 * bytes.size());
  return make_integer(Kind::integer, static_cast<int64_t>(value));
}

// At most the first 200 characters of a name from the file, for messages.
std::string shortened(const std::string& text) {
  constexpr size_t kShown = 200;
  return text.size() <= kShown ? text : text.substr(0, kShown) + "...";
}

// A global is checked where the pickle names it, before anything can be made from it.
Value& Unpickler::global(std::string module, std::string_view name) {
  // Python 3 pickles builtins under their Python 2 module name at protocol 2, torch.save's.
  if (module == "__builtin__") module = "builtins";
  std::string path = std::move(module) + "." + std::string(name);
  if (!options_.allow_unknown_globals && !is_allowed_global(path))
    throw Error(archive_.source() + ": data.pkl uses the global " + shortened(path) + " (at byte " +
                std::to_string(opcode_position_) +
                "), which is not allowed when loading weights; pass --allow-unknown-globals if you trust this file");
  return make_text(Kind::global, std::move(path));
}

Value& Unpickler::reduce(Value& callable, Value& args) {
  if (callable.kind != Kind::global) fail("REDUCE calls " + describe(callable) + ", which is not a Python name");
  if (args.kind != Kind::tuple) fail("REDUCE on " + callable.text + " with " + describe(args) + " for arguments");
  const std::string& name = callable.text;
  if (name == "collections.OrderedDict" && args.items.empty()) return make(Kind::dict);
  if (name == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(args.items);
  if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state")
    return rebuild_parameter(args.items);
  // LibTorch's own torch::pickle_save wraps typed containers as restore_type_tag(value,
  // "Dict[str, Tensor]"); the value is what matters.
  if (name == "torch.jit._pickle.restore_type_tag" && !args.items.empty()) return *args.items[0];
  return make_text(Kind::object, name);
}

Value& Unpickler::new_object(Value& cls, Value& args) {
  if (cls.kind != Kind::global) fail("NEWOBJ makes " + describe(cls) + ", which is not a Python class");
  if (args.kind != Kind::tuple) fail("NEWOBJ on " + cls.text + " with " + describe(args) + " for arguments");
  if (cls.text == "collections.OrderedDict") return make(Kind::dict);
  return make_text(Kind::object, cls.text);
}

int64_t Unpickler::count(const Value* value, const char* what) {
  if (value->kind != Kind::integer) fail(std::string(what) + " is " + describe(*value) + ", expected an int");
  if (value->integer < 0) fail(std::string(what) + " is negative: " + std::to_string(value->integer));
  return value->integer;
}

std::vector<int64_t> Unpickler::counts(const Value* value, const char* what) {
  if (value->kind != Kind::tuple) fail(std::string(what) + " is " + describe(*value) + ", expected a tuple of ints");
  std::vector<int64_t> out;
  for (const Value* item : value->items) out.push_back(count(item, what));
  return out;
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks
// [, metadata]): a strided view of a storage. as_strided trusts its arguments, so the
// view is checked to stay inside the storage first, with overflow-checked arithmetic.
Value& Unpickler::rebuild_tensor(const std::vector<Value*>& args) {
  if (args.size() != 6 && args.size() != 7)
    fail("_rebuild_tensor_v2 takes 6 or 7 arguments, got " + std::to_string(args.size()));
  if (args[0]->kind != Kind::storage) fail("_rebuild_tensor_v2 of " + describe(*args[0]) + ", expected a storage");
  const Value& storage = *args[0];
  const int64_t offset = count(args[1], "storage offset");
  const std::vector<int64_t> sizes = counts(args[2], "tensor size");
  const std::vector<int64_t> strides = counts(args[3], "tensor stride");
  if (sizes.size() != strides.size())
    fail("tensor size has " + std::to_string(sizes.size()) + " dimensions but its stride " +
         std::to_string(strides.size()));

  charge(sizeof(c10::TensorImpl) + 2 * sizes.size() * sizeof(int64_t));  // a view: its sizes and strides
  Value& tensor = make(Kind::tensor);
  if (std::find(sizes.begin(), sizes.end(), 0) != sizes.end()) {  // no elements: nothing to read
    tensor.tensor = torch::empty(sizes, storage.tensor.options());
    return tensor;
  }
  int64_t last = offset, numel = 1;  // the last element read, the elements in the view
  for (size_t i = 0; i < sizes.size(); ++i) {
    int64_t step;
    if (__builtin_mul_overflow(sizes[i] - 1, strides[i], &step) || __builtin_add_overflow(last, step, &last) ||
        __builtin_mul_overflow(numel, sizes[i], &numel))
      fail("tensor of size " + c10::str(torch::IntArrayRef(sizes)) + " overflows");
  }
  if (last >= storage.tensor.numel())
    fail("tensor of size " + c10::str(torch::IntArrayRef(sizes)) + ", stride " + c10::str(torch::IntArrayRef(strides)) +
         " and offset " + std::to_string(offset) + " reads element " + std::to_string(last) + " of storage " +
         storage.text + ", which holds " + std::to_string(storage.tensor.numel()));
  tensor.tensor = storage.tensor.as_strided(sizes, strides, offset);
  return tensor;
}

// _rebuild_parameter(data, requires_grad, backward_hooks[, state]): the data is the tensor.
Value& Unpickler::rebuild_parameter(const std::vector<Value*>& args) {
  if (args.empty() || args[0]->kind != Kind::tensor) fail("_rebuild_parameter without a tensor");
  return *args[0];
}

// torch.save's persistent id: ("storage", storage class, key, location, element count);
// the elements are in the record data/<key>.
Value& Unpickler::persistent_load(Value& pid) {
  if (pid.kind != Kind::tuple || pid.items.size() != 5 || pid.items[0]->kind != Kind::string ||
      pid.items[0]->text != "storage" || pid.items[2]->kind != Kind::string)
    fail("persistent id is " + describe(pid) + ", expected ('storage', type, key, location, size)");
  const Value& type = *pid.items[1];
  const std::optional<torch::ScalarType> dtype = type.kind == Kind::global ? storage_dtype(type.text) : std::nullopt;
  if (!dtype) fail("unsupported storage type: " + describe(type));
  const int64_t numel = count(pid.items[4], "storage size");

  const std::string record = "data/" + pid.items[2]->text;
  if (const auto found = storages_.find(record); found != storages_.end()) {
    if (found->second->tensor.scalar_type() != *dtype || found->second->tensor.numel() != numel)
      fail("storage " + record + " is read both as " + std::string(c10::toString(found->second->tensor.scalar_type())) +
           "[" + std::to_string(found->second->tensor.numel()) + "] and as " + c10::toString(*dtype) + "[" +
           std::to_string(numel) + "]");
    return *found->second;
  }
  Value& storage = make_text(Kind::storage, record);
  storage.tensor = load_storage(record, *dtype, numel);
  storages_[record] = &storage;
  return storage;
}

torch::Tensor Unpickler::load_storage(const std::string& record, torch::ScalarType dtype, int64_t numel) {
  const auto options = torch::dtype(dtype);
  uint64_t bytes;
  if (__builtin_mul_overflow(static_cast<uint64_t>(numel), c10::elementSize(dtype), &bytes))
    fail("storage " + record + " of " + std::to_string(numel) + " elements overflows");
  auto data = std::make_shared<Record>(archive_.read(record));
  if (data->size < bytes)
    fail("record " + record + " holds " + std::to_string(data->size) + " bytes but its " + c10::toString(dtype) +
         " storage of " + std::to_string(numel) + " elements needs " + std::to_string(bytes) + " (truncated?)");
  storage_bytes_ += bytes;
  void* address = data->data.get();
  // Records come from LibTorch's aligned allocator; kernels need that alignment, so an
  // odd address would be copied rather than shared.
  if (numel == 0 || reinterpret_cast<uintptr_t>(address) % c10::elementSize(dtype) != 0) {
    torch::Tensor copy = torch::empty({numel}, options);
    if (bytes) std::memcpy(copy.data_ptr(), address, bytes);
    return copy;
  }
  return torch::from_blob(
      address, {numel}, [data](void*) {}, options);
}

void Unpickler::set_item(Value& target, Value& key, Value& value) {
  using Index = std::unordered_map<std::string_view, size_t>;
  if (target.kind == Kind::object) return;  // a dict subclass we do not know: opaque anyway
  if (target.kind != Kind::dict) fail("SETITEM on " + describe(target) + ", expected a dict");
  if (key.kind == Kind::string) {
    if (!target.index) {
      charge(sizeof(Index));
      target.index = std::make_unique<Index>();
    }
    if (const auto found = target.index->find(key.text); found != target.index->end()) {
      target.entries[found->second].second = &value;
      return;
    }
    charge(hash_entry_bytes<Index>());
    target.index->emplace(key.text, target.entries.size());
  }
  charge(sizeof(target.entries[0]));
  target.entries.emplace_back(&key, &value);
}

void Unpickler::append(Value& target, Value& item) {
  if (target.kind == Kind::object) return;  // a list subclass we do not know: opaque anyway
  if (target.kind != Kind::list) fail("APPEND on " + describe(target) + ", expected a list");
  charge(sizeof(Value*));
  target.items.push_back(&item);
}

// ---------------------------------------------------------------------------------------
// From the unpickled object to a state dict and scalars.

// Keys under which checkpoints commonly keep the model's state dict, most specific first;
// the EMA copies come after the model's own weights.
const char* const kStateDictKeys[] = {"state_dict",     "model", "model_state_dict", "module",
                                      "state_dict_ema", "ema",   "model_ema"};

// Empty when the value is a state dict (str -> tensor); otherwise why it is not.
std::string why_not_state_dict(const Value& value) {
  if (value.kind != Kind::dict) return "it is " + describe(value);
  for (const auto& [key, item] : value.entries) {
    if (key->kind != Kind::string) return "a key is " + describe(*key);
    if (item->kind != Kind::tensor) return "'" + key->text + "' is " + describe(*item) + ", not a tensor";
  }
  return "";
}

// Shortest text that reads back as the same double.
std::string format_real(double value) {
  char text[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(text, sizeof text, "%.*g", precision, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

std::optional<std::string> scalar_text(const Value& value) {
  switch (value.kind) {
    case Kind::boolean: return value.integer ? "true" : "false";
    case Kind::integer: return std::to_string(value.integer);
    case Kind::real: return format_real(value.real);
    case Kind::string: return value.text;
    default: return std::nullopt;
  }
}

std::map<std::string, std::string> scalars_of(const Value& dict) {
  std::map<std::string, std::string> scalars;
  for (const auto& [key, item] : dict.entries)
    if (key->kind == Kind::string)
      if (std::optional<std::string> text = scalar_text(*item)) scalars[key->text] = *text;
  return scalars;
}

// The tensors of a state dict, each owning contiguous memory. A tensor that is all of its
// storage, in order, is handed out as it is, once; other views are copied. Views may
// overlap (stride 0) and many may share a storage, so a small hostile file could ask for
// terabytes of copies: together they may hold no more than the storages' own bytes plus
// kCopyAllowance.
NamedTensors take_tensors(const Value& state_dict, uint64_t storage_bytes, const std::string& source) {
  constexpr uint64_t kCopyAllowance = uint64_t(256) << 20;
  uint64_t copied = 0;
  std::unordered_set<const void*> handed_out;  // storages given away whole
  NamedTensors tensors;
  for (const auto& [key, value] : state_dict.entries) {
    const torch::Tensor& view = value->tensor;
    const bool whole = view.is_contiguous() && view.storage_offset() == 0 &&
                       view.numel() * view.element_size() == static_cast<int64_t>(view.storage().nbytes());
    if (whole && handed_out.insert(view.storage().unsafeGetStorageImpl()).second) {
      tensors.emplace_back(key->text, view);
      continue;
    }
    copied += view.numel() * view.element_size();
    if (copied > storage_bytes + kCopyAllowance)
      throw Error(source + ": tensor '" + key->text + "' of size " + c10::str(view.sizes()) +
                  " makes the views of shared storages add up to " + std::to_string(copied) +
                  " bytes, far more than the " + std::to_string(storage_bytes) + " bytes stored");
    tensors.emplace_back(key->text, view.clone(at::MemoryFormat::Contiguous));
  }
  return tensors;
}

// DataParallel saves "module.fc.weight", Lightning and EMA wrappers "model.fc.weight":
// the prefix is the wrapper's, not the model's, so it goes when every name has it.
void strip_common_prefix(NamedTensors& tensors) {
  for (const std::string prefix : {"module.", "model."}) {
    const bool all = !tensors.empty() && std::all_of(tensors.begin(), tensors.end(), [&](const auto& entry) {
      return entry.first.size() > prefix.size() && entry.first.compare(0, prefix.size(), prefix) == 0;
    });
    if (all) {
      for (auto& entry : tensors) entry.first.erase(0, prefix.size());
      return;
    }
  }
}

// The state dict is the top object, or the first of kStateDictKeys in a checkpoint dict
// that holds one; the checkpoint's scalars come along.
PthFile to_pth_file(const Value& top, uint64_t storage_bytes, const std::string& source) {
  if (top.kind != Kind::dict)
    throw Error(source + ": expected a state dict (a dict of tensors) or a checkpoint dict, found " + describe(top));
  const std::string top_problem = why_not_state_dict(top);
  const Value* state_dict = top_problem.empty() ? &top : nullptr;
  std::string problems = "the top-level dict is not a state dict (" + top_problem + ")";
  for (const char* key : kStateDictKeys) {
    if (state_dict) break;
    const Value* candidate = find_entry(top, key);
    if (!candidate) continue;
    const std::string problem = why_not_state_dict(*candidate);
    if (problem.empty())
      state_dict = candidate;
    else
      problems += "; '" + std::string(key) + "' is not one either (" + problem + ")";
  }
  if (!state_dict) {
    std::string keys;
    for (const auto& [key, item] : top.entries)
      if (key->kind == Kind::string) keys += (keys.empty() ? "" : ", ") + key->text;
    throw Error(source + ": no state dict found: " + problems + "; its keys: " + keys +
                ". Save model.state_dict() rather than the model itself.");
  }
  PthFile file;
  file.tensors = take_tensors(*state_dict, storage_bytes, source);
  strip_common_prefix(file.tensors);
  if (state_dict != &top) file.scalars = scalars_of(top);
  return file;
}

PthFile read_archive(PyTorchStreamReader& reader, const std::string& source, const PthOptions& options) {
  Archive archive(reader, source);
  if (!archive.has("data.pkl")) {
    if (archive.has("constants.pkl"))
      throw Error(source +
                  " is a TorchScript archive (torch.jit.save), not a torch.save file: read it with read_weights");
    throw Error(source + ": the archive has no record data.pkl: not a torch.save file");
  }
  if (archive.has("byteorder")) {
    const Record order = archive.read("byteorder");
    if (order.bytes() != "little")
      throw Error(source + ": tensors are stored in byte order '" + std::string(order.bytes()) +
                  "'; only little-endian files are read");
  }
  const Record pickle = archive.read("data.pkl");
  Unpickler unpickler(pickle.bytes(), archive, options);
  const Value& top = unpickler.run();
  return to_pth_file(top, unpickler.storage_bytes(), source);
}

std::string read_head(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open " + path + ": " + std::strerror(errno));
  std::string head(kHeadBytes, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  return head;
}

PthFile read_zip(std::shared_ptr<ReadAdapterInterface> zip, const std::string& source, const PthOptions& options) {
  check_records_stored(*zip, source);
  auto reader = rethrow_as_error(source + ": not a readable zip archive",
                                 [&] { return std::make_unique<PyTorchStreamReader>(std::move(zip)); });
  return read_archive(*reader, source, options);
}

}  // namespace

PthFile read_pth(const std::string& path, const PthOptions& options) {
  check_head(read_head(path), path);
  auto file =
      rethrow_as_error("cannot open " + path, [&] { return std::make_shared<caffe2::serialize::FileAdapter>(path); });
  return read_zip(std::move(file), path, options);
}

PthFile parse_pth(std::string bytes, const std::string& source_name, const PthOptions& options) {
  check_head(bytes, source_name);
  return read_zip(std::make_shared<MemoryAdapter>(std::move(bytes)), source_name, options);
}

}  // namespace zoo::weights
