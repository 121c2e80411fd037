#include "agent/output_tail.h"

#include <cstdint>
#include <cstdio>

namespace line::agent {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

std::string RepairUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    // Length of the sequence a lead byte starts, and the allowed range of its second byte
    // (narrower than 80..BF where that excludes overlongs, surrogates and > U+10FFFF).
    size_t length = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    if (length == 0) {  // a continuation byte, C0, C1 or F5..FF: never valid
      out += kReplacement;
      ++i;
      continue;
    }
    size_t n = 1;  // bytes of the sequence seen valid so far
    while (n < length && i + n < bytes.size()) {
      auto next = static_cast<unsigned char>(bytes[i + n]);
      bool ok = n == 1 ? (next >= lo && next <= hi) : IsContinuation(next);
      if (!ok) break;
      ++n;
    }
    if (n == length) {
      out.append(bytes.substr(i, n));
    } else {
      out += kReplacement;  // the maximal subpart, replaced once
    }
    i += n;
  }
  return out;
}

std::string JsonQuote(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size() + 2);
  out.push_back('"');
  for (char ch : utf8) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
          out += escaped;
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
  return out;
}

void OutputTail::Append(std::string_view data) {
  if (data.size() >= max_bytes_) {
    truncated_ = truncated_ || !buf_.empty() || data.size() > max_bytes_;
    buf_.assign(data.substr(data.size() - max_bytes_));
    return;
  }
  buf_.append(data);
  // Trim lazily so appending many small reads stays amortized O(1) per byte.
  if (buf_.size() > 2 * max_bytes_) {
    buf_.erase(0, buf_.size() - max_bytes_);
    truncated_ = true;
  }
}

std::string_view OutputTail::bytes() const {
  std::string_view all = buf_;
  if (all.size() > max_bytes_) return all.substr(all.size() - max_bytes_);
  return all;
}

std::string OutputTail::Text() const {
  std::string_view tail = bytes();
  bool cut = truncated_ || buf_.size() > max_bytes_;
  if (cut) {
    // At most three continuation bytes can belong to a character whose lead byte was cut.
    size_t skip = 0;
    while (skip < 3 && skip < tail.size() &&
           IsContinuation(static_cast<unsigned char>(tail[skip]))) {
      ++skip;
    }
    tail.remove_prefix(skip);
  }
  return RepairUtf8(tail);
}

}  // namespace line::agent
