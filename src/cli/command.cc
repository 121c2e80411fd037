#include "cli/command.h"

#include <charconv>
#include <limits>

namespace line::cli {

std::optional<std::string> Invocation::Find(std::string_view name) const {
  auto it = flags_.find(std::string(name));
  if (it == flags_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Invocation::All(std::string_view name) const {
  auto it = flags_.find(std::string(name));
  return it == flags_.end() ? std::vector<std::string>{} : it->second;
}

std::optional<int64_t> Invocation::Int(std::string_view name, int64_t min, int64_t max) const {
  std::optional<std::string> text = Find(name);
  if (!text) return std::nullopt;
  int64_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end) {
    throw Usage("--" + std::string(name) + " must be an integer, got '" + *text + "'");
  }
  if (value < min || value > max) {
    throw Usage("--" + std::string(name) + " must be an integer from " + std::to_string(min) +
                " to " + std::to_string(max) + ", got '" + *text + "'");
  }
  return value;
}

std::optional<int64_t> Invocation::Int(std::string_view name) const {
  return Int(name, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
}

CliExit Invocation::Usage(std::string_view message) const {
  return CliExit{kExitUsage, std::string(message) + "\n(see 'linectl " + command_ + " --help')"};
}

std::string CommandName(const Command& command) {
  std::string name;
  for (const std::string& word : command.words) {
    if (!name.empty()) name += ' ';
    name += word;
  }
  return name;
}

}  // namespace line::cli
