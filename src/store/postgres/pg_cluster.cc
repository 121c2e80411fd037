#include "store/postgres/pg_cluster.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "common/ids.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "store/postgres/lease_plan.h"
#include "store/postgres/pg_arrays.h"

namespace line {

namespace {

using postgres::PgParams;
using postgres::PgResult;

constexpr int64_t kSoonestTickMs = 50;  // "tick soon" never ticks more often than this
constexpr size_t kNotifyChunk = 500;    // payloads per NOTIFY statement
constexpr size_t kMaxPayload = 7900;    // PostgreSQL refuses NOTIFY payloads of 8000 bytes

std::string IntArray(const std::set<uint32_t>& keys) {
  postgres::PgArray array;
  for (uint32_t key : keys) array.AddInt(static_cast<int32_t>(key));  // lock keys are int4
  return array.str();
}

uint32_t Hash32(std::string_view text) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

}  // namespace

PgCluster::PgCluster(std::string url, std::string listen, Clock* clock)
    : listen_(std::move(listen)),
      clock_(clock),
      node_id_(NewId()),
      connector_(std::move(url),
                 postgres::PgConnectionOptions{.application_name = "lined-cluster",
                                               .prepare = false},
                 clock) {}

PgCluster::~PgCluster() { Stop(); }

std::string PgCluster::LockClassParam() const {
  return std::to_string(static_cast<int32_t>(lock_class_));  // advisory lock keys are int4
}

Status PgCluster::Start(Events events) {
  events_ = std::move(events);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Status::Internal("cluster: eventfd failed");
  // A first tick before the node serves anything, so it starts owning its share at once.
  if (Connect()) {
    if (Status ticked = Tick(/*resync=*/false); !ticked.ok()) Disconnect(ticked.ToString());
  }
  thread_ = std::thread([this] {
    NameThisThread("line-cluster");
    Loop();
  });
  return Status::Ok();
}

void PgCluster::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  Poke();
  if (thread_.joinable()) thread_.join();
  if (conn_ != nullptr) {
    // Other nodes take our pools at their next tick instead of waiting for the socket to die.
    conn_.reset();
  }
  if (wake_fd_ >= 0) {
    close(wake_fd_);
    wake_fd_ = -1;
  }
}

bool PgCluster::OwnsPool(const std::string& pool_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return owned_keys_.contains(postgres::PoolLeaseKey(pool_id));
}

bool PgCluster::OwnsExpiry() const {
  std::lock_guard<std::mutex> lock(mu_);
  return owns_expiry_;
}

std::string PgCluster::OwnerOf(const std::string& pool_id) const {
  uint32_t key = postgres::PoolLeaseKey(pool_id);
  std::lock_guard<std::mutex> lock(mu_);
  if (owned_keys_.contains(key)) return listen_;
  auto it = owner_listen_.find(key);
  return it == owner_listen_.end() ? std::string() : it->second;
}

Status PgCluster::Health() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (connected_) return Status::Ok();
  return Status::Unavailable("postgres: the cluster coordination connection is down");
}

void PgCluster::PoolChanged(const std::string& pool_id, bool capacity_changed) {
  uint32_t key = postgres::PoolLeaseKey(pool_id);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (owned_keys_.contains(key)) return;  // this node schedules it: woken locally already
    // 'c': capacity changed (the owner rebuilds its snapshot); 'e': evals to place.
    outgoing_.insert((capacity_changed ? "c " : "e ") + node_id_ + " " + pool_id);
    // A pool nobody owns yet (just created): decide now rather than at the next tick.
    if (!owner_listen_.contains(key)) tick_soon_ = true;
  }
  Poke();
}

void PgCluster::AllocsCommitted(const std::vector<std::string>& waiter_keys) {
  if (waiter_keys.empty()) return;
  {
    // Many keys per message ("a <node> key\nkey..."): a round placing on a thousand workers
    // costs a handful of notifications, not a thousand. Keys never hold a newline.
    std::lock_guard<std::mutex> lock(mu_);
    const std::string head = "a " + node_id_ + " ";
    std::string payload = head;
    for (const std::string& key : waiter_keys) {
      if (payload.size() > head.size() && payload.size() + key.size() + 1 > kMaxPayload) {
        outgoing_.insert(std::move(payload));
        payload = head;
      }
      if (payload.size() > head.size()) payload += '\n';
      payload += key;
    }
    outgoing_.insert(std::move(payload));
  }
  Poke();
}

void PgCluster::Poke() {
  if (wake_fd_ < 0) return;
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

void PgCluster::Loop() {
  TimeMs next_tick = clock_->NowMs() + kTickMs;
  TimeMs last_tick = clock_->NowMs();
  int ticks = 0;
  while (true) {
    bool soon = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
      soon = tick_soon_;
    }
    if (conn_ == nullptr) {
      if (!Connect()) {
        // Connect() fails at once while the backoff says to wait; look again shortly.
        WaitForActivity(100);
        continue;
      }
      next_tick = 0;  // a fresh connection decides its leases at once
    }
    TimeMs now = clock_->NowMs();
    if (now >= next_tick || (soon && now - last_tick >= kSoonestTickMs)) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        tick_soon_ = false;
      }
      ++ticks;
      Status ticked = Tick(ticks % kResyncTicks == 0);
      if (!ticked.ok()) {
        Disconnect(ticked.ToString());
        continue;
      }
      last_tick = now;
      next_tick = now + kTickMs;
    }
    if (Status sent = SendOutgoing(); !sent.ok()) {
      Disconnect(sent.ToString());
      continue;
    }
    if (!Receive()) {
      Disconnect("the connection closed");
      continue;
    }
    WaitForActivity(std::max<int64_t>(1, next_tick - clock_->NowMs()));
    if (!Receive()) Disconnect("the connection closed");
  }
}

bool PgCluster::Connect() {
  Result<std::unique_ptr<postgres::PgConnection>> opened = connector_.Connect();
  if (!opened.ok()) return false;
  std::unique_ptr<postgres::PgConnection> conn = std::move(opened).value();
  // Keys and channel are per database and schema: several line databases can share a server.
  Result<PgResult> where =
      conn->Exec("cluster identity", "SELECT current_database() || '/' || current_schema()");
  if (!where.ok()) return false;
  const std::string identity = where->Text(0, 0);
  lock_class_ = Hash32("line-leases/" + identity);
  char channel[32];
  std::snprintf(channel, sizeof channel, "line_%08x", Hash32("line-channel/" + identity));
  channel_ = channel;
  Status registered =
      conn->ExecParams("register node",
                       "DELETE FROM line_nodes WHERE backend_pid = pg_backend_pid() OR "
                       "backend_pid NOT IN (SELECT pid FROM pg_stat_activity)",
                       PgParams())
          .status();
  if (registered.ok()) {
    registered = conn->ExecParams("register node",
                                  "INSERT INTO line_nodes(node_id, listen, backend_pid, started_at) "
                                  "VALUES ($1, $2, pg_backend_pid(), $3)",
                                  PgParams().Add(node_id_).Add(listen_).Add(clock_->NowMs()))
                     .status();
  }
  if (registered.ok()) registered = conn->Exec("listen", "LISTEN " + channel_).status();
  if (!registered.ok()) {
    spdlog::warn("cluster: cannot join: {}", registered.ToString());
    return false;
  }
  conn_ = std::move(conn);
  {
    std::lock_guard<std::mutex> lock(mu_);
    connected_ = true;
  }
  spdlog::info("cluster: node {} ({}) joined; channel {}", node_id_, listen_, channel_);
  return true;
}

void PgCluster::Disconnect(const std::string& why) {
  if (conn_ == nullptr) return;
  conn_.reset();
  {
    std::lock_guard<std::mutex> lock(mu_);
    owned_keys_.clear();
    owner_listen_.clear();
    owns_expiry_ = false;
    connected_ = false;
  }
  held_keys_.clear();
  unowned_ticks_.clear();
  spdlog::warn("cluster: lost the coordination connection ({}); this node owns nothing until "
               "it reconnects", why);
  // The node forgets what it knew of every pool; which ones they were does not matter.
  if (events_.pool_lost) events_.pool_lost("");
}

Status PgCluster::Tick(bool resync) {
  LINE_ASSIGN_OR_RETURN(PgResult pool_rows,
                        conn_->Exec("cluster pools", "SELECT pool_id FROM pools WHERE NOT disbanded"));
  postgres::LeaseInputs in;
  in.me = node_id_;
  std::map<uint32_t, std::vector<std::string>> pools_by_key;
  for (int row = 0; row < pool_rows.rows(); ++row) {
    in.pools.push_back(pool_rows.Text(row, 0));
    pools_by_key[postgres::PoolLeaseKey(in.pools.back())].push_back(in.pools.back());
  }
  LINE_ASSIGN_OR_RETURN(
      PgResult nodes,
      conn_->Exec("cluster nodes", "SELECT node_id FROM line_nodes WHERE backend_pid IN "
                                   "(SELECT pid FROM pg_stat_activity)"));
  for (int row = 0; row < nodes.rows(); ++row) in.live_nodes.push_back(nodes.Text(row, 0));
  if (std::find(in.live_nodes.begin(), in.live_nodes.end(), node_id_) == in.live_nodes.end()) {
    in.live_nodes.push_back(node_id_);
  }
  LINE_ASSIGN_OR_RETURN(
      PgResult holders,
      conn_->ExecParams(
          "cluster leases",
          "SELECT l.objid::text, n.node_id, n.listen FROM pg_locks l "
          "JOIN line_nodes n ON n.backend_pid = l.pid "
          "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
          "AND l.classid = $1::oid AND l.objid <> 0 "
          "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
          PgParams().Add(std::to_string(lock_class_))));
  std::map<uint32_t, std::string> others_listen;
  for (int row = 0; row < holders.rows(); ++row) {
    uint32_t key = static_cast<uint32_t>(std::stoul(holders.Text(row, 0)));
    in.holder[key] = holders.Text(row, 1);
    if (holders.Text(row, 1) != node_id_) others_listen[key] = holders.Text(row, 2);
  }
  for (uint32_t key : held_keys_) in.holder[key] = node_id_;
  in.unowned_ticks = unowned_ticks_;

  postgres::LeaseDecision decision = postgres::DecideLeases(in);
  unowned_ticks_ = decision.unowned_ticks;

  // Hand over first, in our own books, so this node stops scheduling before another starts.
  if (!decision.release.empty()) {
    for (uint32_t key : decision.release) held_keys_.erase(key);
    {
      std::lock_guard<std::mutex> lock(mu_);
      owned_keys_ = held_keys_;
    }
    for (uint32_t key : decision.release) {
      for (const std::string& pool : pools_by_key[key]) {
        spdlog::info("cluster: handing pool {} over to its preferred node", pool);
        if (events_.pool_lost) events_.pool_lost(pool);
      }
    }
    LINE_RETURN_IF_ERROR(
        conn_->ExecParams("release leases",
                          "SELECT pg_advisory_unlock($1::int, k) FROM unnest($2::int[]) AS k",
                          PgParams()
                              .Add(LockClassParam())
                              .Add(IntArray(decision.release)))
            .status());
  }
  std::vector<std::string> gained;
  if (!decision.take.empty()) {
    LINE_ASSIGN_OR_RETURN(
        PgResult taken,
        conn_->ExecParams("take leases",
                          "SELECT k, pg_try_advisory_lock($1::int, k) FROM unnest($2::int[]) AS k",
                          PgParams()
                              .Add(LockClassParam())
                              .Add(IntArray(decision.take))));
    for (int row = 0; row < taken.rows(); ++row) {
      if (!taken.Bool(row, 1)) continue;
      uint32_t key = static_cast<uint32_t>(static_cast<int32_t>(taken.Int(row, 0)));
      held_keys_.insert(key);
      unowned_ticks_.erase(key);
      for (const std::string& pool : pools_by_key[key]) gained.push_back(pool);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    owned_keys_ = held_keys_;
    owner_listen_ = std::move(others_listen);
    for (uint32_t key : held_keys_) owner_listen_.erase(key);
  }
  for (const std::string& pool : gained) {
    spdlog::info("cluster: this node ({}) now schedules pool {}", listen_, pool);
    if (events_.pool_gained) events_.pool_gained(pool);
  }
  if (resync && events_.pool_gained) {
    // A message lost while a connection was down must not strand work: look again.
    for (uint32_t key : held_keys_) {
      for (const std::string& pool : pools_by_key[key]) {
        if (std::find(gained.begin(), gained.end(), pool) == gained.end()) {
          events_.pool_gained(pool);
        }
      }
    }
  }
  return TakeExpiryLease();
}

Status PgCluster::TakeExpiryLease() {
  const TimeMs now = clock_->NowMs();
  bool owns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    owns = owns_expiry_;
  }
  if (!owns) {
    LINE_ASSIGN_OR_RETURN(
        PgResult taken,
        conn_->ExecParams("take expiry lease", "SELECT pg_try_advisory_lock($1::int, 0)",
                          PgParams().Add(LockClassParam())));
    if (!taken.Bool(0, 0)) return Status::Ok();
    LINE_ASSIGN_OR_RETURN(
        PgResult last,
        conn_->Exec("expiry record", "SELECT swept_at FROM line_expiry WHERE singleton = 1"));
    const TimeMs swept_at = last.rows() > 0 ? last.Int(0, 0) : 0;
    if (now - swept_at > kExpiryGapMs) {
      spdlog::warn("cluster: this node runs expiry now; nobody did for {} ms, so everyone gets "
                   "a full TTL first", swept_at > 0 ? now - swept_at : -1);
      // Before owning: the first sweep must already see the request.
      if (events_.expiry_resumed_after_gap) events_.expiry_resumed_after_gap();
    } else {
      spdlog::info("cluster: this node runs expiry now");
    }
  }
  // The record says "someone sweeps": written by the holder every tick.
  LINE_RETURN_IF_ERROR(conn_->ExecParams("expiry record",
                                         "UPDATE line_expiry SET swept_at = $1 WHERE singleton = 1",
                                         PgParams().Add(now))
                           .status());
  std::lock_guard<std::mutex> lock(mu_);
  owns_expiry_ = true;
  return Status::Ok();
}

Status PgCluster::SendOutgoing() {
  std::vector<std::string> payloads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    payloads.assign(outgoing_.begin(), outgoing_.end());
    outgoing_.clear();
  }
  for (size_t begin = 0; begin < payloads.size(); begin += kNotifyChunk) {
    size_t end = std::min(payloads.size(), begin + kNotifyChunk);
    postgres::PgArray chunk;
    for (size_t i = begin; i < end; ++i) chunk.AddText(payloads[i]);
    LINE_RETURN_IF_ERROR(conn_->ExecParams("notify",
                                           "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p",
                                           PgParams().Add(channel_).Add(chunk.str()))
                             .status());
  }
  return Status::Ok();
}

bool PgCluster::Receive() {
  if (conn_ == nullptr) return false;
  PGconn* raw = conn_->raw();
  if (PQconsumeInput(raw) == 0 || PQstatus(raw) != CONNECTION_OK) {
    conn_->MarkBroken();
    return false;
  }
  while (PGnotify* notify = PQnotifies(raw)) {
    std::string payload = notify->extra != nullptr ? notify->extra : "";
    PQfreemem(notify);
    Dispatch(payload);
  }
  return conn_->healthy();
}

void PgCluster::Dispatch(const std::string& payload) {
  // "<kind> <node id> <rest>"; a node hears its own messages too, and ignores them.
  size_t first = payload.find(' ');
  size_t second = first == std::string::npos ? first : payload.find(' ', first + 1);
  if (second == std::string::npos) return;
  if (payload.compare(first + 1, second - first - 1, node_id_) == 0) return;
  std::string rest = payload.substr(second + 1);
  if (payload[0] == 'c' || payload[0] == 'e') {
    {
      std::lock_guard<std::mutex> lock(mu_);
      uint32_t key = postgres::PoolLeaseKey(rest);
      if (!owned_keys_.contains(key) && !owner_listen_.contains(key)) tick_soon_ = true;
    }
    if (events_.pool_changed) events_.pool_changed(rest, payload[0] == 'c');
  } else if (payload[0] == 'a' && events_.allocs_committed) {
    size_t begin = 0;
    while (begin <= rest.size()) {
      size_t end = rest.find('\n', begin);
      if (end == std::string::npos) end = rest.size();
      if (end > begin) events_.allocs_committed(rest.substr(begin, end - begin));
      begin = end + 1;
    }
  }
}

void PgCluster::WaitForActivity(int64_t timeout_ms) {
  pollfd fds[2];
  int count = 0;
  fds[count++] = pollfd{.fd = wake_fd_, .events = POLLIN, .revents = 0};
  if (conn_ != nullptr) {
    fds[count++] = pollfd{.fd = PQsocket(conn_->raw()), .events = POLLIN, .revents = 0};
  }
  (void)poll(fds, static_cast<nfds_t>(count), static_cast<int>(std::min<int64_t>(timeout_ms, kTickMs)));
  if ((fds[0].revents & POLLIN) != 0) {
    uint64_t drained;
    (void)!read(wake_fd_, &drained, sizeof drained);
  }
}

}  // namespace line
