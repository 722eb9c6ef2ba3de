#pragma once
// Tables read from CSV files, with typed columns: the raw records a tabular model starts
// from (data/tabular/feature_columns.h turns them into tensors).
//
// The first line names the columns. Fields are separated by commas and may be quoted with
// double quotes (RFC 4180: "" inside quotes is a quote; quoted fields may hold commas).
// Each column has a type:
//   number   a decimal number ("3.5", "-1e3"); every row must have one
//   text     any string (categories, names)
//   date     YYYY-MM-DD (or YYYY/MM/DD); read as a number of days since 1970-01-01, and its parts are
//            columns of their own: NAME.year, NAME.month (1–12), NAME.day (1–31),
//            NAME.day_of_year (1–366), NAME.weekday (0 = Monday)
// Types come from the reader's options, or are inferred: number when every value parses,
// date when every value is a date, text otherwise. A value that does not parse as its
// column's type is an error naming the file, the line and the column.
#include <map>
#include <string>
#include <vector>

namespace zoo::data {

enum class ColumnType { number, text, date };
std::string to_string(ColumnType type);
ColumnType parse_column_type(const std::string& name);  // zoo::Error(usage) for other names

struct CsvOptions {
  std::map<std::string, ColumnType> types;  // columns not named here are inferred
  char delimiter = ',';
};

class Table {
 public:
  Table() = default;
  Table(std::vector<std::string> names, std::vector<ColumnType> types, std::vector<std::vector<std::string>> columns,
        std::string source);

  int64_t rows() const { return rows_; }
  const std::vector<std::string>& names() const { return names_; }
  const std::string& source() const { return source_; }  // the file, for messages
  bool has(const std::string& key) const;
  ColumnType type(const std::string& key) const;
  // The values of a column as written in the file (any type; date parts as their numbers).
  std::vector<std::string> text(const std::string& key) const;
  // A number, date or date-part column as numbers; zoo::Error(input) naming the key for a
  // text column or an unknown key (listing the known ones).
  std::vector<double> numbers(const std::string& key) const;
  // The rows at `indices`, in that order.
  Table select(const std::vector<int64_t>& indices) const;

 private:
  size_t index_of(const std::string& column) const;

  std::vector<std::string> names_;
  std::vector<ColumnType> types_;
  std::vector<std::vector<std::string>> columns_;  // raw fields, one vector per column
  int64_t rows_ = 0;
  std::string source_;
};

Table read_csv(const std::string& path, const CsvOptions& options = {});
// The same from text in memory (`source` names it in messages).
Table parse_csv(const std::string& text, const std::string& source, const CsvOptions& options = {});

// Days since 1970-01-01 of "YYYY-MM-DD" or "YYYY/MM/DD"; false when the text is not such a date.
bool parse_date(const std::string& text, double& days);

}  // namespace zoo::data
