#include "core/png_check.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/error.h"
#include "core/limits.h"

namespace zoo {
namespace {

const std::string kSignature("\x89PNG\r\n\x1a\n", 8);

// libpng refuses wider or taller images whatever their pixel count (PNG_USER_WIDTH_MAX and
// PNG_USER_HEIGHT_MAX), with a warning before its error.
constexpr uint32_t kLibpngMaxSide = 1'000'000;
// A chunk's length field is at most 2^31 - 1 (the PNG specification, 5.3).
constexpr uint32_t kMaxChunkLength = 0x7fffffff;
// The largest IDAT chunk written back; longer data is split over several.
constexpr size_t kIdatPiece = size_t{1} << 30;

uint32_t big_endian_u32(const std::string& bytes, size_t offset) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(bytes[offset + i]);
  return value;
}

std::string big_endian_bytes(uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16), static_cast<char>(value >> 8),
          static_cast<char>(value)};
}

uint32_t chunk_crc(const std::string& type, const char* data, size_t size) {
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(type.data()), 4);
  return static_cast<uint32_t>(crc32(crc, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(size)));
}

std::string chunk(const std::string& type, const std::string& data) {
  return big_endian_bytes(static_cast<uint32_t>(data.size())) + type + data +
         big_endian_bytes(chunk_crc(type, data.data(), data.size()));
}

struct Header {
  uint32_t width = 0, height = 0;
  uint8_t depth = 0, color = 0, compression = 0, filter = 0, interlace = 0;
};

int channels_of(uint8_t color) {
  switch (color) {
    case 0: return 1;  // gray
    case 2: return 3;  // RGB
    case 3: return 1;  // palette index
    case 4: return 2;  // gray + alpha
    case 6: return 4;  // RGBA
    default: return 0;
  }
}

// The bit depths the specification allows for each colour type (table 11.1).
bool valid_depth(uint8_t color, uint8_t depth) {
  switch (color) {
    case 0: return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3: return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2:
    case 4:
    case 6: return depth == 8 || depth == 16;
    default: return false;
  }
}

Header parse_header(const std::string& path, const std::string& data) {
  auto fail = [&](const std::string& problem) { throw Error(path + ": corrupt PNG: its IHDR header " + problem); };
  if (data.size() != 13) fail("is " + std::to_string(data.size()) + " bytes long, not 13");
  Header h;
  h.width = big_endian_u32(data, 0);
  h.height = big_endian_u32(data, 4);
  h.depth = static_cast<uint8_t>(data[8]);
  h.color = static_cast<uint8_t>(data[9]);
  h.compression = static_cast<uint8_t>(data[10]);
  h.filter = static_cast<uint8_t>(data[11]);
  h.interlace = static_cast<uint8_t>(data[12]);
  if (h.width == 0 || h.height == 0)
    fail("gives a size of " + std::to_string(h.width) + " x " + std::to_string(h.height));
  if (h.width > kLibpngMaxSide || h.height > kLibpngMaxSide)
    fail("gives a size of " + std::to_string(h.width) + " x " + std::to_string(h.height) + " (libpng reads at most " +
         std::to_string(kLibpngMaxSide) + " pixels a side)");
  if (!valid_depth(h.color, h.depth))
    fail("gives colour type " + std::to_string(h.color) + " with bit depth " + std::to_string(h.depth));
  if (h.compression != 0 || h.filter != 0 || h.interlace > 1)
    fail("gives compression " + std::to_string(h.compression) + ", filter " + std::to_string(h.filter) +
         " and interlace " + std::to_string(h.interlace) + " (expected 0, 0 and 0 or 1)");
  check_limit(path + ": the PNG's " + std::to_string(h.width) + " x " + std::to_string(h.height) + " pixels",
              static_cast<double>(h.width) * static_cast<double>(h.height), kMaxImagePixels);
  return h;
}

// The scanlines of the image data: one run of rows, or Adam7's seven passes over the
// pixels at (x0 + k·dx, y0 + l·dy), each row led by its filter type byte.
struct Pass {
  uint64_t rows, row_bytes;  // row_bytes with the filter byte
};

std::vector<Pass> scanline_passes(const Header& h) {
  const uint64_t bits_per_pixel = static_cast<uint64_t>(channels_of(h.color)) * h.depth;
  auto row_bytes = [&](uint64_t width) { return 1 + (width * bits_per_pixel + 7) / 8; };
  if (h.interlace == 0) return {{h.height, row_bytes(h.width)}};
  static const uint32_t kAdam7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                        {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};  // x0, y0, dx, dy
  std::vector<Pass> passes;
  for (const auto& [x0, y0, dx, dy] : kAdam7) {
    const uint64_t width = h.width > x0 ? (h.width - x0 + dx - 1) / dx : 0;
    const uint64_t height = h.height > y0 ? (h.height - y0 + dy - 1) / dy : 0;
    if (width > 0 && height > 0) passes.push_back({height, row_bytes(width)});  // an empty pass has no rows at all
  }
  return passes;
}

// Inflates the image data and checks it as libpng will: one zlib stream, complete and
// intact (zlib checks its Adler-32), that inflates to exactly the scanlines the header
// implies, each starting with filter type 0 to 4. Returns the length of the stream, so that
// bytes after it can be dropped (libpng warns about them).
size_t check_image_data(const std::string& path, const std::string& data, const Header& h) {
  auto fail = [&](const std::string& problem) { throw Error(path + ": corrupt PNG: " + problem); };
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) throw Error(path + ": cannot initialise zlib", ErrorKind::runtime);
  const std::unique_ptr<z_stream, int (*)(z_streamp)> end_stream(&stream, inflateEnd);

  const std::vector<Pass> passes = scanline_passes(h);
  uint64_t expected = 0;
  for (const Pass& pass : passes) expected += pass.rows * pass.row_bytes;
  size_t pass = 0;
  uint64_t row = 0, next_filter = 0, produced = 0;  // offsets into the inflated data
  std::vector<unsigned char> buffer(1 << 16);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  int status = Z_OK;
  while (status == Z_OK) {
    stream.avail_in = static_cast<uInt>(std::min<size_t>(data.size() - stream.total_in, UINT_MAX));
    stream.next_out = buffer.data();
    stream.avail_out = static_cast<uInt>(buffer.size());
    status = inflate(&stream, Z_NO_FLUSH);
    const uint64_t end = produced + (buffer.size() - stream.avail_out);
    if (end > expected)
      fail("the image data inflates to more than the " + std::to_string(expected) + " bytes its " +
           std::to_string(h.width) + " x " + std::to_string(h.height) + " header implies");
    while (pass < passes.size() && next_filter < end) {
      const unsigned filter_type = buffer[next_filter - produced];
      if (filter_type > 4)
        fail("scanline " + std::to_string(row) +
             (passes.size() > 1 ? " of interlace pass " + std::to_string(pass + 1) : "") + " has filter type " +
             std::to_string(filter_type) + " (expected 0 to 4)");
      next_filter += passes[pass].row_bytes;
      if (++row == passes[pass].rows) {
        row = 0;
        ++pass;
      }
    }
    produced = end;
  }
  // Z_BUF_ERROR: no progress possible, the input ran out before the stream's end.
  if (status == Z_BUF_ERROR) fail("truncated image data (the zlib stream in IDAT ends early)");
  if (status != Z_STREAM_END)
    fail(std::string("damaged image data in IDAT") + (stream.msg ? std::string(": ") + stream.msg : std::string()));
  if (produced != expected)
    fail("the image data inflates to " + std::to_string(produced) + " bytes; its " + std::to_string(h.width) + " x " +
         std::to_string(h.height) + " header implies " + std::to_string(expected));
  return stream.total_in;
}

bool is_critical(const std::string& type) { return type[0] >= 'A' && type[0] <= 'Z'; }

bool valid_type(const std::string& type) {
  return std::all_of(type.begin(), type.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); });
}

}  // namespace

bool is_png(const std::string& bytes) { return bytes.compare(0, kSignature.size(), kSignature) == 0; }

std::string verified_png(const std::string& path, const std::string& bytes) {
  auto fail = [&](const std::string& problem) -> void { throw Error(path + ": corrupt PNG: " + problem); };
  if (!is_png(bytes)) throw Error(path + ": not a PNG file (no PNG signature)");
  Header header;
  std::string header_data, palette, image_data;
  bool seen_header = false, seen_end = false, in_image_data = false, image_data_ended = false;
  size_t offset = kSignature.size();
  while (!seen_end) {
    const std::string where = " at byte " + std::to_string(offset);
    if (bytes.size() - offset < 12)
      fail("truncated: the file ends after " + std::to_string(bytes.size()) + " bytes, before its " +
           (seen_header ? "IEND chunk" : "IHDR header"));
    const uint32_t length = big_endian_u32(bytes, offset);
    const std::string type = bytes.substr(offset + 4, 4);
    if (!valid_type(type)) fail("no chunk type" + where + " (the file is damaged)");
    if (length > kMaxChunkLength) fail("chunk " + type + where + " claims " + std::to_string(length) + " bytes");
    if (bytes.size() - offset - 12 < length)
      fail("truncated: chunk " + type + where + " needs " + std::to_string(length + 12) + " bytes, the file has " +
           std::to_string(bytes.size() - offset) + " left");
    const char* data = bytes.data() + offset + 8;
    // Ancillary chunks are dropped unread, so their CRCs do not matter (libpng only warns).
    if (is_critical(type) && big_endian_u32(bytes, offset + 8 + length) != chunk_crc(type, data, length))
      fail("chunk " + type + where + " fails its CRC check (the file is damaged)");
    if (!seen_header && type != "IHDR") fail("the first chunk is " + type + ", not IHDR");
    if (in_image_data && type != "IDAT") {
      in_image_data = false;
      image_data_ended = true;
    }

    if (type == "IHDR") {
      if (seen_header) fail("a second IHDR chunk" + where);
      header_data.assign(data, length);
      header = parse_header(path, header_data);
      seen_header = true;
    } else if (type == "PLTE") {
      if (!palette.empty()) fail("a second PLTE chunk" + where);
      if (!image_data.empty()) fail("the PLTE chunk comes after the image data");
      const uint32_t most = header.color == 3 ? (1u << header.depth) : 256;
      if (length == 0 || length % 3 != 0 || length / 3 > most)
        fail("a PLTE chunk of " + std::to_string(length) + " bytes (expected 3 x 1 to " + std::to_string(most) +
             " entries)");
      if (header.color == 3) palette.assign(data, length);  // other types: a suggestion decoders ignore
    } else if (type == "IDAT") {
      if (image_data_ended) fail("IDAT chunks that are not consecutive (another IDAT" + where + ")");
      image_data.append(data, length);
      in_image_data = true;
    } else if (type == "IEND") {
      seen_end = true;  // bytes after IEND are never read
    } else if (is_critical(type)) {
      fail("unknown critical chunk " + type + where);
    }
    offset += 12 + size_t{length};
  }
  if (image_data.empty()) fail("no IDAT chunk (no image data)");
  if (header.color == 3 && palette.empty()) fail("a palette image without a PLTE chunk");
  image_data.resize(check_image_data(path, image_data, header));

  std::string out = kSignature + chunk("IHDR", header_data);
  if (!palette.empty()) out += chunk("PLTE", palette);
  for (size_t start = 0; start < image_data.size(); start += kIdatPiece)
    out += chunk("IDAT", image_data.substr(start, kIdatPiece));
  return out + chunk("IEND", "");
}

}  // namespace zoo
