// Calls lined through libline's Client::Call and turns every failure into the exit code
// scripts rely on: 1 when the API refused (its code and message), 3 when the server could not
// be reached within the retry budget, 2 when the request never left (e.g. a bad --server).
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "cli/command.h"

namespace line::cli {

namespace json = boost::json;

// POSTs `body` to `path` and returns the answer's JSON object. Throws CliExit on any error.
json::object CallApi(Context& ctx, std::string_view path, const json::object& body,
                     std::optional<std::chrono::milliseconds> timeout = std::nullopt);

// The CliExit for a failed libline call (exit 1, 2 or 3 as above).
CliExit ExitFor(const client::Error& error, const std::string& server);

// A List* call. Without --max-results/--next-token it follows next_token to the end and
// returns {"<field>": [every item]}; with either, it returns that one page as the API sent it
// (next_token included while more remain).
json::object ListApi(Context& ctx, const Invocation& inv, std::string_view path, json::object body,
                     std::string_view field);

// A random idempotency key, so that libline's retry of a lost answer cannot submit an eval
// twice (Client::Call, unlike Client::ScheduleEval, adds none).
std::string RandomIdempotencyKey();

}  // namespace line::cli
