// Names the calling thread, so that top -H, perf and /proc/PID/task/*/comm tell lined's
// threads apart (the writer, the scheduler, the HTTP I/O threads...).
#pragma once

namespace line {

// Linux keeps at most 15 characters; a longer name is cut, never refused.
void NameThisThread(const char* name);

}  // namespace line
