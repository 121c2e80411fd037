#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "common/redact.h"
#include "store/cluster.h"
#include "store/postgres/pg_cluster.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace line {

Result<std::unique_ptr<Store>> OpenStore(const std::string& url) {
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    LINE_ASSIGN_OR_RETURN(std::unique_ptr<PostgresStore> store, OpenPostgresStore(url));
    return std::unique_ptr<Store>(std::move(store));
  }
  constexpr std::string_view kSqlite = "sqlite:";
  if (!url.starts_with(kSqlite) || url.size() == kSqlite.size()) {
    return Status::InvalidInput("LINE_STORE must be sqlite:PATH or postgresql://..., got '" +
                                RedactUrl(url) + "'");
  }
  std::filesystem::path path(url.substr(kSqlite.size()));
  if (path.has_parent_path()) {
    std::error_code error;
    std::filesystem::create_directories(path.parent_path(), error);
    if (error) {
      return Status::Unavailable("LINE_STORE " + url + ": cannot create directory " +
                                 path.parent_path().string() + ": " + error.message());
    }
  }
  LINE_ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> store, OpenSqliteStore(path.string()));
  return std::unique_ptr<Store>(std::move(store));
}

Result<std::unique_ptr<Cluster>> OpenCluster(const std::string& store_url,
                                             const std::string& listen, Clock* clock) {
  if (store_url.starts_with("postgresql://") || store_url.starts_with("postgres://")) {
    return std::unique_ptr<Cluster>(std::make_unique<PgCluster>(store_url, listen, clock));
  }
  return std::unique_ptr<Cluster>(std::make_unique<SoloCluster>(listen));
}

}  // namespace line
