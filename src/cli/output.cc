#include "cli/output.h"

#include <algorithm>
#include <chrono>

namespace line::cli {
namespace {

bool IsNumberCell(const std::string& cell) {
  if (cell.empty()) return false;
  size_t start = cell[0] == '-' ? 1 : 0;
  return start < cell.size() &&
         std::all_of(cell.begin() + start, cell.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

void PrintJson(Context& ctx, const json::value& document) {
  ctx.out << json::serialize(document) << "\n";
}

void Table::Print(std::ostream& out) const {
  size_t columns = headers_.size();
  std::vector<size_t> widths(columns);
  // Right-aligned: columns with a number and nothing but numbers and "-".
  std::vector<bool> right(columns, true);
  std::vector<bool> any_number(columns, false);
  for (size_t c = 0; c < columns; ++c) widths[c] = headers_[c].size();
  for (const auto& row : rows_) {
    for (size_t c = 0; c < columns && c < row.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
      if (IsNumberCell(row[c])) {
        any_number[c] = true;
      } else if (row[c] != "-") {
        right[c] = false;
      }
    }
  }
  for (size_t c = 0; c < columns; ++c) right[c] = right[c] && any_number[c];
  auto print_row = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < columns; ++c) {
      const std::string cell = c < cells.size() ? cells[c] : "";
      std::string pad(widths[c] - cell.size(), ' ');
      if (c > 0) line += "  ";
      if (right[c]) {
        line += pad + cell;
      } else {
        line += cell;
        if (c + 1 < columns) line += pad;  // no trailing blanks
      }
    }
    out << line << "\n";
  };
  print_row(headers_);
  for (const auto& row : rows_) print_row(row);
}

void PrintFields(std::ostream& out,
                 const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& field : fields) width = std::max(width, field.first.size());
  for (const auto& [key, value] : fields) {
    out << key << ":" << std::string(width - key.size() + 2, ' ') << value << "\n";
  }
}

std::string Text(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return "-";
  if (value->is_string()) {
    return value->as_string().empty() ? "-" : std::string(value->as_string());
  }
  if (value->is_bool()) return value->as_bool() ? "yes" : "no";
  if (value->is_array()) {
    const json::array& items = value->as_array();
    if (items.empty()) return "-";
    if (std::all_of(items.begin(), items.end(),
                    [](const json::value& v) { return v.is_string(); })) {
      std::string joined;
      for (const json::value& item : items) {
        if (!joined.empty()) joined += ",";
        joined += item.as_string();
      }
      return joined;
    }
  }
  return json::serialize(*value);
}

std::string JsonText(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value == nullptr || value->is_null() ? "-" : json::serialize(*value);
}

int64_t Int(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_int64() ? value->as_int64() : 0;
}

std::string Until(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || !value->is_int64()) return "-";
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  int64_t left = value->as_int64() - now;
  return left >= 0 ? "in " + std::to_string(left) + "s" : std::to_string(-left) + "s ago";
}

std::vector<json::object> Items(const json::object& answer, std::string_view field) {
  std::vector<json::object> items;
  const json::value* list = answer.if_contains(field);
  if (list == nullptr || !list->is_array()) return items;
  for (const json::value& item : list->as_array()) {
    if (item.is_object()) items.push_back(item.as_object());
  }
  return items;
}

}  // namespace line::cli
