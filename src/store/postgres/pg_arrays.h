// PostgreSQL array literals for text-format parameters ('{"a","b"}', '{1,2}', '{t,f}'), so a
// whole round of rows travels as a few parameters of one statement (unnest).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace line::postgres {

class PgArray {
 public:
  PgArray& AddText(std::string_view text);  // quoted and escaped: any text is safe
  PgArray& AddInt(int64_t value);
  PgArray& AddBool(bool value);
  // The literal, e.g. {"a","b"}; "{}" when empty.
  std::string str() const { return text_ + "}"; }

 private:
  void Separate();
  std::string text_ = "{";
};

}  // namespace line::postgres
