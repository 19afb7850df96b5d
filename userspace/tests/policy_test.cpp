// SPDX-License-Identifier: GPL-2.0
// Property tests for the quantum policy and the fairness ledger
// (src/core/policy.c): random windows, knobs and vCPU groups with fixed seeds,
// a 128-bit reference for the ledger, and the replay of a long synthetic trace
// in which one vCPU takes more than its share.  The exact cases live in
// kunit/policy_test.c.
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

#include "policy.h"

namespace {

using u128 = unsigned __int128;

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
      case 0: return lo;
      case 1: return hi;
      default: return lo + static_cast<u32>(Rand(rng, u64{hi} - lo + 1));
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
                      (!vp.enabled || std::abs(st.history_pct - before) <= 1) && std::abs(st.history_pct) <= hmax &&
                      (vp.enabled || st.reason == KVM_QUANTA_R_BASE);
      EXPECT_TRUE(ok) << "vm " << vm << " window " << i << ": [" << vp.min_us << ", "
                      << vp.base_us << ", " << vp.max_us << "] us, enabled " << vp.enabled
                      << ", target " << st.target_ns << " reason " << st.reason << " history "
                      << before << " -> " << st.history_pct << " (max " << hmax << ")";
      if (!ok && ++bad >= 10) break;
    }
    u64 sum = 0;
    for (u64 d : st.decisions) sum += d;
    EXPECT_EQ(sum, total) << "vm " << vm;
  }
}

// What kq_ledger_update() documents, on 128-bit integers, without the bound.
std::vector<s64> RefLedgerDelta(const std::vector<kq_ledger_entry>& e) {
  std::vector<s64> d(e.size(), 0);
  for (size_t i = 0; i < e.size(); i++) {
    u128 run = 0, all = 0;
    for (const auto& o : e) {
      if (o.cpu != e[i].cpu) continue;
      run += o.run_ns;
      all += static_cast<u128>(o.weight) * (o.run_ns + o.wait_ns);
    }
    if (!all) continue;
    const u128 mine = static_cast<u128>(e[i].weight) * (e[i].run_ns + e[i].wait_ns);
    d[i] = static_cast<s64>(e[i].run_ns) - static_cast<s64>(run * mine / all);
  }
  return d;
}

std::vector<kq_ledger_entry> RandomGroup(std::mt19937_64& rng, s64 debt_span) {
  std::vector<kq_ledger_entry> e(1 + Rand(rng, 24));
  const int cpus = 1 + static_cast<int>(Rand(rng, 6));
  for (auto& x : e) {
    x.cpu = static_cast<int>(Rand(rng, cpus));
    x.weight = Rand(rng, 3) ? 100 : 1 + static_cast<u32>(Rand(rng, KQ_WEIGHT_MAX));
    x.run_ns = Rand(rng, 4) ? Rand(rng, 20000001) : 0;
    x.wait_ns = Rand(rng, 4) ? Rand(rng, 20000001) : 0;
    x.debt_ns = debt_span ? static_cast<s64>(Rand(rng, 2 * debt_span + 1)) - debt_span : 0;
  }
  return e;
}

TEST(Ledger, ConservesTimePerCpu) {
  std::mt19937_64 rng(12);
  constexpr s64 kHugeBound = s64{1} << 50;  // never reached here
  for (int round = 0; round < 20000; round++) {
    std::vector<kq_ledger_entry> e = RandomGroup(rng, s64{1} << 40);
    const std::vector<kq_ledger_entry> before = e;
    const std::vector<s64> ref = RefLedgerDelta(e);
    kq_ledger_update(e.data(), static_cast<unsigned>(e.size()), kHugeBound);
    std::map<int, s64> sum;
    std::map<int, s64> count;
    for (size_t i = 0; i < e.size(); i++) {
      const s64 delta = e[i].debt_ns - before[i].debt_ns;
      ASSERT_EQ(delta, ref[i]) << "round " << round << " entry " << i;
      // Inputs are not touched.
      ASSERT_EQ(e[i].cpu, before[i].cpu);
      ASSERT_EQ(e[i].run_ns, before[i].run_ns);
      ASSERT_EQ(e[i].wait_ns, before[i].wait_ns);
      ASSERT_EQ(e[i].weight, before[i].weight);
      sum[e[i].cpu] += delta;
      count[e[i].cpu]++;
    }
    // Time run on a CPU is handed out in full, up to rounding of 1 ns each.
    for (const auto& [cpu, s] : sum)
      ASSERT_LT(std::abs(s), count[cpu]) << "round " << round << " cpu " << cpu;
  }
}

TEST(Ledger, StaysWithinTwiceTheBound) {
  std::mt19937_64 rng(13);
  for (int group = 0; group < 500; group++) {
    const s64 bound = 1 + static_cast<s64>(Rand(rng, 30000000));
    std::vector<kq_ledger_entry> e = RandomGroup(rng, 0);
    // A few greedy vCPUs run most of each window, the others wait.
    for (int window = 0; window < 100; window++) {
      for (size_t i = 0; i < e.size(); i++) {
        const bool greedy = i % 3 == 0;
        e[i].run_ns = greedy ? 5000000 + Rand(rng, 5000000) : Rand(rng, 2000000);
        e[i].wait_ns = greedy ? Rand(rng, 1000000) : 5000000 + Rand(rng, 5000000);
      }
      const std::vector<kq_ledger_entry> before = e;
      const std::vector<s64> ref = RefLedgerDelta(e);
      kq_ledger_update(e.data(), static_cast<unsigned>(e.size()), bound);
      for (size_t i = 0; i < e.size(); i++) {
        const s64 want = std::clamp(before[i].debt_ns + ref[i], -2 * bound, 2 * bound);
        ASSERT_EQ(e[i].debt_ns, want) << "group " << group << " window " << window << " entry "
                                      << i << " bound " << bound;
      }
    }
  }
}

// ---- replay ------------------------------------------------------------------

// CFS load weight of nice -20..19, as the enforcement sets it.
constexpr std::array<u64, 40> kNiceWeight = {
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916,
    9548,  7620,  6100,  4904,  3906,  3121,  2501,  1991,  1586,  1277,
    1024,  820,   655,   526,   423,   335,   272,   215,   172,   137,
    110,   87,    70,    56,    45,    36,    29,    23,    18,    15,
};

struct Vcpu {
  kq_vcpu_policy st;
  kq_history h;
  bool greedy = false;
};

constexpr u64 kWindow = 10000000;

// A warm vCPU's window in which it ran run_ns: IPC 2, few misses, 0.5 exits
// per guest ms.
kq_window ReplayWindow(u64 run_ns) {
  kq_window w{};
  w.window_ns = kWindow;
  w.guest_ns = run_ns;
  w.run_ns = run_ns;
  w.wait_ns = kWindow - run_ns;
  w.slices = run_ns ? 1 : 0;
  w.exits = run_ns / 2000000;
  w.pmu[KVM_QUANTA_EV_CYCLES] = 2 * run_ns;
  w.pmu[KVM_QUANTA_EV_INSTRUCTIONS] = 4 * run_ns;
  w.pmu[KVM_QUANTA_EV_LLC_MISSES] = run_ns / 1000;
  w.pmu[KVM_QUANTA_EV_BRANCH_MISSES] = run_ns / 500;
  kq_window_derive(&w);
  return w;
}

// One window on one CPU where every vCPU is runnable all the time: the
// scheduler divides it by load weight (nice from the VM weight, 2 nicer in
// payback); a greedy vCPU out of payback gets twice its weight (longer
// slices, no early yields).  Then the ledger and each vCPU's decision, in the
// sampler's order.
void ReplayStep(const kq_policy_params& p, const kq_vm_policy& vp, std::vector<Vcpu>& v) {
  std::vector<u64> eff(v.size());
  u64 all = 0;
  for (size_t i = 0; i < v.size(); i++) {
    int nice = kq_weight_to_nice(vp.weight);
    if (v[i].st.reason == KVM_QUANTA_R_PAYBACK) nice = std::min(nice + 2, 19);
    eff[i] = kNiceWeight[nice + 20] * (v[i].greedy && v[i].st.reason != KVM_QUANTA_R_PAYBACK ? 2 : 1);
    all += eff[i];
  }
  std::vector<kq_ledger_entry> e(v.size());
  std::vector<kq_window> w(v.size());
  for (size_t i = 0; i < v.size(); i++) {
    w[i] = ReplayWindow(kWindow * eff[i] / all);
    e[i] = kq_ledger_entry{0, w[i].run_ns, w[i].wait_ns, vp.weight, v[i].st.debt_ns};
  }
  kq_ledger_update(e.data(), static_cast<unsigned>(e.size()), s64{p.debt_max_us} * 1000);
  for (size_t i = 0; i < v.size(); i++) {
    v[i].st.debt_ns = e[i].debt_ns;
    kq_policy_window(&p, &vp, &v[i].st, &w[i], &v[i].h);
    kq_history_add(&v[i].h, &w[i]);
  }
}

TEST(Policy, ReplayGreedyVcpuPaysBack) {
  kq_policy_params p;
  kq_vm_policy vp;
  kq_policy_defaults(&p);
  kq_vm_policy_defaults(&vp);
  const s64 debt_max = s64{p.debt_max_us} * 1000;
  std::vector<Vcpu> v(4);
  for (auto& x : v) {
    kq_vcpu_policy_init(&x.st, &vp);
    kq_history_init(&x.h);
  }
  v[0].greedy = true;

  // It takes twice its share until the ledger makes it pay back.
  int windows = 0;
  while (v[0].st.reason != KVM_QUANTA_R_PAYBACK && windows < 100) {
    ReplayStep(p, vp, v);
    windows++;
    EXPECT_LE(v[0].st.debt_ns, 2 * debt_max);
    if (v[0].st.reason != KVM_QUANTA_R_PAYBACK) {
      EXPECT_EQ(v[0].st.reason, KVM_QUANTA_R_WARM) << "window " << windows;
      EXPECT_EQ(v[0].st.target_ns, u64{vp.max_us} * 1000);
    }
  }
  ASSERT_EQ(v[0].st.reason, KVM_QUANTA_R_PAYBACK) << "no payback after " << windows << " windows";
  // 4 ms a window where 2.5 ms is fair: 1.5 ms of debt each, 14 windows.
  EXPECT_EQ(windows, 14);
  EXPECT_GT(v[0].st.debt_ns, debt_max);
  // Payback's target is the base, as adjusted by the (warm) history, which
  // moved once per window after the first (judged on an empty history).
  EXPECT_EQ(v[0].st.history_pct, 13);
  EXPECT_EQ(v[0].st.target_ns, u64{vp.base_us} * 1000 * 113 / 100);
  for (size_t i = 1; i < v.size(); i++) EXPECT_LT(v[i].st.debt_ns, 0) << "vCPU " << i;

  // Greedy on and off for a long while: the debt never passes the bound by
  // more than a window's excess, and the group's ledger stays balanced.
  for (int i = 0; i < 1000; i++) {
    ReplayStep(p, vp, v);
    EXPECT_LE(v[0].st.debt_ns, debt_max + 1500000) << "window " << i;
    s64 sum = 0;
    for (const auto& x : v) sum += x.st.debt_ns;
    EXPECT_LE(std::abs(sum), 4 * (windows + i + 1)) << "window " << i;
  }
  // Run until it is in payback again, then it stops taking more.
  for (int i = 0; i < 100 && v[0].st.reason != KVM_QUANTA_R_PAYBACK; i++) ReplayStep(p, vp, v);
  ASSERT_EQ(v[0].st.reason, KVM_QUANTA_R_PAYBACK);
  v[0].greedy = false;

  // Its debt falls every window until it is repaid, then it is warm again.
  s64 prev = v[0].st.debt_ns;
  int repaid = -1;
  for (int i = 0; i < 200; i++) {
    ReplayStep(p, vp, v);
    EXPECT_LE(v[0].st.debt_ns, prev) << "window " << i;
    if (repaid < 0 && v[0].st.debt_ns <= 0) repaid = i;
    if (repaid < 0) {
      EXPECT_LT(v[0].st.debt_ns, prev) << "window " << i;
      EXPECT_EQ(v[0].st.reason, KVM_QUANTA_R_PAYBACK) << "window " << i;
    } else {
      EXPECT_EQ(v[0].st.reason, KVM_QUANTA_R_WARM) << "window " << i;
      EXPECT_EQ(v[0].st.target_ns, u64{vp.max_us} * 1000) << "window " << i;
    }
    prev = v[0].st.debt_ns;
  }
  ASSERT_GE(repaid, 0) << "never repaid";
  // At most ~30 windows of 0.74 ms paid back each: 2.5 ms - 10 ms x 655 / 3727.
  EXPECT_LE(repaid, 30);
  // Back to 0 within one window's payback, and the others too.
  EXPECT_LE(v[0].st.debt_ns, 0);
  EXPECT_GT(v[0].st.debt_ns, -742556);
  for (size_t i = 1; i < v.size(); i++)
    EXPECT_LT(std::abs(v[i].st.debt_ns), 742556) << "vCPU " << i;
  EXPECT_GT(v[0].st.decisions[KVM_QUANTA_R_PAYBACK], 0u);
  for (size_t i = 1; i < v.size(); i++)
    EXPECT_EQ(v[i].st.decisions[KVM_QUANTA_R_PAYBACK], 0u) << "vCPU " << i;
}

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
