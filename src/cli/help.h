// linectl's --help texts, rendered from the command table so they never drift from it.
#pragma once

#include <string>
#include <vector>

#include "cli/command.h"

namespace line::cli {

// Every command with its summary, the global options and the exit codes.
std::string TopUsage(const std::vector<Command>& commands);
// The commands whose words start with `prefix` (e.g. "linectl pool --help").
std::string GroupUsage(const std::vector<const Command*>& group, const std::string& prefix);
// One command: its synopsis, flags and details.
std::string CommandUsage(const Command& command);

}  // namespace line::cli
