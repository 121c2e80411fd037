// A fixture for CLI tests: one real lined per test (LinedTest) and helpers that run linectl
// against it and check its outcome.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/linectl_runner.h"
#include "testing/e2e.h"

namespace line::testing {

class LinectlTest : public LinedTest {
 protected:
  std::string server() const { return "http://127.0.0.1:" + std::to_string(lined_->port()); }

  // linectl with --server pointing at this test's lined. Put first, so a test's flag that is
  // missing its value at the end of the line stays a usage error.
  LinectlRun Linectl(std::vector<std::string> args, LinectlOptions options = {}) {
    args.insert(args.begin(), {"--server", server()});
    return RunLinectl(args, options);
  }

  // Runs linectl, expects exit 0 and returns stdout with the trailing newline removed.
  std::string Ok(std::vector<std::string> args, LinectlOptions options = {}) {
    LinectlRun run = Linectl(args, options);
    EXPECT_EQ(run.exit_code, 0) << Describe(args, run);
    std::string out = run.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  // Runs linectl with --json, expects exit 0 and stdout to be exactly one JSON object.
  json::object JsonOk(std::vector<std::string> args) {
    args.push_back("--json");
    LinectlRun run = Linectl(args);
    EXPECT_EQ(run.exit_code, 0) << Describe(args, run);
    return ParseOne(run.out);
  }

  // Exactly one JSON document (and whitespace) in `text`, which must be an object.
  static json::object ParseOne(const std::string& text) {
    json::error_code ec;
    json::value value = json::parse(text, ec);  // refuses anything after the document
    EXPECT_FALSE(ec) << ec.message() << " in: " << text;
    EXPECT_TRUE(value.is_object()) << text;
    return value.is_object() ? value.as_object() : json::object{};
  }

  static std::string Describe(const std::vector<std::string>& args, const LinectlRun& run) {
    std::string line = "linectl";
    for (const std::string& a : args) line += " " + a;
    return line + "\nexit " + std::to_string(run.exit_code) + "\n--- stdout ---\n" + run.out +
           "--- stderr ---\n" + run.err;
  }

  // The cells of the table row whose first cell is `first` (empty when there is none).
  static std::vector<std::string> Row(const std::string& table, const std::string& first) {
    std::istringstream lines(table);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream cells(line);
      std::vector<std::string> row;
      std::string cell;
      while (cells >> cell) row.push_back(cell);
      if (!row.empty() && row[0] == first) return row;
    }
    return {};
  }
};

}  // namespace line::testing
