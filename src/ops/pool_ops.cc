// Pool calls: CreatePool, DisbandPool, DescribePool, ListPools, dead letters and redrive.
#include "common/ids.h"
#include "common/log.h"
#include "ops/describe.h"
#include "ops/line_service_inl.h"
#include "ops/lookups.h"

namespace line {

LineService::LineService(Store* store, Clock* clock, Scheduler* scheduler, SnapshotCache* cache,
                         AllocWaiters* waiters, Cluster* cluster, Options options)
    : store_(store), clock_(clock), scheduler_(scheduler), cache_(cache), waiters_(waiters),
      cluster_(cluster), options_(std::move(options)) {}

Status LineService::Health() {
  LINE_RETURN_IF_ERROR(store_->Ping());
  return cluster_->Health();
}

void LineService::CreatePool(CreatePoolRequest req, Reply<CreatePoolResponse> reply) {
  Pool pool;
  pool.pool_id = NewId();
  pool.placement = req.placement.value_or(PlacementPolicy::kSpread);
  pool.max_retry = req.max_retry.value_or(options_.max_retry);
  pool.alloc_ttl_s = req.alloc_ttl.value_or(options_.alloc_ttl);
  pool.created_at = clock_->NowMs();
  Write<CreatePoolResponse>(
      [pool](Tx& tx) -> Result<CreatePoolResponse> {
        LINE_RETURN_IF_ERROR(tx.InsertPool(pool));
        return CreatePoolResponse{pool.pool_id};
      },
      std::move(reply), [pool](const CreatePoolResponse&) {
        spdlog::info("pool {} created (placement {}, max_retry {}, alloc_ttl {}s)", pool.pool_id,
                     PlacementName(pool.placement), pool.max_retry, pool.alloc_ttl_s);
      });
}

void LineService::DisbandPool(PoolRequest req, Reply<Empty> reply) {
  TimeMs now = clock_->NowMs();
  auto dead = std::make_shared<int64_t>(-1);  // stays -1 when the pool was already disbanded
  Write<Empty>(
      [req, now, dead](Tx& tx, CapacityDeltas& deltas) -> Result<Empty> {
        LINE_ASSIGN_OR_RETURN(Pool pool, FindPool(tx, req.pool_id));
        if (pool.disbanded) return Empty{};  // a second disband is a no-op
        *dead = 0;
        LINE_RETURN_IF_ERROR(tx.MarkPoolDisbanded(pool.pool_id, now));
        deltas.push_back({CapacityDelta::Kind::kInvalidatePool, pool.pool_id});
        // Its pending evals are dead-lettered in the same transaction (SPEC).
        int64_t after = 0;
        while (true) {
          LINE_ASSIGN_OR_RETURN(std::vector<Eval> pending,
                                tx.PendingEvals(pool.pool_id, INT64_MAX, after, 1000));
          if (pending.empty()) break;
          for (Eval& eval : pending) {
            after = eval.seq;
            eval.state = EvalState::kDead;
            eval.dead_reason = "pool disbanded";
            LINE_ASSIGN_OR_RETURN(bool updated, tx.UpdateEval(eval, EvalState::kPending));
            if (updated) ++*dead;
          }
        }
        return Empty{};
      },
      std::move(reply), [req, dead](const Empty&) {
        if (*dead >= 0) {
          spdlog::info("pool {} disbanded; {} pending evals dead-lettered", req.pool_id, *dead);
        }
      });
}

void LineService::DescribePool(PoolRequest req, Reply<PoolDescription> reply) {
  TimeMs now = clock_->NowMs();
  Read<PoolDescription>(
      [this, &req, now](Tx& tx) -> Result<PoolDescription> {
        LINE_ASSIGN_OR_RETURN(Pool pool, FindPool(tx, req.pool_id));
        LINE_ASSIGN_OR_RETURN(PoolCounts counts, tx.CountPool(pool.pool_id, now));
        PoolDescription description = DescribePoolRow(pool, counts);
        if (!pool.disbanded) description.owner = cluster_->OwnerOf(pool.pool_id);
        return description;
      },
      reply);
}

void LineService::ListPools(PageRequest req, Reply<ListPoolsResponse> reply) {
  TimeMs now = clock_->NowMs();
  Read<ListPoolsResponse>(
      [this, &req, now](Tx& tx) -> Result<ListPoolsResponse> {
        LINE_ASSIGN_OR_RETURN(std::string after, ParseIdToken(req.next_token));
        LINE_ASSIGN_OR_RETURN(std::vector<Pool> pools, tx.ListPools(after, req.max_results + 1));
        ListPoolsResponse response;
        response.next_token =
            TakePage(pools, req.max_results, [](const Pool& p) { return p.pool_id; });
        for (const Pool& pool : pools) {
          LINE_ASSIGN_OR_RETURN(PoolCounts counts, tx.CountPool(pool.pool_id, now));
          response.pools.push_back(DescribePoolRow(pool, counts));
          if (!pool.disbanded) response.pools.back().owner = cluster_->OwnerOf(pool.pool_id);
        }
        return response;
      },
      reply);
}

void LineService::ListDeadLetters(PoolRequest req, Reply<ListDeadLettersResponse> reply) {
  Read<ListDeadLettersResponse>(
      [&req](Tx& tx) -> Result<ListDeadLettersResponse> {
        LINE_ASSIGN_OR_RETURN(Pool pool, FindPool(tx, req.pool_id));
        LINE_ASSIGN_OR_RETURN(int64_t after, ParseSeqToken(req.page.next_token));
        LINE_ASSIGN_OR_RETURN(std::vector<Eval> evals,
                              tx.ListEvals(pool.pool_id, EvalState::kDead, after,
                                           req.page.max_results + 1));
        ListDeadLettersResponse response;
        response.next_token = TakePage(evals, req.page.max_results,
                                       [](const Eval& e) { return SeqToken(e.seq); });
        for (const Eval& eval : evals) response.dead_letters.push_back(DescribeDeadLetter(eval));
        return response;
      },
      reply);
}

void LineService::RedriveDeadLetters(RedriveRequest req, Reply<RedriveResponse> reply) {
  std::string pool_id = req.pool_id;
  Write<RedriveResponse>(
      [req = std::move(req)](Tx& tx) -> Result<RedriveResponse> {
        LINE_ASSIGN_OR_RETURN(Pool pool, FindActivePool(tx, req.pool_id));
        std::vector<Eval> targets;
        if (req.eval_ids) {
          for (const std::string& id : *req.eval_ids) {
            LINE_ASSIGN_OR_RETURN(Eval eval, FindEval(tx, pool.pool_id, id));
            if (eval.state == EvalState::kDead) targets.push_back(std::move(eval));
          }
        } else {
          int64_t after = 0;
          while (true) {
            LINE_ASSIGN_OR_RETURN(std::vector<Eval> page,
                                  tx.ListEvals(pool.pool_id, EvalState::kDead, after, 1000));
            if (page.empty()) break;
            after = page.back().seq;
            for (Eval& e : page) targets.push_back(std::move(e));
          }
        }
        RedriveResponse response;
        for (Eval& eval : targets) {
          eval.state = EvalState::kPending;
          eval.attempt = 1;  // attempts reset (SPEC)
          eval.dead_reason.clear();
          LINE_ASSIGN_OR_RETURN(bool updated, tx.UpdateEval(eval, EvalState::kDead));
          if (updated) ++response.redriven;
        }
        return response;
      },
      std::move(reply), [this, pool_id](const RedriveResponse& r) {
        if (r.redriven > 0) {
          spdlog::info("pool {}: {} dead letters redriven", pool_id, r.redriven);
          scheduler_->Wake(pool_id);
        }
      });
}

}  // namespace line
