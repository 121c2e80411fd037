// Keeping secrets out of logs and messages (the original logged them).
#pragma once

#include <string>

namespace line {

// The URL with any password replaced by "***": scheme://user:***@host/...
std::string RedactUrl(const std::string& url);

}  // namespace line
