// libFuzzer target for parse_safetensors. Seeds: fuzz/corpus/safetensors/.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "fuzz/fuzz_common.h"
#include "weights/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const zoo::weights::SafeTensors file =
        zoo::weights::parse_safetensors(std::string(reinterpret_cast<const char*>(data), size), "fuzz.safetensors");
    zoo::fuzz::touch_every_byte(file.tensors);
  } catch (const zoo::Error&) {
    // the answer to a malformed file
  }
  return 0;
}
