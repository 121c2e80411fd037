// FaultyStore: a Store that forwards to a real one until told to fail, then answers every write
// (and, if asked, every read) with StoreUnavailable without running it: an outage on demand.
// It can also fail writes after their body ran (the commit is lost: everything rolls back),
// refuse every alloc insert inside bodies (a store error in the middle of a body), and counts
// the writes it was asked for.
#pragma once

#include <atomic>
#include <memory>

#include "store/store.h"
#include "testing/forwarding_tx.h"

namespace line::testing {

// A Tx whose InsertAlloc fails as a constraint violation would.
class AllocRefusingTx final : public ForwardingTx {
 public:
  using ForwardingTx::ForwardingTx;
  Status InsertAlloc(Alloc& alloc) override {
    return Status::Internal("injected: no allocs (alloc " + alloc.alloc_id + ")");
  }
};

class FaultyStore final : public Store {
 public:
  explicit FaultyStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  void SetDown(bool down) { down_ = down; }
  // Each write runs its body, then fails as if the commit had been lost.
  void SetFailAfterBody(bool fail) { fail_after_body_ = fail; }
  // Each InsertAlloc inside a write body fails (the body decides what becomes of it).
  void SetRefuseAllocs(bool refuse) { refuse_allocs_ = refuse; }
  // Writes asked for so far (lazy ones included), whatever became of them.
  int64_t writes() const { return writes_.load(); }
  // Reads asked for so far.
  int64_t reads() const { return reads_.load(); }

  void Write(TxBody body, TxDone done) override {
    writes_.fetch_add(1);
    if (down_) {
      done(Status::Unavailable("injected outage"));
      return;
    }
    // Decided when the body runs, not when it was queued: the switch may flip in between.
    body = [this, body = std::move(body)](Tx& tx) -> Status {
      if (!refuse_allocs_) return body(tx);
      AllocRefusingTx refusing(tx);
      return body(refusing);
    };
    if (fail_after_body_) {
      body = [body = std::move(body)](Tx& tx) -> Status {
        Status ran = body(tx);
        if (!ran.ok()) return ran;
        return Status::Unavailable("injected loss of the commit");
      };
    }
    inner_->Write(std::move(body), std::move(done));
  }
  Status Read(const TxBody& body) override {
    reads_.fetch_add(1);
    if (down_) return Status::Unavailable("injected outage");
    return inner_->Read(body);
  }
  Status Ping() override { return down_ ? Status::Unavailable("injected outage") : inner_->Ping(); }
  void Close() override { inner_->Close(); }

 private:
  std::unique_ptr<Store> inner_;
  std::atomic<bool> down_{false};
  std::atomic<bool> fail_after_body_{false};
  std::atomic<bool> refuse_allocs_{false};
  std::atomic<int64_t> writes_{0};
  std::atomic<int64_t> reads_{0};
};

}  // namespace line::testing
