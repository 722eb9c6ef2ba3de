#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <functional>

#include "core/error.h"
#include "core/image.h"
#include "core/metrics_log.h"
#include "core/plot.h"
#include "core/png_check.h"
#include "support/test_support.h"
#include "zoo/build_config.h"

TEST(Image, GridPlacesEachImageInItsCell) {
  const torch::Tensor images = torch::arange(5, torch::kFloat).view({5, 1, 1, 1}).expand({5, 1, 3, 2}) / 10;
  zoo::GridOptions options;
  options.columns = 2;
  options.padding = 1;
  const torch::Tensor grid = zoo::make_grid(images, options);
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{1, 3 * 4 + 1, 2 * 3 + 1}));
  // Image 3 sits in row 1, column 1: top = 1*(3+1)+1 = 5, left = 1*(2+1)+1 = 4.
  EXPECT_TRUE(torch::allclose(grid[0].slice(0, 5, 8).slice(1, 4, 6), torch::full({3, 2}, 0.3)));
  EXPECT_EQ(grid[0][0][0].item<float>(), 1.0f);  // padding
  EXPECT_THROW(zoo::make_grid(torch::zeros({3, 3})), zoo::Error);
}

TEST(Image, SavedImagesReadBackExactly) {
  zoo::test::TempDir dir;
  const torch::Tensor image = torch::randint(0, 256, {3, 9, 7}).to(torch::kFloat) / 255;
  const std::string written = zoo::save_image(dir.file("x.png"), image);
#if ZOO_HAVE_OPENCV
  EXPECT_EQ(written, dir.file("x.png"));
  EXPECT_TRUE(torch::allclose(zoo::load_image(written), image, 0, 1e-6));
  const torch::Tensor gray = torch::rand({1, 4, 5});
  const torch::Tensor back = zoo::load_image(zoo::save_image(dir.file("g.png"), gray), true);
  EXPECT_TRUE(torch::allclose(back, torch::round(gray * 255) / 255, 0, 1e-6));
  zoo::test::write_bytes(dir.file("broken.png"), "\x89PNG\r\n\x1a\n garbage");
  EXPECT_THROW(zoo::load_image(dir.file("broken.png")), zoo::Error);
#else
  EXPECT_EQ(written, dir.file("x.ppm"));
  const std::string bytes = zoo::test::read_bytes(written);
  EXPECT_EQ(bytes.substr(0, 11), "P6\n7 9\n255\n");
  EXPECT_EQ(bytes.size(), 11u + 3 * 9 * 7);
#endif
  EXPECT_THROW(zoo::save_image(dir.file("bad.png"), torch::zeros({2, 4, 4})), zoo::Error);
}

TEST(Plot, ScatterShadesWherePointsAre) {
  zoo::ScatterOptions options;
  options.size = 64;
  options.cell = 1;
  // All points in the upper-right quadrant.
  const torch::Tensor points = torch::rand({1000, 2}) * 3 + 0.5;
  const torch::Tensor image = zoo::scatter_plot(points, options);
  EXPECT_EQ(image.sizes(), (std::vector<int64_t>{3, 64, 64}));
  const torch::Tensor ink = 1 - image[0];
  EXPECT_GT(ink.slice(0, 0, 32).slice(1, 32, 64).sum().item<double>(), 10);
  EXPECT_EQ(ink.slice(0, 32, 64).sum().item<double>(), 0);  // lower half untouched
  EXPECT_EQ(ink.slice(1, 0, 32).sum().item<double>(), 0);   // left half untouched
}

TEST(Plot, LossCurveFromMetrics) {
  zoo::test::TempDir dir;
  {
    zoo::MetricsLog log(dir.file("metrics.jsonl"));
    for (int step = 1; step <= 50; ++step) log.write({{"step", step}, {"loss", 1.0 / step}});
  }
  const std::string written = zoo::plot_metric(dir.file("metrics.jsonl"), "loss", dir.file("loss.png"));
  EXPECT_TRUE(std::filesystem::file_size(written) > 100);
  EXPECT_THROW(zoo::plot_metric(dir.file("metrics.jsonl"), "accuracy", dir.file("acc.png")), zoo::Error);
  // A falling line crosses the middle of the plot area (x 70..180, y 30..60) and leaves
  // its top-right corner empty.
  const torch::Tensor plot = zoo::line_plot({{{0, 1}, {1, 0}, "down"}}, "", 200, 100);
  const torch::Tensor ink = (std::get<0>(plot.min(0)) < 0.9).to(torch::kFloat);
  EXPECT_GT(ink.slice(0, 40, 50).slice(1, 120, 130).sum().item<double>(), 0);
  EXPECT_EQ(ink.slice(0, 30, 40).slice(1, 150, 180).sum().item<double>(), 0);
}

// ---- hostile input ---------------------------------------------------------------------

namespace {

using zoo::test::throws_error_with;

std::string big_endian(uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16), static_cast<char>(value >> 8),
          static_cast<char>(value)};
}

std::string png_chunk(const std::string& type, const std::string& data) {
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(type.data()), 4);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  return big_endian(static_cast<uint32_t>(data.size())) + type + data + big_endian(static_cast<uint32_t>(crc));
}

// A PNG written by hand, so that a test can give it what OpenCV never writes: interlacing,
// damage, ancillary chunks. `scanlines` are the raw rows, each led by its filter type.
struct PngParts {
  uint32_t width = 3, height = 2;
  uint8_t depth = 8, color = 0, interlace = 0;
  std::string scanlines = std::string("\0\x0a\x14\x1e\0\x28\x32\x3c", 8);  // gray 10 20 30 / 40 50 60
  std::string before_data;                                                 // chunks between IHDR and IDAT
  std::string after_stream;                                                // bytes in IDAT after the zlib stream
};

std::string png_header(const PngParts& p) {
  return big_endian(p.width) + big_endian(p.height) +
         std::string{static_cast<char>(p.depth), static_cast<char>(p.color), 0, 0, static_cast<char>(p.interlace)};
}

std::string png_file(const PngParts& p) {
  std::string compressed(compressBound(static_cast<uLong>(p.scanlines.size())), '\0');
  uLongf size = compressed.size();
  compress(reinterpret_cast<Bytef*>(compressed.data()), &size, reinterpret_cast<const Bytef*>(p.scanlines.data()),
           static_cast<uLong>(p.scanlines.size()));
  compressed.resize(size);
  return std::string("\x89PNG\r\n\x1a\n", 8) + png_chunk("IHDR", png_header(p)) + p.before_data +
         png_chunk("IDAT", compressed + p.after_stream) + png_chunk("IEND", "");
}

// What `action` writes on file descriptor 2, where libpng and OpenCV write directly.
std::string stderr_of(const std::function<void()>& action) {
  std::fflush(stderr);
  FILE* capture = std::tmpfile();
  const int saved = ::dup(2);
  ::dup2(::fileno(capture), 2);
  try {
    action();
  } catch (...) {
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    std::fclose(capture);
    throw;
  }
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::string text;
  std::rewind(capture);
  for (int c; (c = std::fgetc(capture)) != EOF;) text += static_cast<char>(c);
  std::fclose(capture);
  return text;
}

}  // namespace

TEST(HostilePng, DamageIsAnErrorNamingTheFileAndTheProblem) {
  const std::string good = png_file({});
  ASSERT_NO_THROW(zoo::verified_png("good.png", good));
  auto refused = [](const std::string& bytes, const std::string& problem) {
    EXPECT_TRUE(throws_error_with([&] { zoo::verified_png("x.png", bytes); }, {"x.png: ", problem})) << problem;
  };
  refused(good.substr(0, good.size() - 20), "truncated");
  refused(good.substr(0, 8), "truncated: the file ends after 8 bytes, before its IHDR header");
  std::string flipped = good;
  flipped[33 + 8 + 3] ^= 1;  // a byte of IDAT's data (IDAT starts at byte 33)
  refused(flipped, "chunk IDAT at byte 33 fails its CRC check");
  PngParts parts;
  parts.scanlines[4] = 7;
  refused(png_file(parts), "scanline 1 has filter type 7 (expected 0 to 4)");
  parts = {};
  parts.scanlines.pop_back();
  refused(png_file(parts), "the image data inflates to 7 bytes; its 3 x 2 header implies 8");
  parts = {};
  parts.scanlines += std::string("\0\x01", 2);
  refused(png_file(parts), "the image data inflates to more than the 8 bytes");
  parts = {};
  parts.depth = 3;
  refused(png_file(parts), "colour type 0 with bit depth 3");
  parts = {};
  parts.color = 3;
  refused(png_file(parts), "a palette image without a PLTE chunk");
  parts = {};
  parts.before_data = png_chunk("ABCD", "?");
  refused(png_file(parts), "unknown critical chunk ABCD");
  refused(std::string("\x89PNG\r\n\x1a\n", 8) + png_chunk("IEND", ""), "the first chunk is IEND, not IHDR");
  const std::string no_data =
      std::string("\x89PNG\r\n\x1a\n", 8) + png_chunk("IHDR", png_header({})) + png_chunk("IEND", "");
  refused(no_data, "no IDAT chunk");
  const std::string not_zlib = std::string("\x89PNG\r\n\x1a\n", 8) + png_chunk("IHDR", png_header({})) +
                               png_chunk("IDAT", "not a zlib stream") + png_chunk("IEND", "");
  refused(not_zlib, "damaged image data in IDAT");
}

TEST(HostilePng, SizesAreCheckedFromTheHeaderBeforeInflating) {
  PngParts huge;  // 20000 x 20000 claimed over six bytes of pixels
  huge.width = huge.height = 20000;
  EXPECT_TRUE(
      throws_error_with([&] { zoo::verified_png("huge.png", png_file(huge)); },
                        {"huge.png: the PNG's 20000 x 20000 pixels is 400000000, over the limit of 268435456 pixels "
                         "(kMaxImagePixels in core/limits.h)"}));
  PngParts wide;
  wide.width = 2000000;
  wide.height = 1;
  EXPECT_TRUE(throws_error_with([&] { zoo::verified_png("wide.png", png_file(wide)); },
                                {"wide.png: corrupt PNG", "libpng reads at most 1000000 pixels a side"}));
}

#if ZOO_HAVE_OPENCV

TEST(HostileImage, ATruncatedPngIsOneErrorAndLibpngSaysNothing) {
  zoo::test::TempDir dir;
  const std::string path = zoo::save_image(dir.file("cut.png"), torch::rand({3, 16, 16}));
  const std::string bytes = zoo::test::read_bytes(path);
  zoo::test::write_bytes(path, bytes.substr(0, bytes.size() / 2));
  // Decoded as it was, libpng printed "libpng error: Read Error" before our error.
  const std::string printed = stderr_of(
      [&] { EXPECT_TRUE(throws_error_with([&] { zoo::load_image(path); }, {path + ": corrupt PNG: truncated"})); });
  EXPECT_EQ(printed, "");
}

TEST(HostileImage, AMissingFileOrAFolderIsAnErrorAndOpenCvSaysNothing) {
  zoo::test::TempDir dir;
  // cv::imread logged "[ WARN:0@...] ... can't open/read file" for a missing file.
  const std::string printed = stderr_of([&] {
    EXPECT_TRUE(throws_error_with([&] { zoo::load_image(dir.file("absent.png")); },
                                  {dir.file("absent.png") + ": cannot read"}));
    EXPECT_TRUE(throws_error_with([&] { zoo::load_image(dir.path()); },
                                  {dir.path() + ": cannot read the image: not a regular file"}));
  });
  EXPECT_EQ(printed, "");
}

TEST(HostileImage, AHeaderBeyondOpenCvsSizeCapIsOneError) {
  zoo::test::TempDir dir;
  // A 54-byte BMP header claiming 100000 x 100000 pixels: cv::imdecode threw its
  // cv::Exception, which reached the user as "error: OpenCV(4.6.0) ..." with exit 1.
  std::string bmp = "BM" + std::string(52, '\0');
  auto put = [&](size_t offset, uint32_t value) {
    for (int i = 0; i < 4; ++i) bmp[offset + i] = static_cast<char>(value >> (8 * i));
  };
  put(10, 54);      // pixel data offset
  put(14, 40);      // BITMAPINFOHEADER
  put(18, 100000);  // width
  put(22, 100000);  // height
  bmp[26] = 1;      // planes
  bmp[28] = 24;     // bits per pixel
  zoo::test::write_bytes(dir.file("huge.bmp"), bmp);
  const std::string printed = stderr_of([&] {
    EXPECT_TRUE(throws_error_with([&] { zoo::load_image(dir.file("huge.bmp")); },
                                  {dir.file("huge.bmp") + ": cannot decode the image: OpenCV refused it"}));
  });
  EXPECT_EQ(printed, "");
}

TEST(HostileImage, OddButValidPngsDecodeSilently) {
  zoo::test::TempDir dir;
  // An 11 x 7 gray image, stored once plainly and once Adam7-interlaced (seven passes over
  // the pixels at x0 + k dx, y0 + l dy), must read the same.
  const uint32_t width = 11, height = 7;
  auto pixel = [](uint32_t x, uint32_t y) { return static_cast<char>((13 * x + 29 * y) % 256); };
  PngParts plain, interlaced;
  plain.width = interlaced.width = width;
  plain.height = interlaced.height = height;
  plain.scanlines.clear();
  for (uint32_t y = 0; y < height; ++y) {
    plain.scanlines += '\0';
    for (uint32_t x = 0; x < width; ++x) plain.scanlines += pixel(x, y);
  }
  interlaced.interlace = 1;
  interlaced.scanlines.clear();
  const uint32_t adam7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
  for (const auto& [x0, y0, dx, dy] : adam7)
    for (uint32_t y = y0; y < height && x0 < width; y += dy) {
      interlaced.scanlines += '\0';
      for (uint32_t x = x0; x < width; x += dx) interlaced.scanlines += pixel(x, y);
    }
  // A damaged ancillary chunk and bytes after the zlib stream: libpng warned about both
  // ("tEXt: CRC error", "IDAT: Extra compressed data") and decoded the image.
  PngParts odd;
  std::string text = png_chunk("tEXt", std::string("a\0bc", 4));
  text[text.size() - 1] ^= 1;
  odd.before_data = text;
  odd.after_stream = "junk";
  zoo::test::write_bytes(dir.file("plain.png"), png_file(plain));
  zoo::test::write_bytes(dir.file("interlaced.png"), png_file(interlaced));
  zoo::test::write_bytes(dir.file("odd.png"), png_file(odd));

  torch::Tensor from_plain, from_interlaced, from_odd;
  const std::string printed = stderr_of([&] {
    from_plain = zoo::load_image(dir.file("plain.png"), true);
    from_interlaced = zoo::load_image(dir.file("interlaced.png"), true);
    from_odd = zoo::load_image(dir.file("odd.png"), true);
  });
  EXPECT_EQ(printed, "");
  ASSERT_EQ(from_plain.sizes(), (std::vector<int64_t>{1, height, width}));
  EXPECT_TRUE(torch::equal(from_interlaced, from_plain));
  EXPECT_NEAR(from_plain[0][2][3].item<float>(), (13 * 3 + 29 * 2) / 255.0, 1e-6);
  EXPECT_TRUE(torch::allclose(from_odd, torch::tensor({10, 20, 30, 40, 50, 60}, torch::kFloat).view({1, 2, 3}) / 255));
}

#endif
