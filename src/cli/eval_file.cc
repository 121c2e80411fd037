#include "cli/eval_file.h"

#include <algorithm>
#include <cstdint>

namespace line::cli {
namespace {

namespace json = boost::json;

// SPEC.md: client-supplied ids are 1-128 bytes of [A-Za-z0-9._/-]. Checked here as well as by
// the server so a bad line is found before the first batch is sent.
bool IsClientId(const json::string& id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '/' || c == '-';
  });
}

// Checks one parsed line; "" when it is a valid eval.
std::string CheckEval(const json::value& value) {
  if (!value.is_object()) return "expected a JSON object";
  const json::object& eval = value.as_object();
  for (const auto& field : eval) {
    std::string_view key = field.key();
    if (key != "dataset_id" && key != "size" && key != "payload" && key != "idempotency_key") {
      return "unknown field '" + std::string(key) +
             "' (expected dataset_id, size, payload, idempotency_key)";
    }
  }
  const json::value* size = eval.if_contains("size");
  if (size == nullptr) return "missing size";
  if (!size->is_int64() || size->as_int64() < 1 || size->as_int64() > INT32_MAX) {
    return "size must be an integer from 1 to 2147483647, got " + json::serialize(*size);
  }
  for (const char* key : {"dataset_id", "idempotency_key"}) {
    const json::value* id = eval.if_contains(key);
    if (id == nullptr || id->is_null() || (id->is_string() && id->as_string().empty())) continue;
    if (!id->is_string() || !IsClientId(id->as_string())) {
      return std::string(key) + " must be 1-128 characters of [A-Za-z0-9._/-], got " +
             json::serialize(*id);
    }
  }
  return "";
}

}  // namespace

bool ReadEvalFile(std::istream& in, const std::string& name, std::vector<FileEval>* evals,
                  std::string* error) {
  std::string text;
  int line_number = 0;
  while (std::getline(in, text)) {
    ++line_number;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    json::error_code ec;
    json::value value = json::parse(text, ec);
    std::string problem = ec ? "not valid JSON (" + ec.message() + ")" : CheckEval(value);
    if (!problem.empty()) {
      *error = name + ":" + std::to_string(line_number) + ": " + problem;
      return false;
    }
    evals->push_back({line_number, std::move(value.as_object())});
  }
  if (in.bad()) {
    *error = name + ": read error";
    return false;
  }
  if (evals->empty()) {
    *error = name + ": no evals (expected one JSON object per line)";
    return false;
  }
  return true;
}

}  // namespace line::cli
