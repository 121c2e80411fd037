#include "common/ids.h"

#include <sys/random.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <mutex>

namespace line {
namespace {

constexpr uint64_t kCounterBits = 48;
constexpr uint64_t kCounterLimit = uint64_t{1} << kCounterBits;

uint64_t Random64() {
  uint64_t value = 0;
  auto* bytes = reinterpret_cast<unsigned char*>(&value);
  size_t filled = 0;
  while (filled < sizeof(value)) {
    ssize_t n = getrandom(bytes + filled, sizeof(value) - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();  // No entropy source: ids could collide, which must never happen silently.
    }
    filled += static_cast<size_t>(n);
  }
  return value;
}

// The last id's millisecond and the counter for the next one. One lock per id is cheap next
// to the transaction that stores it; a syscall per id (the former getrandom each) was not.
struct IdClock {
  std::mutex mu;
  uint64_t ms = 0;       // guarded by mu
  uint64_t counter = 0;  // guarded by mu
};

IdClock& TheIdClock() {
  static IdClock clock;
  return clock;
}

// A fresh run starts in the lower half of the counter's range, so it can count up 2^47 times
// before it would have to borrow the next millisecond.
uint64_t FreshCounter() { return Random64() & ((kCounterLimit >> 1) - 1); }

}  // namespace

std::string FormatId(uint64_t ms, uint64_t counter) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(24, '0');
  for (int i = 11; i >= 0; --i, ms >>= 4) id[i] = kHex[ms & 0xf];
  for (int i = 23; i >= 12; --i, counter >>= 4) id[i] = kHex[counter & 0xf];
  return id;
}

std::string NewId() {
  const auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  IdClock& clock = TheIdClock();
  uint64_t ms;
  uint64_t counter;
  {
    std::lock_guard<std::mutex> lock(clock.mu);
    if (now > clock.ms || clock.counter >= kCounterLimit) {
      // A new millisecond (or, in theory, a run used up): start a new run. The clock never
      // moves back, so ids stay increasing when the wall clock does.
      clock.ms = now > clock.ms ? now : clock.ms + 1;
      clock.counter = FreshCounter();
    }
    ms = clock.ms;
    counter = clock.counter++;
  }
  return FormatId(ms, counter);
}

bool IsGeneratedId(std::string_view id) {
  if (id.size() != 24 && id.size() != 20) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsClientId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '/' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace line
