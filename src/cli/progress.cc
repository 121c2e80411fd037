#include "cli/progress.h"

#include <unistd.h>

#include <string>

namespace line::cli {

ProgressBar::ProgressBar(std::ostream& out, int64_t total, bool enabled)
    : out_(out), total_(total), enabled_(enabled && total > 0) {}

void ProgressBar::Done() {
  if (drawn_) out_ << "\n" << std::flush;
  drawn_ = false;
}

void ProgressBar::Update(int64_t done) {
  if (!enabled_) return;
  constexpr int kWidth = 30;
  int filled = static_cast<int>(done * kWidth / total_);
  out_ << "\r[" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] " << done
       << "/" << total_ << " evals" << std::flush;
  drawn_ = true;
}

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

}  // namespace line::cli
