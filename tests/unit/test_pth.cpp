#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "support/test_support.h"
#include "weights/pth.h"
#include "weights/safetensors.h"

namespace zoo::weights {

// ---------------------------------------------------------------------------------------
// Files written by PyTorch itself (Debian's torch 1.13 under /usr/bin/python3).

namespace pth_test {

// Writes the fixtures each mode names into the directory. Expected values are written
// as safetensors with struct and json alone, so they do not depend on any reader here.
const char* kFixtureScript = R"PY(
import argparse, collections, json, os, struct, sys, zipfile
import torch

class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)
        self.conv = torch.nn.Conv2d(1, 2, 3)
        self.bn = torch.nn.BatchNorm2d(2)

    def forward(self, x):
        return self.bn(self.conv(x)).sum() + self.fc(x[:, 0, 0, :3]).sum()

def tiny():
    """A trained-looking model: random weights, moved running statistics, optimizer state."""
    torch.manual_seed(0)
    model = Tiny()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        optimizer.zero_grad()
        model(torch.randn(4, 1, 5, 5)).backward()
        optimizer.step()
    return model, optimizer

NAMES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}

def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))

def rewrite(source, target, change):
    """Copies a zip record by record; change(name, data) gives the new data, or None to drop it."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info.filename))
            if data is not None:
                new.writestr(info.filename, data)

def module(out):
    model, optimizer = tiny()
    sd = model.state_dict()
    write_safetensors(f"{out}/expected.safetensors", sd)
    torch.save(sd, f"{out}/state_dict.pth")
    torch.save({"epoch": 3, "state_dict": sd, "optimizer": optimizer.state_dict(), "lr": 0.1, "arch": "tiny",
                "best": True, "note": None}, f"{out}/checkpoint.pth")
    torch.save({"model": sd}, f"{out}/model_key.pth")
    torch.save(torch.nn.DataParallel(model).state_dict(), f"{out}/parallel.pth")
    torch.save(sd, f"{out}/protocol4.pth", pickle_protocol=4)
    torch.save(sd, f"{out}/legacy.pth", _use_new_zipfile_serialization=False)
    raw = open(f"{out}/state_dict.pth", "rb").read()
    open(f"{out}/truncated.pth", "wb").write(raw[:len(raw) // 2])
    rewrite(f"{out}/state_dict.pth", f"{out}/missing_record.pth",
            lambda name, data: None if name.endswith("/data/0") else data)
    rewrite(f"{out}/state_dict.pth", f"{out}/bad_opcode.pth",
            lambda name, data: data[:2] + b"\xff" + data[3:] if name.endswith("/data.pkl") else data)
    rewrite(f"{out}/state_dict.pth", f"{out}/truncated_pickle.pth",
            lambda name, data: data[:len(data) // 2] if name.endswith("/data.pkl") else data)

def torchscript(out):
    model, _ = tiny()
    write_safetensors(f"{out}/expected.safetensors", model.state_dict())
    torch.jit.script(model).save(f"{out}/torchscript.pt")

def shared(out):
    a = torch.arange(10.)
    torch.save({"a": a, "b": a[2:5], "c": a.view(2, 5).t(), "a_again": a}, f"{out}/shared.pth")

def dtypes(out):
    torch.save({
        "f32": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4,
        "f64": torch.arange(5, dtype=torch.float64) * 1.5 - 2,
        "f16": (torch.arange(6, dtype=torch.float32) - 2.5).to(torch.float16),
        "bf16": (torch.arange(4, dtype=torch.float32) * -0.5).to(torch.bfloat16),
        "i64": torch.arange(4, dtype=torch.int64) * 2**40 - 7,
        "i32": torch.arange(-3, 3, dtype=torch.int32) * 100000,
        "i16": torch.arange(-3, 3, dtype=torch.int16) * 1000,
        "i8": torch.arange(-4, 4, dtype=torch.int8) * 30,
        "u8": torch.arange(250, 256, dtype=torch.uint8),
        "bool": torch.arange(7) % 3 == 0,
        "scalar": torch.tensor(2.5, dtype=torch.float64),
        "empty": torch.zeros(0, 3),
        "param": torch.nn.Parameter(torch.arange(3, dtype=torch.float32)),
    }, f"{out}/dtypes.pth")

def allowed(out):
    """A checkpoint with every kind of value torch.load(weights_only=True) accepts."""
    model, optimizer = tiny()
    write_safetensors(f"{out}/expected.safetensors", model.state_dict())
    torch.save({"state_dict": model.state_dict(), "optimizer": optimizer.state_dict(), "size": torch.Size([2, 3]),
                "device": torch.device("cpu"), "dtype": torch.float16, "tags": {"a", "b"}, "frozen": frozenset([1]),
                "raw": b"xy", "buffer": bytearray(b"z"), "complex": 1 + 2j, "counter": collections.Counter("aab"),
                "parameter": torch.nn.Parameter(torch.ones(2))}, f"{out}/allowed.pth")

def foreign(out):
    """A state dict beside an object of a class of its own: harmless, but not allowed by default."""
    model, _ = tiny()
    write_safetensors(f"{out}/expected.safetensors", model.state_dict())
    torch.save({"state_dict": model.state_dict(), "args": argparse.Namespace(lr=0.1)}, f"{out}/foreign.pth")

class RunsACommand:
    """Unpickled by Python, this runs os.system(command)."""
    def __init__(self, command):
        self.command = command
    def __reduce__(self):
        return (os.system, (self.command,))

def evil(out):
    model, _ = tiny()
    write_safetensors(f"{out}/expected.safetensors", model.state_dict())
    torch.save({"state_dict": model.state_dict(), "payload": RunsACommand(f"touch {out}/pwned")}, f"{out}/evil.pth")

def compressed(out):
    """state_dict.pth (mode "module") with its records deflated, as torch.save never writes them."""
    with zipfile.ZipFile(f"{out}/state_dict.pth") as old, \
         zipfile.ZipFile(f"{out}/compressed.pth", "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info.filename))

for mode in sys.argv[2:]:
    globals()[mode](sys.argv[1])
)PY";

void make_fixtures(const test::TempDir& dir, const std::string& modes) {
  test::write_bytes(dir.file("fixtures.py"), kFixtureScript);
  const test::CommandResult python =
      test::run_command("/usr/bin/python3 " + dir.file("fixtures.py") + " " + dir.path() + " " + modes);
  ASSERT_EQ(python.exit_code, 0) << python.output;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no zoo::Error";
  return "";
}

}  // namespace pth_test

using zoo::test::expect_same_tensors;

namespace {

using namespace std::string_literals;
using pth_test::error_of;
using pth_test::make_fixtures;

#define EXPECT_CONTAINS(text, fragment) \
  EXPECT_NE(std::string(text).find(fragment), std::string::npos) << "message: " << (text)

TEST(Pth, ReadsTheStateDictOfASmallModule) {
  test::TempDir dir;
  make_fixtures(dir, "module");
  const NamedTensors expected = read_safetensors(dir.file("expected.safetensors")).tensors;
  ASSERT_EQ(expected.back().first, "bn.num_batches_tracked");
  EXPECT_EQ(expected.back().second.item<int64_t>(), 2);

  const PthFile file = read_pth(dir.file("state_dict.pth"));

  expect_same_tensors(expected, file.tensors);
  EXPECT_TRUE(file.scalars.empty());
  for (const auto& [name, tensor] : file.tensors) EXPECT_TRUE(tensor.is_contiguous()) << name;
}

TEST(Pth, ReadsCheckpointDictsAndTheirScalars) {
  test::TempDir dir;
  make_fixtures(dir, "module");
  const NamedTensors expected = read_safetensors(dir.file("expected.safetensors")).tensors;

  const PthFile checkpoint = read_pth(dir.file("checkpoint.pth"));
  expect_same_tensors(expected, checkpoint.tensors);
  // The optimizer's nested dicts and lists of tensors are read and left out; None too.
  const std::map<std::string, std::string> scalars = {
      {"epoch", "3"}, {"lr", "0.1"}, {"arch", "tiny"}, {"best", "true"}};
  EXPECT_EQ(checkpoint.scalars, scalars);

  expect_same_tensors(expected, read_pth(dir.file("model_key.pth")).tensors);
}

TEST(Pth, StripsTheDataParallelPrefix) {
  test::TempDir dir;
  make_fixtures(dir, "module");
  expect_same_tensors(read_safetensors(dir.file("expected.safetensors")).tensors,
                      read_pth(dir.file("parallel.pth")).tensors);
}

TEST(Pth, ReadsProtocol4Pickles) {  // FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL
  test::TempDir dir;
  make_fixtures(dir, "module");
  expect_same_tensors(read_safetensors(dir.file("expected.safetensors")).tensors,
                      read_pth(dir.file("protocol4.pth")).tensors);
}

TEST(Pth, TensorsSharingAStorageComeOutIndependentAndContiguous) {
  test::TempDir dir;
  make_fixtures(dir, "shared");

  PthFile file = read_pth(dir.file("shared.pth"));

  const torch::Tensor a = torch::arange(10, torch::kFloat);
  expect_same_tensors({{"a", a}, {"b", a.slice(0, 2, 5)}, {"c", a.view({2, 5}).t()}, {"a_again", a}}, file.tensors);
  for (const auto& [name, tensor] : file.tensors) {
    EXPECT_TRUE(tensor.is_contiguous()) << name;
    EXPECT_EQ(tensor.storage().nbytes(), static_cast<size_t>(tensor.numel() * 4))
        << name << " keeps more than its data";
  }
  file.tensors[0].second.fill_(-1);
  EXPECT_TRUE(torch::equal(file.tensors[1].second, torch::tensor({2.f, 3.f, 4.f})));
  EXPECT_TRUE(torch::equal(file.tensors[3].second, a)) << "two names for one tensor share memory";
}

TEST(Pth, ReadsEveryDtype) {
  test::TempDir dir;
  make_fixtures(dir, "dtypes");

  const PthFile file = read_pth(dir.file("dtypes.pth"));

  const auto arange = [](int64_t begin, int64_t end, torch::ScalarType type) {
    return torch::arange(begin, end, torch::dtype(type));
  };
  expect_same_tensors(
      {
          {"f32", arange(0, 6, torch::kFloat).reshape({2, 3}) / 4},
          {"f64", arange(0, 5, torch::kDouble) * 1.5 - 2},
          {"f16", (arange(0, 6, torch::kFloat) - 2.5).to(torch::kHalf)},
          {"bf16", (arange(0, 4, torch::kFloat) * -0.5).to(torch::kBFloat16)},
          {"i64", arange(0, 4, torch::kLong) * (int64_t(1) << 40) - 7},
          {"i32", arange(-3, 3, torch::kInt) * 100000},
          {"i16", arange(-3, 3, torch::kShort) * 1000},
          {"i8", arange(-4, 4, torch::kChar) * 30},
          {"u8", arange(250, 256, torch::kByte)},
          {"bool", arange(0, 7, torch::kLong) % 3 == 0},
          {"scalar", torch::tensor(2.5, torch::kDouble)},
          {"empty", torch::zeros({0, 3})},
          {"param", arange(0, 3, torch::kFloat)},
      },
      file.tensors);
}

TEST(Pth, LegacyFormatGivesAClearError) {
  test::TempDir dir;
  make_fixtures(dir, "module");
  const std::string path = dir.file("legacy.pth");
  EXPECT_EQ(error_of([&] { read_pth(path); }),
            path +
                ": legacy (pre-1.6) torch.save format; re-save it with torch.save(obj, path, "
                "_use_new_zipfile_serialization=True) or convert it with convert_weights");
}

TEST(Pth, DamagedFilesGiveErrorsNamingTheFile) {
  test::TempDir dir;
  make_fixtures(dir, "module");
  const auto error_for = [&](const std::string& name) {
    const std::string path = dir.file(name);
    const std::string message = error_of([&] { read_pth(path); });
    EXPECT_EQ(message.rfind(path, 0), 0u) << "message does not start with the file: " << message;
    return message;
  };
  EXPECT_CONTAINS(error_for("truncated.pth"), "not a readable zip archive");
  EXPECT_CONTAINS(error_for("missing_record.pth"), "the archive has no record data/0");
  EXPECT_CONTAINS(error_for("bad_opcode.pth"), "unsupported pickle opcode 0xff at byte 2 of data.pkl");
  EXPECT_CONTAINS(error_for("truncated_pickle.pth"), "(truncated?)");
  EXPECT_EQ(error_of([&] { read_pth(dir.file("absent.pth")); }),
            "cannot open " + dir.file("absent.pth") + ": No such file or directory");
}

// ---------------------------------------------------------------------------------------
// Pickles written by hand, for what PyTorch would never write.

const char* kName = "hand.pth";

// A torch.save-like archive (records under "archive/") holding the given records.
std::string archive(const std::map<std::string, std::string>& records) {
  std::string out;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
      out.append(static_cast<const char*>(data), size);
      return size;
    });
    for (const auto& [name, bytes] : records) writer.writeRecord(name, bytes.data(), bytes.size());
    writer.writeEndOfFile();
  }
  return out;
}

// Pickle opcodes, as torch.save writes them (protocol 2).
std::string str(const std::string& text) {
  const uint32_t size = static_cast<uint32_t>(text.size());
  return "X" + std::string(reinterpret_cast<const char*>(&size), 4) + text;
}
std::string int1(int value) { return "K" + std::string(1, static_cast<char>(value)); }
std::string global(const std::string& module, const std::string& name) { return "c" + module + "\n" + name + "\n"; }
std::string tuple(const std::vector<int>& values) {
  std::string out = "(";
  for (int value : values) out += int1(value);
  return out + "t";
}
std::string tensor(const std::string& key, int numel, int offset, const std::vector<int>& sizes,
                   const std::vector<int>& strides, const std::string& type = "FloatStorage") {
  // _rebuild_tensor_v2((persistent id), offset, size, stride, False, OrderedDict())
  const std::string storage = "(" + str("storage") + global("torch", type) + str(key) + str("cpu") + int1(numel) + "tQ";
  return global("torch._utils", "_rebuild_tensor_v2") + "(" + storage + int1(offset) + tuple(sizes) + tuple(strides) +
         "\x89" + global("collections", "OrderedDict") + ")R" + "t" + "R";
}
// {name: value, ...} as an OrderedDict, then STOP.
std::string pickled_state_dict(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out = "\x80\x02" + global("collections", "OrderedDict") + ")R(";
  for (const auto& [name, value] : entries) out += str(name) + value;
  return out + "u.";
}

std::string floats(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

// A 2x2 tensor "w" over the storage data/0 = [1, 2, 3, 4].
std::string valid_pickle() { return pickled_state_dict({{"w", tensor("0", 4, 0, {2, 2}, {2, 1})}}); }

// A file from a source the user trusts.
const PthOptions kTrusted{/*allow_unknown_globals=*/true};

std::string hand_error(const std::string& pickle, std::map<std::string, std::string> records = {},
                       const PthOptions& options = {}) {
  records.emplace("data.pkl", pickle);
  const std::string message = error_of([&] { parse_pth(archive(records), kName, options); });
  EXPECT_EQ(message.rfind(std::string(kName) + ": ", 0), 0u) << "message does not start with the file: " << message;
  return message;
}

const std::map<std::string, std::string> kStorage = {{"data/0", floats({1, 2, 3, 4})}};

TEST(PthPickle, ReadsAHandWrittenStateDict) {
  const PthFile file = parse_pth(archive({{"data.pkl", valid_pickle()}, {"data/0", floats({1, 2, 3, 4})}}), kName);
  expect_same_tensors({{"w", torch::tensor({1.f, 2.f, 3.f, 4.f}).view({2, 2})}}, file.tensors);
}

TEST(PthPickle, UnsupportedOpcodeNamesItsByte) {
  EXPECT_EQ(hand_error("\x80\x02S'x'\n."), "hand.pth: unsupported pickle opcode 0x53 at byte 2 of data.pkl");
}

TEST(PthPickle, TruncatedArgument) {
  EXPECT_CONTAINS(hand_error("\x80\x02X\x10\x00\x00\x00"s + "ab"),
                  "data.pkl ends at byte 9 in the middle of a 16-byte argument at byte 7");
}

TEST(PthPickle, NoStop) {
  EXPECT_CONTAINS(hand_error("\x80\x02}"), "data.pkl ends without a STOP opcode (truncated?) at byte 3");
}

TEST(PthPickle, StackUnderflow) {
  EXPECT_CONTAINS(hand_error("\x80\x02R."), "REDUCE needs 2 values on the stack at byte 2");
}

TEST(PthPickle, NothingBelowAMarkIsReachable) {
  EXPECT_CONTAINS(hand_error("\x80\x02}(s."), "SETITEM needs 2 values on the stack at byte 4");
}

TEST(PthPickle, MemoReadBeforeWritten) {
  EXPECT_CONTAINS(hand_error("\x80\x02h\x05."), "memo entry 5 is read before it is written at byte 2");
}

TEST(PthPickle, ViewOutsideItsStorage) {
  EXPECT_CONTAINS(hand_error(pickled_state_dict({{"w", tensor("0", 4, 1, {2, 2}, {2, 1})}}), kStorage),
                  "tensor of size [2, 2], stride [2, 1] and offset 1 reads element 4 of storage data/0, which holds 4");
}

TEST(PthPickle, OverflowingView) {
  const std::string huge = "\x8a\x08" + std::string("\x00\x00\x00\x00\x00\x00\x00\x40", 8);  // 2^62
  const std::string pickle =
      pickled_state_dict({{"w", global("torch._utils", "_rebuild_tensor_v2") + "((" + str("storage") +
                                    global("torch", "FloatStorage") + str("0") + str("cpu") + int1(4) + "tQ" + int1(0) +
                                    "(" + huge + int1(8) + "t" + "(" + huge + int1(0) + "t" + "\x89" + ")t" + "R"}});
  EXPECT_CONTAINS(hand_error(pickle, kStorage), "overflows");
}

TEST(PthPickle, StorageRecordShorterThanItsSize) {
  EXPECT_CONTAINS(hand_error(pickled_state_dict({{"w", tensor("0", 8, 0, {8}, {1})}}), kStorage),
                  "record data/0 holds 16 bytes but its Float storage of 8 elements needs 32 (truncated?)");
}

TEST(PthPickle, MissingStorageRecord) {
  EXPECT_CONTAINS(hand_error(pickled_state_dict({{"w", tensor("7", 4, 0, {4}, {1})}}), kStorage),
                  "hand.pth: the archive has no record data/7");
}

TEST(PthPickle, OneStorageReadAsTwoTypes) {
  EXPECT_CONTAINS(hand_error(pickled_state_dict({{"a", tensor("0", 4, 0, {4}, {1})},
                                                 {"b", tensor("0", 4, 0, {4}, {1}, "IntStorage")}}),
                             kStorage),
                  "storage data/0 is read both as Float[4] and as Int[4]");
}

TEST(PthPickle, SelfContainingDictIsAnErrorNotACrash) {
  EXPECT_CONTAINS(hand_error("\x80\x02}q\x00h\x00h\x00s."s), "a key is a dict");
}

TEST(PthPickle, StrideZeroViewsCannotExpandWithoutBound) {
  // 2^24 x 2^20 float elements over one stored float: 64 TiB if copied.
  const std::string pickle = pickled_state_dict({{"w", tensor("0", 1, 0, {1, 1}, {0, 0})}});
  const std::string big = "J" + std::string("\x00\x00\x00\x01", 4);    // 2^24
  const std::string wider = "J" + std::string("\x00\x00\x10\x00", 4);  // 2^20
  std::string expanded = pickle;
  const std::string sizes = tuple({1, 1});
  expanded.replace(expanded.find(sizes), sizes.size(), "(" + big + wider + "t");
  EXPECT_CONTAINS(hand_error(expanded, {{"data/0", floats({5})}}), "add up to");
}

TEST(PthPickle, OpaqueObjectsOutsideTheStateDictAreSkipped) {
  // {"state_dict": {...}, "args": argparse.Namespace(lr=0.5), "big": 2**80, "epoch": -2}
  const std::string namespace_object = global("argparse", "Namespace") + ")\x81}" + str("lr") + "G" +
                                       std::string("\x3f\xe0\x00\x00\x00\x00\x00\x00", 8) + "sb";
  const std::string big = "\x8a\x0b" + std::string(10, '\0') + "\x01";
  const std::string pickle = "\x80\x02}(" + str("state_dict") + valid_pickle().substr(2, valid_pickle().size() - 3) +
                             str("args") + namespace_object + str("big") + big + str("epoch") + "J" +
                             std::string("\xfe\xff\xff\xff", 4) + "u.";
  const PthFile file = parse_pth(archive({{"data.pkl", pickle}, {"data/0", floats({1, 2, 3, 4})}}), kName, kTrusted);
  ASSERT_EQ(file.tensors.size(), 1u);
  EXPECT_EQ(file.tensors[0].first, "w");
  EXPECT_EQ(file.scalars, (std::map<std::string, std::string>{{"epoch", "-2"}}));
}

TEST(PthPickle, WholePickledModelGivesAClearError) {
  const std::string pickle = "\x80\x02}" + str("model") + global("__main__", "Net") + ")\x81}bs.";
  const std::string message = hand_error(pickle, {}, kTrusted);
  EXPECT_CONTAINS(message, "'model' is not one either (it is an object of type __main__.Net)");
  EXPECT_CONTAINS(message, "Save model.state_dict() rather than the model itself");
}

TEST(PthPickle, PrefixIsStrippedOnlyWhenEveryNameHasIt) {
  const std::string w = tensor("0", 4, 0, {4}, {1});
  const auto names = [&](const std::vector<std::string>& keys) {
    std::vector<std::pair<std::string, std::string>> entries;
    for (const std::string& key : keys) entries.emplace_back(key, w);
    std::vector<std::string> out;
    for (const auto& entry :
         parse_pth(archive({{"data.pkl", pickled_state_dict(entries)}, {"data/0", floats({1, 2, 3, 4})}}), kName)
             .tensors)
      out.push_back(entry.first);
    return out;
  };
  EXPECT_EQ(names({"module.a", "module.b.c"}), (std::vector<std::string>{"a", "b.c"}));
  EXPECT_EQ(names({"model.a", "model.b"}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(names({"model.a", "b"}), (std::vector<std::string>{"model.a", "b"}));
}

TEST(PthPickle, NotAZipArchive) {
  EXPECT_EQ(error_of([] { parse_pth("hello", kName); }),
            "hand.pth: not a torch.save file (it does not begin with the zip signature PK\\x03\\x04)");
}

TEST(PthPickle, TorchScriptArchiveIsPointedElsewhere) {
  const std::string message = error_of([] { parse_pth(archive({{"constants.pkl", "\x80\x02)."}}), kName); });
  EXPECT_CONTAINS(message, "is a TorchScript archive");
}

TEST(PthPickle, BigEndianFilesAreRefused) {
  EXPECT_CONTAINS(hand_error(valid_pickle(), {{"data/0", floats({1, 2, 3, 4})}, {"byteorder", "big"}}),
                  "stored in byte order 'big'");
}

// ---------------------------------------------------------------------------------------
// Hostile files: globals torch.load(weights_only=True) would refuse, and archives and
// pickles that ask for memory out of all proportion to their size.

TEST(HostilePth, ReadsEveryKindOfValueThatTorchLoadWeightsOnlyAccepts) {
  test::TempDir dir;
  make_fixtures(dir, "allowed");
  expect_same_tensors(read_safetensors(dir.file("expected.safetensors")).tensors,
                      read_pth(dir.file("allowed.pth")).tensors);
}

TEST(HostilePth, APickleThatWouldRunACommandIsRefusedAndNeverRun) {
  test::TempDir dir;
  make_fixtures(dir, "evil");
  const std::string path = dir.file("evil.pth");

  const std::string message = error_of([&] { read_pth(path); });
  EXPECT_EQ(message.rfind(path + ": data.pkl uses the global posix.system (at byte ", 0), 0u) << message;
  EXPECT_CONTAINS(message,
                  "which is not allowed when loading weights; pass --allow-unknown-globals if you trust this file");

  // Trusted, the call is an opaque value beside the state dict, and still never made.
  expect_same_tensors(read_safetensors(dir.file("expected.safetensors")).tensors, read_pth(path, kTrusted).tensors);
  EXPECT_FALSE(std::ifstream(dir.file("pwned")).good()) << "the pickled command ran";
}

TEST(HostilePth, GlobalsAreRefusedWhereThePickleNamesThem) {
  const std::string refused =
      "), which is not allowed when loading weights; pass --allow-unknown-globals if you trust this file";
  // Nothing follows the name, so any later check would report a pickle cut short instead.
  const auto error_for = [](const std::string& module, const std::string& name) {
    return hand_error("\x80\x02" + global(module, name));
  };
  EXPECT_EQ(error_for("os", "system"), "hand.pth: data.pkl uses the global os.system (at byte 2" + refused);
  EXPECT_EQ(error_for("subprocess", "Popen"),
            "hand.pth: data.pkl uses the global subprocess.Popen (at byte 2" + refused);
  EXPECT_EQ(error_for("__builtin__", "eval"), "hand.pth: data.pkl uses the global builtins.eval (at byte 2" + refused);
  EXPECT_EQ(error_for("torch", "load"), "hand.pth: data.pkl uses the global torch.load (at byte 2" + refused);
  // STACK_GLOBAL takes the module and the name from the stack (protocol 4).
  EXPECT_EQ(hand_error("\x80\x02" + str("os") + str("system") + "\x93"),
            "hand.pth: data.pkl uses the global os.system (at byte 20" + refused);
}

TEST(HostilePth, TrustedFilesMayNameOtherGlobals) {
  test::TempDir dir;
  make_fixtures(dir, "foreign");
  const std::string path = dir.file("foreign.pth");
  EXPECT_CONTAINS(error_of([&] { read_pth(path); }), "uses the global argparse.Namespace");
  expect_same_tensors(read_safetensors(dir.file("expected.safetensors")).tensors, read_pth(path, kTrusted).tensors);
}

TEST(HostilePth, CompressedRecordsAreRefusedBeforeAnyIsInflated) {
  test::TempDir dir;
  make_fixtures(dir, "module compressed");
  const std::string path = dir.file("compressed.pth");
  const std::string message = error_of([&] { read_pth(path); });
  EXPECT_EQ(message.rfind(path + ": record state_dict/", 0), 0u) << message;
  EXPECT_CONTAINS(message, " is compressed (zip method 8); torch.save stores records uncompressed");
}

// Every one-byte EMPTY_LIST makes a value of over a hundred bytes: 2 MB of them would take
// over 256 MB.
TEST(HostilePth, OneByteValuesCannotTakeOverAHundredTimesThePickle) {
  EXPECT_CONTAINS(hand_error("\x80\x02" + std::string(2 << 20, ']') + "."), "unpickling would take more than");
}

// STACK_GLOBAL joins two strings, which it may read from the memo: three bytes that, over
// a 1 MB string, make a 2 MB name, as often as the pickle repeats them.
TEST(HostilePth, MemoReadsCannotRepeatALongStringWithoutBound) {
  std::string pickle = "\x80\x02" + str(std::string(1 << 20, 'x')) + "q\x00"s + "](";
  for (int i = 0; i < 200; ++i) pickle += "h\x00h\x00\x93"s;
  EXPECT_CONTAINS(hand_error(pickle + "e.", {}, kTrusted), "unpickling would take more than");
}

// A tensor view holds its sizes and strides: over memoized arguments of 100,000
// dimensions, each five-byte REDUCE would make 1.6 MB of them.
TEST(HostilePth, MemoReadsCannotRepeatAManyDimensionalViewWithoutBound) {
  std::string ones = "(";
  for (int i = 0; i < 100000; ++i) ones += int1(1);
  ones += "t";
  const std::string storage =
      "(" + str("storage") + global("torch", "FloatStorage") + str("0") + str("cpu") + int1(1) + "tQ";
  std::string pickle = "\x80\x02" + global("torch._utils", "_rebuild_tensor_v2") + "q\x00"s + "(" + storage + int1(0) +
                       ones + ones + "\x89" + "Nt" + "q\x01" + "](";
  for (int i = 0; i < 200; ++i) pickle += "h\x00h\x01R"s;
  EXPECT_CONTAINS(hand_error(pickle + "e.", {{"data/0", floats({1})}}), "unpickling would take more than");
}

TEST(HostilePth, MarksNestNoDeeperThanPythonWritesThem) {
  EXPECT_CONTAINS(hand_error("\x80\x02" + std::string(20000, '(') + "."), "more than 10000 MARKs are open");
}

// Lengths come from the file: each is checked against the bytes left before anything of
// that size is allocated.
TEST(HostilePth, LengthsPastTheEndAreRefusedBeforeAllocating) {
  EXPECT_CONTAINS(hand_error("\x80\x02X\xff\xff\xff\xff" + "ab"s), "in the middle of a 4294967295-byte argument");
}

// Damage anywhere gives a zoo::Error or a correct result: never another exception, a
// crash or a read out of bounds (run under ASan by fuzz/ for the last two).
void expect_only_zoo_errors(const std::string& bytes, const std::string& what) {
  try {
    parse_pth(bytes, kName);
  } catch (const Error&) {
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": " << e.what();
  }
}

TEST(PthCorrupt, EveryMutationOfThePickleGivesAZooErrorOrTensors) {
  const std::string pickle = valid_pickle();
  const std::string bytes_to_try = std::string("\x00\x01\x7f\x80\xff", 5) + "()KJXqhtRQu.\x85\x8a";
  for (size_t position = 0; position < pickle.size(); ++position) {
    for (char replacement : bytes_to_try) {
      std::string mutated = pickle;
      mutated[position] = replacement;
      expect_only_zoo_errors(archive({{"data.pkl", mutated}, {"data/0", floats({1, 2, 3, 4})}}),
                             "byte " + std::to_string(position) + " set to " + std::to_string(uint8_t(replacement)));
    }
    expect_only_zoo_errors(archive({{"data.pkl", pickle.substr(0, position)}, {"data/0", floats({1, 2, 3, 4})}}),
                           "pickle cut at " + std::to_string(position));
  }
}

TEST(PthCorrupt, EveryTruncationOrByteFlipOfTheArchiveGivesAZooErrorOrTensors) {
  const std::string bytes = archive({{"data.pkl", valid_pickle()}, {"data/0", floats({1, 2, 3, 4})}});
  for (size_t size = 0; size < bytes.size(); ++size)
    expect_only_zoo_errors(bytes.substr(0, size), "archive cut at " + std::to_string(size));
  for (size_t position = 0; position < bytes.size(); ++position) {
    std::string flipped = bytes;
    flipped[position] = static_cast<char>(flipped[position] ^ 0xff);
    expect_only_zoo_errors(flipped, "archive byte " + std::to_string(position) + " flipped");
  }
}

}  // namespace
}  // namespace zoo::weights
