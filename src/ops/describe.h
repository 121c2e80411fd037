// Model rows -> API descriptions (times to whole Unix seconds, states to their names).
#pragma once

#include <vector>

#include "common/status.h"
#include "model/model.h"
#include "ops/requests.h"
#include "store/store.h"

namespace line {

// Whole Unix seconds, rounded up so a TTL is never shown earlier than it falls.
int64_t ToWireSeconds(TimeMs ms);

PoolDescription DescribePoolRow(const Pool& pool, const PoolCounts& counts);
AllocDescription DescribeAllocRow(const Alloc& alloc);
DeadLetterDescription DescribeDeadLetter(const Eval& eval);
// Reads the eval's history (its allocs) in `tx`.
Result<EvalDescription> DescribeEvalRow(Tx& tx, const Eval& eval);
// Reads the worker's live datasets and live allocs in `tx`.
Result<WorkerDescription> DescribeWorkerRow(Tx& tx, const Worker& worker, TimeMs now);

// Paging: a token is the last key of the previous page; these parse and make them.
Result<int64_t> ParseSeqToken(const std::string& token);        // "" -> 0
Result<std::string> ParseIdToken(const std::string& token);     // "" -> ""
std::string SeqToken(int64_t seq);

// Cuts `rows` (fetched with limit max_results + 1) to one page; returns the next token made
// by `key` from the page's last row, or "" when nothing more remains.
template <typename Row, typename KeyFn>
std::string TakePage(std::vector<Row>& rows, int64_t max_results, KeyFn key) {
  if (static_cast<int64_t>(rows.size()) <= max_results) return "";
  rows.resize(static_cast<size_t>(max_results));
  return key(rows.back());
}

}  // namespace line
