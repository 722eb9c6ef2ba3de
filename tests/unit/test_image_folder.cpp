#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "core/error.h"
#include "core/image.h"
#include "data/image_folder.h"
#include "support/test_support.h"
#include "zoo/build_config.h"

using zoo::test::throws_error_with;

namespace {

namespace fs = std::filesystem;
using zoo::data::ImageFolderOptions;
using zoo::data::load_image_folder;
using zoo::data::Split;
using zoo::test::TempDir;

}  // namespace

#if ZOO_HAVE_OPENCV

namespace {

// Writes an RGB image [3, H, W] with values in [0, 1], creating the folders on the way.
void write_image(const std::string& path, const torch::Tensor& image) {
  fs::create_directories(fs::path(path).parent_path());
  zoo::save_image(path, image);
}

// A gray 6x5 image whose every value is level / 255: the example's pixel tells its file.
void write_gray(const std::string& path, int level) { write_image(path, torch::full({3, 6, 5}, level / 255.0)); }

std::string numbered(const std::string& folder, int index) {
  return folder + "/img" + (index < 10 ? "0" : "") + std::to_string(index) + ".png";
}

ImageFolderOptions with_size(int64_t size, int64_t channels = 3) {
  ImageFolderOptions options;
  options.size = size;
  options.channels = channels;
  return options;
}

}  // namespace

TEST(ImageFolder, ClassesAreSortedFoldersAndEveryTenthImageIsATestImage) {
  TempDir dir;
  for (int i = 0; i < 12; ++i) write_gray(numbered(dir.file("cat"), i), 10 * i);
  for (int i = 0; i < 3; ++i) write_gray(numbered(dir.file("dog"), i), 200 + i);
  zoo::test::write_bytes(dir.file("cat/notes.txt"), "not an image");
  zoo::test::write_bytes(dir.file("README"), "not a class");

  const auto train = load_image_folder(dir.path(), Split::train, with_size(4));
  const auto test = load_image_folder(dir.path(), Split::test, with_size(4));
  EXPECT_EQ(train->info().classes, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(train->info().shape, (std::vector<int64_t>{3, 4, 4}));
  ASSERT_EQ(train->size(), 11 + 3);
  ASSERT_EQ(test->size(), 1);
  // The test image is cat number 9, and the train images are all the others in order.
  EXPECT_EQ(test->get(0).label, 0);
  EXPECT_NEAR(test->get(0).input.mean().item<float>(), 90 / 255.0, 1e-6);
  const std::vector<int> train_levels = {0, 10, 20, 30, 40, 50, 60, 70, 80, 100, 110, 200, 201, 202};
  for (int64_t i = 0; i < train->size(); ++i) {
    const zoo::data::Example example = train->get(i);
    EXPECT_EQ(example.label, i < 11 ? 0 : 1);
    EXPECT_NEAR(example.input.max().item<float>(), train_levels[i] / 255.0, 1e-6) << i;
    EXPECT_NEAR(example.input.min().item<float>(), train_levels[i] / 255.0, 1e-6) << i;
  }
}

TEST(ImageFolder, TrainAndTestFoldersAreUsedWhenBothExist) {
  TempDir dir;
  write_gray(dir.file("train/a/1.png"), 1);
  write_gray(dir.file("train/a/2.png"), 2);
  write_gray(dir.file("train/b/3.png"), 3);
  write_gray(dir.file("test/a/4.png"), 4);
  write_gray(dir.file("test/b/5.png"), 5);
  const auto train = load_image_folder(dir.path(), Split::train, with_size(2));
  const auto test = load_image_folder(dir.path(), Split::test, with_size(2));
  EXPECT_EQ(train->info().classes, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(train->size(), 3);
  ASSERT_EQ(test->size(), 2);
  EXPECT_EQ(test->get(1).label, 1);
  EXPECT_NEAR(test->get(1).input.mean().item<float>(), 5 / 255.0, 1e-6);
}

TEST(ImageFolder, ChannelsAreRgbOrGray) {
  TempDir dir;
  torch::Tensor red = torch::zeros({3, 5, 7});
  red[0] = 1.0;
  write_image(dir.file("red/red.png"), red);
  // The extension is matched in any case.
  fs::rename(dir.file("red/red.png"), dir.file("red/red.PNG"));

  const torch::Tensor rgb = load_image_folder(dir.path(), Split::train, with_size(4))->get(0).input;
  ASSERT_EQ(rgb.sizes(), torch::IntArrayRef({3, 4, 4}));
  EXPECT_TRUE(torch::equal(rgb[0], torch::ones({4, 4})));
  EXPECT_TRUE(torch::equal(rgb[2], torch::zeros({4, 4})));

  const torch::Tensor gray = load_image_folder(dir.path(), Split::train, with_size(4, 1))->get(0).input;
  ASSERT_EQ(gray.sizes(), torch::IntArrayRef({1, 4, 4}));
  EXPECT_NEAR(gray.mean().item<float>(), 0.299, 2 / 255.0);  // ITU-R 601 luma of pure red
}

TEST(ImageFolder, TheShorterSideIsResizedAndTheCentreCropped) {
  TempDir dir;
  // 20 x 60 and 60 x 20 images, white in their middle third only: halving them to 10 x 30
  // and keeping the central 10 x 10 leaves all white, any other crop or scale some black.
  torch::Tensor wide = torch::zeros({3, 20, 60});
  wide.slice(2, 20, 40).fill_(1.0);
  write_image(dir.file("shapes/a_wide.png"), wide);
  write_image(dir.file("shapes/b_tall.png"), wide.transpose(1, 2));
  // A 3 x 6 image grows to 6 x 12.
  write_image(dir.file("shapes/c_small.png"), torch::full({3, 3, 6}, 0.5));

  const auto data = load_image_folder(dir.path(), Split::train, with_size(10));
  ASSERT_EQ(data->size(), 3);
  for (int64_t i = 0; i < 2; ++i) {
    const torch::Tensor image = data->get(i).input;
    ASSERT_EQ(image.sizes(), torch::IntArrayRef({3, 10, 10}));
    EXPECT_TRUE(torch::allclose(image, torch::ones({3, 10, 10}))) << i;
  }
  const auto grown = load_image_folder(dir.path(), Split::train, with_size(6))->get(2).input;
  ASSERT_EQ(grown.sizes(), torch::IntArrayRef({3, 6, 6}));
  EXPECT_TRUE(torch::allclose(grown, torch::full({3, 6, 6}, 128 / 255.0)));
}

TEST(ImageFolder, ACorruptImageFailsWhenReadNamingTheFile) {
  TempDir dir;
  fs::create_directories(dir.file("a"));
  zoo::test::write_bytes(dir.file("a/bad.png"), "this is not a PNG file");
  write_gray(dir.file("a/good.png"), 7);
  const auto data = load_image_folder(dir.path(), Split::train, with_size(3));
  ASSERT_EQ(data->size(), 2);
  EXPECT_TRUE(throws_error_with([&] { data->get(0); }, {dir.file("a/bad.png")}));
  EXPECT_NEAR(data->get(1).input.mean().item<float>(), 7 / 255.0, 1e-6);
}

TEST(ImageFolder, EmptyOrMissingFoldersAreErrors) {
  TempDir dir;
  EXPECT_TRUE(
      throws_error_with([&] { load_image_folder(dir.path(), Split::train, {}); }, {dir.path() + ": no class folders"}));
  EXPECT_TRUE(throws_error_with([&] { load_image_folder(dir.file("absent"), Split::train, {}); },
                                {dir.file("absent") + ": no such directory"}));
  write_gray(dir.file("full/1.png"), 1);
  fs::create_directories(dir.file("hollow"));
  zoo::test::write_bytes(dir.file("hollow/notes.txt"), "not an image");
  EXPECT_TRUE(throws_error_with([&] { load_image_folder(dir.path(), Split::train, {}); },
                                {dir.file("hollow") + ": class 'hollow' has no images"}));
}

TEST(ImageFolder, ATestSplitWithNoImagesIsAnError) {
  TempDir dir;
  for (int i = 0; i < 9; ++i) write_gray(numbered(dir.file("few"), i), i);
  EXPECT_EQ(load_image_folder(dir.path(), Split::train, with_size(2))->size(), 9);
  EXPECT_TRUE(throws_error_with([&] { load_image_folder(dir.path(), Split::test, with_size(2)); },
                                {dir.path() + ": no test images"}));
}

TEST(ImageFolder, BadOptionsAreErrors) {
  TempDir dir;
  write_gray(dir.file("a/1.png"), 1);
  EXPECT_TRUE(throws_error_with([&] { load_image_folder(dir.path(), Split::train, with_size(0)); },
                                {"size must be at least 1"}));
  EXPECT_TRUE(throws_error_with([&] { load_image_folder(dir.path(), Split::train, with_size(8, 2)); },
                                {"channels must be 1 or 3"}));
}

TEST(HostileImageFolder, ASymbolicLinkLoopIsAnErrorNamingTheLink) {
  TempDir dir;
  const std::string root = dir.file("data");
  write_gray(root + "/cat/1.png", 1);
  fs::create_directories(root + "/cat/sub");
  fs::create_directory_symlink(root + "/cat", root + "/cat/sub/loop");
  // Followed, the link nested until std::filesystem threw its raw "filesystem error: ...
  // Too many levels of symbolic links".
  EXPECT_TRUE(throws_error_with([&] { load_image_folder(root, Split::train, with_size(2)); },
                                {root + "/cat/sub/loop: a symbolic link loop (it leads to "}));
  // A link to a folder outside the walk is followed, as torchvision follows it.
  fs::remove(root + "/cat/sub/loop");
  write_gray(dir.file("elsewhere/2.png"), 2);
  fs::create_directory_symlink(dir.file("elsewhere"), root + "/cat/sub/more");
  EXPECT_EQ(load_image_folder(root, Split::train, with_size(2))->size(), 2);
}

TEST(HostileImageFolder, ADanglingImageLinkIsAnErrorAtLoad) {
  TempDir dir;
  write_gray(dir.file("cat/1.png"), 1);
  fs::create_symlink(dir.file("nowhere.png"), dir.file("cat/2.png"));
  EXPECT_TRUE(throws_error_with([&] { load_image_folder(dir.path(), Split::train, with_size(2)); },
                                {dir.file("cat/2.png") + ": not a readable image file"}));
}

TEST(HostileImageFolder, TheImageSizeIsLimitedBeforeAnyImageIsRead) {
  TempDir dir;
  write_gray(dir.file("cat/1.png"), 1);
  // size=100000 made get() resize every image to 100000 x 100000 x 3 floats (120 GB).
  EXPECT_TRUE(throws_error_with(
      [&] { load_image_folder(dir.path(), Split::train, with_size(100000)); },
      {"folder: size is 100000, over the limit of 4096 pixels a side (kMaxImageSide in core/limits.h)"}));
  EXPECT_EQ(load_image_folder(dir.path(), Split::train, with_size(4096))->info().shape,
            (std::vector<int64_t>{3, 4096, 4096}));
}

TEST(HostileImageFolder, TheTestFolderMustHaveTheTrainingClasses) {
  TempDir dir;
  write_gray(dir.file("train/a/1.png"), 1);
  write_gray(dir.file("train/b/2.png"), 2);
  write_gray(dir.file("test/a/3.png"), 3);
  write_gray(dir.file("test/c/4.png"), 4);
  // Labels are positions in each split's sorted class list: test/c got label 1, b's.
  EXPECT_TRUE(throws_error_with([&] { load_image_folder(dir.path(), Split::test, with_size(2)); },
                                {dir.file("test/c") + ": class 'c' has no folder in " + dir.file("train")}));
  fs::remove_all(dir.file("test/c"));
  EXPECT_TRUE(throws_error_with([&] { load_image_folder(dir.path(), Split::test, with_size(2)); },
                                {dir.file("test") + ": no folder for the training class 'b'"}));
  write_gray(dir.file("test/b/5.png"), 5);
  EXPECT_EQ(load_image_folder(dir.path(), Split::test, with_size(2))->info().classes,
            load_image_folder(dir.path(), Split::train, with_size(2))->info().classes);
}

#else

TEST(ImageFolder, SaysThatItNeedsOpenCV) {
  TempDir dir;
  EXPECT_TRUE(throws_error_with([&] { load_image_folder(dir.path(), Split::train, {}); },
                                {"folder: datasets need OpenCV; this zoo was built without it"}));
}

#endif
