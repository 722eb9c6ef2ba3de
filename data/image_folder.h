#pragma once
// A folder of image files with one sub-folder per class, as torchvision's ImageFolder reads:
//
//   DIR/cat/0001.jpg  DIR/cat/0002.jpg ...  DIR/dog/a.png ...
//
// Class names are the sub-folder names in sorted order. A class's images are the files in
// its folder and the folders below it with the extensions png jpg jpeg bmp ppm pgm webp
// tif tiff (in any case), sorted by path.
//
// Symbolic links are followed; a link back into a folder that contains it (a loop) is an
// error naming the link, and so is a file with an image extension that is not a readable
// file (a dangling link).
//
// Splits: when DIR/train and DIR/test both exist, each is such a folder of classes and the
// split reads its own; both must have the same class folders, since a label is a class's
// position in the sorted list. Otherwise both splits come from DIR: the image at index i of a
// class's sorted list is a test image when i % 10 == 9 and a train image otherwise, a
// fixed 90/10 split that needs no seed and gives the same answer on every run.
//
// Files are listed when the dataset is loaded, so a missing folder, no class folders or a
// class without images is reported at once; images are decoded lazily in get(), which
// reports an unreadable file by name. get() returns float [channels, size, size] in [0, 1]:
// RGB (or grayscale for channels = 1), the shorter side resized to `size` (area averaging
// when shrinking, bilinear when growing) and the centre cropped to a square.
// Needs OpenCV: a build without it throws a zoo::Error saying so.
#include <cstdint>
#include <string>

#include "data/dataset.h"

namespace zoo::data {

struct ImageFolderOptions {
  int64_t size = 64;     // side of the square images returned, at most kMaxImageSide (core/limits.h)
  int64_t channels = 3;  // 3 for RGB, 1 for grayscale
};

DatasetPtr load_image_folder(const std::string& dir, Split split, const ImageFolderOptions& options);

}  // namespace zoo::data
