#include "data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/error.h"
#include "core/image.h"
#include "core/limits.h"
#include "zoo/build_config.h"

namespace zoo::data {
namespace fs = std::filesystem;

namespace {

bool is_image_file(const fs::path& path) {
  static const std::vector<std::string> extensions = {".png", ".jpg",  ".jpeg", ".bmp", ".ppm",
                                                      ".pgm", ".webp", ".tif",  ".tiff"};
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(extensions.begin(), extensions.end(), extension) != extensions.end();
}

// Listing errors (no permission, a name too long) become zoo::Errors naming the folder,
// never std::filesystem's raw "filesystem error: ..." text: every call below takes an
// error_code instead of throwing.
[[noreturn]] void cannot_list(const fs::path& dir, const std::error_code& error) {
  throw Error(dir.string() + ": cannot list the folder: " + error.message());
}

std::vector<std::string> sorted_subfolders(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    std::error_code unreadable;  // a dangling link is no class folder
    if (it->is_directory(unreadable)) names.push_back(it->path().filename().string());
  }
  if (error) cannot_list(dir, error);
  std::sort(names.begin(), names.end());
  return names;
}

// Whether `folder` is `outer` or lies inside it (both real paths).
bool contains(const fs::path& outer, const fs::path& folder) {
  return std::mismatch(outer.begin(), outer.end(), folder.begin(), folder.end()).first == outer.end();
}

// Adds the image files in `dir` and the folders below it to `files`. Symbolic links are
// followed, as torchvision's ImageFolder does, but a folder whose real path contains a
// folder being walked (`walking`: the real paths from the class folder down) is a loop, an
// error naming the link: followed, it would nest forever, until the OS refused with "Too
// many levels of symbolic links".
void collect_images(const fs::path& dir, std::vector<fs::path>& walking, std::vector<std::string>& files) {
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    const fs::path& path = it->path();
    std::error_code unreadable;
    const fs::file_status status = fs::status(path, unreadable);  // of the link's target
    if (fs::is_directory(status)) {
      const fs::path real = fs::canonical(path, unreadable);
      if (unreadable) cannot_list(path, unreadable);
      for (const fs::path& folder : walking)
        if (contains(real, folder))
          throw Error(path.string() + ": a symbolic link loop (it leads to " + real.string() +
                      ", which contains the link itself)");
      walking.push_back(real);
      collect_images(path, walking, files);
      walking.pop_back();
    } else if (is_image_file(path)) {
      // Listed now, so that a dangling link is reported at load rather than mid-epoch.
      if (!fs::is_regular_file(status))
        throw Error(path.string() + ": not a readable image file (" +
                    (unreadable ? unreadable.message() : std::string("not a regular file")) + ")");
      files.push_back(path.string());
    }
  }
  if (error) cannot_list(dir, error);
}

std::vector<std::string> sorted_images(const fs::path& dir) {
  std::error_code error;
  std::vector<fs::path> walking = {fs::canonical(dir, error)};
  if (error) cannot_list(dir, error);
  std::vector<std::string> files;
  collect_images(dir, walking, files);
  std::sort(files.begin(), files.end());
  return files;
}

bool is_folder(const fs::path& path) {
  std::error_code unreadable;
  return fs::is_directory(path, unreadable);
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
    return {resize_and_crop(load_image(files_.at(index), channels == 1), side), labels_.at(index), {}};
  }

 private:
  DatasetInfo info_;
  std::vector<std::string> files_;
  std::vector<int64_t> labels_;
};

void check_options(const ImageFolderOptions& options) {
  if (options.size < 1)
    throw Error("folder: size must be at least 1, got " + std::to_string(options.size), ErrorKind::usage);
  check_limit("folder: size", static_cast<double>(options.size), kMaxImageSide, ErrorKind::usage);
  if (options.channels != 1 && options.channels != 3)
    throw Error("folder: channels must be 1 or 3, got " + std::to_string(options.channels), ErrorKind::usage);
}

}  // namespace

DatasetPtr load_image_folder(const std::string& dir, Split split, const ImageFolderOptions& options) {
  // Checked here rather than at the first get(), so that a run fails before it starts.
  if (!ZOO_HAVE_OPENCV) throw Error("folder: datasets need OpenCV; this zoo was built without it");
  check_options(options);
  if (!is_folder(dir)) throw Error(dir + ": no such directory");
  const bool has_split_folders = is_folder(fs::path(dir) / "train") && is_folder(fs::path(dir) / "test");
  const fs::path root = has_split_folders ? fs::path(dir) / to_string(split) : fs::path(dir);

  DatasetInfo info{"folder:" + dir, {options.channels, options.size, options.size}, sorted_subfolders(root)};
  if (info.classes.empty())
    throw Error(root.string() + ": no class folders (expected one sub-folder of images per class, e.g. " +
                (root / "cat" / "0001.png").string() + ")");
  check_limit(root.string() + ": the number of class folders", static_cast<double>(info.classes.size()), kMaxClasses);
  // Labels are positions in the class list, so both splits must have the same one.
  if (has_split_folders && split == Split::test) {
    const fs::path train_root = fs::path(dir) / "train";
    const std::vector<std::string> train_classes = sorted_subfolders(train_root);
    for (const std::string& name : info.classes)
      if (!std::binary_search(train_classes.begin(), train_classes.end(), name))
        throw Error((root / name).string() + ": class '" + name + "' has no folder in " + train_root.string() +
                    " (the test split's classes must be the training split's)");
    for (const std::string& name : train_classes)
      if (!std::binary_search(info.classes.begin(), info.classes.end(), name))
        throw Error(root.string() + ": no folder for the training class '" + name +
                    "' (the test split's classes must be the training split's)");
  }
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
