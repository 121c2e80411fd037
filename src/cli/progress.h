// A one-line progress bar redrawn in place on stderr, only when stderr is a terminal (logs and
// pipes get no carriage-return noise). Not thread-safe; one per run.
#pragma once

#include <cstdint>
#include <ostream>

namespace line::cli {

class ProgressBar {
 public:
  ProgressBar(std::ostream& out, int64_t total, bool enabled);
  ~ProgressBar() { Done(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void Update(int64_t done);
  // Ends the bar's line (if one was drawn) so that what follows starts on a line of its own.
  void Done();

 private:
  std::ostream& out_;
  int64_t total_;
  bool enabled_;
  bool drawn_ = false;
};

// Whether stderr is a terminal.
bool StderrIsTerminal();

}  // namespace line::cli
