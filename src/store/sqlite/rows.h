// Reading result rows into model values. Column order is the LINE_*_COLUMNS lists of sql.cc.
//
// Thread-safety: stateless functions.
#pragma once

#include "common/status.h"
#include "model/model.h"
#include "store/sqlite/statement.h"

namespace line::sqlite {

Result<Pool> ReadPool(const Query& row);
Result<Worker> ReadWorker(const Query& row);
Result<Replica> ReadReplica(const Query& row);
Result<Eval> ReadEval(const Query& row);
Result<Alloc> ReadAlloc(const Query& row);

}  // namespace line::sqlite
