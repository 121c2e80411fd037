// Splits linectl's argv into command words, command flags and the global flags (--json,
// --server, --help), which may stand anywhere on the line.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cli/command.h"

namespace line::cli {

struct CommandLine {
  std::vector<std::string> words;  // the command, e.g. {"pool", "create"}
  // Command flags in the order given: name (no "--") and value ("" for a boolean flag).
  std::vector<std::pair<std::string, std::string>> flags;
  bool json = false;
  bool help = false;
  std::optional<std::string> server;
};

// Every flag takes the next argument as its value (or "--name=value"), except the global
// booleans and the names in `boolean_flags`. Deciding arity from the flag name alone means a
// value that looks like a flag (--payload '--json') is still a value, wherever --json stands.
// Throws a usage CliExit for a flag without its value or a stray single-dash argument.
CommandLine ParseCommandLine(const std::vector<std::string>& args,
                             const std::set<std::string>& boolean_flags);

// The command whose words are exactly `line.words`, with its flags checked: unknown,
// repeated (unless allowed), missing-required and valueless flags are usage errors.
Invocation BindFlags(const Command& command, const CommandLine& line);

}  // namespace line::cli
