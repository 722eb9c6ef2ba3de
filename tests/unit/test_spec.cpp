#include <gtest/gtest.h>

#include "core/error.h"
#include "data/spec.h"

using namespace zoo::data;

TEST(DataSpec, ParsesKindPathAndOptions) {
  const DataSpec spec = parse_data_spec("folder:/data/pets,size=32,channels=1");
  EXPECT_EQ(spec.kind, "folder");
  EXPECT_EQ(spec.path, "/data/pets");
  EXPECT_EQ(spec.options.at("size"), "32");
  EXPECT_EQ(spec.options.at("channels"), "1");
  const DataSpec plain = parse_data_spec("fashion-mnist");
  EXPECT_EQ(plain.kind, "fashion-mnist");
  EXPECT_TRUE(plain.path.empty());
  EXPECT_TRUE(plain.options.empty());
}

TEST(DataSpec, BadSpecsAreUsageErrors) {
  for (const char* text : {"", "nonsense", "toy:moons,n", "toy:moons,train=0", "toy:moons,colour=red", "mnist",
                           "cifar100:/x,labels=medium", "toy:moons,=3"}) {
    try {
      open_dataset(text, Split::train);
      FAIL() << "accepted '" << text << "'";
    } catch (const zoo::Error& e) {
      EXPECT_EQ(e.exit_code(), 2) << text;
    }
  }
}

TEST(DataSpec, ToySizesAndLimit) {
  EXPECT_EQ(open_dataset("toy:moons,train=300,test=30", Split::train)->size(), 300);
  EXPECT_EQ(open_dataset("toy:moons,train=300,test=30", Split::test)->size(), 30);
  EXPECT_EQ(open_dataset("toy:moons", Split::train, 100)->size(), 100);
  EXPECT_EQ(open_dataset("toy:8gaussians", Split::train)->info().shape, (std::vector<int64_t>{2}));
}

TEST(DataSpec, FashionMnistIsTheDefaultDirectory) {
  const DatasetPtr test = open_dataset("fashion-mnist", Split::test, 16);
  EXPECT_EQ(test->size(), 16);
  EXPECT_EQ(test->info().classes.at(9), "Ankle boot");
  EXPECT_EQ(test->get(0).input.sizes(), (std::vector<int64_t>{1, 28, 28}));
}
