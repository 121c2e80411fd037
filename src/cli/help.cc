#include "cli/help.h"

#include <algorithm>

namespace line::cli {
namespace {

constexpr const char* kGlobal =
    "Global options (anywhere on the line):\n"
    "  --server URL  lined's address (default $LINE_SERVER, else http://127.0.0.1:8080)\n"
    "  --json        print the API's answer as exactly one JSON document\n"
    "  -h, --help    this help; 'linectl COMMAND --help' for one command\n";

constexpr const char* kExitCodes =
    "Exit codes: 0 ok; 1 the API refused (its code and message on stderr); 2 usage;\n"
    "3 lined unreachable (after retrying for up to 3 s).\n";

std::string CommandList(const std::vector<const Command*>& commands) {
  size_t width = 0;
  for (const Command* c : commands) width = std::max(width, CommandName(*c).size());
  std::string text;
  for (const Command* c : commands) {
    std::string name = CommandName(*c);
    text += "  " + name + std::string(width - name.size() + 2, ' ') + c->summary + "\n";
  }
  return text;
}

}  // namespace

std::string TopUsage(const std::vector<Command>& commands) {
  std::vector<const Command*> all;
  for (const Command& c : commands) all.push_back(&c);
  return "Usage: linectl COMMAND [flags] [--server URL] [--json]\n\n"
         "Operate a line scheduler (lined): pools, workers, evals, allocs, dead letters.\n\n"
         "Commands:\n" +
         CommandList(all) + "\n" + kGlobal + "\n" + kExitCodes;
}

std::string GroupUsage(const std::vector<const Command*>& group, const std::string& prefix) {
  return "Usage: linectl " + prefix + " SUBCOMMAND [flags]\n\nCommands:\n" + CommandList(group) +
         "\n" + kGlobal;
}

std::string CommandUsage(const Command& command) {
  std::string synopsis = "Usage: linectl " + CommandName(command);
  size_t width = 0;
  for (const FlagSpec& f : command.flags) {
    std::string flag = "--" + f.name + (f.value.empty() ? "" : " " + f.value);
    width = std::max(width, flag.size());
    std::string shown = flag + (f.repeated ? "..." : "");
    synopsis += " " + (f.required ? shown : "[" + shown + "]");
  }
  std::string text = synopsis + "\n\n" + command.summary + "\n";
  if (!command.flags.empty()) {
    text += "\nFlags:\n";
    for (const FlagSpec& f : command.flags) {
      std::string flag = "--" + f.name + (f.value.empty() ? "" : " " + f.value);
      text += "  " + flag + std::string(width - flag.size() + 2, ' ') + f.help +
              (f.required ? " (required)" : "") + "\n";
    }
  }
  if (!command.details.empty()) text += "\n" + command.details + "\n";
  return text + "\n" + kGlobal;
}

}  // namespace line::cli
