#include "store/group_commit_writer.h"

#include <exception>
#include <utility>

#include "common/log.h"
#include "common/thread_name.h"

namespace line {

GroupCommitWriter::GroupCommitWriter(std::unique_ptr<GroupCommitSteps> steps, size_t max_group,
                                     std::string closed_message)
    : steps_(std::move(steps)),
      max_group_(max_group > 0 ? max_group : 1),
      closed_message_(std::move(closed_message)) {
  thread_ = std::thread([this] {
    NameThisThread("line-writer");
    Loop();
  });
  writer_id_ = thread_.get_id();
}

GroupCommitWriter::~GroupCommitWriter() { Close(); }

void GroupCommitWriter::Write(TxBody body, TxDone done, bool durable) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closing_) {
      queue_.push_back(
          Request{std::move(body), std::move(done), durable, std::chrono::steady_clock::now()});
      if (durable) ++durable_queued_;
      // The writer needs waking for the first body (it may be idle), a durable one (it may be
      // gathering lazy ones) or a full group; another lazy body can wait for the gathering to
      // end, and not waking the writer for each saves a context switch per heartbeat.
      if (durable || queue_.size() == 1 || queue_.size() >= max_group_) wake_.notify_one();
      return;
    }
  }
  if (done) done(Status::Unavailable(closed_message_));
}

void GroupCommitWriter::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  wake_.notify_all();
  if (std::this_thread::get_id() == writer_id_) return;  // joining itself would deadlock
  std::lock_guard<std::mutex> lock(join_mu_);
  if (!thread_.joinable()) return;
  thread_.join();
  // bodies / commits is the mean group size: the first thing to read after a benchmark.
  WriterStats stats = Stats();
  spdlog::info(
      "store writer stopped: {} commits ({} lazy, {} failed, {} groups run again after a lost "
      "race, {} with savepoints after a failed body), {} bodies",
      stats.commits, stats.lazy_commits, stats.failed_commits, stats.retried_groups,
      stats.savepoint_reruns, stats.bodies);
}

WriterStats GroupCommitWriter::Stats() const {
  WriterStats stats;
  stats.commits = commits_.load();
  stats.bodies = bodies_.load();
  stats.failed_commits = failed_commits_.load();
  stats.retried_groups = retried_groups_.load();
  stats.lazy_commits = lazy_commits_.load();
  stats.savepoint_reruns = savepoint_reruns_.load();
  return stats;
}

void GroupCommitWriter::Loop() {
  std::vector<Request> group;
  while (true) {
    group.clear();
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing, and everything queued before it is committed
      // Only lazy bodies so far (heartbeats): nobody waits on their fsync, so let them gather
      // for up to kLazyGather, which turns thousands of tiny commits a second into a few
      // large ones. A durable body, a full group or Close ends the wait at once.
      const auto gather_until = queue_.front().queued_at + kLazyGather;
      while (!closing_ && durable_queued_ == 0 && queue_.size() < max_group_ &&
             wake_.wait_until(lock, gather_until) == std::cv_status::no_timeout) {
      }
      while (!queue_.empty() && group.size() < max_group_) {
        if (queue_.front().durable) --durable_queued_;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitGroup(group);
    steps_->BetweenGroups();
  }
}

Status GroupCommitWriter::RunBody(const TxBody& body) {
  // A throwing body must not take the writer thread (and every queued write) down with it.
  try {
    return steps_->RunBody(body);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("transaction body threw: ") + e.what());
  } catch (...) {
    return Status::Internal("transaction body threw a non-standard exception");
  }
}

Status GroupCommitWriter::RunInSavepoint(const TxBody& body, Status& fatal, bool& lost_race) {
  fatal = steps_->Savepoint();
  if (!fatal.ok()) return fatal;
  Status status = RunBody(body);
  if (!status.ok()) {
    lost_race = steps_->BodyMayRunAgain();
    fatal = steps_->RollbackToSavepoint();
    if (!fatal.ok()) return status;
  }
  // RELEASE after ROLLBACK TO too: ROLLBACK TO keeps the savepoint on the stack.
  fatal = steps_->ReleaseSavepoint();
  return status;
}

void GroupCommitWriter::CommitGroup(std::vector<Request>& group) {
  std::vector<Status> outcomes(group.size());
  bool durable = false;
  for (const Request& request : group) durable = durable || request.durable;
  // A savepoint per body costs two statements (two round trips on PostgreSQL) and bodies
  // nearly always succeed. So a group first runs without them; if a body fails, the
  // transaction is rolled back and the group runs again with a savepoint per body, so that
  // the failure undoes only its own writes. A lone body needs none: its failure rolls back
  // the transaction, which holds nothing else. (Bodies may run more than once before their
  // single done; the lost-race retry below relies on that too.)
  bool savepoints = false;
  bool rolled_back_alone = false;
  Status fatal;
  for (int attempt = 1; attempt <= kGroupAttempts;) {
    fatal = steps_->Begin(durable);
    size_t ran = 0;
    bool lost_race = false;
    bool failed_bare = false;  // a body failed outside any savepoint
    if (fatal.ok()) {
      for (; ran < group.size(); ++ran) {
        bool lost = false;
        if (savepoints) {
          outcomes[ran] = RunInSavepoint(group[ran].body, fatal, lost);
        } else {
          outcomes[ran] = RunBody(group[ran].body);
          if (!outcomes[ran].ok()) lost = steps_->BodyMayRunAgain();
        }
        // On the last attempt a loser just fails alone; the others still run and commit.
        lost_race = lost && attempt < kGroupAttempts;
        // Most failures (not found, already ended) come before any write: such a body leaves
        // nothing to undo, and the group simply goes on.
        failed_bare = !savepoints && !outcomes[ran].ok() && !lost_race &&
                      !steps_->FailedBodyLeftNoTrace();
        if (!fatal.ok() || lost_race || failed_bare) {
          ++ran;
          break;
        }
      }
    }
    bodies_ += static_cast<int64_t>(ran);
    if (fatal.ok() && lost_race) {
      // A body lost a deadlock (or serialization) race with another node's transaction. The
      // cycle may run through locks that earlier bodies of this group hold, so only rolling
      // back the whole group breaks it: the other transaction proceeds, and every body of
      // the group runs again from the start in a new one.
      ++retried_groups_;
      steps_->Abandon();
      ++attempt;
      continue;
    }
    if (fatal.ok() && failed_bare) {
      steps_->Abandon();
      if (group.size() == 1) {
        rolled_back_alone = true;
        break;
      }
      ++savepoint_reruns_;
      savepoints = true;
      continue;
    }
    // done is told only after the commit (durable, unless every body of the group is lazy).
    if (fatal.ok()) fatal = steps_->Commit();
    break;
  }
  if (rolled_back_alone) {
    // Nothing to commit: the one body failed, and its status is its outcome.
  } else if (fatal.ok()) {
    ++commits_;
    if (!durable) ++lazy_commits_;
  } else {
    ++failed_commits_;
    steps_->Abandon();
    // Every body whose writes were lost learns why; failed bodies keep their own status.
    for (Status& outcome : outcomes) {
      if (outcome.ok()) outcome = fatal;
    }
  }
  for (size_t i = 0; i < group.size(); ++i) {
    if (group[i].done) group[i].done(std::move(outcomes[i]));
  }
}

}  // namespace line
