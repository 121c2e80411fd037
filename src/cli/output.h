// How linectl prints: one JSON document for --json, otherwise aligned tables and key/value
// listings. Ids are always printed whole (they are what the next command takes).
#pragma once

#include <boost/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/command.h"

namespace line::cli {

namespace json = boost::json;

// The document on one line, then a newline.
void PrintJson(Context& ctx, const json::value& document);

// Columns separated by two spaces; a column of numbers (and "-") is right-aligned. Not thread-safe
// (a plain value).
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  size_t size() const { return rows_.size(); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "key:  value" lines with the values aligned.
void PrintFields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields);

// A field of an API object as table text: strings as they are, integers, yes/no for booleans,
// arrays of strings comma-separated, other JSON serialized; "-" for absent, null, "" and [].
std::string Text(const json::object& object, std::string_view key);
// A JSON-valued field (payload, result) serialized, so a JSON string keeps its quotes; "-" when
// absent or null.
std::string JsonText(const json::object& object, std::string_view key);
// An integer field (0 when absent or not an integer).
int64_t Int(const json::object& object, std::string_view key);
// A Unix-seconds deadline relative to now: "in 27s", "3s ago".
std::string Until(const json::object& object, std::string_view key);
// The items of a list answer's array `field` (none when absent).
std::vector<json::object> Items(const json::object& answer, std::string_view field);

}  // namespace line::cli
