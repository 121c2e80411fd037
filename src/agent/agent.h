// line-worker's agent: registration, then an event loop that runs one command per alloc while
// the heartbeat, receive and reporter threads talk to lined.
//
// Threads and ownership (all objects owned by Agent::Run's scope, joined before it returns):
// - the event loop (the thread calling Run) owns the running children and the queue of allocs
//   waiting for capacity; it alone forks, reads the children's output, reaps and kills them,
//   and handles SIGCHLD/SIGTERM/SIGINT through a signalfd;
// - Heartbeater, Receiver and Reporter (one thread each) share the AllocBook and Session, which
//   are thread-safe.
// Not thread-safe itself: construct and Run from one thread. The caller must block SIGCHLD,
// SIGTERM and SIGINT in every thread before Run (main() does, before any thread starts), so
// that they arrive through the signalfd only.
#pragma once

#include "agent/options.h"

namespace line::agent {

// Runs the worker until SIGTERM or SIGINT and returns the process exit code: 0 after a clean
// drain, 1 when lined refused the registration.
int RunAgent(const WorkerOptions& options);

}  // namespace line::agent
