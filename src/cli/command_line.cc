#include "cli/command_line.h"

#include <map>

namespace line::cli {
namespace {

CliExit UsageError(const std::string& message) {
  return CliExit{kExitUsage, message + "\n(see 'linectl --help')"};
}

}  // namespace

CommandLine ParseCommandLine(const std::vector<std::string>& args,
                             const std::set<std::string>& boolean_flags) {
  CommandLine line;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      line.help = true;
      continue;
    }
    if (arg == "--json") {
      line.json = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      if (arg.size() > 1 && arg[0] == '-') throw UsageError("unknown option '" + arg + "'");
      line.words.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (name.empty()) throw UsageError("unexpected '" + arg + "'");
    if (boolean_flags.count(name) > 0) {
      if (value) throw UsageError("--" + name + " takes no value");
      line.flags.emplace_back(name, "");
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) throw UsageError("--" + name + " needs a value");
      value = args[++i];
    }
    if (name == "server") {
      line.server = *value;
    } else {
      line.flags.emplace_back(name, *value);
    }
  }
  return line;
}

Invocation BindFlags(const Command& command, const CommandLine& line) {
  std::string name = CommandName(command);
  auto usage = [&](const std::string& message) {
    return CliExit{kExitUsage, message + "\n(see 'linectl " + name + " --help')"};
  };
  std::map<std::string, std::vector<std::string>> flags;
  for (const auto& [flag, value] : line.flags) {
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& candidate : command.flags) {
      if (candidate.name == flag) spec = &candidate;
    }
    if (spec == nullptr) throw usage("'linectl " + name + "' has no option --" + flag);
    std::vector<std::string>& values = flags[flag];
    if (!values.empty() && !spec->repeated) throw usage("--" + flag + " given more than once");
    values.push_back(value);
  }
  for (const FlagSpec& spec : command.flags) {
    if (spec.required && flags.count(spec.name) == 0) {
      throw usage("missing --" + spec.name + " " + spec.value);
    }
  }
  return Invocation(name, std::move(flags));
}

}  // namespace line::cli
