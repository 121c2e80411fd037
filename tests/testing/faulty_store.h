// FaultyStore: a Store that forwards to a real one until told to fail, then answers every write
// (and, if asked, every read) with StoreUnavailable without running it: an outage on demand.
#pragma once

#include <atomic>
#include <memory>

#include "store/store.h"

namespace line::testing {

class FaultyStore final : public Store {
 public:
  explicit FaultyStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  void SetDown(bool down) { down_ = down; }

  void Write(TxBody body, TxDone done) override {
    if (down_) {
      done(Status::Unavailable("injected outage"));
      return;
    }
    inner_->Write(std::move(body), std::move(done));
  }
  Status Read(const TxBody& body) override {
    if (down_) return Status::Unavailable("injected outage");
    return inner_->Read(body);
  }
  Status Ping() override { return down_ ? Status::Unavailable("injected outage") : inner_->Ping(); }
  void Close() override { inner_->Close(); }

 private:
  std::unique_ptr<Store> inner_;
  std::atomic<bool> down_{false};
};

}  // namespace line::testing
