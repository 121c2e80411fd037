#include "store/postgres/pg_connector.h"

namespace line::postgres {

Result<std::unique_ptr<PgConnection>> PgConnector::Connect() {
  LINE_RETURN_IF_ERROR(backoff_.MayConnect());
  Result<std::unique_ptr<PgConnection>> conn = PgConnection::Open(url_, options_);
  if (conn.ok()) {
    backoff_.Succeeded();
  } else if (conn.status().code() == Code::kStoreUnavailable) {
    backoff_.Failed();
  }
  return conn;
}

}  // namespace line::postgres
