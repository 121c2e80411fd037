#include "agent/dataset_dir.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace line::agent {

bool IsValidDatasetId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '/' || c == '-';
  });
}

std::vector<std::string> FilterDatasetNames(
    const std::vector<std::string>& names,
    const std::function<void(const std::string& name, const char* why)>& skipped) {
  std::vector<std::string> out;
  for (const std::string& name : names) {
    if (name.starts_with('.')) {
      skipped(name, "hidden entry");
    } else if (!IsValidDatasetId(name)) {
      skipped(name, "not a dataset id (1-128 characters of [A-Za-z0-9._/-])");
    } else {
      out.push_back(name);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

DatasetDir::DatasetDir(std::string dir, std::vector<std::string> fixed)
    : dir_(std::move(dir)), fixed_(std::move(fixed)) {}

std::vector<std::string> DatasetDir::Read() {
  std::vector<std::string> names = fixed_;
  if (!dir_.empty()) {
    std::error_code ec;
    std::vector<std::string> entries;
    for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end;
         it.increment(ec)) {
      entries.push_back(it->path().filename().string());
    }
    if (ec) {
      if (!read_failed_) spdlog::warn("cannot read datasets dir {}: {}", dir_, ec.message());
      read_failed_ = true;
    } else {
      if (read_failed_) spdlog::info("datasets dir {} is readable again", dir_);
      read_failed_ = false;
      names.insert(names.end(), entries.begin(), entries.end());
    }
  }
  return FilterDatasetNames(names, [this](const std::string& name, const char* why) {
    if (warned_.insert(name).second) {
      spdlog::warn("datasets dir {}: skipping '{}': {}", dir_, name, why);
    }
  });
}

}  // namespace line::agent
