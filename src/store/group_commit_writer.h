// GroupCommitWriter: a store's single writer. One thread owns the write connection and commits
// everything queued since its last commit as one transaction (group commit), so one durable
// commit serves many writes. A failing body rolls back only itself: a group runs without
// savepoints first and, only if a body fails, again with one savepoint per body. The backend
// (SQLite, PostgreSQL) supplies only the steps, through GroupCommitSteps.
//
// Thread-safety: Write, Close and Stats are thread-safe. Bodies, the steps and done callbacks
// run on the writer thread; a done callback may call Write (the queue lock is not held then).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

namespace line {

// The backend-specific statements of a group commit. Called only from the writer thread.
class GroupCommitSteps {
 public:
  virtual ~GroupCommitSteps() = default;
  // Opens the group's transaction (reconnecting first, if the backend does that). `durable`
  // false: every body of the group is lazy (Store::WriteLazy), so its commit need not wait
  // for the disk.
  virtual Status Begin(bool durable) = 0;
  virtual Status Savepoint() = 0;
  // Runs one body on a Tx of the backend's write connection; returns the body's status.
  virtual Status RunBody(const TxBody& body) = 0;
  virtual Status RollbackToSavepoint() = 0;
  // After a failed body: whether it lost a race with another writer of the same database
  // (PostgreSQL's deadlock or serialization failure, when several nodes write at once), so
  // that the whole group should run again in a new transaction. Bodies are written to be
  // re-runnable (a body may run more than once before its single done).
  virtual bool BodyMayRunAgain() { return false; }
  // After a body failed outside any savepoint: whether it changed nothing and left the
  // transaction usable, so that the group goes on as if it had not run (no rollback, no
  // second run of the group). false when unsure.
  virtual bool FailedBodyLeftNoTrace() { return false; }
  virtual Status ReleaseSavepoint() = 0;
  // Returns once the group is durable.
  virtual Status Commit() = 0;
  // After a failed group: roll back what is left of it (or give up a broken connection).
  virtual void Abandon() = 0;
  // After a group's dones have all been told, before the writer takes the next group:
  // upkeep that must not overlap a commit and must not delay a reply (SQLite finishes a WAL
  // checkpoint here). Outside any transaction.
  virtual void BetweenGroups() {}
};

struct WriterStats {
  int64_t commits = 0;         // transactions committed (each one durable commit)
  int64_t bodies = 0;          // bodies run, whatever their outcome
  int64_t failed_commits = 0;  // groups whose BEGIN, savepoints or COMMIT failed
  int64_t retried_groups = 0;  // groups rolled back and run again after losing a race
  int64_t lazy_commits = 0;    // commits of groups of lazy bodies only (no wait for the disk)
  int64_t savepoint_reruns = 0;  // groups run again with savepoints after a body failed
};

class GroupCommitWriter {
 public:
  // Starts the writer thread. A group holds at most `max_group` bodies, which bounds both the
  // transaction's size and how long the first body of a group waits for its done.
  // `closed_message` is the kStoreUnavailable message for writes after Close().
  GroupCommitWriter(std::unique_ptr<GroupCommitSteps> steps, size_t max_group,
                    std::string closed_message);
  ~GroupCommitWriter();  // Close()
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  // Queues a body; after Close, calls done(kStoreUnavailable) at once on the calling thread.
  // `durable` false: Store::WriteLazy's body.
  void Write(TxBody body, TxDone done, bool durable = true);
  // Commits everything queued before the call, then stops the thread. Writes queued later,
  // including from done callbacks of that last commit, are refused. Called on the writer
  // thread itself (from a done callback) it only stops the loop; the join happens on a later
  // Close or in the destructor.
  void Close();
  WriterStats Stats() const;

 private:
  struct Request {
    TxBody body;
    TxDone done;
    bool durable = true;
    std::chrono::steady_clock::time_point queued_at;
  };
  // How long a group of lazy bodies only may wait for more before it commits.
  static constexpr std::chrono::milliseconds kLazyGather{5};
  // Runs of a group whose bodies keep losing races before the loser's error is reported.
  static constexpr int kGroupAttempts = 4;
  void Loop();
  void CommitGroup(std::vector<Request>& group);
  // Runs one body inside its savepoint. Returns the body's status; sets `fatal` when the
  // savepoint machinery itself failed and the whole group is lost, and `lost_race` when the
  // body lost a race with another node's transaction (the group runs again).
  Status RunInSavepoint(const TxBody& body, Status& fatal, bool& lost_race);
  // Runs one body as it is (no savepoint); a throw becomes an Internal status.
  Status RunBody(const TxBody& body);

  // Constant after construction; used only by the writer thread.
  const std::unique_ptr<GroupCommitSteps> steps_;
  const size_t max_group_;
  const std::string closed_message_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Request> queue_;  // guarded by mu_
  size_t durable_queued_ = 0;  // guarded by mu_: durable requests in queue_
  bool closing_ = false;       // guarded by mu_
  std::mutex join_mu_;         // serialises joining between concurrent Close calls
  std::thread thread_;         // guarded by join_mu_ once started
  std::thread::id writer_id_;  // constant after construction
  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> bodies_{0};
  std::atomic<int64_t> failed_commits_{0};
  std::atomic<int64_t> retried_groups_{0};
  std::atomic<int64_t> lazy_commits_{0};
  std::atomic<int64_t> savepoint_reruns_{0};
};

}  // namespace line
