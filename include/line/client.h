// libline, everything at once: Client, its options, the request/response types and Result.
#pragma once

#include "line/client/client.h"  // IWYU pragma: export
#include "line/client/result.h"  // IWYU pragma: export
#include "line/client/types.h"   // IWYU pragma: export
