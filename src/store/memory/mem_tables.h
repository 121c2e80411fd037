// MemTables: the embedded store's rows and every index its queries need, in memory
// (docs/decisions/0015-embedded-store-in-memory.md). Each change goes through one of the Set*
// mutators, which keep the indexes right and record the row's before-image in a journal. The
// journal is the writer's undo log (a failed body, or a failed commit, puts the rows back) and
// its list of rows to write to the file at commit (sqlite/row_sync.h).
//
// Thread-safety: not thread-safe. The store guards it with a reader-writer lock: the writer
// thread changes it holding the lock exclusively, readers read it holding it shared.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <absl/container/btree_set.h>
#include <absl/container/inlined_vector.h>
#include <absl/hash/hash.h>
#include <absl/strings/string_view.h>
#include <boost/unordered/unordered_flat_map.hpp>

#include "model/model.h"
#include "store/memory/state_lock.h"

namespace line::memory {

// Hashes std::string and std::string_view alike, so maps keyed by string_view can be searched
// with either without building a string.
// absl's string hash is several times cheaper than libstdc++'s on 26-byte ids, and mixes
// well enough that boost's tables need no post-mixing of their own (is_avalanching).
struct ViewHash {
  using is_transparent = void;
  using is_avalanching = void;
  size_t operator()(std::string_view s) const {
    // Through absl's own string_view: Debian's absl is built with a string_view class of its
    // own, for which std::string_view would fall back to std::hash.
    return absl::Hash<absl::string_view>{}(absl::string_view(s.data(), s.size()));
  }
};

// A pair of strings ordered as a pair, searchable by a pair of string_views.
struct PairLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::tie(a.first, a.second) < std::tie(b.first, b.second);
  }
};
using StringPair = std::pair<std::string, std::string>;
using ViewPair = std::pair<std::string_view, std::string_view>;

// The ordered indexes are B-trees: dozens of entries per node instead of a node (and an
// allocation) per entry, so an insert at the end, the usual case, touches one cache line or
// two. Unlike std::set, an insert or erase invalidates iterators: collect, then change.
using SeqSet = absl::btree_set<int64_t>;

// One worker's allocs, as the queries by worker need them.
struct WorkerAllocs {
  SeqSet all;                                         // every alloc, by seq
  SeqSet live;                                        // state live, by seq
  absl::btree_set<std::pair<TimeMs, int64_t>> to_deliver;  // live, unacknowledged: delivered_at, seq
};

// What an eval gets once placed or ended; absent (null) while it is pending, so that a
// pending eval's row stays small (issue 5: <= 512 B of memory per pending eval).
struct EvalOutcome {
  std::string alloc_id;
  std::string worker_id;
  std::optional<int64_t> exit_code;
  std::string result;
  std::string dead_reason;
};

// An eval as memory keeps it: the model's Eval without the keys the tables already hold
// (pool_id is its PoolData's, seq its map key), and the outcome apart.
struct EvalRow {
  std::string eval_id;
  std::string dataset_id;
  std::string payload;
  std::string idempotency_key;
  int64_t size = 0;
  int64_t attempt = 1;
  TimeMs created_at = 0;
  EvalState state = EvalState::kPending;
  std::unique_ptr<EvalOutcome> outcome;  // null: every outcome field empty
};
EvalRow ToRow(Eval eval);
Eval ToEval(const EvalRow& row, std::string_view pool_id, int64_t seq);

// The id indexes: open addressing (no node per entry), for tables of 100,000s of ids that a
// placement searches several times. Values are seqs; keys view the rows' own strings.
using IdIndex = boost::unordered_flat_map<std::string_view, int64_t, ViewHash>;

// Everything of one pool_id. A row may exist without its pool row (the store has no foreign
// keys, like the SQL stores), so `pool` is optional.
struct PoolData {
  std::string pool_id;
  std::optional<Pool> pool;
  std::map<std::string, Worker, std::less<>> workers;
  std::map<StringPair, Replica, PairLess> replicas;  // by (worker_id, dataset_id)

  std::map<int64_t, EvalRow> evals;  // by seq
  // Keys view the eval_id / idempotency_key of the row in `evals` (map nodes do not move).
  IdIndex eval_by_id;
  IdIndex eval_by_key;
  std::array<SeqSet, 4> evals_by_state;  // indexed by EvalState

  std::map<int64_t, Alloc> allocs;  // by seq
  IdIndex alloc_by_id;
  std::unordered_map<std::string, WorkerAllocs, ViewHash, std::equal_to<>> allocs_by_worker;
  // An eval's allocs, by seq (nearly always one: a retry adds one). Each key views the
  // eval_id of the row of one of its allocs, `allocs[seqs.front()]` (see PutAlloc).
  boost::unordered_flat_map<std::string_view, absl::InlinedVector<int64_t, 1>, ViewHash>
      allocs_by_eval;
  std::array<SeqSet, 3> allocs_by_state;  // indexed by AllocState
};

// What a journal entry names: one row, or a whole pool removed at once.
// kWorkerFree and kEvalProgress are changes of a row's mutable part alone, made in place;
// their before-image is that part (placements change nothing else, and copying whole rows
// was a visible part of a placement's cost).
enum class Table : uint8_t {
  kPool,
  kWorker,
  kWorkerFree,
  kReplica,
  kEval,
  kEvalProgress,
  kAlloc,
  kPoolData
};

// An eval's mutable part: what a placement, a retry, a completion or a dead-lettering changes.
struct EvalProgress {
  EvalState state = EvalState::kPending;
  int64_t attempt = 1;
  std::unique_ptr<EvalOutcome> outcome;
};

// One change: which row, and what it was before (monostate: it did not exist).
struct Change {
  Table table;
  // The pool's data the row was in. It outlives the entry: it is in the tables, or, if a later
  // change of the journal removed the pool, owned by that later entry (`removed`).
  PoolData* pool = nullptr;
  std::string worker_id;   // kWorker, kWorkerFree, kReplica
  std::string dataset_id;  // kReplica
  int64_t seq = 0;         // kEval, kEvalProgress, kAlloc
  int64_t free = 0;        // kWorkerFree: the free capacity before
  // kEvalProgress: EvalProgress; the other row tables: the whole row.
  std::variant<std::monostate, Pool, Worker, Replica, EvalRow, Alloc, EvalProgress> before;
  std::unique_ptr<PoolData> removed;  // kPoolData: the pool's data as it was
};

class MemTables {
 public:
  MemTables() = default;
  MemTables(const MemTables&) = delete;
  MemTables& operator=(const MemTables&) = delete;

  // --- Reading ---
  const PoolData* Find(std::string_view pool_id) const;
  // Whether `data` is the pool's data in the tables now (not a removed pool's, kept for undo).
  bool IsCurrent(const PoolData& data) const { return Find(data.pool_id) == &data; }
  const std::map<std::string, std::unique_ptr<PoolData>, std::less<>>& pools() const {
    return pools_;
  }
  // Workers, replicas and live allocs by deadline, across pools. The names view the rows'
  // own keys and their PoolData's pool_id; an entry goes before its row does.
  using WorkerByTtl = std::tuple<TimeMs, std::string_view, std::string_view>;  // pool, worker
  using ReplicaByTtl =
      std::tuple<TimeMs, std::string_view, std::string_view, std::string_view>;  // + dataset
  using AllocByTtl = std::tuple<TimeMs, int64_t, std::string_view>;            // seq, pool
  const absl::btree_set<WorkerByTtl>& workers_by_ttl() const { return workers_by_ttl_; }
  const absl::btree_set<ReplicaByTtl>& replicas_by_ttl() const { return replicas_by_ttl_; }
  const absl::btree_set<AllocByTtl>& live_allocs_by_ttl() const { return live_allocs_by_ttl_; }

  // --- Changing (each records its before-image in the journal) ---
  void SetPool(std::string_view pool_id, std::optional<Pool> row);
  void SetWorker(std::string_view pool_id, std::string_view worker_id, std::optional<Worker> row);
  void SetReplica(std::string_view pool_id, std::string_view worker_id,
                  std::string_view dataset_id, std::optional<Replica> row);
  void SetEval(std::string_view pool_id, int64_t seq, std::optional<Eval> row);
  void SetAlloc(std::string_view pool_id, int64_t seq, std::optional<Alloc> row);
  // In place, on an existing row: a worker's free capacity; an eval's state, attempt and
  // outcome (taken from `progress`; its other fields are ignored).
  void SetWorkerFree(std::string_view pool_id, std::string_view worker_id, int64_t free);
  void SetEvalProgress(std::string_view pool_id, int64_t seq, const Eval& progress);
  // Removes the pool row and every worker, replica, eval and alloc of the pool.
  void RemovePool(std::string_view pool_id);

  int64_t NextEvalSeq() { return next_eval_seq_++; }
  int64_t NextAllocSeq() { return next_alloc_seq_++; }

  // --- The journal ---
  size_t JournalSize() const { return journal_.size(); }
  const std::vector<Change>& journal() const { return journal_; }
  // Puts back every row changed after the journal had `size` entries, newest first.
  void UndoTo(size_t size);
  // Forgets the journal: its changes are durable.
  void ClearJournal() { journal_.clear(); }
  // Hands the journal over in exchange for `other`, which must be empty: the caller frees the
  // entries (before-images, a removed pool's rows) after letting go of the lock.
  void SwapJournal(std::vector<Change>& other) { journal_.swap(other); }
  // The writer's hold on the state lock, taken before the first change of a group: a group
  // that only reads (or fails before writing) never makes readers wait. The writer thread
  // reads without it, as nobody else changes the rows.
  void LockBeforeChanges(std::unique_lock<StateLock>* hold) { hold_ = hold; }

 private:
  PoolData& Data(std::string_view pool_id);
  void BeforeChange() {
    if (hold_ != nullptr && !hold_->owns_lock()) hold_->lock();
  }
  void Record(Change change);

  // Row placement without journalling; each keeps every index of its table right and returns
  // the row it replaced or removed, moved out.
  std::optional<Pool> PutPool(PoolData& data, std::optional<Pool> row);
  std::optional<Worker> PutWorker(PoolData& data, std::string_view worker_id,
                                  std::optional<Worker> row);
  std::optional<Replica> PutReplica(PoolData& data, std::string_view worker_id,
                                    std::string_view dataset_id, std::optional<Replica> row);
  std::optional<EvalRow> PutEval(PoolData& data, int64_t seq, std::optional<EvalRow> row);
  std::optional<Alloc> PutAlloc(PoolData& data, int64_t seq, std::optional<Alloc> row);
  // Puts `progress` into eval `seq` and returns what it replaced.
  EvalProgress PutEvalProgress(PoolData& data, int64_t seq, EvalProgress progress);
  // The entries of an alloc that depend on its state, delivery and deadline.
  void IndexAllocState(PoolData& data, WorkerAllocs& worker, int64_t seq, const Alloc& alloc,
                       bool add);
  // Takes alloc `seq` (whose row is `alloc`, still in place) out of allocs_by_eval.
  void UnindexAllocOfEval(PoolData& data, int64_t seq, const Alloc& alloc);
  // Moves a pool's data in or out, with its entries in the indexes across pools.
  std::unique_ptr<PoolData> TakePoolData(std::string_view pool_id);
  void RestorePoolData(std::unique_ptr<PoolData> data);
  void IndexAcrossPools(const PoolData& data, bool add);

  std::map<std::string, std::unique_ptr<PoolData>, std::less<>> pools_;
  absl::btree_set<WorkerByTtl> workers_by_ttl_;
  absl::btree_set<ReplicaByTtl> replicas_by_ttl_;
  absl::btree_set<AllocByTtl> live_allocs_by_ttl_;
  int64_t next_eval_seq_ = 1;
  int64_t next_alloc_seq_ = 1;
  std::vector<Change> journal_;
  std::unique_lock<StateLock>* hold_ = nullptr;

  friend class MemLoader;
};

// Fills MemTables from stored rows at start-up, without journalling (it puts rows in place
// directly) and without the state lock, and sets the seq counters past the largest seq loaded.
class MemLoader {
 public:
  explicit MemLoader(MemTables& tables) : tables_(tables) {}
  void Add(Pool pool);
  void Add(Worker worker);
  void Add(Replica replica);
  void Add(Eval eval);
  void Add(Alloc alloc);
  // Sets every worker's free capacity to its capacity minus the sizes of its live allocs
  // (invariant 1), once every row is in. The file's `free` is only written with a worker's
  // other changes, so it may be stale. Returns how many workers it corrected.
  int64_t DeriveFreeCapacity();

 private:
  MemTables& tables_;
};

}  // namespace line::memory
