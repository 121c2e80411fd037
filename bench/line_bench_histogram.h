// A log-linear latency histogram in the manner of HdrHistogram: values below 64 ns get a bucket
// each, above that every power of two is split into 32 equal buckets, so any recorded value is
// known to within 1/32 (about 3 %) at a fixed 1,920 counters. Recording is a few instructions
// and never allocates, so each load-generator thread keeps its own and they are merged at the
// end instead of sharing one under a lock on the hot path.
#pragma once

#include <array>
#include <cstdint>

namespace line::bench {

class LatencyHistogram {
 public:
  void Record(int64_t nanoseconds);
  void Merge(const LatencyHistogram& other);

  int64_t count() const { return count_; }
  int64_t max() const { return max_; }
  // The smallest bucket bound that at least `quantile` (0..1) of the samples do not exceed,
  // clamped to the largest sample; 0 when empty.
  int64_t ValueAtQuantile(double quantile) const;

 private:
  static constexpr int kSubBucketBits = 6;  // 64 linear buckets, then 32 per power of two
  static constexpr int kSubBuckets = 1 << kSubBucketBits;
  static constexpr int kHalf = kSubBuckets / 2;
  static constexpr int kBuckets = kSubBuckets + (64 - kSubBucketBits) * kHalf;

  static int IndexOf(uint64_t value);
  static uint64_t UpperBoundOf(int index);

  std::array<int64_t, kBuckets> counts_{};
  int64_t count_ = 0;
  int64_t max_ = 0;
};

}  // namespace line::bench
