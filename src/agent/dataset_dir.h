// The datasets a worker holds: the names of the entries of --datasets-dir plus the --dataset
// names, read again for every heartbeat so that adding or removing a file is seen at once.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace line::agent {

// SPEC: client-supplied ids are 1-128 bytes of [A-Za-z0-9._/-].
bool IsValidDatasetId(std::string_view id);

// Keeps the names that are dataset ids, sorted and without duplicates. Hidden names (leading
// '.') and invalid ids are dropped; `skipped` is called for each with the reason.
std::vector<std::string> FilterDatasetNames(
    const std::vector<std::string>& names,
    const std::function<void(const std::string& name, const char* why)>& skipped);

// Not thread-safe: owned and used by the heartbeat thread alone. Warns (through spdlog) once
// per skipped name and once per failure to read the directory, not at every heartbeat.
class DatasetDir {
 public:
  DatasetDir(std::string dir, std::vector<std::string> fixed);

  // The fixed names plus the directory's valid entries, sorted, no duplicates. A directory
  // that cannot be read contributes nothing (and is warned about).
  std::vector<std::string> Read();

 private:
  const std::string dir_;  // "" = no directory
  const std::vector<std::string> fixed_;
  std::set<std::string> warned_;  // names already warned about
  bool read_failed_ = false;      // the last read failed (warn on the transition only)
};

}  // namespace line::agent
