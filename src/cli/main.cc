// linectl: the command-line client of lined. Parses the command line, runs one command through
// libline and maps every outcome to the exit codes of docs/cli.md.
#include <chrono>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "line/client.h"

namespace line::cli {
namespace {

// Finds the command, or answers --help for a group or the whole tool, or exits 2.
int Run(const std::vector<std::string>& args) {
  std::vector<Command> commands = AllCommands();
  std::set<std::string> boolean_flags;
  for (const Command& c : commands) {
    for (const FlagSpec& f : c.flags) {
      if (f.value.empty()) boolean_flags.insert(f.name);
    }
  }
  CommandLine line = ParseCommandLine(args, boolean_flags);

  const Command* command = nullptr;
  std::vector<const Command*> group;  // commands that start with the words given
  for (const Command& c : commands) {
    if (c.words == line.words) command = &c;
    if (c.words.size() >= line.words.size() &&
        std::equal(line.words.begin(), line.words.end(), c.words.begin())) {
      group.push_back(&c);
    }
  }
  std::string words;
  for (const std::string& w : line.words) words += (words.empty() ? "" : " ") + w;
  if (line.help) {
    if (command != nullptr) {
      std::cout << CommandUsage(*command);
    } else if (!group.empty() && !line.words.empty()) {
      std::cout << GroupUsage(group, words);
    } else if (line.words.empty()) {
      std::cout << TopUsage(commands);
    } else {
      throw CliExit{kExitUsage, "unknown command '" + words + "'\n(see 'linectl --help')"};
    }
    return kExitOk;
  }
  if (command == nullptr) {
    if (line.words.empty()) throw CliExit{kExitUsage, "no command given\n\n" + TopUsage(commands)};
    if (!group.empty()) {
      throw CliExit{kExitUsage,
                    "'" + words + "' needs a subcommand\n\n" + GroupUsage(group, words)};
    }
    throw CliExit{kExitUsage, "unknown command '" + words + "'\n(see 'linectl --help')"};
  }
  Invocation invocation = BindFlags(*command, line);

  client::ClientOptions options;
  options.server = line.server.value_or("");  // "" = $LINE_SERVER, else the default
  // Scripts get exit 3 within about 3 s when lined is down, not after libline's 10 s default.
  // The budget, not the attempt count, bounds the retrying: a lined that is restarting gets
  // the whole 3 s to come back.
  options.retry_budget = std::chrono::seconds(3);
  options.max_attempts = 1000;
  client::Client client(options);
  Context ctx{client, line.json, std::cout, std::cerr};
  return command->run(invocation, ctx);
}

}  // namespace
}  // namespace line::cli

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    int code = line::cli::Run(args);
    std::cout.flush();
    return code;
  } catch (const line::cli::CliExit& exit) {
    std::cout.flush();
    std::cerr << "linectl: " << exit.message << "\n";
    return exit.code;
  }
}
