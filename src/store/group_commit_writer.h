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
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
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

  // --- A pipelined commit (optional; docs/decisions/0017-pipelined-commit.md) ---
  // true: instead of Commit, the writer Seals each group and runs the next group's bodies
  // while the backend makes the sealed one durable on a thread of its own. The sealed
  // group's changes stay in place, seen by the next group's bodies and by no reader, and no
  // done of the next group is told before the sealed one settles.
  virtual bool Pipelined() const { return false; }
  // Hands the group's writes over; the steps are ready for the next Begin at once.
  // `durable` as for Begin (the group may have grown since). `committed` is called once, on
  // the backend's thread, when they are durable or failed; with `here`, on this thread
  // before Seal returns (nothing is sealed then, so the connection is free to use).
  virtual void Seal(bool durable, bool here, std::function<void(Status)> committed) {
    (void)durable;
    (void)here;
    committed(Status::Ok());
  }
  // On the writer thread, after the sealed group's `committed`: ok, its undo is forgotten;
  // not ok, its changes are undone (after those of any later group, by Abandon).
  virtual void Settle(bool ok) { (void)ok; }
  // Readers are waiting for the state the writer holds (pipelined only): the writer lets
  // the sealed group settle and calls Idle before it runs more bodies.
  virtual bool ReadersWaiting() { return false; }
  // Nothing runs and nothing is sealed: everything is durable, and readers may look.
  virtual void Idle() {}
  // The same, just before a settled group's dones are told with nothing running: readers get
  // in at once (Idle also makes sure they do before the writer goes on).
  virtual void LetReadersIn() {}
  // After the writer thread's last group: stops any thread of the backend's own.
  virtual void Stop() {}
};

struct WriterStats {
  int64_t commits = 0;         // transactions committed (each one durable commit)
  int64_t bodies = 0;          // bodies run, whatever their outcome
  int64_t failed_commits = 0;  // groups whose BEGIN, savepoints or COMMIT failed
  int64_t retried_groups = 0;  // groups rolled back and run again after losing a race
  int64_t lazy_commits = 0;    // commits of groups of lazy bodies only (no wait for the disk)
  int64_t savepoint_reruns = 0;  // groups run again with savepoints after a body failed
  int64_t handed_over = 0;  // groups committed on the backend's own thread (pipelined)
};

class GroupCommitWriter {
 public:
  // Measured (docs/performance.md): single-eval groups of about 64 bodies were answered
  // slower when handed over; batches of 1,000 evals gained a quarter.
  static constexpr std::chrono::microseconds kPipelineMinBodyTime{1000};
  // Starts the writer thread. A group holds at most `max_group` bodies, which bounds both the
  // transaction's size and how long the first body of a group waits for its done.
  // `closed_message` is the kStoreUnavailable message for writes after Close().
  // `pipeline_min_body_time` (pipelined backends): a group whose bodies took less commits on
  // the writer thread instead; handing it over costs two thread wake-ups, which on a busy
  // machine can take longer than the bodies they would overlap.
  GroupCommitWriter(std::unique_ptr<GroupCommitSteps> steps, size_t max_group,
                    std::string closed_message,
                    std::chrono::microseconds pipeline_min_body_time = kPipelineMinBodyTime);
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
  // How a group's run ended, before its commit.
  enum class GroupEnd { kCommit, kRolledBackAlone, kFatal };
  // A sealed group (pipelined backends): committing on the backend's thread.
  struct InFlight {
    std::vector<Request> group;
    std::vector<Status> outcomes;
    bool durable = true;
  };
  void Loop();
  void CommitGroup(std::vector<Request>& group);
  // Runs the group's bodies up to its commit: savepoint reruns, lost races and bare failures
  // are handled here. `fatal` is set for kFatal.
  GroupEnd RunGroup(std::vector<Request>& group, std::vector<Status>& outcomes, Status& fatal);
  // Counts the group's end and tells its dones; `fatal` fails every body that succeeded, and
  // with `undo` what is left of the group is rolled back first (a settled group's failure
  // was undone by SettleInFlight).
  void Finish(std::vector<Request>& group, std::vector<Status>& outcomes, GroupEnd end,
              const Status& fatal, bool durable, bool undo);
  // Pipelined, when the running group's bodies have all run and a sealed group commits:
  // waits for that commit; if it succeeded, settles it (its dones are told) and moves what
  // is queued into the running group. false when nothing joined, or the commit failed.
  bool Absorb(std::vector<Request>& group, std::vector<Status>& outcomes);
  // Pipelined: the sealed group's outcome (waiting for it), then its dones; on a failure its
  // changes are undone first. Returns its commit's status.
  // `group_running`: a group has run bodies since the seal (it keeps the state lock);
  // otherwise readers are let in before the dones are told.
  Status SettleInFlight(bool group_running);
  // Runs one body inside its savepoint. Returns the body's status; sets `fatal` when the
  // savepoint machinery itself failed and the whole group is lost, and `lost_race` when the
  // body lost a race with another node's transaction (the group runs again).
  Status RunInSavepoint(const TxBody& body, Status& fatal, bool& lost_race);
  // Runs one body as it is (no savepoint); a throw becomes an Internal status.
  Status RunBody(const TxBody& body);

  // Constant after construction; used only by the writer thread.
  const std::unique_ptr<GroupCommitSteps> steps_;
  const size_t max_group_;
  const std::chrono::steady_clock::duration pipeline_min_body_time_;
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
  std::atomic<int64_t> handed_over_{0};

  // Pipelined backends only. in_flight_ is the writer thread's; the outcome is set by the
  // backend's thread.
  std::optional<InFlight> in_flight_;
  std::chrono::steady_clock::duration body_time_{};  // the running group's bodies, so far
  std::condition_variable settled_;  // in_flight_done_ became true (not wake_: a Write's
                                     // notify must not wake a writer waiting for a commit)
  bool in_flight_done_ = false;  // guarded by mu_
  Status in_flight_status_;      // guarded by mu_
};

}  // namespace line
