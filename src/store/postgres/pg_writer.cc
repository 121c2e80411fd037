#include "store/postgres/pg_writer.h"

#include <exception>
#include <string>
#include <utility>

#include "store/postgres/pg_tx.h"

namespace line::postgres {

PgWriter::PgWriter(PgConnector& connector, std::unique_ptr<PgConnection> conn, size_t max_group)
    : connector_(connector), max_group_(max_group > 0 ? max_group : 1), conn_(std::move(conn)) {
  thread_ = std::thread([this] { Loop(); });
  writer_id_ = thread_.get_id();
}

PgWriter::~PgWriter() { Close(); }

void PgWriter::Write(TxBody body, TxDone done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closing_) {
      queue_.push_back(Request{std::move(body), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  if (done) done(Status::Unavailable("postgres: the store is closed"));
}

void PgWriter::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  wake_.notify_all();
  if (std::this_thread::get_id() == writer_id_) return;  // joining itself would deadlock
  std::lock_guard<std::mutex> lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

PgWriterStats PgWriter::Stats() const {
  PgWriterStats stats;
  stats.commits = commits_.load();
  stats.bodies = bodies_.load();
  stats.failed_commits = failed_commits_.load();
  stats.reconnects = reconnects_.load();
  return stats;
}

void PgWriter::Loop() {
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

Status PgWriter::RunInSavepoint(const TxBody& body, Status& fatal) {
  fatal = conn_->Control(PgSql::kSavepoint);
  if (!fatal.ok()) return fatal;
  PostgresTx tx(*conn_, /*read_only=*/false);
  Status status;
  // A throwing body must not take the writer thread (and every queued write) down with it.
  try {
    status = body(tx);
  } catch (const std::exception& e) {
    status = Status::Internal(std::string("transaction body threw: ") + e.what());
  } catch (...) {
    status = Status::Internal("transaction body threw a non-standard exception");
  }
  // A failed statement aborts PostgreSQL's transaction until ROLLBACK TO, so a body that
  // returned OK over a failed statement is rolled back too, rather than losing the group.
  if (status.ok() && PQtransactionStatus(conn_->raw()) == PQTRANS_INERROR) {
    status = Status::Internal("postgres: a statement of the body failed but it returned OK");
  }
  if (!status.ok()) {
    fatal = conn_->Control(PgSql::kRollbackTo);
    if (!fatal.ok()) return status;
  }
  // RELEASE after ROLLBACK TO too: ROLLBACK TO keeps the savepoint on the stack.
  fatal = conn_->Control(PgSql::kRelease);
  return status;
}

void PgWriter::CommitGroup(std::vector<Request>& group) {
  std::vector<Status> outcomes(group.size());
  Status fatal;
  if (conn_ == nullptr || !conn_->CheckIdle()) {
    conn_.reset();
    Result<std::unique_ptr<PgConnection>> fresh = connector_.Connect();
    if (fresh.ok()) {
      conn_ = std::move(fresh).value();
      ++reconnects_;
    } else {
      fatal = fresh.status();
    }
  }
  size_t ran = 0;
  if (fatal.ok()) fatal = conn_->Control(PgSql::kBeginWrite);
  if (fatal.ok()) {
    for (; ran < group.size(); ++ran) {
      outcomes[ran] = RunInSavepoint(group[ran].body, fatal);
      if (!fatal.ok()) {
        ++ran;
        break;
      }
    }
  }
  // The COMMIT returns once the WAL is flushed (synchronous_commit=on): only then is done told.
  if (fatal.ok()) fatal = conn_->Control(PgSql::kCommit);
  bodies_ += static_cast<int64_t>(ran);
  if (fatal.ok()) {
    ++commits_;
  } else {
    ++failed_commits_;
    if (conn_ != nullptr && conn_->healthy()) {
      (void)conn_->Control(PgSql::kRollback);
    } else {
      conn_.reset();  // the next group reconnects
    }
    // Every body whose writes were lost learns why; failed bodies keep their own status.
    for (Status& outcome : outcomes) {
      if (outcome.ok()) outcome = fatal;
    }
  }
  for (size_t i = 0; i < group.size(); ++i) {
    if (group[i].done) group[i].done(std::move(outcomes[i]));
  }
}

}  // namespace line::postgres
