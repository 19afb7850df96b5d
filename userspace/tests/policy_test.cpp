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
  p.latency_burst_us = Rand(rng, 100001);
  p.latency_boost = Rand(rng, 4);
  p.ratelimit_us = Rand(rng, 100001);
  p.flush_burst_pct = Rand(rng, 1001);
  p.host_thresholds = Rand(rng, 2);
  p.warm_pct = KQ_PARAM_WARM_PCT_MIN + Rand(rng, KQ_PARAM_WARM_PCT_MAX - KQ_PARAM_WARM_PCT_MIN + 1);
  p.flush_pct =
      KQ_PARAM_FLUSH_PCT_MIN + Rand(rng, KQ_PARAM_FLUSH_PCT_MAX - KQ_PARAM_FLUSH_PCT_MIN + 1);
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
  vp.group = Rand(rng, 2) ? 0 : pick(1, KQ_GROUP_MAX);
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
      st.smt = static_cast<u32>(Rand(rng, 3));
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

// ---- decisions, exactly --------------------------------------------------

constexpr u64 kMin = 1000000, kBase = 4000000, kMax = 8000000;

// A warm window without a PMU: 10 ms, 8 ms in the guest, 4 exits.
kq_window Warm() {
  kq_window w;
  kq_window_init(&w);
  w.window_ns = 10000000;
  w.guest_ns = 8000000;
  w.run_ns = 8000000;
  w.exits = 4;
  w.slices = 2;
  kq_window_derive(&w);
  return w;
}

kq_window WithIpc(kq_window w, u64 ipc_milli) {
  w.pmu[KVM_QUANTA_EV_CYCLES] = 10000000;
  w.pmu[KVM_QUANTA_EV_INSTRUCTIONS] = 10000 * ipc_milli;
  w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 100;
  w.pmu[KVM_QUANTA_EV_BRANCH_MISSES] = 100;
  kq_window_derive(&w);
  return w;
}

struct Decider {
  kq_policy_params p;
  kq_vm_policy vp;
  kq_vcpu_policy st;
  kq_history h;
  Decider() {
    kq_policy_defaults(&p);
    p.history_max_pct = 0;
    kq_vm_policy_defaults(&vp);
    kq_vcpu_policy_init(&st, &vp);
    kq_history_init(&h);
  }
  // As the sampler: decide against the history before the window.
  u32 Decide(const kq_window& w) {
    kq_policy_window(&p, &vp, &st, &w, &h);
    kq_history_add(&h, &w);
    return st.reason;
  }
  // @w derived, with no history, after a window decided @prev (the latency
  // class's hysteresis looks at it).
  u32 DecideAfter(kq_window w, u32 prev) {
    kq_window_derive(&w);
    kq_history_init(&h);
    st.reason = prev;
    return Decide(w);
  }
};

// SMT (st.smt, from kq_smt_window()): a warm vCPU beside cache-hungry work
// is held at the base; the worse thrasher is cut to the minimum from a
// warm, base or payback window; shorter decisions and disabled VMs stand.
TEST(Policy, SmtSiblings) {
  Decider d;
  auto decide = [&](kq_window w, u32 smt) {
    kq_window_derive(&w);
    kq_history_init(&d.h);
    d.st.smt = smt;
    return d.Decide(w);
  };
  const kq_window warm = WithIpc(Warm(), 2000);
  EXPECT_EQ(decide(warm, KQ_SMT_NONE), KVM_QUANTA_R_WARM);
  EXPECT_EQ(d.st.target_ns, kMax);
  EXPECT_EQ(decide(warm, KQ_SMT_PRESSED), KVM_QUANTA_R_SMT);
  EXPECT_EQ(d.st.target_ns, kBase);
  EXPECT_EQ(decide(warm, KQ_SMT_THRASHER), KVM_QUANTA_R_SMT);
  EXPECT_EQ(d.st.target_ns, kMin);
  EXPECT_EQ(d.st.decisions[KVM_QUANTA_R_SMT], 2u);
  // The thrasher is cut at its minimum while the sibling runs hungry work.
  EXPECT_FALSE(kq_policy_cut_now(&d.st, kMin - 1, KQ_AT_SIBLING_HUNGRY));
  EXPECT_TRUE(kq_policy_cut_now(&d.st, kMin, KQ_AT_SIBLING_HUNGRY));
  EXPECT_FALSE(kq_policy_cut_now(&d.st, kMax, 0));
  EXPECT_TRUE(kq_policy_cut_now(&d.st, d.st.min_run_ns, KQ_AT_PAUSE_SPIN));
  d.st.payback = -1;
  EXPECT_FALSE(kq_policy_cut_now(&d.st, kMax, KQ_AT_SIBLING_HUNGRY));
  d.st.payback = 0;
  // A pressed one is only not extended: never cut, sibling or not.
  EXPECT_EQ(decide(warm, KQ_SMT_PRESSED), KVM_QUANTA_R_SMT);
  EXPECT_FALSE(kq_policy_cut_now(&d.st, kMax, KQ_AT_SIBLING_HUNGRY));
  EXPECT_FALSE(kq_policy_cut_now(&d.st, kMax, 0));
  EXPECT_TRUE(kq_policy_cut_now(&d.st, d.st.min_run_ns, KQ_AT_PAUSE_SPIN));
  // Not smt: the sibling bit changes nothing.
  EXPECT_EQ(decide(warm, KQ_SMT_NONE), KVM_QUANTA_R_WARM);
  EXPECT_FALSE(kq_policy_cut_now(&d.st, kMax, KQ_AT_SIBLING_HUNGRY));

  kq_window base = warm;
  base.exits = 40;
  EXPECT_EQ(decide(base, KQ_SMT_PRESSED), KVM_QUANTA_R_BASE);
  EXPECT_EQ(decide(base, KQ_SMT_THRASHER), KVM_QUANTA_R_SMT);
  EXPECT_EQ(d.st.target_ns, kMin);

  d.st.debt_ns = 100000000;
  EXPECT_EQ(decide(base, KQ_SMT_THRASHER), KVM_QUANTA_R_SMT);
  EXPECT_EQ(d.st.target_ns, kMin);
  EXPECT_EQ(decide(base, KQ_SMT_PRESSED), KVM_QUANTA_R_PAYBACK);
  EXPECT_EQ(decide(warm, KQ_SMT_PRESSED), KVM_QUANTA_R_PAYBACK);
  EXPECT_EQ(d.st.target_ns, kBase);
  d.st.debt_ns = 0;
  d.st.payback = 0;

  kq_window heavy = warm;
  heavy.exits = 800;
  EXPECT_EQ(decide(heavy, KQ_SMT_THRASHER), KVM_QUANTA_R_EXIT_HEAVY);
  kq_window idle = base;
  idle.halt_ns = 9000000;
  EXPECT_EQ(decide(idle, KQ_SMT_THRASHER), KVM_QUANTA_R_IDLE);

  d.vp.enabled = false;
  EXPECT_EQ(decide(warm, KQ_SMT_THRASHER), KVM_QUANTA_R_BASE);
  EXPECT_EQ(d.st.target_ns, kBase);
}

// A request server: 10 ms, woken 4 times for 250 us each (1 ms on the
// CPU), 0.8 ms of it in the guest with 40 exits (exit-heavy by rate), 3 ms
// waiting, 6 ms halted.
kq_window Server() {
  kq_window w;
  kq_window_init(&w);
  w.window_ns = 10000000;
  w.guest_ns = 800000;
  w.exits = 40;
  w.run_ns = 1000000;
  w.wait_ns = 3000000;
  w.slices = 4;
  w.halt_ns = 6000000;
  kq_window_derive(&w);
  return w;
}

// The latency class at its boundaries, first of the rules, its minimum as
// target, never cut, boosted unless in debt.  Each window is judged as
// a vCPU's first after a base window (no hysteresis: see below).
TEST(Policy, LatencyClass) {
  Decider d;
  auto decide = [&](const kq_window& w) { return d.DecideAfter(w, KVM_QUANTA_R_BASE); };
  kq_window w = Server();
  EXPECT_EQ(decide(w), KVM_QUANTA_R_LATENCY);
  EXPECT_EQ(d.st.target_ns, kMin);
  EXPECT_EQ(d.st.boost, -3);
  EXPECT_FALSE(kq_policy_cut_now(&d.st, ~u64{0}, 0));
  w.run_ns = 4000000;  // bursts of exactly 1 ms
  EXPECT_EQ(decide(w), KVM_QUANTA_R_LATENCY);
  w.run_ns = 4000004;  // 1 ms + 1 ns
  EXPECT_EQ(decide(w), KVM_QUANTA_R_IDLE);
  EXPECT_EQ(d.st.boost, 0);
  w.halt_ns = w.run_ns = 600000;  // halted as long as it ran
  EXPECT_EQ(decide(w), KVM_QUANTA_R_LATENCY);
  w.halt_ns = 599999;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_EXIT_HEAVY);
  w = Server();
  w.halt_ns = 0;
  w.run_ns = 0;
  w.guest_ns = 0;
  w.exits = 0;
  w.slices = 1;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_BASE);  // never halted: not a server
  w = Server();
  w.slices = 0;
  w.run_ns = 0;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_IDLE);  // no quantum to judge
  w = Server();
  w.ple_exits = 100;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_LATENCY);  // before spin
  d.p.latency_burst_us = 250;                  // bursts of 250 us: still
  EXPECT_EQ(decide(w), KVM_QUANTA_R_LATENCY);
  d.p.latency_burst_us = 249;
  EXPECT_NE(decide(w), KVM_QUANTA_R_LATENCY);
  d.p.latency_burst_us = 0;
  EXPECT_EQ(decide(Server()), KVM_QUANTA_R_IDLE);
  d.p.latency_burst_us = 1000;
  d.p.latency_boost = 2;
  EXPECT_EQ(decide(Server()), KVM_QUANTA_R_LATENCY);
  EXPECT_EQ(d.st.boost, -2);
  d.st.debt_ns = 100000000;  // a debtor: the ledger's payback, no boost
  EXPECT_EQ(decide(Server()), KVM_QUANTA_R_LATENCY);
  EXPECT_GT(d.st.payback, 0);
  EXPECT_EQ(d.st.boost, 0);
  d.st.debt_ns = -100000000;  // a creditor: both
  decide(Server());
  EXPECT_EQ(d.st.payback, -3);
  EXPECT_EQ(d.st.boost, -2);
}

// Once latency-sensitive, a vCPU stays so up to twice the burst bound;
// it still has to halt at least as long as it runs.
TEST(Policy, LatencyClassHysteresis) {
  Decider d;
  auto decide = [&](const kq_window& w, u32 prev) { return d.DecideAfter(w, prev); };
  kq_window w = Server();
  w.halt_ns = 9000000;
  w.run_ns = 8000000;  // bursts of exactly 2 ms
  EXPECT_EQ(decide(w, KVM_QUANTA_R_LATENCY), KVM_QUANTA_R_LATENCY);
  EXPECT_EQ(decide(w, KVM_QUANTA_R_IDLE), KVM_QUANTA_R_IDLE);
  EXPECT_EQ(decide(w, KVM_QUANTA_R_BASE), KVM_QUANTA_R_IDLE);
  w.run_ns = 8000004;  // 2 ms + 1 ns
  EXPECT_EQ(decide(w, KVM_QUANTA_R_LATENCY), KVM_QUANTA_R_IDLE);
  w.run_ns = 4000004;  // 1 ms + 1 ns: only as it was
  EXPECT_EQ(decide(w, KVM_QUANTA_R_LATENCY), KVM_QUANTA_R_LATENCY);
  EXPECT_EQ(decide(w, KVM_QUANTA_R_WARM), KVM_QUANTA_R_IDLE);
  w.halt_ns = 4000003;  // halted less than it ran
  EXPECT_NE(decide(w, KVM_QUANTA_R_LATENCY), KVM_QUANTA_R_LATENCY);
  d.p.latency_burst_us = 0;  // off is off
  EXPECT_NE(decide(Server(), KVM_QUANTA_R_LATENCY), KVM_QUANTA_R_LATENCY);
  // The PMU thresholds judge the window alone: 1.2 ms bursts count there,
  // even from a vCPU they keep latency-sensitive.
  d.p.latency_burst_us = 1000;
  w = Server();
  EXPECT_FALSE(kq_policy_uses_pmu(&d.p, &w));
  w.run_ns = w.halt_ns = 4800000;  // 1.2 ms bursts, halted under idle_halt_pct
  kq_window_derive(&w);
  EXPECT_TRUE(kq_policy_uses_pmu(&d.p, &w));
  EXPECT_EQ(decide(w, KVM_QUANTA_R_LATENCY), KVM_QUANTA_R_LATENCY);
}

// A new vCPU, before its first window: no boost, no rate limit (a spinner
// is cut at once), its VM's base.
TEST(Policy, InitialState) {
  kq_vm_policy vp;
  kq_vm_policy_defaults(&vp);
  kq_vcpu_policy st;
  std::memset(&st, 0x5a, sizeof(st));
  kq_vcpu_policy_init(&st, &vp);
  EXPECT_EQ(st.boost, 0);
  EXPECT_EQ(st.min_run_ns, 0u);
  EXPECT_TRUE(kq_policy_cut_now(&st, 0, KQ_AT_PAUSE_SPIN));
  // In no group, no shift, no SMT pressure yet.
  EXPECT_EQ(st.group_pct, 0);
  EXPECT_EQ(st.group_shift_pct, 0);
  EXPECT_EQ(st.group, 0u);
  EXPECT_EQ(st.smt, static_cast<u32>(KQ_SMT_NONE));
}

// Beside a latency-sensitive vCPU a neighbour's slice is at most its
// thread's own; the latency-sensitive one keeps its target.
TEST(Policy, SliceBesideLatency) {
  Decider d;
  EXPECT_EQ(d.Decide(Warm()), KVM_QUANTA_R_WARM);
  EXPECT_EQ(kq_policy_slice(&d.st, 1400000, false), kMax);
  EXPECT_EQ(kq_policy_slice(&d.st, 1400000, true), 1400000u);
  EXPECT_EQ(kq_policy_slice(&d.st, kMax, true), kMax);
  EXPECT_EQ(kq_policy_slice(&d.st, kMax - 1, true), kMax - 1);
  EXPECT_EQ(kq_policy_slice(&d.st, kMax + 1, true), kMax);
  EXPECT_EQ(kq_policy_slice(&d.st, 0, true), kMax);  // own not known: no bound
  kq_history_init(&d.h);
  EXPECT_EQ(d.Decide(Server()), KVM_QUANTA_R_LATENCY);
  d.st.target_ns = 2000000;
  EXPECT_EQ(kq_policy_slice(&d.st, 1400000, true), 2000000u);
}

// A flush is a burst against the vCPU's own recent LLC MPKI: a streaming
// vCPU at 30 MPKI every window is a flush once, then its level.
TEST(Policy, FlushIsABurst) {
  Decider d;
  kq_window w = WithIpc(Warm(), 2000);
  w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 600000;  // 30 MPKI
  kq_window_derive(&w);
  EXPECT_EQ(d.Decide(w), KVM_QUANTA_R_FLUSH);
  for (int i = 0; i < 20; i++) d.Decide(w);
  EXPECT_EQ(d.h.recent.llc_mpki_milli, 30000u);
  EXPECT_EQ(d.st.reason, KVM_QUANTA_R_BASE);
  auto at = [&](u64 misses) {
    kq_window x = w;
    x.pmu[KVM_QUANTA_EV_LLC_MISSES] = misses;
    kq_window_derive(&x);
    kq_policy_window(&d.p, &d.vp, &d.st, &x, &d.h);  // the history stays
    return d.st.reason;
  };
  EXPECT_EQ(at(1200000), KVM_QUANTA_R_FLUSH);  // twice its level
  EXPECT_EQ(at(1199980), KVM_QUANTA_R_BASE);
  d.p.flush_burst_pct = 50;
  EXPECT_EQ(at(900000), KVM_QUANTA_R_FLUSH);
  EXPECT_EQ(at(899980), KVM_QUANTA_R_BASE);
  d.p.flush_burst_pct = 0;
  EXPECT_EQ(at(600000), KVM_QUANTA_R_FLUSH);
  d.p.flush_llc_mpki_milli = 30001;  // the floor still holds
  EXPECT_EQ(at(600000), KVM_QUANTA_R_BASE);
}

// Every threshold at, just under and just over its boundary, as the
// defaults document them ("at least" / "at most").
TEST(Policy, ThresholdBoundaries) {
  Decider d;
  auto decide = [&](kq_window w) {
    kq_window_derive(&w);
    kq_history_init(&d.h);
    return d.Decide(w);
  };
  // Warm: at most 1 exit per guest ms (8 exits in 8 ms), with a PMU IPC
  // at least 1.0, LLC MPKI at most 1, branch MPKI at most 5.
  kq_window w = Warm();
  w.exits = 8;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_WARM);
  w.exits = 9;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_BASE);
  w = WithIpc(Warm(), 1000);
  EXPECT_EQ(decide(w), KVM_QUANTA_R_WARM);
  w = WithIpc(Warm(), 999);
  EXPECT_EQ(decide(w), KVM_QUANTA_R_BASE);
  // 10^7 instructions: 10^4 LLC misses is 1 per 1000.
  w = WithIpc(Warm(), 1000);
  w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 10000;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_WARM);
  w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 10010;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_BASE);
  w = WithIpc(Warm(), 1000);
  w.pmu[KVM_QUANTA_EV_BRANCH_MISSES] = 50000;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_WARM);
  w.pmu[KVM_QUANTA_EV_BRANCH_MISSES] = 50010;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_BASE);
  // Flush: LLC MPKI at least 20.
  w = WithIpc(Warm(), 1000);
  w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 200000;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_FLUSH);
  w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 199999;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_BASE);
  // Exit-heavy: at least 10 exits per guest ms.
  w = Warm();
  w.exits = 80;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_EXIT_HEAVY);
  w.exits = 79;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_BASE);
  // Idle: halted at least half the window.
  w = Warm();
  w.halt_ns = 5000000;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_IDLE);
  w.halt_ns = 4990000;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_WARM);
  // Spin: at least 1 PAUSE-loop exit per guest ms, rounded down: 1000
  // in 1000000001 ns is 999.999999 per 1000 ms.
  w = Warm();
  w.guest_ns = 1000000001;
  w.ple_exits = 1000;
  EXPECT_NE(decide(w), KVM_QUANTA_R_SPIN);
  w.guest_ns = 1000000000;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_SPIN);
  // Did not run: no slices and no guest time is idle; either one is not.
  w = Warm();
  w.slices = 0;
  w.guest_ns = 0;
  w.exits = 0;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_IDLE);
  w.slices = 2;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_BASE);
  w = Warm();
  w.slices = 0;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_WARM);
  // Payback: beyond debt_max_us, not at it.
  w = Warm();
  d.st.payback = 0;
  d.st.debt_ns = 20000000;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_WARM);
  d.st.debt_ns = 20000001;
  EXPECT_EQ(decide(w), KVM_QUANTA_R_PAYBACK);
  d.st.debt_ns = 0;
  d.Decide(w);
}

// Phase end: IPC more than phase_drop_pct (30%) under the recent average
// of 1.000: 0.699 is, 0.700 is not.
TEST(Policy, PhaseEndBoundary) {
  for (u64 ipc : {699u, 700u}) {
    Decider d;
    for (int i = 0; i < 5; i++) d.Decide(WithIpc(Warm(), 1000));
    ASSERT_EQ(d.h.recent.ipc_milli, 1000u);
    EXPECT_EQ(d.Decide(WithIpc(Warm(), ipc)),
              ipc == 699 ? KVM_QUANTA_R_PHASE_END : KVM_QUANTA_R_BASE)
        << ipc;
  }
}

// The history's exit-heavy goal is "at least heavy_exit_rate_milli" on the
// long-term totals: exactly 10 exits per guest ms moves it down.
TEST(Policy, HistoryHeavyBoundary) {
  for (u64 exits : {80u, 79u}) {
    Decider d;
    d.p.history_max_pct = 20;
    kq_window w = Warm();
    w.exits = exits;
    kq_window_derive(&w);
    d.Decide(w);
    d.Decide(w);
    EXPECT_EQ(d.st.history_pct, exits == 80 ? -1 : 0) << exits;
  }
}

// PAUSE-loop exits are spin; PV yield hypercalls are not, however many.
TEST(Policy, PauseLoopExitsSpinPvYieldsDoNot) {
  Decider d;
  kq_window w = Warm();
  w.ple_exits = 8;  // 1 per guest ms: the threshold
  EXPECT_EQ(d.Decide(w), KVM_QUANTA_R_SPIN);
  EXPECT_EQ(d.st.target_ns, kMin);
  EXPECT_FALSE(kq_policy_cut_now(&d.st, kMin - 1, 0));
  EXPECT_TRUE(kq_policy_cut_now(&d.st, kMin, 0));
  // At once, but not before the rate limit (200 us).
  EXPECT_TRUE(kq_policy_cut_now(&d.st, 200000, KQ_AT_PAUSE_SPIN));
  EXPECT_FALSE(kq_policy_cut_now(&d.st, 199999, KQ_AT_PAUSE_SPIN));
  w.ple_exits = 7;
  EXPECT_EQ(d.Decide(w), KVM_QUANTA_R_WARM);
  w.ple_exits = 0;
  w.pv_yields = 1000000;
  EXPECT_EQ(d.Decide(w), KVM_QUANTA_R_WARM);
  EXPECT_EQ(d.st.target_ns, kMax);
  // The releaser (PV kick) is never cut: only a PAUSE-loop exit cuts.
  EXPECT_FALSE(kq_policy_cut_now(&d.st, ~u64{0}, 0));
  // A spinner that is also exit-heavy is spin; an idle one is idle.
  w = Warm();
  w.exits = 800;
  w.ple_exits = 100;
  kq_window_derive(&w);
  EXPECT_EQ(d.Decide(w), KVM_QUANTA_R_SPIN);
  w.halt_ns = 6000000;
  EXPECT_EQ(d.Decide(w), KVM_QUANTA_R_IDLE);
  // No guest time: no rate, no spin.
  w = Warm();
  w.guest_ns = 0;
  w.ple_exits = 5;
  kq_window_derive(&w);
  EXPECT_NE(d.Decide(w), KVM_QUANTA_R_SPIN);
  // The threshold is the knob's.
  d.p.spin_ple_rate_milli = 2000;
  w = Warm();
  w.ple_exits = 15;
  EXPECT_EQ(d.Decide(w), KVM_QUANTA_R_WARM);
  w.ple_exits = 16;
  EXPECT_EQ(d.Decide(w), KVM_QUANTA_R_SPIN);
}

// A phase ends when the IPC falls phase_drop_pct under its recent (EWMA)
// average, window by window: a fall from 2.0 to 1.0 is three phase_end
// windows while the average comes down (1.75, 1.56, 1.42: 70% is above
// 1.0), then none (1.32 x 0.7 < 1.0).
TEST(Policy, PhaseEndFollowsTheRecentAverage) {
  Decider d;
  std::vector<u32> got;
  for (int i = 0; i < 10; i++) got.push_back(d.Decide(WithIpc(Warm(), 2000)));
  for (int i = 0; i < 6; i++) got.push_back(d.Decide(WithIpc(Warm(), 1000)));
  std::vector<u32> want(10, KVM_QUANTA_R_WARM);
  for (int i = 0; i < 3; i++) want.push_back(KVM_QUANTA_R_PHASE_END);
  for (int i = 0; i < 3; i++) want.push_back(KVM_QUANTA_R_WARM);
  EXPECT_EQ(got, want);
  // 2000 -> 1750 -> 1563 -> 1423 -> 1318 -> 1239 -> 1180, a quarter of the
  // way each window, in integers.
  EXPECT_EQ(d.h.recent.ipc_milli, 1180u);
}

// The recent average, not the long-term one: after a long high phase and a
// short low one, a return to the low level is no phase end (the recent
// average is low) though it is far under the long-term IPC; and a drop
// from a high recent level is one though the long-term IPC is low.
TEST(Policy, PhaseEndIsNotJudgedOnTheLongTerm) {
  Decider d;
  for (int i = 0; i < 40; i++) d.Decide(WithIpc(Warm(), 3000));
  for (int i = 0; i < 12; i++) d.Decide(WithIpc(Warm(), 1000));
  ASSERT_GT(d.h.total.ipc_milli, 2000u);
  EXPECT_EQ(d.Decide(WithIpc(Warm(), 1000)), KVM_QUANTA_R_WARM);

  Decider e;
  for (int i = 0; i < 40; i++) e.Decide(WithIpc(Warm(), 1000));
  for (int i = 0; i < 12; i++) e.Decide(WithIpc(Warm(), 3000));
  ASSERT_LT(e.h.total.ipc_milli, 2000u);
  EXPECT_EQ(e.Decide(WithIpc(Warm(), 1900)), KVM_QUANTA_R_PHASE_END);
}

// History follows the long-term totals, not the recent average.
TEST(Policy, HistoryFollowsTheLongTermTotals) {
  kq_window heavy = Warm();
  heavy.exits = 800;
  kq_window_derive(&heavy);
  // A warm life with a few heavy windows just now: still moving up.
  Decider d;
  d.p.history_max_pct = 20;
  for (int i = 0; i < 60; i++) d.Decide(Warm());
  EXPECT_EQ(d.st.history_pct, 20);
  d.st.history_pct = 0;
  for (int i = 0; i < 3; i++) d.Decide(heavy);
  ASSERT_GE(d.h.recent.exit_rate_milli, d.p.heavy_exit_rate_milli);
  ASSERT_LT(d.h.total.exit_rate_milli, d.p.warm_exit_rate_milli * 10);
  // The totals: 60 warm windows of 0.5 exits/ms and 3 of 100: 5.2/ms,
  // neither warm nor heavy: back toward 0.
  d.st.history_pct = 5;
  d.Decide(heavy);
  EXPECT_EQ(d.st.history_pct, 4);
  // A heavy life with warm windows just now: moving down.
  Decider e;
  e.p.history_max_pct = 20;
  for (int i = 0; i < 60; i++) e.Decide(heavy);
  EXPECT_EQ(e.st.history_pct, -20);
  for (int i = 0; i < 10; i++) e.Decide(Warm());
  ASSERT_LE(e.h.recent.exit_rate_milli, e.p.heavy_exit_rate_milli);
  e.st.history_pct = 0;
  e.Decide(Warm());
  EXPECT_EQ(e.st.history_pct, -1);
  // And warm over its life: +1 a window up to the bound, never past it.
  Decider f;
  f.p.history_max_pct = 3;
  std::vector<s32> pct;
  for (int i = 0; i < 6; i++) {
    f.Decide(Warm());
    pct.push_back(f.st.history_pct);
  }
  EXPECT_EQ(pct, (std::vector<s32>{0, 1, 2, 3, 3, 3}));
  // The base follows it.  One heavy window of 800 exits makes the life
  // (6 warm windows and it: 14.7 exits/ms) exit-heavy: 3% -> 2%.
  EXPECT_EQ(f.Decide(heavy), KVM_QUANTA_R_EXIT_HEAVY);
  kq_window base = Warm();
  base.exits = 40;
  kq_window_derive(&base);
  EXPECT_EQ(f.Decide(base), KVM_QUANTA_R_BASE);
  EXPECT_EQ(f.st.history_pct, 2);
  EXPECT_EQ(f.st.target_ns, kBase * 102 / 100);
}

// Payback: a debtor beyond the deadband gets no extension and a lower
// weight; a creditor keeps its decision, a higher weight, and is not cut.
TEST(Policy, PaybackBothWays) {
  Decider d;
  d.st.debt_ns = 20000001;
  EXPECT_EQ(d.Decide(Warm()), KVM_QUANTA_R_PAYBACK);
  EXPECT_EQ(d.st.target_ns, kBase);
  EXPECT_EQ(d.st.payback, 1);
  d.st.debt_ns = 60000001;
  d.Decide(Warm());
  EXPECT_EQ(d.st.payback, 3);
  d.st.debt_ns = 1;  // still paying until even
  EXPECT_EQ(d.Decide(Warm()), KVM_QUANTA_R_PAYBACK);
  EXPECT_EQ(d.st.payback, 1);
  d.st.debt_ns = 0;
  EXPECT_EQ(d.Decide(Warm()), KVM_QUANTA_R_WARM);
  EXPECT_EQ(d.st.payback, 0);
  // The ledger is kq_ledger_window()'s: the decision does not move it.
  EXPECT_EQ(d.st.debt_ns, 0);

  kq_window heavy = Warm();
  heavy.exits = 800;
  kq_window_derive(&heavy);
  d.st.debt_ns = -20000001;
  EXPECT_EQ(d.Decide(heavy), KVM_QUANTA_R_EXIT_HEAVY);
  EXPECT_EQ(d.st.target_ns, kMin);
  EXPECT_EQ(d.st.payback, -1);
  EXPECT_FALSE(kq_policy_cut_now(&d.st, kMax, 0));
  EXPECT_TRUE(kq_policy_cut_now(&d.st, 200000, KQ_AT_PAUSE_SPIN));
  d.st.debt_ns = -20000000;  // within the band, but still owed: holds
  d.Decide(heavy);
  EXPECT_EQ(d.st.payback, -1);
  d.st.debt_ns = 0;
  d.Decide(heavy);
  EXPECT_EQ(d.st.payback, 0);
  EXPECT_TRUE(kq_policy_cut_now(&d.st, kMin, 0));

  // A debtor that is exit-heavy stays exit-heavy (cut), paying by weight.
  d.st.debt_ns = 50000000;
  EXPECT_EQ(d.Decide(heavy), KVM_QUANTA_R_EXIT_HEAVY);
  EXPECT_EQ(d.st.payback, 2);
  // A disabled VM: no decision, no payback.
  d.vp.enabled = false;
  EXPECT_EQ(d.Decide(Warm()), KVM_QUANTA_R_BASE);
  EXPECT_EQ(d.st.payback, 0);
  EXPECT_EQ(d.st.target_ns, kBase);
}

// Whatever the window, the target is what its reason says.
TEST(Policy, TargetFollowsReason) {
  std::mt19937_64 rng(15);
  kq_history h;
  for (int vm = 0; vm < 500; vm++) {
    const kq_policy_params p = RandomParams(rng);
    const kq_vm_policy vp = RandomVm(rng);
    kq_vcpu_policy st;
    kq_vcpu_policy_init(&st, &vp);
    kq_history_init(&h);
    for (int i = 0; i < 40; i++) {
      kq_window w = RandomWindow(rng);
      w.ple_exits = Rand(rng, 3) ? 0 : RandMag(rng, 20);
      w.pv_yields = RandMag(rng, 20);
      st.debt_ns = static_cast<s64>(Rand(rng, 4 * u64{p.debt_max_us} * 1000 + 1)) -
                   static_cast<s64>(2 * u64{p.debt_max_us} * 1000);
      kq_policy_window(&p, &vp, &st, &w, &h);
      kq_history_add(&h, &w);
      const u64 lo = u64{vp.min_us} * 1000, hi = u64{vp.max_us} * 1000;
      const s64 b = s64{vp.base_us} * 1000;
      const u64 base = std::clamp<u64>(static_cast<u64>(b + b * st.history_pct / 100), lo, hi);
      u64 want = base;
      switch (st.reason) {
        case KVM_QUANTA_R_WARM:
          want = hi;
          break;
        case KVM_QUANTA_R_EXIT_HEAVY:
        case KVM_QUANTA_R_FLUSH:
        case KVM_QUANTA_R_PHASE_END:
        case KVM_QUANTA_R_SPIN:
        case KVM_QUANTA_R_LATENCY:
          want = lo;
          break;
        default:
          break;
      }
      ASSERT_EQ(st.target_ns, vp.enabled ? want : u64{vp.base_us} * 1000)
          << "vm " << vm << " window " << i << " reason " << st.reason;
      if (!vp.enabled) {
        ASSERT_EQ(st.payback, 0);
      }
      if (st.reason == KVM_QUANTA_R_PAYBACK) {
        ASSERT_GT(st.payback, 0);
      }
      if (st.reason == KVM_QUANTA_R_SPIN) {
        ASSERT_GT(w.ple_exits, 0u);
      }
      // The rate limit holds for every reason, a spinner's included.
      ASSERT_EQ(st.min_run_ns, u64{p.ratelimit_us} * 1000);
      if (st.min_run_ns) {
        ASSERT_FALSE(kq_policy_cut_now(&st, st.min_run_ns - 1, KQ_AT_PAUSE_SPIN));
      }
      // The boost: latency-sensitive and not in debt, nothing else.
      ASSERT_EQ(st.boost, st.reason == KVM_QUANTA_R_LATENCY && st.payback <= 0
                              ? -static_cast<s32>(p.latency_boost)
                              : 0);
    }
  }
}

// ---- defaults, init, validation ---------------------------------------------

TEST(Policy, Defaults) {
  kq_policy_params p;
  std::memset(&p, 0x5a, sizeof(p));
  kq_policy_defaults(&p);
  EXPECT_EQ(p.warm_ipc_milli, 1000u);
  EXPECT_EQ(p.warm_llc_mpki_milli, 1000u);
  EXPECT_EQ(p.warm_br_mpki_milli, 5000u);
  EXPECT_EQ(p.warm_exit_rate_milli, 1000u);
  EXPECT_EQ(p.heavy_exit_rate_milli, 10000u);
  EXPECT_EQ(p.flush_llc_mpki_milli, 20000u);
  EXPECT_EQ(p.phase_drop_pct, 30u);
  EXPECT_EQ(p.idle_halt_pct, 50u);
  EXPECT_EQ(p.history_max_pct, 20u);
  EXPECT_EQ(p.debt_max_us, 20000u);
  EXPECT_EQ(p.spin_ple_rate_milli, 1000u);
  kq_vm_policy vp;
  std::memset(&vp, 0x5a, sizeof(vp));
  kq_vm_policy_defaults(&vp);
  EXPECT_EQ(vp.group, 0u);
  EXPECT_TRUE(vp.enabled);
  EXPECT_EQ(vp.min_us, 1000u);
  EXPECT_EQ(vp.base_us, 4000u);
  EXPECT_EQ(vp.max_us, 8000u);
  EXPECT_EQ(vp.weight, 100u);
  EXPECT_EQ(kq_vm_policy_validate(&vp), 0);

  kq_vcpu_policy st;
  std::memset(&st, 0x5a, sizeof(st));
  vp.base_us = 2500;
  kq_vcpu_policy_init(&st, &vp);
  EXPECT_EQ(st.debt_ns, 0);
  EXPECT_EQ(st.payback, 0);
  EXPECT_EQ(st.history_pct, 0);
  EXPECT_EQ(st.target_ns, 2500000u);
  EXPECT_EQ(st.reason, static_cast<u32>(KVM_QUANTA_R_BASE));
  for (u64 d : st.decisions) EXPECT_EQ(d, 0u);
}

TEST(Policy, Validate) {
  struct {
    u32 min, base, max, weight;
    int ret;
    u32 group = 0;
  } cases[] = {
      {1000, 4000, 8000, 100, 0},
      {100, 100, 100, 1, 0},
      {100000, 100000, 100000, 10000, 0},
      {100, 50000, 100000, 100, 0},
      {99, 4000, 8000, 100, -ERANGE},
      {1000, 99, 8000, 100, -ERANGE},
      {1000, 4000, 99, 100, -ERANGE},
      {1000, 4000, 100001, 100, -ERANGE},
      {1000, 100001, 8000, 100, -ERANGE},
      {100001, 4000, 8000, 100, -ERANGE},
      {1000, 4000, 8000, 0, -ERANGE},
      {1000, 4000, 8000, 10001, -ERANGE},
      {0, 0, 0, 0, -ERANGE},
      {99, 50, 8000, 100, -ERANGE},
      {4001, 4000, 8000, 100, -EINVAL},
      {1000, 8001, 8000, 100, -EINVAL},
      {8000, 4000, 1000, 100, -EINVAL},
      {5000, 5000, 4999, 100, -EINVAL},
      {1000, 4000, 8000, 100, 0, KQ_GROUP_MAX},
      {1000, 4000, 8000, 100, -ERANGE, KQ_GROUP_MAX + 1},
      {1000, 4000, 8000, 100, -ERANGE, 0xffffffffU},
  };
  for (const auto& c : cases) {
    for (bool enabled : {false, true}) {
      const kq_vm_policy vp{enabled, c.min, c.base, c.max, c.weight, c.group};
      EXPECT_EQ(kq_vm_policy_validate(&vp), c.ret)
          << c.min << " " << c.base << " " << c.max << " " << c.weight << " " << c.group;
    }
  }
}

// ---- small properties --------------------------------------------------------

TEST(Policy, ReasonNamesRoundTrip) {
  const std::vector<std::string> documented = {"base",    "warm",      "exit_heavy", "flush",
                                               "spin",    "phase_end", "payback",    "idle",
                                               "latency", "smt"};
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
    st.payback = static_cast<s32>(Rand(rng, 7)) - 3;
    EXPECT_TRUE(kq_policy_cut_now(&st, a, KQ_AT_PAUSE_SPIN));
    if (st.payback < 0) {
      EXPECT_FALSE(kq_policy_cut_now(&st, b, 0));
    }
    if (kq_policy_cut_now(&st, a, 0)) {
      EXPECT_TRUE(kq_policy_cut_now(&st, b, 0)) << st.reason << " " << a << " " << b;
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
