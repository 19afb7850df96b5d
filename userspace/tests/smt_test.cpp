// SPDX-License-Identifier: GPL-2.0
// SMT siblings in the decision (src/core/smt.c) on a fake topology: who is
// pressed, who thrashes, the sibling's busy share, the hungry threshold
// from the flush threshold in use, and properties over random windows.
// The same worked cases run in KUnit (kunit/smt_test.c).
#include "smt.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace {

constexpr u64 kMs = 1000000;

// CPUs 0/2 and 1/3 are siblings; 4 has none.
const std::vector<s32> kSibling = {2, 3, 0, 1, KQ_NO_SIBLING};

kq_smt_vcpu V(s32 cpu, u64 run_ms, u32 llc) { return kq_smt_vcpu{cpu, run_ms * kMs, llc, 0x5a}; }

std::vector<u32> Press(const kq_policy_params& p, std::vector<kq_smt_vcpu> v,
                       const std::vector<s32>& sibling = kSibling) {
  std::vector<u64> ns(sibling.size());
  std::vector<u32> mx(sibling.size());
  kq_smt_window(&p, v.data(), static_cast<unsigned>(v.size()), sibling.data(),
                static_cast<unsigned>(sibling.size()), 100 * kMs, ns.data(), mx.data());
  std::vector<u32> out;
  for (const auto& x : v) out.push_back(x.press);
  return out;
}

kq_policy_params Defaults() {
  kq_policy_params p;
  kq_policy_defaults(&p);
  return p;
}

constexpr u32 N = KQ_SMT_NONE, P = KQ_SMT_PRESSED, T = KQ_SMT_THRASHER;

TEST(Smt, Pairs) {
  const kq_policy_params p = Defaults();  // hungry: LLC MPKI >= 10
  EXPECT_EQ(Press(p, {V(0, 80, 30000), V(2, 80, 20000), V(0, 20, 1000), V(1, 90, 50000),
                      V(4, 90, 50000), V(5, 90, 50000), V(2, 90, KQ_NONE32), V(-1, 90, 50000)}),
            (std::vector<u32>{T, P, N, N, N, N, N, N}));
  // Equal misses: both thrash.
  EXPECT_EQ(Press(p, {V(0, 80, 20000), V(2, 80, 20000)}), (std::vector<u32>{T, T}));
  // One more miss on one side.
  EXPECT_EQ(Press(p, {V(0, 80, 20001), V(2, 80, 20000)}), (std::vector<u32>{T, P}));
  // A CPU that is its own sibling (bad topology) counts nothing.
  EXPECT_EQ(Press(p, {V(0, 80, 20000), V(1, 80, 20000)}, {0, 1}), (std::vector<u32>{N, N}));
  // A sibling beyond the table counts nothing.
  EXPECT_EQ(Press(p, {V(0, 80, 20000)}, {7}), (std::vector<u32>{N}));
}

TEST(Smt, SiblingBusyAQuarterOfTheWindow) {
  const kq_policy_params p = Defaults();
  EXPECT_EQ(Press(p, {V(1, 90, 20000), V(3, 24, 30000)}), (std::vector<u32>{N, T}));
  EXPECT_EQ(Press(p, {V(1, 90, 20000), V(3, 25, 30000)}), (std::vector<u32>{P, T}));
  // Two on the sibling, 15 + 10 ms: their sum counts, and the worst.
  EXPECT_EQ(Press(p, {V(1, 90, 20000), V(3, 15, 15000), V(3, 10, 25000)}),
            (std::vector<u32>{P, P, T}));
  EXPECT_EQ(Press(p, {V(1, 90, 25000), V(3, 15, 15000), V(3, 10, 25000)}),
            (std::vector<u32>{T, P, T}));
  // Hungry time only: a cold vCPU on the sibling does not count.
  EXPECT_EQ(Press(p, {V(1, 90, 20000), V(3, 30, 9999), V(3, 20, 25000)}),
            (std::vector<u32>{N, N, T}));
  // A vCPU counts on its own CPU only, never as its sibling's work.
  EXPECT_EQ(Press(p, {V(1, 100, 20000)}), (std::vector<u32>{N}));
}

TEST(Smt, HungryFollowsTheFlushThreshold) {
  kq_policy_params p = Defaults();
  EXPECT_TRUE(kq_smt_hungry(&p, 10000));
  EXPECT_FALSE(kq_smt_hungry(&p, 9999));
  EXPECT_FALSE(kq_smt_hungry(&p, KQ_NONE32));
  p.flush_llc_mpki_milli = 60000;
  EXPECT_FALSE(kq_smt_hungry(&p, 29999));
  EXPECT_TRUE(kq_smt_hungry(&p, 30000));
  p.smt_hungry_pct = 100;
  EXPECT_FALSE(kq_smt_hungry(&p, 59999));
  EXPECT_TRUE(kq_smt_hungry(&p, 60000));
  p.smt_hungry_pct = 1;
  EXPECT_FALSE(kq_smt_hungry(&p, 599));
  EXPECT_TRUE(kq_smt_hungry(&p, 600));
  // No misses is never hungry, even at a flush threshold of 0.
  p.flush_llc_mpki_milli = 0;
  EXPECT_FALSE(kq_smt_hungry(&p, 0));
  EXPECT_TRUE(kq_smt_hungry(&p, 1));
  p.smt_hungry_pct = 0;
  EXPECT_FALSE(kq_smt_hungry(&p, KQ_PARAM_MPKI_MILLI_MAX));
  EXPECT_EQ(Press(p, {V(0, 80, 1000000), V(2, 80, 1000000)}), (std::vector<u32>{N, N}));
  // The largest values do not overflow.
  p = Defaults();
  p.flush_llc_mpki_milli = 0xffffffffU;
  p.smt_hungry_pct = KQ_PARAM_PCT_MAX;
  EXPECT_FALSE(kq_smt_hungry(&p, 0xfffffffeU));
}

// Over random windows: only hungry vCPUs are pressed; pressed means its
// sibling's hungry time is at least half the window; a thrasher misses at
// least as much as every hungry vCPU on the sibling, a pressed one less
// than one of them.
TEST(Smt, Properties) {
  std::mt19937_64 rng(29);
  int pressed = 0, thrashers = 0;
  for (int round = 0; round < 3000; round++) {
    kq_policy_params p = Defaults();
    p.smt_hungry_pct = static_cast<u32>(rng() % 101);
    p.flush_llc_mpki_milli = static_cast<u32>(rng() % 60000);
    const unsigned n = 1 + static_cast<unsigned>(rng() % 10);
    std::vector<kq_smt_vcpu> v;
    for (unsigned i = 0; i < n; i++)
      v.push_back(kq_smt_vcpu{static_cast<s32>(rng() % 6) - 1, rng() % (100 * kMs + 1),
                              rng() % 8 ? static_cast<u32>(rng() % 60000) : KQ_NONE32, 0x5a});
    const std::vector<kq_smt_vcpu> in = v;
    const auto out = Press(p, v);
    for (unsigned i = 0; i < n; i++) {
      const bool hungry = kq_smt_hungry(&p, in[i].llc_mpki_milli);
      if (!hungry || in[i].cpu < 0 || in[i].cpu >= 4) {
        EXPECT_EQ(out[i], N) << round;
        continue;
      }
      const s32 s = kSibling[static_cast<size_t>(in[i].cpu)];
      u64 busy = 0;
      u32 worst = 0;
      for (const auto& x : in)
        if (x.cpu == s && kq_smt_hungry(&p, x.llc_mpki_milli)) {
          busy += x.run_ns;
          worst = std::max(worst, x.llc_mpki_milli);
        }
      const u32 want = busy * 100 < 100 * kMs * KQ_SMT_BUSY_PCT ? N
                       : in[i].llc_mpki_milli >= worst          ? T
                                                                : P;
      EXPECT_EQ(out[i], want) << round;
      pressed += out[i] == P;
      thrashers += out[i] == T;
    }
  }
  EXPECT_GT(pressed, 100);
  EXPECT_GT(thrashers, 100);
}

}  // namespace
