// SPDX-License-Identifier: GPL-2.0
// Property tests for the quantum policy and the fairness ledger
// (src/core/policy.c): random windows, knobs and vCPU groups with fixed seeds,
// a 128-bit reference for the ledger, and the replay of a long synthetic trace
// in which one vCPU takes more than its share.  The exact cases live in
// kunit/policy_test.c.
#include "policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

constexpr u64 kNone64 = KQ_NONE64;

u64 Rand(std::mt19937_64& rng, u64 n) { return n ? rng() % n : 0; }

// A random u64 of random magnitude, up to 2^bits.
u64 RandMag(std::mt19937_64& rng, unsigned max_bits) {
  const unsigned bits = rng() % (max_bits + 1);
  return bits == 0 ? 0 : rng() & ((u64{1} << bits) - 1);
}

kq_window RandomWindow(std::mt19937_64& rng) {
  kq_window w{};
  w.window_ns = Rand(rng, 100000001);
  w.guest_ns = Rand(rng, w.window_ns + 1);
  w.halt_ns = Rand(rng, w.window_ns - w.guest_ns + 1);
  w.run_ns = w.guest_ns + Rand(rng, 1000000);
  w.wait_ns = Rand(rng, 100000000);
  w.slices = Rand(rng, 50);
  w.exits = RandMag(rng, 40);
  for (auto& c : w.pmu) c = Rand(rng, 5) ? RandMag(rng, 44) : kNone64;
  kq_window_derive(&w);
  return w;
}

// Knobs anywhere in the ranges sysfs accepts.
kq_policy_params RandomParams(std::mt19937_64& rng) {
  kq_policy_params p;
  kq_policy_defaults(&p);
  if (Rand(rng, 4) == 0) return p;
  p.warm_ipc_milli = Rand(rng, 100001);
  p.warm_llc_mpki_milli = Rand(rng, 1000001);
  p.warm_br_mpki_milli = Rand(rng, 1000001);
  p.warm_exit_rate_milli = Rand(rng, 1000000001);
  p.heavy_exit_rate_milli = Rand(rng, 1000000001);
  p.flush_llc_mpki_milli = Rand(rng, 1000001);
  p.phase_drop_pct = Rand(rng, 101);
  p.idle_halt_pct = Rand(rng, 101);
  p.history_max_pct = Rand(rng, 101);
  p.debt_max_us = Rand(rng, 10000001);
  return p;
}

kq_vm_policy RandomVm(std::mt19937_64& rng) {
  kq_vm_policy vp;
  vp.enabled = Rand(rng, 8) != 0;
  // Often at the edges of the range, sometimes all equal.
  auto pick = [&](u32 lo, u32 hi) -> u32 {
    switch (Rand(rng, 4)) {
      case 0:
        return lo;
      case 1:
        return hi;
      default:
        return lo + static_cast<u32>(Rand(rng, u64{hi} - lo + 1));
    }
  };
  vp.min_us = pick(KQ_QUANTUM_MIN_US, KQ_QUANTUM_MAX_US);
  vp.max_us = pick(vp.min_us, KQ_QUANTUM_MAX_US);
  vp.base_us = pick(vp.min_us, vp.max_us);
  vp.weight = pick(KQ_WEIGHT_MIN, KQ_WEIGHT_MAX);
  return vp;
}

TEST(Policy, TargetsAlwaysWithinMinMax) {
  std::mt19937_64 rng(11);
  kq_history h;
  int bad = 0;
  for (int vm = 0; vm < 2000 && bad < 10; vm++) {
    const kq_policy_params p = RandomParams(rng);
    const kq_vm_policy vp = RandomVm(rng);
    ASSERT_EQ(kq_vm_policy_validate(&vp), 0);
    kq_vcpu_policy st;
    kq_vcpu_policy_init(&st, &vp);
    const s32 hmax = static_cast<s32>(p.history_max_pct);
    st.history_pct = static_cast<s32>(Rand(rng, 2 * hmax + 1)) - hmax;
    kq_history_init(&h);
    u64 total = 0;
    for (int i = 0; i < 40; i++) {
      const kq_window w = RandomWindow(rng);
      st.debt_ns = static_cast<s64>(Rand(rng, 4 * u64{p.debt_max_us} * 1000 + 1)) -
                   static_cast<s64>(2 * u64{p.debt_max_us} * 1000);
      const s32 before = st.history_pct;
      kq_policy_window(&p, &vp, &st, &w, &h);
      kq_history_add(&h, &w);
      total++;
      const u64 lo = u64{vp.min_us} * 1000, hi = u64{vp.max_us} * 1000;
      const bool ok = st.target_ns >= lo && st.target_ns <= hi && st.reason < KVM_QUANTA_R_NR &&
                      (!vp.enabled || std::abs(st.history_pct - before) <= 1) &&
                      std::abs(st.history_pct) <= hmax &&
                      (vp.enabled || st.reason == KVM_QUANTA_R_BASE);
      EXPECT_TRUE(ok) << "vm " << vm << " window " << i << ": [" << vp.min_us << ", " << vp.base_us
                      << ", " << vp.max_us << "] us, enabled " << vp.enabled << ", target "
                      << st.target_ns << " reason " << st.reason << " history " << before << " -> "
                      << st.history_pct << " (max " << hmax << ")";
      if (!ok && ++bad >= 10) break;
    }
    u64 sum = 0;
    for (u64 d : st.decisions) sum += d;
    EXPECT_EQ(sum, total) << "vm " << vm;
  }
}

// ---- replay ------------------------------------------------------------------

// CFS load weight of nice -20..19, as the enforcement sets it.
constexpr std::array<u64, 40> kNiceWeight = {
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906,  3121,  2501,  1991,  1586,  1277,  1024,  820,   655,   526,   423,  335,  272,  215,
    172,   137,   110,   87,    70,    56,    45,    36,    29,    23,    18,   15,
};

// ---- small properties --------------------------------------------------------

TEST(Policy, ReasonNamesRoundTrip) {
  const std::vector<std::string> documented = {"base", "warm",      "exit_heavy", "flush",
                                               "spin", "phase_end", "payback",    "idle"};
  ASSERT_EQ(documented.size(), static_cast<size_t>(KVM_QUANTA_R_NR));
  std::set<std::string> seen;
  for (unsigned r = 0; r < KVM_QUANTA_R_NR; r++) {
    const char* name = kq_reason_name(r);
    ASSERT_NE(name, nullptr) << r;
    EXPECT_EQ(std::string(name), documented[r]);
    EXPECT_TRUE(seen.insert(name).second) << "duplicate " << name;
    // Name -> reason, as a reader of sysfs or the tracepoint does it.
    unsigned back = KVM_QUANTA_R_NR;
    for (unsigned k = 0; k < KVM_QUANTA_R_NR; k++)
      if (std::strcmp(kq_reason_name(k), name) == 0) back = k;
    EXPECT_EQ(back, r) << name;
  }
  for (unsigned r : {unsigned{KVM_QUANTA_R_NR}, unsigned{KVM_QUANTA_R_NR} + 1, 1000u, ~0u})
    EXPECT_EQ(kq_reason_name(r), nullptr) << r;
}

TEST(Policy, CutNowIsMonotoneInTimeRun) {
  std::mt19937_64 rng(14);
  for (int i = 0; i < 20000; i++) {
    kq_vcpu_policy st{};
    st.reason = static_cast<u32>(Rand(rng, KVM_QUANTA_R_NR));
    st.target_ns = RandMag(rng, 40);
    const u64 a = RandMag(rng, 41), b = a + RandMag(rng, 41);
    EXPECT_TRUE(kq_policy_cut_now(&st, a, true));
    if (kq_policy_cut_now(&st, a, false)) {
      EXPECT_TRUE(kq_policy_cut_now(&st, b, false)) << st.reason << " " << a << " " << b;
    }
  }
}

TEST(Policy, WeightToNiceIsClosestLoadWeight) {
  for (u32 w = KQ_WEIGHT_MIN; w <= KQ_WEIGHT_MAX; w++) {
    const int nice = kq_weight_to_nice(w);
    ASSERT_GE(nice, -20);
    ASSERT_LE(nice, 19);
    const u64 want = u64{w} * 1024 / 100;
    const u64 got = kNiceWeight[nice + 20];
    const u64 d = want > got ? want - got : got - want;
    for (u64 other : kNiceWeight) {
      const u64 od = want > other ? want - other : other - want;
      ASSERT_LE(d, od) << "weight " << w << " nice " << nice;
    }
  }
}

}  // namespace
