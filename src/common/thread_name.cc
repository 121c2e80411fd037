#include "common/thread_name.h"

#include <pthread.h>

#include <string>

namespace line {

void NameThisThread(const char* name) {
  constexpr size_t kMaxLength = 15;  // the kernel's limit, without the terminating NUL
  const std::string cut = std::string(name).substr(0, kMaxLength);
  (void)pthread_setname_np(pthread_self(), cut.c_str());  // a name is a courtesy: no error path
}

}  // namespace line
