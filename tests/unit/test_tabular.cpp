// Tabular data: the CSV reader (types, quoting, dates, errors naming the line and column),
// every feature-column type's output, vocabulary and hash stability, crossed columns, the
// fitted specification's round trip, the row split, and the network's indicator and
// embedding inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "data/tabular/csv_table.h"
#include "data/tabular/feature_columns.h"
#include "data/tabular/tabular_dataset.h"
#include "models/tabular/tabular_net.h"
#include "support/test_support.h"

using namespace zoo::data;
using zoo::test::throws_error_with;
using Json = nlohmann::json;

namespace {

const char* kWeather =
    "date,precipitation,temp,city,weather\n"
    "2012-01-01,0.0,12.8,Seattle,drizzle\n"
    "2012-01-02,10.9,10.6,\"Portland, OR\",rain\n"
    "2012/02/29,0.8,11.7,Seattle,rain\r\n"
    "2012-12-31,20.3,-1.5,\"Say \"\"hi\"\"\",snow\n";

Table weather() { return parse_csv(kWeather, "weather.csv"); }

FeatureColumns columns(const Json& list) { return FeatureColumns::from_json({{"columns", list}}); }

// The single column of an encoding.
std::vector<double> encoded(const FeatureColumns& c, const Table& t) {
  const torch::Tensor e = c.encode(t).to(torch::kDouble).contiguous();
  EXPECT_EQ(e.size(1), 1);
  return {e.data_ptr<double>(), e.data_ptr<double>() + e.numel()};
}

}  // namespace

TEST(CsvTable, ReadsTypesQuotesAndLineEndings) {
  const Table t = weather();
  EXPECT_EQ(t.rows(), 4);
  EXPECT_EQ(t.names(), (std::vector<std::string>{"date", "precipitation", "temp", "city", "weather"}));
  EXPECT_EQ(t.type("precipitation"), ColumnType::number);
  EXPECT_EQ(t.type("date"), ColumnType::date);
  EXPECT_EQ(t.type("city"), ColumnType::text);
  EXPECT_EQ(t.text("city"), (std::vector<std::string>{"Seattle", "Portland, OR", "Seattle", "Say \"hi\""}));
  EXPECT_EQ(t.numbers("temp"), (std::vector<double>{12.8, 10.6, 11.7, -1.5}));
  EXPECT_TRUE(throws_error_with([&] { t.numbers("city"); }, {"city", "text"}));
  EXPECT_TRUE(throws_error_with([&] { t.numbers("humidity"); }, {"humidity", "precipitation"}));
}

TEST(CsvTable, DatesAndTheirParts) {
  double days = 0;
  ASSERT_TRUE(parse_date("2012-01-01", days));
  EXPECT_EQ(days, 15340);  // 42 years of 365 days + 10 leap days since 1970
  EXPECT_FALSE(parse_date("2013-02-29", days));
  EXPECT_FALSE(parse_date("2012-13-01", days));
  EXPECT_FALSE(parse_date("2012-01-1", days));
  const Table t = weather();
  EXPECT_EQ(t.numbers("date.month"), (std::vector<double>{1, 1, 2, 12}));
  EXPECT_EQ(t.numbers("date.day_of_year"), (std::vector<double>{1, 2, 60, 366}));
  // 1 January 2012 was a Sunday, 2 January a Monday (0), 29 February a Wednesday.
  EXPECT_EQ(t.numbers("date.weekday"), (std::vector<double>{6, 0, 2, 0}));
  EXPECT_EQ(t.numbers("date.year"), (std::vector<double>{2012, 2012, 2012, 2012}));
}

TEST(CsvTable, BadValuesNameTheLineAndColumn) {
  CsvOptions typed;
  typed.types["temp"] = ColumnType::number;
  const std::string bad = "date,temp\n2012-01-01,1.5\n2012-01-02,warm\n";
  EXPECT_TRUE(
      throws_error_with([&] { parse_csv(bad, "t.csv", typed); }, {"t.csv line 3", "'temp'", "'warm'", "number"}));
  EXPECT_TRUE(throws_error_with([] { parse_csv("a,b\n1,2\n3\n", "t.csv"); }, {"line 3", "1 fields", "2"}));
  EXPECT_TRUE(throws_error_with([] { parse_csv("a,b\n\"1,2\n", "t.csv"); }, {"never closes"}));
  EXPECT_TRUE(throws_error_with([] { parse_csv("", "t.csv"); }, {"empty"}));
  EXPECT_TRUE(throws_error_with([] { parse_csv("a,a\n1,2\n", "t.csv"); }, {"'a'", "twice"}));
  CsvOptions dates;
  dates.types["d"] = ColumnType::date;
  EXPECT_TRUE(throws_error_with([&] { parse_csv("d\n2012-02-30\n", "t.csv", dates); }, {"line 2", "'d'", "date"}));
  EXPECT_TRUE(throws_error_with([&] { read_csv("/nonexistent/x.csv"); }, {"/nonexistent/x.csv"}));
}

TEST(FeatureColumns, NumericNormalizers) {
  const Table t = weather();
  const std::vector<double> temp = {12.8, 10.6, 11.7, -1.5};
  double mean = 0, var = 0;
  for (double v : temp) mean += v / 4;
  for (double v : temp) var += (v - mean) * (v - mean) / 4;
  FeatureColumns standard = columns({{{"type", "numeric"}, {"key", "temp"}, {"normalizer", "standard"}}});
  standard.fit(t);
  FeatureColumns minmax = columns({{{"type", "numeric"}, {"key", "temp"}, {"normalizer", "minmax"}}});
  minmax.fit(t);
  const std::vector<double> s = encoded(standard, t), m = encoded(minmax, t);
  for (size_t i = 0; i < temp.size(); ++i) {
    EXPECT_NEAR(s[i], (temp[i] - mean) / std::sqrt(var), 1e-5);
    EXPECT_NEAR(m[i], (temp[i] + 1.5) / 14.3, 1e-6);
  }
  FeatureColumns raw = columns({{{"type", "numeric"}, {"key", "date.month"}}});
  EXPECT_EQ(encoded(raw, t), (std::vector<double>{1, 1, 2, 12}));
}

TEST(FeatureColumns, BucketizedVocabularyHashAndIdentity) {
  const Table t = parse_csv("x,word,n\n-5,b,0\n0,a,3\n5,zz,1\n10,b,2\n15,a,0\n", "t.csv");
  auto indicator = [](const Json& categorical) {
    return Json::array({{{"type", "indicator"}, {"categorical", categorical}}});
  };
  FeatureColumns buckets = columns(indicator({{"type", "bucketized"}, {"key", "x"}, {"boundaries", {0, 10}}}));
  EXPECT_EQ(encoded(buckets, t), (std::vector<double>{0, 1, 1, 2, 2}));
  EXPECT_EQ(buckets.slots()[0].buckets, 3);

  FeatureColumns listed = columns(indicator({{"type", "vocabulary"}, {"key", "word"}, {"vocabulary", {"a", "b"}}}));
  EXPECT_EQ(encoded(listed, t), (std::vector<double>{1, 0, -1, 1, 0}));
  FeatureColumns oov =
      columns(indicator({{"type", "vocabulary"}, {"key", "word"}, {"vocabulary", {"a", "b"}}, {"oov_buckets", 3}}));
  EXPECT_EQ(encoded(oov, t)[2], 2 + static_cast<double>(fnv1a64("zz") % 3));
  EXPECT_EQ(oov.slots()[0].buckets, 5);
  FeatureColumns learned = columns(indicator({{"type", "vocabulary"}, {"key", "word"}}));
  learned.fit(t);  // sorted: a, b, zz
  EXPECT_EQ(encoded(learned, t), (std::vector<double>{1, 0, 2, 1, 0}));

  zoo::test::TempDir dir;
  zoo::test::write_bytes(dir.file("words.txt"), "zz\nb\n");
  FeatureColumns from_file = FeatureColumns::from_json(
      {{"columns", indicator({{"type", "vocabulary"}, {"key", "word"}, {"vocabulary_file", "words.txt"}})}},
      dir.path());
  EXPECT_EQ(encoded(from_file, t), (std::vector<double>{1, -1, 0, 1, -1}));

  // FNV-1a 64's published test vectors, and ids that are the hash modulo the buckets.
  EXPECT_EQ(fnv1a64(""), 14695981039346656037ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  FeatureColumns hashed = columns(indicator({{"type", "hash"}, {"key", "word"}, {"buckets", 7}}));
  const std::vector<double> ids = encoded(hashed, t);
  EXPECT_EQ(ids[0], static_cast<double>(fnv1a64("b") % 7));
  EXPECT_EQ(ids[0], ids[3]);
  EXPECT_EQ(ids, encoded(hashed, t));

  FeatureColumns identity = columns(indicator({{"type", "identity"}, {"key", "n"}, {"buckets", 4}}));
  EXPECT_EQ(encoded(identity, t), (std::vector<double>{0, 3, 1, 2, 0}));
  FeatureColumns narrow = columns(indicator({{"type", "identity"}, {"key", "n"}, {"buckets", 3}}));
  EXPECT_TRUE(throws_error_with([&] { narrow.encode(t); }, {"'n'", "3"}));
  FeatureColumns defaulted = columns(indicator({{"type", "identity"}, {"key", "n"}, {"buckets", 3}, {"default", -1}}));
  EXPECT_EQ(encoded(defaulted, t), (std::vector<double>{0, -1, 1, 2, 0}));
}

TEST(FeatureColumns, CrossedColumnsHashTheCombination) {
  const Table t = parse_csv("a,x\nu,1\nv,1\nu,1\nu,20\n", "t.csv");
  FeatureColumns crossed = columns(Json::array(
      {{{"type", "indicator"},
        {"categorical",
         {{"type", "crossed"},
          {"buckets", 1000},
          {"columns", Json::array({"a", {{"type", "bucketized"}, {"key", "x"}, {"boundaries", {10}}}})}}}}}));
  const std::vector<double> ids = encoded(crossed, t);
  EXPECT_EQ(ids[0], ids[2]);  // (u, bucket 0) twice
  EXPECT_EQ(ids[0], static_cast<double>(fnv1a64(std::string("u\x1f") + "0") % 1000));
  EXPECT_EQ(ids[3], static_cast<double>(fnv1a64(std::string("u\x1f") + "1") % 1000));
  EXPECT_EQ(ids[1], static_cast<double>(fnv1a64(std::string("v\x1f") + "0") % 1000));
}

TEST(FeatureColumns, FittedSpecificationRoundTripsAndNamesItsTypes) {
  const Table t = weather();
  FeatureColumns c = columns(Json::array(
      {{{"type", "numeric"}, {"key", "temp"}, {"normalizer", "standard"}},
       {{"type", "embedding"}, {"dimension", 3}, {"categorical", {{"type", "vocabulary"}, {"key", "city"}}}},
       {{"type", "indicator"}, {"categorical", {{"type", "identity"}, {"key", "date.month"}, {"buckets", 13}}}}}));
  c.fit(t);
  const FeatureColumns again = FeatureColumns::from_json(c.to_json());
  EXPECT_TRUE(torch::equal(c.encode(t), again.encode(t)));
  EXPECT_EQ(c.dense_features(), 1);
  EXPECT_EQ(c.output_width(), 1 + 3 + 13);
  const CsvOptions o = c.csv_options();
  EXPECT_EQ(o.types.at("temp"), ColumnType::number);
  EXPECT_EQ(o.types.at("date"), ColumnType::date);
  EXPECT_TRUE(throws_error_with(
      [] {
        columns(Json::array({{{"type", "bucket"}, {"key", "x"}}}));
      },
      {"bucket", "numeric"}));
  EXPECT_TRUE(throws_error_with(
      [] {
        columns(Json::array({{{"type", "indicator"}, {"categorical", {{"type", "hash"}, {"key", "x"}}}}}));
      },
      {"buckets"}));
  EXPECT_TRUE(throws_error_with(
      [] {
        columns(Json::array({{{"type", "indicator"},
                              {"categorical", {{"type", "bucketized"}, {"key", "x"}, {"boundaries", {2, 1}}}}}}));
      },
      {"increase"}));
}

TEST(TabularDataset, SplitTargetsAndRows) {
  const auto [train, test] = split_rows(100, 0.2, 7);
  EXPECT_EQ(test.size(), 20u);
  EXPECT_EQ(train.size(), 80u);
  std::vector<int64_t> all(train);
  all.insert(all.end(), test.begin(), test.end());
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(all[static_cast<size_t>(i)], i);
  EXPECT_EQ(split_rows(100, 0.2, 7).second, test);
  EXPECT_NE(split_rows(100, 0.2, 8).second, test);

  const Table t = weather();
  const TabularTarget classes = fit_target(t, t, "weather", "auto");
  EXPECT_EQ(classes.task, "classification");
  EXPECT_EQ(classes.classes, (std::vector<std::string>{"drizzle", "rain", "snow"}));
  const TabularTarget numbers = fit_target(t, t, "temp", "auto");
  EXPECT_EQ(numbers.task, "regression");
  FeatureColumns c = columns(Json::array({{{"type", "numeric"}, {"key", "precipitation"}}}));
  const auto labelled = std::static_pointer_cast<const TensorDataset>(tabular_dataset(t, c, classes));
  EXPECT_TRUE(torch::equal(labelled->labels(), torch::tensor({0, 1, 1, 2}, torch::kLong)));
  const auto regression = std::static_pointer_cast<const TensorDataset>(tabular_dataset(t, c, numbers));
  EXPECT_NEAR(regression->targets().mean().item<double>(), 0, 1e-6);
  EXPECT_EQ(regression->get(3).target.item<float>(), regression->targets()[3][0].item<float>());
}

TEST(TabularNet, IndicatorAndEmbeddingInputs) {
  zoo::models::TabularNetOptions o;
  o.dense = 1;
  o.buckets = {3, 4};
  o.embedding_dims = {0, 2};
  zoo::models::TabularNet net(o);
  EXPECT_EQ(net->feature_width(), 1 + 3 + 2);
  const torch::Tensor rows = torch::tensor({{0.5f, 2.f, 1.f}, {-1.f, -1.f, -1.f}});
  const torch::Tensor f = net->features(rows);
  EXPECT_TRUE(torch::equal(f[0].narrow(0, 0, 4), torch::tensor({0.5f, 0.f, 0.f, 1.f})));
  const torch::Tensor table = net->named_parameters()["embeddings.0.weight"];
  EXPECT_TRUE(torch::equal(f[0].narrow(0, 4, 2), table[1]));
  // id −1: no bucket, all zeros in both the indicator and the embedding.
  EXPECT_TRUE(torch::equal(f[1].narrow(0, 1, 5), torch::zeros({5})));
  EXPECT_EQ(net->forward(rows).sizes(), (std::vector<int64_t>{2, 1}));
  EXPECT_TRUE(throws_error_with([&] { net->forward(torch::zeros({2, 4})); }, {"[2, 4]"}));
}

TEST(HostileTabular, BucketsEmbeddingTablesAndTheInputWidthAreLimited) {
  auto categorical = [](const std::string& column, const Json& spec, int64_t dimension = 0) {
    Json c = {{"type", column}, {"categorical", spec}};
    if (dimension > 0) c["dimension"] = dimension;
    return c;
  };
  const Json hash = {{"type", "hash"}, {"key", "city"}, {"buckets", int64_t{100000000000}}};
  // An indicator that wide asked for 1e11 features a row and died with std::bad_alloc.
  EXPECT_TRUE(
      throws_error_with([&] { columns(Json::array({categorical("indicator", hash)})); },
                        {"feature columns[0]: the categorical column's buckets is 100000000000, over the limit of "
                         "1048576 buckets (kMaxBuckets in core/limits.h)"}));
  Json big_hash = hash;
  big_hash["buckets"] = int64_t{1} << 20;  // at the limit: fine alone, too wide twice, too large embedded 4096-wide
  EXPECT_NO_THROW(columns(Json::array({categorical("indicator", big_hash)})));
  EXPECT_TRUE(throws_error_with(
      [&] {
        columns(Json::array({categorical("indicator", big_hash), categorical("indicator", big_hash)}));
      },
      {"the input width", "is 2097152", "kMaxFeatureWidth"}));
  EXPECT_TRUE(throws_error_with(
      [&] { columns(Json::array({categorical("embedding", big_hash, 4096)})); },
      {"feature columns[0]: the embedding table (buckets x dimension) is 4294967296", "kMaxParameters"}));
  const Json oov = {
      {"type", "vocabulary"}, {"key", "city"}, {"vocabulary", Json::array({"a"})}, {"oov_buckets", int64_t{1} << 62}};
  EXPECT_TRUE(throws_error_with([&] { columns(Json::array({categorical("indicator", oov)})); },
                                {"oov_buckets", "kMaxBuckets"}));

  // A target with more distinct values than kMaxClasses is no classification.
  std::string csv = "y\n";
  for (int i = 0; i <= 100000; ++i) csv += "v" + std::to_string(i) + "\n";
  const Table many = parse_csv(csv, "many.csv");
  EXPECT_TRUE(
      throws_error_with([&] { fit_target(many, many, "y", "classification"); },
                        {"many.csv: target 'y': the number of classes (distinct values) is 100001", "kMaxClasses"}));
}

TEST(HostileTabular, TheNetworkRefusesSizesItCannotHold) {
  zoo::models::TabularNetOptions o;
  o.dense = 4;
  o.hidden = 1'000'000'000;
  EXPECT_TRUE(throws_error_with([&] { zoo::models::TabularNet{o}; }, {"tabular net config: hidden", "kMaxChannels"}));
  o.hidden = 60000;  // within kMaxChannels, but two such layers hold 3.6e9 weights
  EXPECT_TRUE(throws_error_with([&] { zoo::models::TabularNet{o}; }, {"the weights it needs", "kMaxParameters"}));
  o.hidden = 8;
  o.layers = 5000;
  EXPECT_TRUE(throws_error_with([&] { zoo::models::TabularNet{o}; }, {"tabular net config: layers", "kMaxBlocks"}));
}
