#include "store/sqlite/group_commit_writer.h"

#include <exception>
#include <string>
#include <utility>

#include "store/sqlite/sqlite_tx.h"

namespace line::sqlite {

GroupCommitWriter::GroupCommitWriter(std::unique_ptr<Connection> conn, size_t max_group)
    : conn_(std::move(conn)), max_group_(max_group > 0 ? max_group : 1) {
  thread_ = std::thread([this] { Loop(); });
  writer_id_ = thread_.get_id();
}

GroupCommitWriter::~GroupCommitWriter() { Close(); }

void GroupCommitWriter::Write(TxBody body, TxDone done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closing_) {
      queue_.push_back(Request{std::move(body), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  if (done) done(Status::Unavailable("sqlite: the store is closed"));
}

void GroupCommitWriter::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  wake_.notify_all();
  if (std::this_thread::get_id() == writer_id_) return;  // joining itself would deadlock
  std::lock_guard<std::mutex> lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

WriterStats GroupCommitWriter::Stats() const {
  WriterStats stats;
  stats.commits = commits_.load();
  stats.bodies = bodies_.load();
  stats.failed_commits = failed_commits_.load();
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
      while (!queue_.empty() && group.size() < max_group_) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitGroup(group);
  }
}

Status GroupCommitWriter::RunInSavepoint(const TxBody& body, Status& fatal) {
  fatal = conn_->Run(Sql::kSavepoint);
  if (!fatal.ok()) return fatal;
  SqliteTx tx(*conn_);
  Status status;
  // A throwing body must not take the writer thread (and every queued write) down with it.
  try {
    status = body(tx);
  } catch (const std::exception& e) {
    status = Status::Internal(std::string("transaction body threw: ") + e.what());
  } catch (...) {
    status = Status::Internal("transaction body threw a non-standard exception");
  }
  if (!status.ok()) {
    fatal = conn_->Run(Sql::kRollbackTo);
    if (!fatal.ok()) return status;
  }
  // RELEASE after ROLLBACK TO too: ROLLBACK TO keeps the savepoint on the stack.
  fatal = conn_->Run(Sql::kRelease);
  return status;
}

void GroupCommitWriter::CommitGroup(std::vector<Request>& group) {
  std::vector<Status> outcomes(group.size());
  Status fatal = conn_->Run(Sql::kBeginImmediate);
  size_t ran = 0;
  if (fatal.ok()) {
    for (; ran < group.size(); ++ran) {
      outcomes[ran] = RunInSavepoint(group[ran].body, fatal);
      if (!fatal.ok()) {
        ++ran;
        break;
      }
    }
  }
  if (fatal.ok()) fatal = conn_->Run(Sql::kCommit);
  bodies_ += static_cast<int64_t>(ran);
  if (fatal.ok()) {
    ++commits_;
  } else {
    ++failed_commits_;
    // SQLite may already have rolled back on its own (e.g. SQLITE_FULL); then this fails
    // harmlessly with "no transaction is active".
    (void)conn_->Run(Sql::kRollback);
    // Every body whose writes were lost learns why; failed bodies keep their own status.
    for (Status& outcome : outcomes) {
      if (outcome.ok()) outcome = fatal;
    }
  }
  for (size_t i = 0; i < group.size(); ++i) {
    if (group[i].done) group[i].done(std::move(outcomes[i]));
  }
}

}  // namespace line::sqlite
