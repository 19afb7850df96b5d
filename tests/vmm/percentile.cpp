#include "percentile.hpp"

#include <algorithm>

namespace kq {

std::optional<int64_t> NearestRank(std::span<const int64_t> sorted, uint32_t per_mille) {
  if (sorted.empty()) return std::nullopt;
  const uint64_t n = sorted.size();
  const uint64_t rank = std::max<uint64_t>(1, (uint64_t{per_mille} * n + 999) / 1000);
  return sorted[std::min(rank, n) - 1];
}

LatencySummary Summarize(std::vector<int64_t> samples) {
  LatencySummary s;
  s.count = samples.size();
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.p50 = NearestRank(samples, 500);
  s.p99 = NearestRank(samples, 990);
  s.p999 = NearestRank(samples, 999);
  s.max = samples.back();
  // irq latencies are below 1 s (later is missed): billions of samples before this overflows.
  int64_t sum = 0;
  for (int64_t v : samples) sum += v;
  const int64_t n = static_cast<int64_t>(samples.size());
  s.mean = sum >= 0 ? (sum + n / 2) / n : (sum - n / 2) / n;
  return s;
}

}  // namespace kq
