// Logging goes through spdlog's default logger; this header keeps spdlog out of most files.
#pragma once

#include <spdlog/spdlog.h>

namespace line {

// Sets the process-wide level from a name ("debug", "info", "warn", "error").
void SetLogLevel(const std::string& level);

}  // namespace line
