// libFuzzer target for parse_pth. Seeds: fuzz/corpus/pth/.
//
// An input that starts with the zip signature is a whole .pth file, which exercises
// the zip layer. Any other input is taken as the data.pkl pickle alone and packed into a
// fresh archive beside storage records data/0 .. data/9: the zip's CRC-32 would
// otherwise reject almost every mutation of the pickle before the unpickler saw it.
#include <caffe2/serialize/inline_container.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "fuzz/fuzz_common.h"
#include "weights/pth.h"

namespace {

constexpr int kStorages = 10;
constexpr size_t kStorageBytes = 1024;  // 256 floats: more than any seed's tensors need

std::string archive_around(const uint8_t* pickle, size_t size) {
  static const std::string storage = [] {
    std::string bytes(kStorageBytes, '\0');
    for (size_t i = 0; i < bytes.size(); ++i)
      bytes[i] = static_cast<char>(i * 37 + 1);  // no NaN patterns needed: any bits do
    return bytes;
  }();
  std::string out;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t n) {
    out.append(static_cast<const char*>(data), n);
    return n;
  });
  writer.writeRecord("data.pkl", pickle, size);
  for (int key = 0; key < kStorages; ++key)
    writer.writeRecord("data/" + std::to_string(key), storage.data(), storage.size());
  writer.writeEndOfFile();
  return out;
}

}  // namespace

// LibTorch's PyTorchStreamReader leaks its zip state (about 400 bytes, allocated in
// mz_zip_reader_init) when its constructor throws on a damaged archive: the destructor
// that would free it never runs, and nothing outside can reach it. That is LibTorch's
// leak, not ours; our own allocations are made from instrumented code and still reported.
extern "C" const char* __lsan_default_suppressions() { return "leak:libtorch_cpu.so\n"; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const bool whole_file = size >= 4 && std::string(reinterpret_cast<const char*>(data), 4) == "PK\x03\x04";
  std::string bytes = whole_file ? std::string(reinterpret_cast<const char*>(data), size) : archive_around(data, size);
  try {
    const zoo::weights::PthFile file = zoo::weights::parse_pth(std::move(bytes), "fuzz.pth");
    zoo::fuzz::touch_every_byte(file.tensors);
  } catch (const zoo::Error&) {
    // the answer to a malformed file
  }
  return 0;
}
