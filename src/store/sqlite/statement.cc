#include "store/sqlite/statement.h"

#include <sqlite3.h>

#include "store/sqlite/error.h"

namespace line::sqlite {

namespace {
// sqlite3_bind_text binds NULL for a null pointer; an empty view may have one, and an empty
// string must stay an empty string in NOT NULL columns.
const char* NonNull(std::string_view text) { return text.data() != nullptr ? text.data() : ""; }
}  // namespace

Statement::~Statement() { sqlite3_finalize(stmt_); }

Query::~Query() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Query& Query::Bind(int index, std::string_view text) {
  int rc =
      sqlite3_bind_text(stmt_, index, NonNull(text), static_cast<int>(text.size()), SQLITE_STATIC);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Query& Query::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Query& Query::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Query& Query::BindTextOrNull(int index, std::string_view text) {
  return text.empty() ? BindNull(index) : Bind(index, text);
}

Query& Query::BindOptional(int index, const std::optional<int64_t>& value) {
  return value.has_value() ? Bind(index, *value) : BindNull(index);
}

Result<bool> Query::Step() {
  if (bind_rc_ != SQLITE_OK) return SqliteError(db_, bind_rc_, name_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, name_);
}

Status Query::Run() {
  while (true) {
    LINE_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}


int64_t Query::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Query::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool Query::IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::optional<int64_t> Query::OptionalInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}

}  // namespace line::sqlite
