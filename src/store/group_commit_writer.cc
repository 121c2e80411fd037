#include "store/group_commit_writer.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "common/log.h"
#include "common/thread_name.h"

namespace line {

GroupCommitWriter::GroupCommitWriter(std::unique_ptr<GroupCommitSteps> steps, size_t max_group,
                                     std::string closed_message,
                                     std::chrono::microseconds pipeline_min_body_time)
    : steps_(std::move(steps)),
      max_group_(max_group > 0 ? max_group : 1),
      pipeline_min_body_time_(pipeline_min_body_time),
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
  steps_->Stop();
  // bodies / commits is the mean group size: the first thing to read after a benchmark.
  WriterStats stats = Stats();
  spdlog::info(
      "store writer stopped: {} commits ({} lazy, {} failed, {} groups run again after a lost "
      "race, {} with savepoints after a failed body, {} handed to a committer thread), {} "
      "bodies",
      stats.commits, stats.lazy_commits, stats.failed_commits, stats.retried_groups,
      stats.savepoint_reruns, stats.handed_over, stats.bodies);
}

WriterStats GroupCommitWriter::Stats() const {
  WriterStats stats;
  stats.commits = commits_.load();
  stats.bodies = bodies_.load();
  stats.failed_commits = failed_commits_.load();
  stats.retried_groups = retried_groups_.load();
  stats.lazy_commits = lazy_commits_.load();
  stats.savepoint_reruns = savepoint_reruns_.load();
  stats.handed_over = handed_over_.load();
  return stats;
}

void GroupCommitWriter::Loop() {
  std::vector<Request> group;
  const bool pipelined = steps_->Pipelined();
  while (true) {
    group.clear();
    if (pipelined && in_flight_) {
      // Settle the sealed group now if nothing is queued to overlap it with; if only lazy
      // bodies are, which gather for a while first (below) and must not hold its dones back
      // meanwhile; or if readers wait: they look only at durable state, so the writer must
      // stop between two groups.
      bool settle = steps_->ReadersWaiting();
      if (!settle) {
        std::lock_guard<std::mutex> lock(mu_);
        settle = queue_.empty() || durable_queued_ == 0;
      }
      if (settle) (void)SettleInFlight(/*group_running=*/false);
    }
    if (pipelined && !in_flight_) steps_->Idle();
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (in_flight_) {
        // A durable body is queued (checked above, and the queue only grows meanwhile).
      } else {
        wake_.wait(lock, [this] { return !queue_.empty() || closing_; });
      }
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
    if (!in_flight_) steps_->BetweenGroups();  // (pipelined: the backend's thread is idle)
  }
}

Status GroupCommitWriter::RunBody(const TxBody& body) {
  const auto started = std::chrono::steady_clock::now();
  struct Timed {
    std::chrono::steady_clock::time_point started;
    std::chrono::steady_clock::duration& total;
    ~Timed() { total += std::chrono::steady_clock::now() - started; }
  } timed{started, body_time_};
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
  bool durable = false;
  for (const Request& request : group) durable = durable || request.durable;
  std::vector<Status> outcomes(group.size());
  Status fatal;
  if (!steps_->Pipelined()) {
    GroupEnd end = RunGroup(group, outcomes, fatal);
    // done is told only after the commit (durable, unless every body of the group is lazy).
    if (end == GroupEnd::kCommit) {
      fatal = steps_->Commit();
      if (!fatal.ok()) end = GroupEnd::kFatal;
    }
    Finish(group, outcomes, end, fatal, durable, /*undo=*/true);
    return;
  }
  while (true) {
    body_time_ = std::chrono::steady_clock::duration::zero();
    GroupEnd end = RunGroup(group, outcomes, fatal);
    durable = false;  // it may have absorbed requests while it ran
    for (const Request& request : group) durable = durable || request.durable;
    // This group's bodies saw the sealed group's rows: none of its dones may be told, nor
    // may it be sealed, before that group is durable.
    if (in_flight_ && !SettleInFlight(/*group_running=*/true).ok()) {
      // The state this group ran on is gone (SettleInFlight undid this group's changes, then
      // the sealed group's): run it again on what is left.
      std::fill(outcomes.begin(), outcomes.end(), Status::Ok());
      fatal = Status::Ok();
      continue;
    }
    if (end != GroupEnd::kCommit) {
      Finish(group, outcomes, end, fatal, durable, /*undo=*/true);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      in_flight_done_ = false;
    }
    in_flight_.emplace(InFlight{std::move(group), std::move(outcomes), durable});
    group.clear();
    // A group whose bodies were quick commits on this thread (see the constructor), and its
    // dones are told at once.
    const bool here = body_time_ < pipeline_min_body_time_;
    if (!here) ++handed_over_;
    steps_->Seal(durable, here, [this](Status status) {
      std::lock_guard<std::mutex> lock(mu_);
      in_flight_status_ = std::move(status);
      in_flight_done_ = true;
      // Under the lock: once it is let go the writer may return, and the writer be destroyed.
      settled_.notify_one();
    });
    if (here) (void)SettleInFlight(/*group_running=*/false);
    return;
  }
}

Status GroupCommitWriter::SettleInFlight(bool group_running) {
  Status status;
  {
    std::unique_lock<std::mutex> lock(mu_);
    settled_.wait(lock, [this] { return in_flight_done_; });
    status = std::move(in_flight_status_);
    in_flight_done_ = false;
  }
  // A failed commit: whatever the writer has run since (a group still running, or nothing)
  // is undone first, newest first, then the sealed group itself.
  if (!status.ok()) steps_->Abandon();
  steps_->Settle(status.ok());
  if (!group_running) steps_->LetReadersIn();
  InFlight done = std::move(*in_flight_);
  in_flight_.reset();
  Finish(done.group, done.outcomes, status.ok() ? GroupEnd::kCommit : GroupEnd::kFatal, status,
         done.durable, /*undo=*/false);
  return status;
}

bool GroupCommitWriter::Absorb(std::vector<Request>& group, std::vector<Status>& outcomes) {
  if (!in_flight_) return false;
  bool committed = false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    settled_.wait(lock, [this] { return in_flight_done_; });
    committed = in_flight_status_.ok();
  }
  if (!committed) return false;  // CommitGroup undoes this group and the sealed one
  // Durable: its dones go out now, while this group takes in what arrived meanwhile.
  (void)SettleInFlight(/*group_running=*/true);
  std::lock_guard<std::mutex> lock(mu_);
  const size_t before = group.size();
  while (!queue_.empty() && group.size() < max_group_) {
    if (queue_.front().durable) --durable_queued_;
    group.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  outcomes.resize(group.size());
  return group.size() > before;
}

GroupCommitWriter::GroupEnd GroupCommitWriter::RunGroup(std::vector<Request>& group,
                                                        std::vector<Status>& outcomes,
                                                        Status& fatal) {
  bool durable = false;
  for (const Request& request : group) durable = durable || request.durable;
  // A savepoint per body costs two statements (two round trips on PostgreSQL) and bodies
  // nearly always succeed. So a group first runs without them; if a body fails, the
  // transaction is rolled back and the group runs again with a savepoint per body, so that
  // the failure undoes only its own writes. A lone body needs none: its failure rolls back
  // the transaction, which holds nothing else. (Bodies may run more than once before their
  // single done; the lost-race retry below relies on that too.)
  bool savepoints = false;
  for (int attempt = 1; attempt <= kGroupAttempts;) {
    fatal = steps_->Begin(durable);
    size_t ran = 0;
    bool lost_race = false;
    bool failed_bare = false;  // a body failed outside any savepoint
    if (fatal.ok()) {
      // Pipelined: once the sealed group has committed (and its dones are told), what was
      // queued meanwhile joins this group, which thus holds what the commit made wait, as an
      // unpipelined group would.
      for (; ran < group.size() || Absorb(group, outcomes); ++ran) {
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
    if (!fatal.ok()) return GroupEnd::kFatal;
    if (lost_race) {
      // A body lost a deadlock (or serialization) race with another node's transaction. The
      // cycle may run through locks that earlier bodies of this group hold, so only rolling
      // back the whole group breaks it: the other transaction proceeds, and every body of
      // the group runs again from the start in a new one.
      ++retried_groups_;
      steps_->Abandon();
      ++attempt;
      continue;
    }
    if (failed_bare) {
      steps_->Abandon();
      if (group.size() == 1) return GroupEnd::kRolledBackAlone;
      ++savepoint_reruns_;
      savepoints = true;
      continue;
    }
    return GroupEnd::kCommit;
  }
  return GroupEnd::kCommit;  // not reached: the last attempt never counts a lost race
}

void GroupCommitWriter::Finish(std::vector<Request>& group, std::vector<Status>& outcomes,
                               GroupEnd end, const Status& fatal, bool durable, bool undo) {
  if (end == GroupEnd::kCommit) {
    ++commits_;
    if (!durable) ++lazy_commits_;
  } else if (end == GroupEnd::kFatal) {
    ++failed_commits_;
    if (undo) steps_->Abandon();
    // Every body whose writes were lost learns why; failed bodies keep their own status.
    for (Status& outcome : outcomes) {
      if (outcome.ok()) outcome = fatal;
    }
  }
  // kRolledBackAlone: nothing to commit; the one body failed, and its status is its outcome.
  for (size_t i = 0; i < group.size(); ++i) {
    if (group[i].done) group[i].done(std::move(outcomes[i]));
  }
}

}  // namespace line
