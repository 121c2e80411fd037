// The PostgreSQL store for one lined node: a group-committing writer thread on one connection
// (synchronous_commit=on) and a small pool of REPEATABLE READ READ ONLY readers, over the
// schema of pg_schema.cc. A lost connection fails the calls in flight with kStoreUnavailable
// and is replaced with exponential backoff (at most 5 s). See
// docs/decisions/0004-postgres-store.md.
//
// Thread-safety: thread-safe, like every Store.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "store/postgres/pg_connector.h"
#include "store/postgres/pg_reader_pool.h"
#include "store/group_commit_writer.h"
#include "store/postgres/pg_commit_steps.h"
#include "store/store.h"

namespace line {

struct PostgresStoreOptions {
  // Most bodies committed in one transaction; as in SqliteStoreOptions.
  size_t max_group_bodies = 4096;
  // Most read connections open at once; more concurrent reads wait for one.
  size_t max_readers = 8;
  // application_name of every connection; empty keeps the URL's, or "lined".
  std::string application_name;
  // Paces reconnection; null means SystemClock().
  Clock* clock = nullptr;
};

struct PostgresStoreStats {
  int64_t commits = 0;
  int64_t bodies = 0;
  int64_t failed_commits = 0;
  int64_t reconnects = 0;  // write connections opened after an outage
};

class PostgresStore final : public Store {
 public:
  ~PostgresStore() override;  // Close()

  void Write(TxBody body, TxDone done) override;
  void WriteLazy(TxBody body, TxDone done) override;
  Status Read(const TxBody& body) override;
  Status Ping() override;
  void Close() override;

  PostgresStoreStats Stats() const;

  // `SHOW <name>` on the writer's connection, inside a write transaction (e.g.
  // "synchronous_commit", "transaction_isolation"). For tests and diagnostics; `name` must be
  // [a-z_]+.
  Result<std::string> WriterSetting(std::string_view name);
  // The server process id behind the writer's connection (tests terminate it).
  Result<int> WriterBackendPid();

 private:
  friend Result<std::unique_ptr<PostgresStore>> OpenPostgresStore(
      const std::string& url, const PostgresStoreOptions& options);
  PostgresStore(std::unique_ptr<postgres::PgConnector> connector,
                std::unique_ptr<postgres::PgConnection> writer,
                const PostgresStoreOptions& options);
  // Runs `fn` on the writer thread's connection through a write body and waits for it.
  Result<std::string> OnWriter(std::function<Result<std::string>(postgres::PgConnection&)> fn);

  const std::unique_ptr<postgres::PgConnector> connector_;
  postgres::PgReaderPool readers_;
  postgres::PgCommitSteps* writer_steps_ = nullptr;  // owned by writer_
  GroupCommitWriter writer_;
  std::atomic<bool> closed_{false};
};

// Connects to `url` (postgresql://… or postgres://…), migrates the schema under an advisory
// lock, and starts the writer. Unreachable is kStoreUnavailable; messages never carry the
// password.
Result<std::unique_ptr<PostgresStore>> OpenPostgresStore(const std::string& url,
                                                         const PostgresStoreOptions& options = {});

}  // namespace line
