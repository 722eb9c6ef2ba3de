#include "core/image.h"

#include <climits>
#include <filesystem>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/limits.h"
#include "core/png_check.h"
#include "zoo/build_config.h"

#if ZOO_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace zoo {

torch::Tensor make_grid(const torch::Tensor& images, const GridOptions& options) {
  if (images.dim() != 4) throw Error("make_grid: expected images [N, C, H, W], got " + c10::str(images.sizes()));
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const int64_t columns = std::max<int64_t>(1, std::min(options.columns, n));
  const int64_t rows = (n + columns - 1) / columns;
  const int64_t p = options.padding;
  torch::Tensor grid = torch::full({c, rows * (h + p) + p, columns * (w + p) + p}, options.pad_value, torch::kFloat);
  const torch::Tensor source = images.detach().to(torch::kCPU, torch::kFloat);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t top = (i / columns) * (h + p) + p, left = (i % columns) * (w + p) + p;
    grid.slice(1, top, top + h).slice(2, left, left + w).copy_(source[i]);
  }
  return grid;
}

namespace {

// [C, H, W] float in [0, 1] -> [H, W, C] bytes.
torch::Tensor to_hwc_bytes(const torch::Tensor& image) {
  if (image.dim() != 3 || (image.size(0) != 1 && image.size(0) != 3))
    throw Error("save_image: expected an image [1 or 3, H, W], got " + c10::str(image.sizes()));
  return image.detach()
      .to(torch::kCPU, torch::kFloat)
      .clamp(0, 1)
      .mul(255)
      .round()
      .to(torch::kByte)
      .permute({1, 2, 0})
      .contiguous();
}

#if !ZOO_HAVE_OPENCV
std::string with_extension(const std::string& path, const std::string& extension) {
  return std::filesystem::path(path).replace_extension(extension).string();
}
#endif

}  // namespace

std::string save_image(const std::string& path, const torch::Tensor& image) {
  const torch::Tensor pixels = to_hwc_bytes(image);
  const int64_t height = pixels.size(0), width = pixels.size(1), channels = pixels.size(2);
#if ZOO_HAVE_OPENCV
  cv::Mat mat(static_cast<int>(height), static_cast<int>(width), channels == 3 ? CV_8UC3 : CV_8UC1,
              pixels.data_ptr<uint8_t>());
  if (channels == 3) cv::cvtColor(mat, mat, cv::COLOR_RGB2BGR);
  std::vector<uint8_t> encoded;
  const std::string extension = std::filesystem::path(path).extension().string();
  if (!cv::imencode(extension.empty() ? ".png" : extension, mat, encoded))
    throw Error("cannot encode " + path + " as an image", ErrorKind::runtime);
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
  return path;
#else
  const std::string target = with_extension(path, channels == 3 ? ".ppm" : ".pgm");
  std::ostringstream header;
  header << (channels == 3 ? "P6" : "P5") << "\n" << width << " " << height << "\n255\n";
  std::string bytes = header.str();
  bytes.append(reinterpret_cast<const char*>(pixels.data_ptr<uint8_t>()), static_cast<size_t>(pixels.numel()));
  write_file_atomic(target, bytes);
  return target;
#endif
}

torch::Tensor load_image(const std::string& path, bool grayscale) {
#if ZOO_HAVE_OPENCV
  // Read here and decoded from memory, so that every failure is our one-line error naming
  // the file: cv::imread logs its own "[ WARN ...] can't open/read file" line on stderr.
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error))
    throw Error(path + ": cannot read the image: " + (error ? error.message() : std::string("not a regular file")));
  // cv::Mat counts in int: OpenCV decodes from at most 2 GiB.
  const uintmax_t file_size = std::filesystem::file_size(path, error);
  if (!error && file_size > static_cast<uintmax_t>(INT_MAX))
    throw Error(path + ": an image file of " + std::to_string(file_size) + " bytes; OpenCV decodes at most 2 GiB");
  std::string bytes = read_file(path);
  if (is_png(bytes)) bytes = verified_png(path, bytes);  // why: core/png_check.h
  const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8UC1, bytes.data());
  cv::Mat mat;
  try {
    mat = cv::imdecode(encoded, grayscale ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {  // e.g. a header over OpenCV's own size cap: its assertion text, in our line
    throw Error(path + ": cannot decode the image: OpenCV refused it (" + e.err + ")");
  }
  if (mat.empty()) throw Error(path + ": cannot decode the image (not a supported image format, or a damaged file)");
  check_limit(path + ": the image's " + std::to_string(mat.cols) + " x " + std::to_string(mat.rows) + " pixels",
              static_cast<double>(mat.total()), kMaxImagePixels);
  if (!grayscale) cv::cvtColor(mat, mat, cv::COLOR_BGR2RGB);
  const int64_t channels = mat.channels();
  return torch::from_blob(mat.data, {mat.rows, mat.cols, channels}, torch::kByte)
      .permute({2, 0, 1})
      .to(torch::kFloat)
      .div(255.0)
      .contiguous();
#else
  (void)grayscale;
  throw Error(path + ": reading images needs OpenCV; this zoo was built without it");
#endif
}

}  // namespace zoo
