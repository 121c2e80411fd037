// Identifiers: the ones line makes, and the rules for the ones clients supply.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace line {

// 24 lowercase hex characters: 12 of milliseconds since the Unix epoch, then 12 of a 48-bit
// number that starts at a random value (getrandom) in each new millisecond and counts up.
// Ids made by one process are strictly increasing, even if the wall clock steps back (the
// last millisecond is kept until the clock passes it), so every index keyed by an id grows
// at its right edge: a commit dirties a few B-tree pages instead of one page per row.
// Two processes (several lined on one PostgreSQL) collide only if they make ids in the same
// millisecond from overlapping runs of a random 47-bit start: about 10^-13 per millisecond
// at 10,000 ids/s each (docs/decisions/0007-time-ordered-ids.md). Thread-safe.
std::string NewId();

// NewId's layout for a given millisecond and counter (for tests).
std::string FormatId(uint64_t ms, uint64_t counter);

// True for 24 lowercase hex characters (NewId) or 20, the random ids of earlier versions
// that databases made by them still hold.
bool IsGeneratedId(std::string_view id);

// True for 1-128 bytes of [A-Za-z0-9._/-]: dataset ids and idempotency keys.
bool IsClientId(std::string_view id);

}  // namespace line
