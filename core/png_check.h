#pragma once
// PNG files checked before a decoder sees them.
//
// Why: OpenCV decodes PNGs through libpng with libpng's default handlers, which print
// "libpng error: ..." or "libpng warning: ..." on stderr (a truncated file, a bad CRC, a
// colour profile libpng dislikes in an otherwise good file) before OpenCV hands back an
// empty image. Two other ways were weighed and refused: redirecting stderr around the
// decode is process-wide, and images are decoded on the loader's threads while the main
// thread draws progress and errors on stderr, so it would swallow or garble their output;
// decoding with libpng ourselves (silent handlers) would be a second decoder beside
// OpenCV, with its own colour conversions, and a new dependency. Instead the file's
// structure is checked here against everything libpng would report — chunk framing and the
// critical chunks' CRCs, the header, the palette, and the image data (one complete zlib
// stream of exactly the size the header implies, every row with a valid filter type) — and
// the decoder gets a copy holding only the chunks it uses (IHDR, PLTE, IDAT, IEND), so the
// ancillary chunks that make libpng warn never reach it. The cost is one extra inflate of
// the image data, small beside decoding it.
#include <string>

namespace zoo {

// Whether `bytes` starts with the 8-byte PNG signature.
bool is_png(const std::string& bytes);

// The image of a PNG file (`bytes`, read from `path`) as a minimal PNG that libpng decodes
// without a word: signature, IHDR, PLTE (palette images only), IDAT with the zlib stream
// (bytes after its end dropped: libpng warns about them), IEND. Throws
// zoo::Error(input) naming `path` and the problem for anything libpng would refuse or warn
// about, and for images over kMaxImagePixels (core/limits.h), before any pixel is decoded.
std::string verified_png(const std::string& path, const std::string& bytes);

}  // namespace zoo
