#include "store/postgres/pg_arrays.h"

namespace line::postgres {

void PgArray::Separate() {
  if (text_.size() > 1) text_ += ',';
}

PgArray& PgArray::AddText(std::string_view text) {
  Separate();
  text_ += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') text_ += '\\';
    text_ += c;
  }
  text_ += '"';
  return *this;
}

PgArray& PgArray::AddInt(int64_t value) {
  Separate();
  text_ += std::to_string(value);
  return *this;
}

PgArray& PgArray::AddBool(bool value) {
  Separate();
  text_ += value ? 't' : 'f';
  return *this;
}

}  // namespace line::postgres
