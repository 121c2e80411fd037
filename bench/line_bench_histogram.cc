#include "line_bench_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace line::bench {

int LatencyHistogram::IndexOf(uint64_t value) {
  if (value < kSubBuckets) return static_cast<int>(value);
  int msb = 63 - std::countl_zero(value);  // >= kSubBucketBits
  int shift = msb - (kSubBucketBits - 1);
  int top = static_cast<int>(value >> shift);  // in [kHalf, kSubBuckets)
  return kSubBuckets + (msb - kSubBucketBits) * kHalf + (top - kHalf);
}

uint64_t LatencyHistogram::UpperBoundOf(int index) {
  if (index < kSubBuckets) return static_cast<uint64_t>(index);
  int rest = index - kSubBuckets;
  int msb = rest / kHalf + kSubBucketBits;
  int shift = msb - (kSubBucketBits - 1);
  uint64_t top = static_cast<uint64_t>(rest % kHalf + kHalf);
  return ((top + 1) << shift) - 1;
}

void LatencyHistogram::Record(int64_t nanoseconds) {
  uint64_t value = nanoseconds > 0 ? static_cast<uint64_t>(nanoseconds) : 0;
  ++counts_[static_cast<size_t>(IndexOf(value))];
  ++count_;
  max_ = std::max(max_, static_cast<int64_t>(value));
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

int64_t LatencyHistogram::ValueAtQuantile(double quantile) const {
  if (count_ == 0) return 0;
  quantile = std::clamp(quantile, 0.0, 1.0);
  // The rank of the sample sought, 1-based: the p99 of 100 samples is the 99th.
  int64_t rank = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(quantile * static_cast<double>(count_))));
  int64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      return std::min(static_cast<int64_t>(UpperBoundOf(static_cast<int>(i))), max_);
    }
  }
  return max_;
}

}  // namespace line::bench
