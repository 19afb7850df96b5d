// Nearest-rank percentiles and the summary of a latency sample set (the irq program's report).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace kq {

// The nearest-rank percentile per_mille/1000 of sorted (ascending): the value at 1-based rank
// ceil(per_mille * N / 1000), at least rank 1. Integer arithmetic, so p99 of 100 samples is the
// 99th and not (by rounding) the 100th. nullopt for no samples; per_mille in [0, 1000].
std::optional<int64_t> NearestRank(std::span<const int64_t> sorted, uint32_t per_mille);

struct LatencySummary {
  uint64_t count = 0;
  // Empty when count == 0.
  std::optional<int64_t> p50, p99, p999, max, mean;  // mean rounded to the nearest unit
};

// samples in any order (e.g. order of raise); the summary does not depend on it.
LatencySummary Summarize(std::vector<int64_t> samples);

}  // namespace kq
