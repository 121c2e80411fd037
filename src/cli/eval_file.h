// Reads the evals of `linectl eval submit --file`: JSON Lines, one /ScheduleEvals eval per line
// ({"dataset_id", "size", "payload", "idempotency_key"}; only size is required). The whole file
// is checked before anything is sent, so a typo never leaves half a file submitted.
#pragma once

#include <boost/json.hpp>
#include <istream>
#include <string>
#include <vector>

namespace line::cli {

struct FileEval {
  int line = 0;              // 1-based line number in the file, for messages
  boost::json::object eval;  // ready for the "evals" array of /ScheduleEvals
};

// Parses every non-blank line. On the first bad line returns false with `*error` naming
// "<name>:<line>: what is wrong". A file without any eval is an error too.
bool ReadEvalFile(std::istream& in, const std::string& name, std::vector<FileEval>* evals,
                  std::string* error);

}  // namespace line::cli
