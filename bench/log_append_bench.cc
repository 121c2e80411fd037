// log_append_bench: how fast SQLite makes appended row images durable on this machine, the
// first measurement decision 0014 asks for (a compact durable layout for the embedded store).
//
// Each transaction appends `--images` row images of `--bytes` each to a rowid table, as one
// blob (`--layout blob`, a log of group commits) or as one row per image (`--layout rows`,
// tables without secondary indexes), and commits with WAL and synchronous=FULL, as lined's
// store does: one fsync per transaction. Prints transactions/s and images/s.
//
//   build/release/bench/log_append_bench --images 1000 --bytes 120 --layout blob
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace {

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "log_append_bench: %s\n"
               "usage: log_append_bench [--images N (1000)] [--bytes B (120)] "
               "[--layout blob|rows (blob)] [--seconds S (3)] [--dir DIR (a new one in /tmp)]\n",
               why);
  std::exit(2);
}

bool Exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) == SQLITE_OK) return true;
  std::fprintf(stderr, "log_append_bench: %s: %s\n", sql, error != nullptr ? error : "?");
  sqlite3_free(error);
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  long images = 1000, bytes = 120, seconds = 3;
  std::string layout = "blob", dir;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Usage(("a value is missing after " + flag).c_str());
    const char* value = argv[++i];
    if (flag == "--images") {
      images = std::atol(value);
    } else if (flag == "--bytes") {
      bytes = std::atol(value);
    } else if (flag == "--seconds") {
      seconds = std::atol(value);
    } else if (flag == "--layout") {
      layout = value;
    } else if (flag == "--dir") {
      dir = value;
    } else {
      Usage(("unknown flag " + flag).c_str());
    }
  }
  if (images < 1 || bytes < 1 || seconds < 1) Usage("--images, --bytes and --seconds must be >= 1");
  if (layout != "blob" && layout != "rows")
    Usage(("--layout must be blob or rows, got " + layout).c_str());
  const bool own_dir = dir.empty();
  if (own_dir) {
    char pattern[] = "/tmp/line-log-bench-XXXXXX";
    if (mkdtemp(pattern) == nullptr) Usage("cannot make a temporary directory");
    dir = pattern;
  }

  sqlite3* db = nullptr;
  const std::string path = dir + "/log.db";
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) Usage(("cannot open " + path).c_str());
  if (!Exec(db, "PRAGMA journal_mode=WAL") || !Exec(db, "PRAGMA synchronous=FULL") ||
      !Exec(db, "CREATE TABLE IF NOT EXISTS log(seq INTEGER PRIMARY KEY, images BLOB)")) {
    return 1;
  }
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO log(images) VALUES (?1)", -1, &insert, nullptr);
  const bool one_blob = layout == "blob";
  const std::vector<char> payload(static_cast<size_t>(one_blob ? images * bytes : bytes), 'x');
  const long rows_per_txn = one_blob ? 1 : images;

  const auto start = std::chrono::steady_clock::now();
  const auto stop_at = start + std::chrono::seconds(seconds);
  long txns = 0;
  while (std::chrono::steady_clock::now() < stop_at) {
    if (!Exec(db, "BEGIN")) return 1;
    for (long r = 0; r < rows_per_txn; ++r) {
      sqlite3_bind_blob(insert, 1, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
      if (sqlite3_step(insert) != SQLITE_DONE) {
        std::fprintf(stderr, "log_append_bench: insert: %s\n", sqlite3_errmsg(db));
        return 1;
      }
      sqlite3_reset(insert);
    }
    if (!Exec(db, "COMMIT")) return 1;
    ++txns;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "log_append_bench: layout %s, %ld images of %ld B per transaction, %.1f s: "
      "%.0f transactions/s, %.0f images/s durable\n",
      layout.c_str(), images, bytes, s, txns / s, txns * images / s);
  sqlite3_finalize(insert);
  sqlite3_close(db);
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
