// SPDX-License-Identifier: GPL-2.0
#include "profile.hpp"

#include <algorithm>
#include <cmath>

namespace kq::quantad {

std::optional<double> Profile::mean_ipc() const {
  if (!ipc_n) return std::nullopt;
  return ipc_sum / static_cast<double>(ipc_n);
}

std::optional<double> Profile::mean_exit_rate() const {
  if (!exit_rate_n) return std::nullopt;
  return exit_rate_sum / static_cast<double>(exit_rate_n);
}

std::optional<double> Profile::mean_quantum_ns() const {
  if (!quantum_n) return std::nullopt;
  return quantum_ns_sum / static_cast<double>(quantum_n);
}

uint64_t Profile::total_decisions() const {
  uint64_t n = 0;
  for (uint64_t d : decisions) n += d;
  return n;
}

int HistoryAdjustPct(const Profile& p, const HistoryParams& h) {
  if (h.max_pct == 0 || p.windows < h.min_windows) return 0;
  double score = 0;
  if (const uint64_t total = p.total_decisions(); total > 0) {
    score = (static_cast<double>(p.decisions[KVM_QUANTA_R_WARM]) -
             static_cast<double>(p.decisions[KVM_QUANTA_R_EXIT_HEAVY])) /
            static_cast<double>(total);
  } else if (auto r = p.mean_exit_rate()) {
    if (*r <= h.compute_exit_rate)
      score = 1;
    else if (*r >= h.heavy_exit_rate)
      score = -1;
    else
      score = 1 - 2 * (*r - h.compute_exit_rate) / (h.heavy_exit_rate - h.compute_exit_rate);
    if (auto ipc = p.mean_ipc(); score > 0 && ipc && *ipc < h.min_warm_ipc) score = 0;
  } else {
    return 0;
  }
  score = std::clamp(score, -1.0, 1.0);
  const int max = static_cast<int>(h.max_pct);
  return std::clamp(static_cast<int>(std::lround(score * max)), -max, max);
}

uint32_t AdjustedBase(const Policy& p, int pct) {
  const int64_t base = p.base_quantum_us;
  const int64_t v = base + base * pct / 100;
  return static_cast<uint32_t>(std::clamp<int64_t>(v, p.min_quantum_us, p.max_quantum_us));
}

}  // namespace kq::quantad
