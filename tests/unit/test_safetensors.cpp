#include <gtest/gtest.h>
#include <torch/torch.h>

#include <torch/version.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <utility>

#include "core/error.h"
#include "support/test_support.h"
#include "weights/safetensors.h"

namespace zoo::weights {
using zoo::test::expect_same_tensors;

namespace {

const char* kSource = "bad.safetensors";

// A file with the given header text (unpadded: readers must not require padding) and data.
std::string file_with_header(const std::string& header, const std::string& data = "") {
  const uint64_t length = header.size();
  return std::string(reinterpret_cast<const char*>(&length), 8) + header + data;
}

// The message parse_safetensors fails with, checked to name the file.
std::string parse_error(const std::string& bytes) {
  try {
    parse_safetensors(bytes, kSource);
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(kSource), std::string::npos) << "message does not name the file: " << message;
    return message;
  }
  ADD_FAILURE() << "no zoo::Error for a malformed file";
  return "";
}

#define EXPECT_PARSE_ERROR(bytes, fragment)                                         \
  do {                                                                              \
    const std::string message = parse_error(bytes);                                 \
    EXPECT_NE(message.find(fragment), std::string::npos) << "message: " << message; \
  } while (0)

// A header entry; most invalid files differ from a valid one in one field.
std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  const std::string& offsets) {
  return "\"" + name + "\":{\"dtype\":" + dtype + ",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
}

uint64_t header_length(const std::string& bytes) {
  uint64_t length;
  std::memcpy(&length, bytes.data(), 8);
  return length;
}

TEST(SafeTensors, RoundTripsEveryDtypeShapeAndMetadata) {
  torch::manual_seed(0);
  // BOOL first with 7 bytes, so later tensors sit off their alignment and take the copy path.
  const NamedTensors tensors = {
      {"bool", torch::arange(7) % 3 == 0},
      {"u8", torch::arange(250, 256, torch::kByte)},
      {"i8", torch::arange(-3, 3, torch::kChar)},
      {"i16", torch::arange(-300, 300, 7, torch::kShort)},
      {"f16", torch::arange(6, torch::kFloat).sub(2.5).to(torch::kHalf)},
      {"bf16", torch::randn({2, 3}).to(torch::kBFloat16)},
      {"i32", torch::arange(-5, 5, torch::kInt) * 100000},
      {"f32", torch::randn({3, 4})},
      {"f64", torch::randn({2, 3}, torch::kDouble)},
      {"i64", torch::arange(4, torch::kLong) * (int64_t(1) << 40) - 7},
      {"scalar", torch::tensor(3.25, torch::kDouble)},
      {"no_elements", torch::empty({0, 3})},
      {"transposed", torch::randn({3, 5}).t()},
  };
  ASSERT_FALSE(tensors.back().second.is_contiguous());
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"epoch", "3"}};
  test::TempDir dir;
  const std::string path = dir.file("all.safetensors");

  write_safetensors(path, tensors, metadata);

  EXPECT_EQ(header_length(test::read_bytes(path)) % 8, 0u);
  const SafeTensors read = read_safetensors(path);
  expect_same_tensors(tensors, read.tensors);
  EXPECT_EQ(read.metadata, metadata);
  EXPECT_EQ(read.at("scalar").dim(), 0);
}

TEST(SafeTensors, EmptyFileIsTheSixteenBytesOfTheFormat) {
  const std::string expected("\x08\x00\x00\x00\x00\x00\x00\x00{}      ", 16);
  EXPECT_EQ(serialize_safetensors({}), expected);

  test::TempDir dir;
  write_safetensors(dir.file("empty.safetensors"), {});
  EXPECT_EQ(test::read_bytes(dir.file("empty.safetensors")), expected);
  const SafeTensors read = read_safetensors(dir.file("empty.safetensors"));
  EXPECT_TRUE(read.tensors.empty());
  EXPECT_TRUE(read.metadata.empty());
}

TEST(SafeTensors, TensorsOutliveTheMappingAndWritesNeverReachTheFile) {
  test::TempDir dir;
  const std::string path = dir.file("w.safetensors");
  const torch::Tensor values = torch::arange(16, torch::kFloat);
  write_safetensors(path, {{"w", values}});

  torch::Tensor kept = read_safetensors(path).at("w");
  kept.add_(1);
  EXPECT_TRUE(torch::equal(read_safetensors(path).at("w"), values));
  std::remove(path.c_str());
  EXPECT_TRUE(torch::equal(kept, values + 1));
}

TEST(SafeTensors, FindAndAtLookUpByName) {
  const SafeTensors read = parse_safetensors(serialize_safetensors({{"a", torch::ones({2})}}), "x.safetensors");
  ASSERT_NE(read.find("a"), nullptr);
  EXPECT_EQ(read.find("b"), nullptr);
  try {
    read.at("b");
    FAIL() << "no error for a missing tensor";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "missing tensor 'b' in x.safetensors");
  }
}

TEST(SafeTensors, ReturnsTensorsInFileOrderNotHeaderOrder) {
  const std::string header =
      "{" + entry("z", "\"U8\"", "[1]", "[0,1]") + "," + entry("a", "\"U8\"", "[2]", "[1,3]") + "}";
  const SafeTensors read = parse_safetensors(file_with_header(header, "\x01\x02\x03"), kSource);
  ASSERT_EQ(read.tensors.size(), 2u);
  EXPECT_EQ(read.tensors[0].first, "z");
  EXPECT_EQ(read.tensors[1].first, "a");
  EXPECT_EQ(read.tensors[1].second[1].item<uint8_t>(), 3);
}

TEST(SafeTensors, WidensUnsignedTypesLibTorchLacks) {
  const std::string header = "{" + entry("u16", "\"U16\"", "[2]", "[0,4]") + "," +
                             entry("u32", "\"U32\"", "[1]", "[4,8]") + "," + entry("u64", "\"U64\"", "[1]", "[8,16]") +
                             "}";
  const std::string data = std::string("\xff\xff\x01\x00", 4) + "\xff\xff\xff\xff" + "\xff\xff\xff\xff\xff\xff\xff\x7f";
  const SafeTensors read = parse_safetensors(file_with_header(header, data), kSource);
  EXPECT_TRUE(torch::equal(read.at("u16"), torch::tensor({65535, 1}, torch::kInt)));
  EXPECT_TRUE(torch::equal(read.at("u32"), torch::tensor({int64_t(4294967295)}, torch::kLong)));
  EXPECT_TRUE(torch::equal(read.at("u64"), torch::tensor({INT64_MAX}, torch::kLong)));
}

TEST(SafeTensors, RejectsU64ValuesAboveInt64) {
  const std::string header = "{" + entry("u64", "\"U64\"", "[1]", "[0,8]") + "}";
  EXPECT_PARSE_ERROR(file_with_header(header, std::string(8, '\xff')), "does not fit in int64");
}

TEST(SafeTensors, Float8DependsOnTheLibTorchVersion) {
  const std::string bytes = file_with_header("{" + entry("f8", "\"F8_E4M3\"", "[1]", "[0,1]") + "}", "\x38");
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  EXPECT_EQ(parse_safetensors(bytes, kSource).at("f8").to(torch::kFloat).item<float>(), 1.0f);
#else
  EXPECT_PARSE_ERROR(bytes, "unsupported dtype \"F8_E4M3\"");
#endif
}

TEST(SafeTensorsValidation, FileShorterThanTheHeaderLength) {
  EXPECT_PARSE_ERROR(std::string("\x01\x02\x03"), "too small");
}

TEST(SafeTensorsValidation, HeaderLengthOverTheLimit) {
  const uint64_t length = 100000001;
  EXPECT_PARSE_ERROR(std::string(reinterpret_cast<const char*>(&length), 8) + "{}", "exceeds the format's limit");
}

TEST(SafeTensorsValidation, HeaderLengthPastTheEnd) {
  const uint64_t length = 100000000;  // at the limit, but the file is short
  EXPECT_PARSE_ERROR(std::string(reinterpret_cast<const char*>(&length), 8) + "{}", "runs past the end of the file");
}

TEST(SafeTensorsValidation, InvalidJson) { EXPECT_PARSE_ERROR(file_with_header("{\"a\": "), "not valid JSON"); }

TEST(SafeTensorsValidation, InvalidUtf8) {
  EXPECT_PARSE_ERROR(file_with_header("{\"__metadata__\":{\"k\":\"\xff\"}}"), "not valid JSON");
}

TEST(SafeTensorsValidation, JsonNotAnObject) { EXPECT_PARSE_ERROR(file_with_header("[1, 2]"), "expected an object"); }

TEST(SafeTensorsValidation, DuplicateTensorNames) {
  const std::string header =
      "{" + entry("a", "\"U8\"", "[1]", "[0,1]") + "," + entry("a", "\"U8\"", "[1]", "[1,2]") + "}";
  EXPECT_PARSE_ERROR(file_with_header(header, "\x01\x02"), "repeats the tensor name 'a'");
}

TEST(SafeTensorsValidation, FirstTensorNotAtOffsetZero) {
  const std::string header = "{" + entry("a", "\"U8\"", "[1]", "[1,2]") + "}";
  EXPECT_PARSE_ERROR(file_with_header(header, "\x01\x02"), "tensor 'a' begins at byte 1, expected 0 (a gap");
}

TEST(SafeTensorsValidation, GapBetweenTensors) {
  const std::string header =
      "{" + entry("a", "\"U8\"", "[1]", "[0,1]") + "," + entry("b", "\"U8\"", "[1]", "[2,3]") + "}";
  EXPECT_PARSE_ERROR(file_with_header(header, "\x01\x02\x03"),
                     "not contiguous: tensor 'b' begins at byte 2, expected 1 (a gap");
}

TEST(SafeTensorsValidation, OverlappingTensors) {
  const std::string header =
      "{" + entry("a", "\"U8\"", "[2]", "[0,2]") + "," + entry("b", "\"U8\"", "[2]", "[1,3]") + "}";
  EXPECT_PARSE_ERROR(file_with_header(header, "\x01\x02\x03"), "(it overlaps the previous tensor)");
}

TEST(SafeTensorsValidation, EndBeforeBegin) {
  const std::string header = "{" + entry("a", "\"U8\"", "[0]", "[2,1]") + "}";
  EXPECT_PARSE_ERROR(file_with_header(header, "\x01\x02"), "end before they begin");
}

TEST(SafeTensorsValidation, SizeDisagreesWithShapeAndDtype) {
  const std::string header = "{" + entry("a", "\"F32\"", "[3]", "[0,8]") + "}";
  EXPECT_PARSE_ERROR(file_with_header(header, std::string(8, '\0')), "needs 12 bytes but data_offsets [0,8] hold 8");
}

TEST(SafeTensorsValidation, TrailingBytesAfterTheLastTensor) {
  const std::string header = "{" + entry("a", "\"F32\"", "[1]", "[0,4]") + "}";
  EXPECT_PARSE_ERROR(file_with_header(header, std::string(6, '\0')), "2 trailing bytes after the last tensor");
}

TEST(SafeTensorsValidation, DataEndsPastTheFile) {
  const std::string header = "{" + entry("a", "\"F32\"", "[1]", "[0,4]") + "}";
  EXPECT_PARSE_ERROR(file_with_header(header, std::string(2, '\0')),
                     "need 4 bytes of data but the file has 2 (truncated?)");
}

TEST(SafeTensorsValidation, UnknownDtype) {
  const std::string header = "{" + entry("a", "\"F128\"", "[1]", "[0,16]") + "}";
  EXPECT_PARSE_ERROR(file_with_header(header, std::string(16, '\0')),
                     "tensor 'a' in bad.safetensors: unsupported dtype \"F128\"");
}

TEST(SafeTensorsValidation, NegativeShape) {
  const std::string header = "{" + entry("a", "\"U8\"", "[-1]", "[0,0]") + "}";
  EXPECT_PARSE_ERROR(file_with_header(header), "shape must be a list of non-negative integers, got [-1]");
}

TEST(SafeTensorsValidation, FractionalShape) {
  const std::string header = "{" + entry("a", "\"U8\"", "[1.5]", "[0,0]") + "}";
  EXPECT_PARSE_ERROR(file_with_header(header), "shape must be a list of non-negative integers");
}

TEST(SafeTensorsValidation, MissingField) {
  EXPECT_PARSE_ERROR(file_with_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", "\x01"),
                     "tensor 'a' in bad.safetensors has no 'data_offsets'");
}

TEST(SafeTensorsValidation, MetadataValuesNotStrings) {
  EXPECT_PARSE_ERROR(file_with_header("{\"__metadata__\":{\"epoch\":3}}"),
                     "the value of 'epoch' must be a string, got number");
}

TEST(SafeTensorsValidation, MetadataNotAnObject) {
  EXPECT_PARSE_ERROR(file_with_header("{\"__metadata__\":[\"a\"]}"),
                     "__metadata__ in bad.safetensors must be an object");
}

TEST(SafeTensorsValidation, ElementCountOverflow) {
  const std::string header = "{" + entry("a", "\"F32\"", "[1099511627776,1099511627776]", "[0,4]") + "}";
  EXPECT_PARSE_ERROR(file_with_header(header, std::string(4, '\0')), "overflows");
}

TEST(SafeTensorsValidation, UnreadableFileNamesThePath) {
  test::TempDir dir;
  try {
    read_safetensors(dir.file("absent.safetensors"));
    FAIL() << "no error for a missing file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open " + dir.file("absent.safetensors")), std::string::npos)
        << e.what();
  }
}

TEST(SafeTensorsWriter, RejectsRepeatedNamesAndUnwritableDtypes) {
  test::TempDir dir;
  const std::string path = dir.file("out.safetensors");
  try {
    write_safetensors(path, {{"a", torch::ones({1})}, {"a", torch::ones({1})}});
    FAIL() << "no error for a repeated name";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write " + path + ": tensor name 'a' is given twice"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(serialize_safetensors({{"c", torch::ones({1}, torch::kComplexFloat)}}), Error);
  EXPECT_FALSE(std::ifstream(path).good()) << "a failed write left a file behind";
}

// ---------------------------------------------------------------------------------------
// Hostile headers: legal or not, each opens in time linear in its size or gives a clean
// error.

// A header of `count` one-byte tensors "t0", "t1", ... (55 bytes each), and their data.
std::pair<std::string, std::string> many_tensors(int count) {
  std::string header = "{";
  for (int i = 0; i < count; ++i)
    header += (i ? "," : "") + entry("t" + std::to_string(i), "\"U8\"", "[1]",
                                     "[" + std::to_string(i) + "," + std::to_string(i + 1) + "]");
  return {header + "}", std::string(count, '\x07')};
}

// 200,000 tensors make an 11 MB header, well within the format's limit. A parse that is
// quadratic in the number of keys (the repeated-key check once was) takes minutes on it;
// a linear one well under a second.
TEST(HostileSafetensors, AHeaderOfManyTensorsOpens) {
  constexpr int kTensors = 200000;
  const auto [header, data] = many_tensors(kTensors);
  ASSERT_GT(header.size(), 10u << 20);

  const SafeTensors file = parse_safetensors(file_with_header(header, data), kSource);

  ASSERT_EQ(file.tensors.size(), static_cast<size_t>(kTensors));
  EXPECT_EQ(file.tensors.back().first, "t199999");
  EXPECT_EQ(file.tensors.back().second.item<uint8_t>(), 7);
}

TEST(HostileSafetensors, ARepeatedNameIsFoundAmongManyTensors) {
  constexpr int kTensors = 200000;
  auto [header, data] = many_tensors(kTensors);
  header.back() = ',';  // one more tensor, named like the first
  header +=
      entry("t0", "\"U8\"", "[1]", "[" + std::to_string(kTensors) + "," + std::to_string(kTensors + 1) + "]") + "}";
  EXPECT_PARSE_ERROR(file_with_header(header, data + "\x07"), "repeats the tensor name 't0'");
}

TEST(HostileSafetensors, RepeatedKeysInsideATensorAreRefused) {
  const std::string header = "{\"a\":{\"dtype\":\"U8\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1]}}";
  EXPECT_PARSE_ERROR(file_with_header(header, "\x01"), "repeats the key 'dtype'");
}

// A header nests three levels (header, tensor, shape). A shape nested a million levels deep
// is legal JSON, but printing it for the error message would recurse a million frames deep.
TEST(HostileSafetensors, DeepNestingIsRefusedBeforeAnythingRecurses) {
  constexpr int kDepth = 1000000;
  const std::string shape = std::string(kDepth, '[') + std::string(kDepth, ']');
  const std::string header = "{" + entry("a", "\"U8\"", shape, "[0,1]") + "}";
  EXPECT_PARSE_ERROR(file_with_header(header, "\x01"), "nests deeper than 64 levels");
}

// Writes and checks safetensors files with nothing but struct, json and torch, the way
// Python users without the safetensors package would; both directions use these tensors.
const char* kPythonScript = R"PY(
import json, struct, sys
import torch

METADATA = {"format": "pt", "producer": "zoo-test"}

def expected():
    return {
        "f32": torch.arange(12, dtype=torch.float32).reshape(3, 4) / 4,
        "f16": torch.arange(6, dtype=torch.float32).sub(2.5).to(torch.float16),
        "bf16": torch.arange(5, dtype=torch.float32).mul(-0.5).to(torch.bfloat16).reshape(5, 1),
        "i64": torch.arange(4, dtype=torch.int64) * 2**40 - 7,
        "i32": torch.arange(-3, 3, dtype=torch.int32),
        "bool": torch.arange(7) % 3 == 0,
        "u8": torch.arange(250, 256, dtype=torch.uint8),
        "scalar": torch.tensor(3.25, dtype=torch.float64),
        "empty": torch.zeros(0, 3),
    }

NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64",
         torch.int32: "I32", torch.bool: "BOOL", torch.uint8: "U8", torch.float64: "F64"}
DTYPES = {name: dtype for dtype, name in NAMES.items()}

def raw_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16
        t = t.view(torch.int16)
    return t.numpy().tobytes()

def write(path):
    header, blobs, offset = {"__metadata__": METADATA}, [], 0
    for name, t in expected().items():
        data = raw_bytes(t)
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))

def check(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    problems = []
    if n % 8:
        problems.append(f"header length {n} is not a multiple of 8")
    if header.pop("__metadata__", None) != METADATA:
        problems.append("metadata differs")
    want = expected()
    if list(header) != list(want):
        problems.append(f"names {list(header)} != {list(want)}")
    for name, t in want.items():
        info = header.get(name, {})
        begin, end = info.get("data_offsets", (0, 0))
        dtype = DTYPES.get(info.get("dtype"))
        got = None
        if dtype is not None:
            flat = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin else torch.empty(0, dtype=dtype)
            got = flat.reshape(info["shape"])
        if got is None or got.dtype != t.dtype or got.shape != t.shape or not torch.equal(got, t):
            problems.append(f"{name}: expected {t}, got {got}")
    if max((info["data_offsets"][1] for info in header.values()), default=0) != len(data):
        problems.append("the data is not exactly as long as the tensors")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print("ok")

{"write": write, "check": check}[sys.argv[1]](sys.argv[2])
)PY";

// The tensors kPythonScript's expected() builds.
NamedTensors python_tensors() {
  return {
      {"f32", torch::arange(12, torch::kFloat).reshape({3, 4}) / 4},
      {"f16", torch::arange(6, torch::kFloat).sub(2.5).to(torch::kHalf)},
      {"bf16", torch::arange(5, torch::kFloat).mul(-0.5).to(torch::kBFloat16).reshape({5, 1})},
      {"i64", torch::arange(4, torch::kLong) * (int64_t(1) << 40) - 7},
      {"i32", torch::arange(-3, 3, torch::kInt)},
      {"bool", torch::arange(7) % 3 == 0},
      {"u8", torch::arange(250, 256, torch::kByte)},
      {"scalar", torch::tensor(3.25, torch::kDouble)},
      {"empty", torch::zeros({0, 3})},
  };
}

const std::map<std::string, std::string> kPythonMetadata = {{"format", "pt"}, {"producer", "zoo-test"}};

test::CommandResult run_python(const test::TempDir& dir, const std::string& mode, const std::string& path) {
  test::write_bytes(dir.file("interop.py"), kPythonScript);
  return test::run_command("/usr/bin/python3 " + dir.file("interop.py") + " " + mode + " " + path);
}

TEST(SafeTensorsPython, ReadsWhatPythonWrites) {
  test::TempDir dir;
  const std::string path = dir.file("from_python.safetensors");
  const test::CommandResult python = run_python(dir, "write", path);
  ASSERT_EQ(python.exit_code, 0) << python.output;

  const SafeTensors read = read_safetensors(path);
  expect_same_tensors(python_tensors(), read.tensors);
  EXPECT_EQ(read.metadata, kPythonMetadata);
}

TEST(SafeTensorsPython, PythonReadsWhatWeWrite) {
  test::TempDir dir;
  const std::string path = dir.file("from_zoo.safetensors");
  write_safetensors(path, python_tensors(), kPythonMetadata);

  const test::CommandResult python = run_python(dir, "check", path);
  EXPECT_EQ(python.exit_code, 0) << python.output;
  EXPECT_NE(python.output.find("ok"), std::string::npos) << python.output;
}

}  // namespace
}  // namespace zoo::weights
