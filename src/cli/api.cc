#include "cli/api.h"

#include <random>

namespace line::cli {

CliExit ExitFor(const client::Error& error, const std::string& server) {
  if (error.unreachable()) {
    return CliExit{kExitUnreachable, "cannot reach lined at " + server + " (" +
                                         std::to_string(error.attempts) +
                                         " attempts): " + error.message};
  }
  if (error.http_status == 0 && error.code == client::kInvalidInput) {
    return CliExit{kExitUsage, error.message};
  }
  return CliExit{kExitApiError, error.ToString()};
}

json::object CallApi(Context& ctx, std::string_view path, const json::object& body,
                     std::optional<std::chrono::milliseconds> timeout) {
  client::Result<std::string> answer = ctx.client.Call(path, json::serialize(body), timeout);
  if (!answer) throw ExitFor(answer.error(), ctx.client.server());
  json::error_code ec;
  json::value value = json::parse(*answer, ec);
  if (ec || !value.is_object()) {
    throw CliExit{kExitApiError, "BadResponse: " + std::string(path) +
                                     " answered with something other than a JSON object: " +
                                     answer->substr(0, 200)};
  }
  return std::move(value.as_object());
}

json::object ListApi(Context& ctx, const Invocation& inv, std::string_view path, json::object body,
                     std::string_view field) {
  std::optional<int64_t> max_results = inv.Int("max-results", 1, 1000);
  std::optional<std::string> next_token = inv.Find("next-token");
  if (max_results || next_token) {
    if (max_results) body["max_results"] = *max_results;
    if (next_token) body["next_token"] = *next_token;
    return CallApi(ctx, path, body);
  }
  // Whole pages of the largest size the API allows: fewest round trips.
  body["max_results"] = 1000;
  json::array items;
  while (true) {
    json::object page = CallApi(ctx, path, body);
    if (json::value* list = page.if_contains(field); list != nullptr && list->is_array()) {
      for (json::value& item : list->as_array()) items.push_back(std::move(item));
    }
    json::value* token = page.if_contains("next_token");
    if (token == nullptr || !token->is_string() || token->as_string().empty()) break;
    body["next_token"] = token->as_string();
  }
  json::object merged;
  merged[field] = std::move(items);
  return merged;
}

std::string RandomIdempotencyKey() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device random;
  std::string key = "linectl-";
  for (int i = 0; i < 24; ++i) key += kHex[random() % 16];
  return key;
}

}  // namespace line::cli
