#include "data/tabular/csv_table.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace zoo::data {
namespace {

const std::vector<std::string> kDateParts = {"year", "month", "day", "day_of_year", "weekday"};

bool parse_number(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(value);
}

bool leap(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct Date {
  int64_t year, month, day;
};

bool split_date(const std::string& text, Date& date) {
  if (text.size() != 10 || (text[4] != '-' && text[4] != '/') || text[7] != text[4]) return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (text[i] < '0' || text[i] > '9') return false;
  date = {std::stoll(text.substr(0, 4)), std::stoll(text.substr(5, 2)), std::stoll(text.substr(8, 2))};
  static const int64_t month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (date.month < 1 || date.month > 12 || date.day < 1) return false;
  const int64_t days = month_days[date.month - 1] + (date.month == 2 && leap(date.year) ? 1 : 0);
  return date.day <= days;
}

double date_part(const std::string& text, const std::string& part) {
  Date d{};
  split_date(text, d);
  const int64_t days = days_from_civil(d.year, d.month, d.day);
  if (part == "year") return static_cast<double>(d.year);
  if (part == "month") return static_cast<double>(d.month);
  if (part == "day") return static_cast<double>(d.day);
  if (part == "day_of_year") return static_cast<double>(days - days_from_civil(d.year, 1, 1) + 1);
  return static_cast<double>(((days % 7) + 7 + 3) % 7);  // 1970-01-01 was a Thursday
}

bool fits(ColumnType type, const std::string& value) {
  double ignored = 0;
  if (type == ColumnType::number) return parse_number(value, ignored);
  if (type == ColumnType::date) return parse_date(value, ignored);
  return true;
}

// Splits CSV text into records of fields, with the line each record starts on.
struct Record {
  std::vector<std::string> fields;
  int64_t line;
};

std::vector<Record> split_records(const std::string& text, char delimiter, const std::string& source) {
  std::vector<Record> records;
  Record record{{}, 1};
  std::string field;
  bool quoted = false, field_started = false;
  int64_t line = 1;
  auto end_record = [&] {
    record.fields.push_back(field);
    field.clear();
    field_started = false;
    const bool blank = record.fields.size() == 1 && record.fields[0].empty();
    if (!blank) records.push_back(record);
    record = {{}, line};
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == delimiter) {
      record.fields.push_back(field);
      field.clear();
      field_started = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++line;
      end_record();
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted)
    throw Error(source + ": a quoted field opened on line " + std::to_string(record.line) + " never closes",
                ErrorKind::input);
  if (field_started || !record.fields.empty()) end_record();
  return records;
}

}  // namespace

std::string to_string(ColumnType type) {
  switch (type) {
    case ColumnType::number: return "number";
    case ColumnType::date: return "date";
    case ColumnType::text: break;
  }
  return "text";
}

ColumnType parse_column_type(const std::string& name) {
  if (name == "number") return ColumnType::number;
  if (name == "text") return ColumnType::text;
  if (name == "date") return ColumnType::date;
  throw Error("column type " + name + ": expected number, text or date", ErrorKind::usage);
}

bool parse_date(const std::string& text, double& days) {
  Date d{};
  if (!split_date(text, d)) return false;
  days = static_cast<double>(days_from_civil(d.year, d.month, d.day));
  return true;
}

Table::Table(std::vector<std::string> names, std::vector<ColumnType> types,
             std::vector<std::vector<std::string>> columns, std::string source)
    : names_(std::move(names)), types_(std::move(types)), columns_(std::move(columns)), source_(std::move(source)) {
  rows_ = columns_.empty() ? 0 : static_cast<int64_t>(columns_[0].size());
}

size_t Table::index_of(const std::string& column) const {
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == column) return i;
  std::string known;
  for (const std::string& n : names_) known += (known.empty() ? "" : ", ") + n;
  throw Error(source_ + ": no column '" + column + "' (columns: " + known + ")", ErrorKind::input);
}

bool Table::has(const std::string& key) const {
  for (const std::string& n : names_)
    if (n == key) return true;
  const size_t dot = key.rfind('.');
  if (dot == std::string::npos) return false;
  const std::string base = key.substr(0, dot), part = key.substr(dot + 1);
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == base && types_[i] == ColumnType::date)
      for (const std::string& p : kDateParts)
        if (p == part) return true;
  return false;
}

ColumnType Table::type(const std::string& key) const {
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == key) return types_[i];
  if (has(key)) return ColumnType::number;  // a date part
  return types_[index_of(key)];             // throws, naming the columns
}

std::vector<std::string> Table::text(const std::string& key) const {
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == key) return columns_[i];
  std::vector<std::string> out;
  for (double v : numbers(key)) out.push_back(std::to_string(static_cast<int64_t>(v)));
  return out;
}

std::vector<double> Table::numbers(const std::string& key) const {
  if (!has(key)) index_of(key);  // throws
  std::vector<double> out;
  out.reserve(static_cast<size_t>(rows_));
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] != key) continue;
    if (types_[i] == ColumnType::text)
      throw Error(source_ + ": column '" + key + "' is text, not a number", ErrorKind::input);
    for (const std::string& value : columns_[i]) {
      double v = 0;
      if (types_[i] == ColumnType::number)
        parse_number(value, v);
      else
        parse_date(value, v);
      out.push_back(v);
    }
    return out;
  }
  const size_t dot = key.rfind('.');
  const std::string part = key.substr(dot + 1);
  for (const std::string& value : columns_[index_of(key.substr(0, dot))]) out.push_back(date_part(value, part));
  return out;
}

Table Table::select(const std::vector<int64_t>& indices) const {
  std::vector<std::vector<std::string>> columns(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    columns[c].reserve(indices.size());
    for (int64_t i : indices) {
      if (i < 0 || i >= rows_) throw Error(source_ + ": row " + std::to_string(i) + " out of range", ErrorKind::input);
      columns[c].push_back(columns_[c][static_cast<size_t>(i)]);
    }
  }
  Table out(names_, types_, std::move(columns), source_);
  out.rows_ = static_cast<int64_t>(indices.size());
  return out;
}

Table parse_csv(const std::string& text, const std::string& source, const CsvOptions& options) {
  const std::vector<Record> records = split_records(text, options.delimiter, source);
  if (records.empty())
    throw Error(source + ": empty file (expected a header line naming the columns)", ErrorKind::input);
  const std::vector<std::string>& names = records[0].fields;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty())
      throw Error(source + ": column " + std::to_string(i + 1) + " of the header has no name", ErrorKind::input);
    for (size_t j = 0; j < i; ++j)
      if (names[j] == names[i]) throw Error(source + ": column '" + names[i] + "' is named twice", ErrorKind::input);
  }
  for (const auto& [name, type] : options.types) {
    bool found = false;
    for (const std::string& n : names) found = found || n == name;
    if (!found) throw Error(source + ": no column '" + name + "' to read as " + to_string(type), ErrorKind::input);
  }
  std::vector<std::vector<std::string>> columns(names.size());
  for (size_t r = 1; r < records.size(); ++r) {
    const Record& record = records[r];
    if (record.fields.size() != names.size())
      throw Error(source + " line " + std::to_string(record.line) + ": " + std::to_string(record.fields.size()) +
                      " fields, the header has " + std::to_string(names.size()),
                  ErrorKind::input);
    for (size_t c = 0; c < names.size(); ++c) columns[c].push_back(record.fields[c]);
  }
  std::vector<ColumnType> types;
  for (size_t c = 0; c < names.size(); ++c) {
    const auto given = options.types.find(names[c]);
    if (given == options.types.end()) {
      ColumnType inferred = ColumnType::text;
      for (ColumnType candidate : {ColumnType::number, ColumnType::date}) {
        bool all = !columns[c].empty();
        for (const std::string& v : columns[c]) all = all && fits(candidate, v);
        if (all) {
          inferred = candidate;
          break;
        }
      }
      types.push_back(inferred);
      continue;
    }
    types.push_back(given->second);
    for (size_t r = 0; r < columns[c].size(); ++r)
      if (!fits(given->second, columns[c][r]))
        throw Error(source + " line " + std::to_string(records[r + 1].line) + ", column '" + names[c] + "': '" +
                        columns[c][r] + "' is not a " +
                        (given->second == ColumnType::date ? "date (YYYY-MM-DD)" : "number"),
                    ErrorKind::input);
  }
  return Table(names, types, std::move(columns), source);
}

Table read_csv(const std::string& path, const CsvOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open CSV file " + path, ErrorKind::input);
  std::ostringstream text;
  text << in.rdbuf();
  return parse_csv(text.str(), path, options);
}

}  // namespace zoo::data
