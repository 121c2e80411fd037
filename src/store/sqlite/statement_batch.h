// StatementBatch: statements of the store's table (sql.h) with their parameters, recorded on
// one thread and run later on another. The writer thread records a group's row writes while
// the rows are as the group left them; the committer thread runs them on the write connection
// while the writer goes on with the next group (docs/decisions/0017-pipelined-commit.md).
//
// Text parameters are copied into one buffer per batch, so recording costs no allocation per
// value once the batch has grown to the size of a typical group (Clear() keeps the capacity).
//
// Thread-safety: not thread-safe; recorded by one thread, then handed over whole.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/sql.h"

namespace line::sqlite {

class StatementBatch {
 public:
  // One recorded use of a statement: the same Bind calls as Query, then Run().
  class Use {
   public:
    Use& Bind(int index, std::string_view text);
    Use& Bind(int index, int64_t value);
    Use& BindNull(int index);
    Use& BindTextOrNull(int index, std::string_view text);
    Use& BindOptional(int index, const std::optional<int64_t>& value);
    // Ends the statement's parameters (nothing runs until the batch does).
    Status Run() { return Status::Ok(); }

   private:
    friend class StatementBatch;
    explicit Use(StatementBatch& batch) : batch_(batch) {}
    StatementBatch& batch_;
  };

  // Starts recording one run of `id`. Never fails; a Result so that code written for
  // Connection::Use records unchanged.
  Result<Use> Statement(Sql id);

  bool empty() const { return statements_.empty(); }
  size_t size() const { return statements_.size(); }
  void Clear();
  // Lets go of buffers a rare huge group grew (say, thousands of large payloads), which Clear
  // would keep for good.
  void ShrinkIfHuge();

  // Runs every recorded statement in order on `conn`, inside the caller's transaction; stops
  // at the first failure.
  Status RunOn(Connection& conn) const;

 private:
  enum class Kind : uint8_t { kNull, kInt, kText };
  struct Value {
    Kind kind = Kind::kNull;
    int32_t index = 0;
    int64_t number = 0;    // kInt: the value; kText: the offset in text_
    uint32_t length = 0;   // kText
  };
  struct Recorded {
    Sql id;
    uint32_t first_value;  // into values_; its values run to the next statement's first
  };

  std::vector<Recorded> statements_;
  std::vector<Value> values_;
  std::string text_;
};

}  // namespace line::sqlite
