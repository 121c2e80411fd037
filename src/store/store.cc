#include "store/store.h"

#include <future>

namespace line {

Status WriteSync(Store& store, TxBody body) {
  std::promise<Status> outcome;
  std::future<Status> result = outcome.get_future();
  store.Write(std::move(body), [&outcome](Status s) { outcome.set_value(std::move(s)); });
  return result.get();
}

}  // namespace line
