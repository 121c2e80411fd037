// The last bytes of a command's merged stdout+stderr, and their conversion to the JSON string
// that CompleteAlloc reports as `result`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace line::agent {

// The largest `result` tail, in bytes of output (before UTF-8 repair and JSON escaping).
inline constexpr size_t kResultTailBytes = 4096;

// Replaces each invalid UTF-8 sequence in `bytes` with U+FFFD (one per maximal invalid
// subpart, as Unicode recommends): overlong forms, surrogates, code points over U+10FFFF,
// stray continuation bytes and truncated sequences.
std::string RepairUtf8(std::string_view bytes);

// `utf8` as a JSON string literal, quotes included (control characters escaped).
std::string JsonQuote(std::string_view utf8);

// Keeps the last `max_bytes` appended. Not thread-safe: one per running command, owned by the
// agent's event loop.
class OutputTail {
 public:
  explicit OutputTail(size_t max_bytes = kResultTailBytes) : max_bytes_(max_bytes) {}

  void Append(std::string_view data);
  // The kept bytes, raw.
  std::string_view bytes() const;
  // The kept bytes as valid UTF-8. When older output was cut off, a character split by the cut
  // is dropped rather than reported as invalid: it was valid output.
  std::string Text() const;
  // Text() as a JSON string: the `result` of CompleteAlloc.
  std::string ResultJson() const { return JsonQuote(Text()); }

 private:
  const size_t max_bytes_;
  std::string buf_;         // holds at most 2 * max_bytes_; the tail is its last max_bytes_
  bool truncated_ = false;  // something was cut off the front
};

}  // namespace line::agent
