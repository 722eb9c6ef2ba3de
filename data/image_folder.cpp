#include "data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/error.h"
#include "core/image.h"
#include "zoo/build_config.h"

namespace zoo::data {
namespace fs = std::filesystem;

namespace {

bool is_image_file(const fs::path& path) {
  static const std::vector<std::string> extensions = {".png",  ".jpg", ".jpeg", ".bmp", ".ppm",
                                                      ".pgm", ".webp", ".tif", ".tiff"};
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(extensions.begin(), extensions.end(), extension) != extensions.end();
}

std::vector<std::string> sorted_subfolders(const fs::path& dir) {
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> sorted_images(const fs::path& dir) {
  std::vector<std::string> files;
  for (const fs::directory_entry& entry :
       fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink))
    if (entry.is_regular_file() && is_image_file(entry.path())) files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// Like torchvision's Resize(size) then CenterCrop(size): the shorter side becomes `size`,
// the longer one keeps the aspect ratio (rounded down), and the centre square is kept.
torch::Tensor resize_and_crop(const torch::Tensor& image, int64_t size) {
  namespace F = torch::nn::functional;
  const int64_t height = image.size(1), width = image.size(2), shorter = std::min(height, width);
  const int64_t new_height = height * size / shorter, new_width = width * size / shorter;
  torch::Tensor resized = image;
  if (shorter != size) {
    auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{new_height, new_width});
    // Shrinking averages all the pixels an output pixel covers (OpenCV's INTER_AREA), so
    // fine detail does not alias; growing interpolates bilinearly (INTER_LINEAR).
    if (shorter > size)
      options.mode(torch::kArea);
    else
      options.mode(torch::kBilinear).align_corners(false);
    resized = F::interpolate(image.unsqueeze(0), options).squeeze(0);
  }
  const int64_t top = (new_height - size) / 2, left = (new_width - size) / 2;
  return resized.slice(1, top, top + size).slice(2, left, left + size).contiguous();
}

class ImageFolderDataset : public Dataset {
 public:
  ImageFolderDataset(DatasetInfo info, std::vector<std::string> files, std::vector<int64_t> labels)
      : info_(std::move(info)), files_(std::move(files)), labels_(std::move(labels)) {}
  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  const DatasetInfo& info() const override { return info_; }
  Example get(int64_t index) const override {
    const int64_t channels = info_.shape[0], side = info_.shape[1];
    return {resize_and_crop(load_image(files_.at(index), channels == 1), side), labels_.at(index)};
  }

 private:
  DatasetInfo info_;
  std::vector<std::string> files_;
  std::vector<int64_t> labels_;
};

void check_options(const ImageFolderOptions& options) {
  if (options.size < 1) throw Error("folder: size must be at least 1, got " + std::to_string(options.size), ErrorKind::usage);
  if (options.channels != 1 && options.channels != 3)
    throw Error("folder: channels must be 1 or 3, got " + std::to_string(options.channels), ErrorKind::usage);
}

}  // namespace

DatasetPtr load_image_folder(const std::string& dir, Split split, const ImageFolderOptions& options) {
  // Checked here rather than at the first get(), so that a run fails before it starts.
  if (!ZOO_HAVE_OPENCV) throw Error("folder: datasets need OpenCV; this zoo was built without it");
  check_options(options);
  if (!fs::is_directory(dir)) throw Error(dir + ": no such directory");
  const bool has_split_folders = fs::is_directory(fs::path(dir) / "train") && fs::is_directory(fs::path(dir) / "test");
  const fs::path root = has_split_folders ? fs::path(dir) / to_string(split) : fs::path(dir);

  DatasetInfo info{"folder:" + dir, {options.channels, options.size, options.size}, sorted_subfolders(root)};
  if (info.classes.empty())
    throw Error(root.string() + ": no class folders (expected one sub-folder of images per class, e.g. " +
                (root / "cat" / "0001.png").string() + ")");
  std::vector<std::string> files;
  std::vector<int64_t> labels;
  for (size_t label = 0; label < info.classes.size(); ++label) {
    const fs::path class_dir = root / info.classes[label];
    const std::vector<std::string> images = sorted_images(class_dir);
    if (images.empty())
      throw Error(class_dir.string() + ": class '" + info.classes[label] +
                  "' has no images (png jpg jpeg bmp ppm pgm webp tif tiff)");
    for (size_t i = 0; i < images.size(); ++i) {
      if (!has_split_folders && (i % 10 == 9) != (split == Split::test)) continue;
      files.push_back(images[i]);
      labels.push_back(static_cast<int64_t>(label));
    }
  }
  // Only the test split can come out empty: index 0 of every class is a train image.
  if (files.empty())
    throw Error(dir + ": no " + to_string(split) + " images (every 10th image of a class is a test image, " +
                "and no class here has 10)");
  return std::make_shared<ImageFolderDataset>(std::move(info), std::move(files), std::move(labels));
}

}  // namespace zoo::data
