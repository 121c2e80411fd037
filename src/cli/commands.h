// The table of every linectl command. Each Add*Commands lives in the file of its resource.
#pragma once

#include <vector>

#include "cli/command.h"

namespace line::cli {

void AddPoolCommands(std::vector<Command>* commands);
void AddWorkerCommands(std::vector<Command>* commands);
void AddEvalCommands(std::vector<Command>* commands);
void AddAllocCommands(std::vector<Command>* commands);
void AddDeadLetterCommands(std::vector<Command>* commands);
void AddStatusCommands(std::vector<Command>* commands);

// All of them, in the order --help lists them.
std::vector<Command> AllCommands();

// The --max-results and --next-token flags every list command takes.
std::vector<FlagSpec> PagingFlags();

}  // namespace line::cli
