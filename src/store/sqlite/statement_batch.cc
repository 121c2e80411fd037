#include "store/sqlite/statement_batch.h"

#include "store/sqlite/statement.h"

namespace line::sqlite {

StatementBatch::Use& StatementBatch::Use::Bind(int index, std::string_view text) {
  Value value{.kind = Kind::kText,
              .index = index,
              .number = static_cast<int64_t>(batch_.text_.size()),
              .length = static_cast<uint32_t>(text.size())};
  batch_.text_.append(text);
  batch_.values_.push_back(value);
  return *this;
}

StatementBatch::Use& StatementBatch::Use::Bind(int index, int64_t number) {
  batch_.values_.push_back(Value{.kind = Kind::kInt, .index = index, .number = number});
  return *this;
}

StatementBatch::Use& StatementBatch::Use::BindNull(int index) {
  batch_.values_.push_back(Value{.kind = Kind::kNull, .index = index});
  return *this;
}

StatementBatch::Use& StatementBatch::Use::BindTextOrNull(int index, std::string_view text) {
  return text.empty() ? BindNull(index) : Bind(index, text);
}

StatementBatch::Use& StatementBatch::Use::BindOptional(int index,
                                                       const std::optional<int64_t>& value) {
  return value.has_value() ? Bind(index, *value) : BindNull(index);
}

Result<StatementBatch::Use> StatementBatch::Statement(Sql id) {
  statements_.push_back(Recorded{id, static_cast<uint32_t>(values_.size())});
  return Use(*this);
}

void StatementBatch::Clear() {
  statements_.clear();
  values_.clear();
  text_.clear();
}

void StatementBatch::ShrinkIfHuge() {
  constexpr size_t kKeptTextBytes = size_t{16} << 20;
  constexpr size_t kKeptValues = size_t{1} << 20;
  if (text_.capacity() > kKeptTextBytes) std::string().swap(text_);
  if (values_.capacity() > kKeptValues) std::vector<Value>().swap(values_);
  if (statements_.capacity() > kKeptValues) std::vector<Recorded>().swap(statements_);
}

Status StatementBatch::RunOn(Connection& conn) const {
  for (size_t i = 0; i < statements_.size(); ++i) {
    const size_t end = i + 1 < statements_.size() ? statements_[i + 1].first_value
                                                  : values_.size();
    LINE_ASSIGN_OR_RETURN(Query query, conn.Use(statements_[i].id));
    for (size_t v = statements_[i].first_value; v < end; ++v) {
      const Value& value = values_[v];
      switch (value.kind) {
        case Kind::kNull:
          query.BindNull(value.index);
          break;
        case Kind::kInt:
          query.Bind(value.index, value.number);
          break;
        case Kind::kText:
          // text_ does not change while the query runs: Query binds it without a copy.
          query.Bind(value.index, std::string_view(text_).substr(
                                      static_cast<size_t>(value.number), value.length));
          break;
      }
    }
    LINE_RETURN_IF_ERROR(query.Run());
  }
  return Status::Ok();
}

}  // namespace line::sqlite
