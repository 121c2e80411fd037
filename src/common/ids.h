// Identifiers: the ones line makes, and the rules for the ones clients supply.
#pragma once

#include <string>
#include <string_view>

namespace line {

// 20 lowercase hex characters from 10 bytes of the OS CSPRNG (getrandom). Thread-safe.
std::string NewId();

// True for 20 lowercase hex characters, the shape of every id line generates.
bool IsGeneratedId(std::string_view id);

// True for 1-128 bytes of [A-Za-z0-9._/-]: dataset ids and idempotency keys.
bool IsClientId(std::string_view id);

}  // namespace line
