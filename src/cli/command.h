// What one linectl subcommand is: its words, flags and handler, and the context handlers run
// in. Every command file (pool_commands.cc, ...) adds its commands to the one table that
// parsing, dispatch and --help all read (commands.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "line/client.h"

namespace line::cli {

// Exit codes scripts rely on (docs/cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitApiError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

// Ends the run with `code` and `message` on stderr. Thrown only inside linectl and caught in
// main(): flag accessors and API helpers deep inside a handler can then stop the run without
// every handler threading a status through each step.
struct CliExit {
  int code = kExitOk;
  std::string message;
};

// One flag of a command. `value` names its argument in --help; empty = a boolean flag.
struct FlagSpec {
  std::string name;  // without the leading "--"
  std::string value;
  std::string help;
  bool required = false;
  bool repeated = false;
};

// The flags given to one command, already checked against its FlagSpecs. Accessors throw a
// usage CliExit naming the flag when a value does not parse.
class Invocation {
 public:
  Invocation(std::string command, std::map<std::string, std::vector<std::string>> flags)
      : command_(std::move(command)), flags_(std::move(flags)) {}

  const std::string& command() const { return command_; }
  bool Has(std::string_view name) const { return flags_.count(std::string(name)) > 0; }
  // The value of a flag given once; nullopt when absent.
  std::optional<std::string> Find(std::string_view name) const;
  // The value of a required flag (presence was checked when the invocation was built).
  std::string Get(std::string_view name) const { return Find(name).value_or(""); }
  std::vector<std::string> All(std::string_view name) const;
  // An integer flag within [min, max]; nullopt when absent.
  std::optional<int64_t> Int(std::string_view name, int64_t min, int64_t max) const;
  // Any integer: for values whose bounds the server checks (its 400 names them).
  std::optional<int64_t> Int(std::string_view name) const;

  // A CliExit with code kExitUsage whose message points at this command's --help.
  CliExit Usage(std::string_view message) const;

 private:
  std::string command_;
  std::map<std::string, std::vector<std::string>> flags_;
};

// What a handler works with. Output goes to `out` (stdout); progress and notes to `err`.
struct Context {
  client::Client& client;
  bool json = false;  // --json: print exactly one JSON document on stdout
  std::ostream& out;
  std::ostream& err;
};

struct Command {
  std::vector<std::string> words;  // e.g. {"pool", "create"}
  std::string summary;             // one line for the command list
  std::vector<FlagSpec> flags;
  std::string details;  // more help text, may be empty
  std::function<int(const Invocation&, Context&)> run;
};

// "pool create".
std::string CommandName(const Command& command);

}  // namespace line::cli
