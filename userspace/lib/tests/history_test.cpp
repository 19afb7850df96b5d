// SPDX-License-Identifier: GPL-2.0
#include <gtest/gtest.h>

#include "profile.hpp"

namespace kq {
namespace {

Profile WithExitRate(uint64_t windows, double rate, std::optional<double> ipc = std::nullopt) {
  Profile p;
  p.windows = windows;
  p.exit_rate_sum = rate * static_cast<double>(windows);
  p.exit_rate_n = windows;
  if (ipc) {
    p.ipc_sum = *ipc * static_cast<double>(windows);
    p.ipc_n = windows;
  }
  return p;
}

TEST(QuantadHistory, NeedsEnoughWindows) {
  HistoryParams h;  // 20%, 600 windows
  EXPECT_EQ(HistoryAdjustPct(WithExitRate(599, 0.1), h), 0);
  EXPECT_EQ(HistoryAdjustPct(WithExitRate(600, 0.1), h), 20);
  EXPECT_EQ(HistoryAdjustPct(Profile{}, h), 0);
  Profile nothing;
  nothing.windows = 10000;  // windows, but no exit rate or decisions
  EXPECT_EQ(HistoryAdjustPct(nothing, h), 0);
}

TEST(QuantadHistory, ExitRateRule) {
  HistoryParams h;
  EXPECT_EQ(HistoryAdjustPct(WithExitRate(1000, 0.0), h), 20);  // compute-heavy
  EXPECT_EQ(HistoryAdjustPct(WithExitRate(1000, 1.0), h), 20);
  EXPECT_EQ(HistoryAdjustPct(WithExitRate(1000, 10.5), h), 0);    // midpoint
  EXPECT_EQ(HistoryAdjustPct(WithExitRate(1000, 20.0), h), -20);  // exit-heavy
  EXPECT_EQ(HistoryAdjustPct(WithExitRate(1000, 5000.0), h), -20);
  // Known low IPC: a low exit rate alone is not warm.
  EXPECT_EQ(HistoryAdjustPct(WithExitRate(1000, 0.1, 0.2), h), 0);
  EXPECT_EQ(HistoryAdjustPct(WithExitRate(1000, 0.1, 2.0), h), 20);
  EXPECT_EQ(HistoryAdjustPct(WithExitRate(1000, 50, 2.0), h), -20);
  // Monotonic and bounded over the whole range.
  int last = 100;
  for (double r = 0; r < 40; r += 0.25) {
    const int pct = HistoryAdjustPct(WithExitRate(1000, r), h);
    EXPECT_LE(pct, last);
    EXPECT_GE(pct, -20);
    EXPECT_LE(pct, 20);
    last = pct;
  }
}

TEST(QuantadHistory, DecisionsRule) {
  HistoryParams h;
  h.max_pct = 10;
  Profile p = WithExitRate(1000, 100.0);  // exit rate ignored when decisions exist
  p.decisions[KVM_QUANTA_R_WARM] = 900;
  p.decisions[KVM_QUANTA_R_BASE] = 100;
  EXPECT_EQ(HistoryAdjustPct(p, h), 9);  // (900 - 0) / 1000 * 10
  p.decisions[KVM_QUANTA_R_WARM] = 0;
  p.decisions[KVM_QUANTA_R_EXIT_HEAVY] = 900;
  EXPECT_EQ(HistoryAdjustPct(p, h), -9);
  p.decisions = {};
  p.decisions[KVM_QUANTA_R_WARM] = 5;
  EXPECT_EQ(HistoryAdjustPct(p, h), 10);
  h.max_pct = 0;  // disabled
  EXPECT_EQ(HistoryAdjustPct(p, h), 0);
}

}  // namespace
}  // namespace kq
