#include "cli/commands.h"

namespace line::cli {

std::vector<Command> AllCommands() {
  std::vector<Command> commands;
  AddStatusCommands(&commands);
  AddPoolCommands(&commands);
  AddWorkerCommands(&commands);
  AddEvalCommands(&commands);
  AddAllocCommands(&commands);
  AddDeadLetterCommands(&commands);
  return commands;
}

std::vector<FlagSpec> PagingFlags() {
  return {
      {"max-results", "N", "fetch one page of at most N (1-1000) instead of every page"},
      {"next-token", "T", "fetch the page after the one that returned next_token T"},
  };
}

}  // namespace line::cli
