// The PostgreSQL store's single writer, as in the SQLite store: one thread owns the write
// connection and commits everything queued since its last commit as one transaction (group
// commit), so one WAL flush serves many writes and the bodies of one node run one after
// another. Each body runs in its own savepoint; a failing body rolls back only itself.
//
// A lost connection fails the group in flight with kStoreUnavailable (its outcome is unknown
// if COMMIT was sent); the next group reconnects, no sooner than the backoff allows.
//
// Thread-safety: Write, Close and Stats are thread-safe. Bodies and done callbacks run on the
// writer thread; a done callback may call Write (the queue lock is not held while it runs).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "store/postgres/pg_connector.h"
#include "store/store.h"

namespace line::postgres {

struct PgWriterStats {
  int64_t commits = 0;         // transactions committed
  int64_t bodies = 0;          // bodies run, whatever their outcome
  int64_t failed_commits = 0;  // groups lost to BEGIN, a savepoint, COMMIT or no connection
  int64_t reconnects = 0;      // write connections opened after the first
};

class PgWriter {
 public:
  // Takes the first write connection (may be null: the first group connects) and starts the
  // thread. `connector` must outlive the writer. A group holds at most `max_group` bodies.
  PgWriter(PgConnector& connector, std::unique_ptr<PgConnection> conn, size_t max_group);
  ~PgWriter();  // Close()
  PgWriter(const PgWriter&) = delete;
  PgWriter& operator=(const PgWriter&) = delete;

  // Queues a body; after Close, calls done(kStoreUnavailable) at once on the calling thread.
  void Write(TxBody body, TxDone done);

  // Commits everything queued before the call, then stops the thread. Writes queued later are
  // refused. Called on the writer thread itself (from a done callback) it only stops the
  // loop; the join happens on a later Close or in the destructor.
  void Close();

  PgWriterStats Stats() const;

 private:
  struct Request {
    TxBody body;
    TxDone done;
  };

  void Loop();
  void CommitGroup(std::vector<Request>& group);
  // Runs one body inside its savepoint. Returns the body's status; sets `fatal` when the
  // savepoint machinery itself failed and the whole group is lost.
  Status RunInSavepoint(const TxBody& body, Status& fatal);

  PgConnector& connector_;
  const size_t max_group_;
  std::unique_ptr<PgConnection> conn_;  // used only by the writer thread; null when lost

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Request> queue_;  // guarded by mu_
  bool closing_ = false;       // guarded by mu_

  std::mutex join_mu_;         // serialises joining between concurrent Close calls
  std::thread thread_;         // guarded by join_mu_ once started
  std::thread::id writer_id_;  // constant after construction

  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> bodies_{0};
  std::atomic<int64_t> failed_commits_{0};
  std::atomic<int64_t> reconnects_{0};
};

}  // namespace line::postgres
