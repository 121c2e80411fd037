// WriterGate: holds a store's single writer inside a body until Release(), so that the writes
// queued meanwhile form one group behind it (tests of group commit, ordering and failures).
// Releasing is safe at any time and happens at destruction at the latest, so a test that
// stops early never leaves the writer held.
#pragma once

#include <future>
#include <memory>
#include <mutex>

#include "store/store.h"

namespace line::testing {

class WriterGate {
 public:
  // Returns once the writer runs the gate's body.
  explicit WriterGate(Store& store) : state_(std::make_shared<State>()) {
    std::shared_future<void> entered = state_->entered.get_future().share();
    store.Write(
        [state = state_](Tx&) {
          state->Enter();
          state->released.wait();
          return Status::Ok();
        },
        [state = state_](Status status) { state->done.set_value(std::move(status)); });
    entered.wait();
  }
  ~WriterGate() { Release(); }
  WriterGate(const WriterGate&) = delete;
  WriterGate& operator=(const WriterGate&) = delete;

  void Release() { state_->Release(); }
  // The gate's own outcome, once its group has committed (after Release()).
  Status Done() { return state_->outcome.get(); }

 private:
  struct State {
    std::mutex mu;
    bool entered_told = false;  // guarded by mu
    bool release_told = false;  // guarded by mu
    std::promise<void> entered;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::promise<Status> done;
    std::shared_future<Status> outcome = done.get_future().share();

    void Enter() {
      std::lock_guard<std::mutex> lock(mu);
      if (!entered_told) entered.set_value();  // (a body may run more than once)
      entered_told = true;
    }
    void Release() {
      std::lock_guard<std::mutex> lock(mu);
      if (!release_told) release.set_value();
      release_told = true;
    }
  };
  std::shared_ptr<State> state_;
};

}  // namespace line::testing
