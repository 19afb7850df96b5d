// SPDX-License-Identifier: GPL-2.0
// Thresholds that fit the processor (src/core/thresholds.c): the host's
// distribution of IPC, LLC and branch MPKI, its percentiles within one
// bucket, cold start, decay, and what the derived thresholds change in the
// policy's decisions on a processor with a small cache.
#include "thresholds.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

namespace {

// A window of 100 ms, 80 ms in the guest at 3 GHz, 40 exits (0.5 per guest
// ms: few), 20 slices, no halt, with these PMU values (milli units; 0 for
// branch MPKI: not counted).
kq_window Pmu(u32 ipc_milli, u32 llc_mpki_milli, u32 br_mpki_milli) {
  kq_window w;
  kq_window_init(&w);
  w.window_ns = 100000000;
  w.guest_ns = 80000000;
  w.run_ns = 80000000;
  w.exits = 40;
  w.slices = 20;
  const u64 cycles = 240000000, insns = cycles * ipc_milli / 1000;
  w.pmu[KVM_QUANTA_EV_CYCLES] = cycles;
  w.pmu[KVM_QUANTA_EV_INSTRUCTIONS] = insns;
  w.pmu[KVM_QUANTA_EV_LLC_MISSES] = insns * llc_mpki_milli / 1000000;
  w.pmu[KVM_QUANTA_EV_BRANCH_MISSES] = br_mpki_milli ? insns * br_mpki_milli / 1000000 : KQ_NONE64;
  kq_window_derive(&w);
  return w;
}

// A window with exactly these derived values (no rounding through counts).
kq_window Values(u32 ipc, u32 llc, u32 br) {
  kq_window w;
  kq_window_init(&w);
  w.guest_ns = 1;
  w.ipc_milli = ipc;
  w.llc_mpki_milli = llc;
  w.br_mpki_milli = br;
  return w;
}

kq_window Llc(u32 llc) { return Values(KQ_NONE32, llc, KQ_NONE32); }

struct Dist {
  kq_host_dist d;
  Dist() { kq_dist_init(&d); }
  void Add(const kq_window& w, int times = 1) {
    for (int i = 0; i < times; i++) kq_dist_add(&d, &w);
  }
};

// The width of the bucket of v, as designed: 1 under 16, then 1/8 of v's
// power of two.
u32 Width(u32 v) {
  if (v < 16) return 1;
  u32 e = 0;
  while (v >> (e + 1)) e++;
  return u32{1} << (e - 3);
}

// The true percentile of sorted samples, as the bucket search ranks it.
u32 Percentile(std::vector<u32> v, u32 pct) {
  std::sort(v.begin(), v.end());
  size_t rank = (v.size() * pct + 99) / 100;
  return v[std::max<size_t>(rank, 1) - 1];
}

kq_policy_params Defaults() {
  kq_policy_params p;
  kq_policy_defaults(&p);
  return p;
}

TEST(Thresholds, Defaults) {
  const kq_policy_params p = Defaults();
  EXPECT_EQ(p.host_thresholds, 1u);
  EXPECT_EQ(p.warm_pct, 25u);
  EXPECT_EQ(p.flush_pct, 90u);
}

// Every value from 0 to 2^20 lands in a bucket of the designed width, the
// buckets tile the range in order, and a value alone is its own percentile
// within that bucket.
TEST(Thresholds, BucketsTileTheRange) {
  u32 prev_top = 0;
  bool first = true;
  std::vector<u32> probes;
  for (u32 v = 0; v < 4096; v++) probes.push_back(v);
  for (u32 e = 12; e <= 19; e++)
    for (u32 k = 0; k < 64; k++) probes.push_back((u32{1} << e) + k * (u32{1} << (e - 6)) + k);
  probes.push_back(KQ_PARAM_MPKI_MILLI_MAX);
  std::sort(probes.begin(), probes.end());
  for (u32 v : probes) {
    if (v > KQ_PARAM_MPKI_MILLI_MAX) continue;
    Dist d;
    d.Add(Llc(v));
    const u32 lo = kq_dist_at_least(&d.d, KQ_DIST_LLC_MPKI, 50);
    const u32 hi = kq_dist_at_most(&d.d, KQ_DIST_LLC_MPKI, 50);
    ASSERT_LE(lo, v);
    ASSERT_GE(hi, v);
    // The last bucket is cut at the metric's largest value.
    ASSERT_EQ(hi - lo + 1, std::min(Width(v), KQ_PARAM_MPKI_MILLI_MAX - lo + 1)) << v;
    ASSERT_EQ(lo % Width(v), 0u) << v;
    if (!first && lo != prev_top + 1) {
      ASSERT_EQ(hi, prev_top) << v << ": buckets overlap";
    }
    prev_top = hi;
    first = false;
  }
  EXPECT_EQ(prev_top, u32{KQ_PARAM_MPKI_MILLI_MAX});
}

TEST(Thresholds, ClampedToTheMetricsRange) {
  Dist d;
  d.Add(Values(KQ_NONE32 - 1, KQ_NONE32 - 1, 2000000));
  EXPECT_EQ(kq_dist_at_most(&d.d, KQ_DIST_IPC, 50), u32{KQ_PARAM_IPC_MILLI_MAX});
  EXPECT_LE(kq_dist_at_least(&d.d, KQ_DIST_IPC, 50), u32{KQ_PARAM_IPC_MILLI_MAX});
  EXPECT_GT(kq_dist_at_least(&d.d, KQ_DIST_IPC, 50), u32{KQ_PARAM_IPC_MILLI_MAX} / 9 * 8);
  EXPECT_EQ(kq_dist_at_most(&d.d, KQ_DIST_LLC_MPKI, 50), u32{KQ_PARAM_MPKI_MILLI_MAX});
  EXPECT_EQ(kq_dist_at_most(&d.d, KQ_DIST_BR_MPKI, 50), u32{KQ_PARAM_MPKI_MILLI_MAX});
}

// No value, no guest time: nothing counted; each metric on its own.
TEST(Thresholds, OnlyWhatWasMeasured) {
  Dist d;
  EXPECT_EQ(kq_dist_at_least(&d.d, KQ_DIST_IPC, 50), KQ_NONE32);
  EXPECT_EQ(kq_dist_at_most(&d.d, KQ_DIST_IPC, 50), KQ_NONE32);
  kq_window w = Values(1000, 2000, 3000);
  w.guest_ns = 0;
  d.Add(w);
  EXPECT_EQ(d.d.total[KQ_DIST_IPC], 0u);
  d.Add(Values(KQ_NONE32, 2000, KQ_NONE32));
  d.Add(Values(700, KQ_NONE32, KQ_NONE32));
  d.Add(Values(KQ_NONE32, KQ_NONE32, 9));
  EXPECT_EQ(d.d.total[KQ_DIST_IPC], 1u);
  EXPECT_EQ(d.d.total[KQ_DIST_LLC_MPKI], 1u);
  EXPECT_EQ(d.d.total[KQ_DIST_BR_MPKI], 1u);
  EXPECT_EQ(kq_dist_at_least(&d.d, KQ_DIST_BR_MPKI, 50), 9u);
  EXPECT_EQ(kq_dist_at_most(&d.d, KQ_DIST_BR_MPKI, 50), 9u);
  EXPECT_LE(kq_dist_at_least(&d.d, KQ_DIST_IPC, 50), 700u);
  EXPECT_GE(kq_dist_at_most(&d.d, KQ_DIST_IPC, 50), 700u);
  // The empty metric still says so beside the others.
  Dist e;
  e.Add(Values(KQ_NONE32, 2000, KQ_NONE32));
  EXPECT_EQ(kq_dist_at_least(&e.d, KQ_DIST_IPC, 50), KQ_NONE32);
  EXPECT_EQ(kq_dist_at_most(&e.d, KQ_DIST_BR_MPKI, 50), KQ_NONE32);
}

// Uniform samples: every percentile within one bucket of the true one.
TEST(Thresholds, UniformPercentiles) {
  Dist d;
  std::vector<u32> llc, ipc;
  for (u32 i = 0; i < 2000; i++) {
    llc.push_back(1000 + i * 30);  // 1 to 61 MPKI
    ipc.push_back(400 + (i * 7) % 500);
    d.Add(Values(ipc.back(), llc.back(), KQ_NONE32));
  }
  for (u32 pct : {1u, 10u, 25u, 50u, 75u, 90u, 99u, 100u}) {
    const u32 t = Percentile(llc, pct);
    const u32 lo = kq_dist_at_least(&d.d, KQ_DIST_LLC_MPKI, pct);
    const u32 hi = kq_dist_at_most(&d.d, KQ_DIST_LLC_MPKI, pct);
    EXPECT_LE(lo, t) << pct;
    EXPECT_GT(lo + Width(t), t) << pct;
    EXPECT_GE(hi, t) << pct;
    EXPECT_LT(hi, t + Width(t)) << pct;
    const u32 ti = Percentile(ipc, pct);
    EXPECT_LE(kq_dist_at_least(&d.d, KQ_DIST_IPC, pct), ti) << pct;
    EXPECT_GT(kq_dist_at_least(&d.d, KQ_DIST_IPC, pct) + Width(ti), ti) << pct;
  }
  // The 0th is the smallest value seen, beyond 100 the last bucket.
  EXPECT_LE(kq_dist_at_least(&d.d, KQ_DIST_LLC_MPKI, 0), 1000u);
  EXPECT_GT(kq_dist_at_least(&d.d, KQ_DIST_LLC_MPKI, 0) + Width(1000), 1000u);
  EXPECT_EQ(kq_dist_at_least(&d.d, KQ_DIST_LLC_MPKI, 101), 983040u);
  EXPECT_EQ(kq_dist_at_most(&d.d, KQ_DIST_LLC_MPKI, 101), u32{KQ_PARAM_MPKI_MILLI_MAX});
}

// The rank is the percentile's share of the total rounded up: of 101
// windows the 1st percentile is the 2nd smallest, of 100 the smallest.
TEST(Thresholds, RankRoundsUp) {
  Dist d;
  d.Add(Llc(1));
  d.Add(Llc(1000), 100);
  EXPECT_GT(kq_dist_at_least(&d.d, KQ_DIST_LLC_MPKI, 1), 1000u - Width(1000));
  Dist e;
  e.Add(Llc(1));
  e.Add(Llc(1000), 99);
  EXPECT_EQ(kq_dist_at_least(&e.d, KQ_DIST_LLC_MPKI, 1), 1u);
  EXPECT_EQ(kq_dist_at_most(&e.d, KQ_DIST_LLC_MPKI, 1), 1u);
}

// Two clusters: 30% of windows at 2 MPKI, 70% at 40: the 25th percentile
// is in the first, the 31st in the second, and the boundary is exact.
TEST(Thresholds, TwoClusters) {
  Dist d;
  d.Add(Llc(2000), 300);
  d.Add(Llc(40000), 700);
  for (u32 pct : {1u, 25u, 30u}) {
    EXPECT_LE(kq_dist_at_least(&d.d, KQ_DIST_LLC_MPKI, pct), 2000u) << pct;
    EXPECT_GE(kq_dist_at_most(&d.d, KQ_DIST_LLC_MPKI, pct), 2000u) << pct;
    EXPECT_LT(kq_dist_at_most(&d.d, KQ_DIST_LLC_MPKI, pct), 2000u + Width(2000)) << pct;
  }
  for (u32 pct : {31u, 50u, 90u}) {
    EXPECT_LE(kq_dist_at_least(&d.d, KQ_DIST_LLC_MPKI, pct), 40000u) << pct;
    EXPECT_GT(kq_dist_at_least(&d.d, KQ_DIST_LLC_MPKI, pct), 40000u - Width(40000)) << pct;
  }
}

// Totals never reach the cap; a halving keeps the shape and lets a new
// distribution take over.
TEST(Thresholds, DecayBoundsAndForgets) {
  Dist d;
  for (int i = 0; i < 20000; i++) {
    d.Add(Values(800, 2000, 4000));
    ASSERT_LT(d.d.total[KQ_DIST_LLC_MPKI], u32{KQ_DIST_CAP});
    ASSERT_GE(d.d.total[KQ_DIST_LLC_MPKI], i + 1 < KQ_DIST_CAP ? u32(i + 1) : u32{KQ_DIST_CAP / 2});
  }
  // The halving is of the counts, rounded down: the total is their sum;
  // every bucket and every metric halves.
  Dist h;
  h.Add(Llc(0), 3);
  h.Add(Values(5, KQ_NONE32, KQ_NONE32), 4);
  h.Add(Llc(10), 3);
  h.Add(Llc(5000), 2);
  h.Add(Values(KQ_NONE32, KQ_NONE32, 7), 5);
  kq_dist_decay(&h.d);
  EXPECT_EQ(h.d.total[KQ_DIST_LLC_MPKI], 3u);
  EXPECT_EQ(h.d.total[KQ_DIST_BR_MPKI], 2u);
  EXPECT_EQ(h.d.total[KQ_DIST_IPC], 2u);
  EXPECT_EQ(kq_dist_at_most(&h.d, KQ_DIST_LLC_MPKI, 33), 0u);
  EXPECT_EQ(kq_dist_at_most(&h.d, KQ_DIST_LLC_MPKI, 50), 10u);
  EXPECT_GE(kq_dist_at_most(&h.d, KQ_DIST_LLC_MPKI, 100), 5000u);
  kq_dist_decay(&h.d);
  kq_dist_decay(&h.d);
  EXPECT_EQ(h.d.total[KQ_DIST_LLC_MPKI], 0u);
  EXPECT_EQ(kq_dist_at_most(&h.d, KQ_DIST_LLC_MPKI, 50), KQ_NONE32);
  EXPECT_EQ(h.d.total[KQ_DIST_BR_MPKI], 0u);  // 5 -> 2 -> 1 -> 0

  // A host that moves from 2 to 40 MPKI: the median follows within a
  // few thousand windows, and the old level fades out entirely.
  Dist m;
  m.Add(Llc(2000), 6000);
  EXPECT_LT(kq_dist_at_most(&m.d, KQ_DIST_LLC_MPKI, 50), 2000u + Width(2000));
  m.Add(Llc(40000), 3000);
  EXPECT_GT(kq_dist_at_least(&m.d, KQ_DIST_LLC_MPKI, 50), 40000u - Width(40000));
  EXPECT_LT(kq_dist_at_least(&m.d, KQ_DIST_LLC_MPKI, 1), 2000u + Width(2000));
  m.Add(Llc(40000), 30000);
  EXPECT_GT(kq_dist_at_least(&m.d, KQ_DIST_LLC_MPKI, 0), 40000u - Width(40000));
}

// Cold start and the switch: the knobs as configured.
TEST(Thresholds, ColdStartKeepsTheConstants) {
  kq_policy_params in = Defaults(), out;
  in.warm_ipc_milli = 1234;
  in.flush_burst_pct = 77;
  Dist d;
  std::memset(&out, 0x5a, sizeof(out));
  EXPECT_EQ(kq_thresholds_apply(&d.d, &in, &out), 0u);
  EXPECT_EQ(std::memcmp(&in, &out, sizeof(in)), 0);
  d.Add(Values(500, 30000, 8000), KQ_DIST_MIN - 1);
  EXPECT_EQ(kq_thresholds_apply(&d.d, &in, &out), 0u);
  EXPECT_EQ(std::memcmp(&in, &out, sizeof(in)), 0);
  d.Add(Values(500, 30000, 8000));
  EXPECT_EQ(kq_thresholds_apply(&d.d, &in, &out), (1u << KQ_THR_NR) - 1);
  EXPECT_LE(out.warm_ipc_milli, 500u);
  EXPECT_GE(out.warm_llc_mpki_milli, 30000u);
  EXPECT_GE(out.warm_br_mpki_milli, 8000u);
  EXPECT_LE(out.flush_llc_mpki_milli, 30000u);
  EXPECT_EQ(out.flush_burst_pct, 77u);
  // Off: the constants, whatever the distribution.
  in.host_thresholds = 0;
  std::memset(&out, 0x5a, sizeof(out));
  EXPECT_EQ(kq_thresholds_apply(&d.d, &in, &out), 0u);
  EXPECT_EQ(std::memcmp(&in, &out, sizeof(in)), 0);
}

// Warm is the best warm_pct percent: of 400 windows, 300 at IPC 0.5 and
// 100 at 2.0, the 75th percentile is 0.5, and with 4 fewer at 0.5 it is 2.0.
TEST(Thresholds, WarmIsTheBestQuarter) {
  const kq_policy_params in = Defaults();
  kq_policy_params out;
  Dist a;
  a.Add(Values(500, KQ_NONE32, KQ_NONE32), 300);
  a.Add(Values(2000, KQ_NONE32, KQ_NONE32), 100);
  kq_thresholds_apply(&a.d, &in, &out);
  EXPECT_LE(out.warm_ipc_milli, 500u);
  Dist b;
  b.Add(Values(500, KQ_NONE32, KQ_NONE32), 296);
  b.Add(Values(2000, KQ_NONE32, KQ_NONE32), 104);
  kq_thresholds_apply(&b.d, &in, &out);
  EXPECT_LE(out.warm_ipc_milli, 2000u);
  EXPECT_GT(out.warm_ipc_milli, 2000u - Width(2000));
}

// Which percentile each threshold is, and a metric without samples keeps
// its constant beside the others.
TEST(Thresholds, EachThresholdItsPercentile) {
  Dist d;
  for (u32 i = 0; i < 1000; i++) d.Add(Values(300 + i, 1000 + 50 * i, 500 + 10 * i));
  kq_policy_params in = Defaults(), out;
  for (u32 warm : {1u, 10u, 25u, 50u}) {
    for (u32 flush : {50u, 90u, 99u}) {
      in.warm_pct = warm;
      in.flush_pct = flush;
      ASSERT_EQ(kq_thresholds_apply(&d.d, &in, &out), 0xfu);
      EXPECT_EQ(out.warm_ipc_milli, kq_dist_at_least(&d.d, KQ_DIST_IPC, 100 - warm));
      EXPECT_EQ(out.warm_llc_mpki_milli, kq_dist_at_most(&d.d, KQ_DIST_LLC_MPKI, warm));
      EXPECT_EQ(out.warm_br_mpki_milli, kq_dist_at_most(&d.d, KQ_DIST_BR_MPKI, warm));
      EXPECT_EQ(out.flush_llc_mpki_milli, kq_dist_at_least(&d.d, KQ_DIST_LLC_MPKI, flush));
      out.warm_ipc_milli = in.warm_ipc_milli;
      out.warm_llc_mpki_milli = in.warm_llc_mpki_milli;
      out.warm_br_mpki_milli = in.warm_br_mpki_milli;
      out.flush_llc_mpki_milli = in.flush_llc_mpki_milli;
      EXPECT_EQ(std::memcmp(&in, &out, sizeof(in)), 0) << "another knob changed";
    }
  }
  in = Defaults();
  Dist llc;
  llc.Add(Llc(30000), KQ_DIST_MIN);
  EXPECT_EQ(kq_thresholds_apply(&llc.d, &in, &out),
            1u << KQ_THR_WARM_LLC_MPKI | 1u << KQ_THR_FLUSH_LLC_MPKI);
  EXPECT_EQ(out.warm_ipc_milli, in.warm_ipc_milli);
  EXPECT_EQ(out.warm_br_mpki_milli, in.warm_br_mpki_milli);
  Dist ipc;
  ipc.Add(Values(700, KQ_NONE32, KQ_NONE32), KQ_DIST_MIN);
  EXPECT_EQ(kq_thresholds_apply(&ipc.d, &in, &out), 1u << KQ_THR_WARM_IPC);
  EXPECT_EQ(out.warm_llc_mpki_milli, in.warm_llc_mpki_milli);
  EXPECT_EQ(out.flush_llc_mpki_milli, in.flush_llc_mpki_milli);
  Dist br;
  br.Add(Values(KQ_NONE32, KQ_NONE32, 700), KQ_DIST_MIN);
  EXPECT_EQ(kq_thresholds_apply(&br.d, &in, &out), 1u << KQ_THR_WARM_BR_MPKI);
  EXPECT_EQ(out.warm_ipc_milli, in.warm_ipc_milli);
}

TEST(Thresholds, NamesAndValues) {
  kq_policy_params p = Defaults();
  p.warm_ipc_milli = 11;
  p.warm_llc_mpki_milli = 22;
  p.warm_br_mpki_milli = 33;
  p.flush_llc_mpki_milli = 44;
  const char* names[] = {"warm_ipc_milli", "warm_llc_mpki_milli", "warm_br_mpki_milli",
                         "flush_llc_mpki_milli"};
  for (unsigned t = 0; t < KQ_THR_NR; t++) {
    EXPECT_STREQ(kq_threshold_name(t), names[t]);
    EXPECT_EQ(kq_threshold_value(&p, t), 11u * (t + 1));
  }
  EXPECT_EQ(kq_threshold_name(KQ_THR_NR), nullptr);
  EXPECT_EQ(kq_threshold_value(&p, KQ_THR_NR), KQ_NONE32);
}

// ---- what it changes in the policy -------------------------------------------

struct Vcpu {
  kq_vm_policy vp;
  kq_vcpu_policy st;
  kq_history h;
  Vcpu() {
    kq_vm_policy_defaults(&vp);
    kq_vcpu_policy_init(&st, &vp);
    kq_history_init(&h);
  }
  // As the module: thresholds from the host's windows before this one.
  u32 Decide(const kq_policy_params& p, Dist& host, const kq_window& w) {
    kq_policy_params used;
    kq_thresholds_apply(&host.d, &p, &used);
    kq_policy_window(&used, &vp, &st, &w, &h);
    kq_history_add(&h, &w);
    if (kq_policy_uses_pmu(&p, &w)) host.Add(w);
    return st.reason;
  }
};

// A processor with a small LLC: every window misses 25-60 times per 1000
// instructions at an IPC of 0.4-0.9, the cache-friendlier windows the
// faster.  The constants (LLC MPKI at most 1) never call a window warm;
// the host's own thresholds call its cache-friendliest quarter warm.
TEST(Thresholds, SmallCacheProcessor) {
  for (const bool host : {false, true}) {
    kq_policy_params p = Defaults();
    p.host_thresholds = host;
    Dist d;
    Vcpu v;
    std::mt19937_64 rng(7);
    std::vector<u32> llc_seen;
    int warm = 0, windows = 0;
    u32 warm_llc_max = 0;
    for (int i = 0; i < 2000; i++) {
      const u32 u = static_cast<u32>(rng() % 1001);  // 0 cache-friendliest .. 1000
      const kq_window w = Pmu(900 - u / 2, 25000 + u * 35, 2000 + u * 8);
      llc_seen.push_back(w.llc_mpki_milli);
      const u32 reason = v.Decide(p, d, w);
      if (i < KQ_DIST_MIN) continue;
      windows++;
      if (reason == KVM_QUANTA_R_WARM) {
        warm++;
        warm_llc_max = std::max(warm_llc_max, w.llc_mpki_milli);
      }
    }
    if (!host) {
      EXPECT_EQ(warm, 0);
      continue;
    }
    // The best quarter on all three metrics at once (they move together),
    // within a bucket.
    EXPECT_GT(warm, windows * 20 / 100);
    EXPECT_LT(warm, windows * 32 / 100);
    const u32 p25 = Percentile(llc_seen, 25);
    EXPECT_LT(warm_llc_max, p25 + Width(p25)) << "a warm window is not among the friendliest";
  }
}

// A streaming VM misses at a high rate every window: with the host's
// thresholds its level sets the flush threshold, and it is still no flush
// but in its first window (no recent level yet); a real burst of a
// cache-friendly VM on the same host is.
TEST(Thresholds, StreamingIsNotAFlush) {
  kq_policy_params p = Defaults();
  Dist d;
  Vcpu stream, friendly;
  std::mt19937_64 rng(3);
  int flushes = 0;
  for (int i = 0; i < 1000; i++) {
    const u32 u = static_cast<u32>(rng() % 1001);
    if (stream.Decide(p, d, Pmu(500, 45000 + u * 15, 0)) == KVM_QUANTA_R_FLUSH) flushes++;
    friendly.Decide(p, d, Pmu(900, 20000 + u * 5, 0));
  }
  EXPECT_EQ(flushes, 1);
  kq_policy_params used;
  ASSERT_NE(kq_thresholds_apply(&d.d, &p, &used) & 1u << KQ_THR_FLUSH_LLC_MPKI, 0u);
  EXPECT_GT(used.flush_llc_mpki_milli, 45000u);
  EXPECT_EQ(friendly.Decide(p, d, Pmu(900, 59000, 0)), u32{KVM_QUANTA_R_FLUSH});
}

// A host whose windows hardly miss: the flush percentile is near 0, and
// without a floor every window would be a flush.  The knob is the floor,
// and a window with no misses is never one.
TEST(Thresholds, FlushNeverBelowTheKnob) {
  const kq_policy_params p = Defaults();
  for (const u32 llc : {0u, 3u, 800u}) {
    Dist d;
    Vcpu v;
    int flushes = 0;
    for (int i = 0; i < 1000; i++)
      if (v.Decide(p, d, Pmu(1500, llc, 0)) == KVM_QUANTA_R_FLUSH) flushes++;
    EXPECT_EQ(flushes, 0) << "LLC MPKI milli " << llc;
    kq_policy_params used;
    const unsigned from = kq_thresholds_apply(&d.d, &p, &used);
    EXPECT_EQ(used.flush_llc_mpki_milli, p.flush_llc_mpki_milli);
    EXPECT_EQ(from & 1u << KQ_THR_FLUSH_LLC_MPKI, 0u) << "the knob, not the host's";
    EXPECT_NE(from & 1u << KQ_THR_WARM_LLC_MPKI, 0u);
  }
  // Above the knob, the host's percentile.
  Dist d;
  d.Add(Llc(p.flush_llc_mpki_milli * 3), KQ_DIST_MIN);
  kq_policy_params used;
  EXPECT_NE(kq_thresholds_apply(&d.d, &p, &used) & 1u << KQ_THR_FLUSH_LLC_MPKI, 0u);
  EXPECT_GT(used.flush_llc_mpki_milli, p.flush_llc_mpki_milli * 2);
  // Even a knob of 0 makes no flush of a window without misses.
  kq_policy_params zero = Defaults();
  zero.host_thresholds = 0;
  zero.flush_llc_mpki_milli = 0;
  Vcpu v;
  Dist none;
  for (int i = 0; i < 10; i++)
    EXPECT_NE(v.Decide(zero, none, Pmu(1500, 0, 0)), u32{KVM_QUANTA_R_FLUSH});
}

// A percentile exactly at the knob is the knob's, not the host's.
TEST(Thresholds, FlushAtTheKnobIsTheKnobs) {
  kq_policy_params p = Defaults();
  p.flush_llc_mpki_milli = 18432;  // a bucket's smallest value
  Dist d;
  d.Add(Llc(18432), KQ_DIST_MIN);
  ASSERT_EQ(kq_dist_at_least(&d.d, KQ_DIST_LLC_MPKI, p.flush_pct), 18432u);
  kq_policy_params used;
  EXPECT_EQ(kq_thresholds_apply(&d.d, &p, &used), 1u << KQ_THR_WARM_LLC_MPKI);
  EXPECT_EQ(used.flush_llc_mpki_milli, 18432u);
}

// A metric out of range has no percentile; the word after the totals is
// not read as one (a canary there would be).
TEST(Thresholds, MetricOutOfRange) {
  struct {
    kq_host_dist d;
    u32 canary;
  } x;
  kq_dist_init(&x.d);
  x.canary = 1000;
  for (int i = 0; i < 300; i++) {
    const kq_window w = Values(700, 2000, 3000);
    kq_dist_add(&x.d, &w);
  }
  EXPECT_EQ(kq_dist_at_least(&x.d, KQ_DIST_NR, 50), KQ_NONE32);
  EXPECT_EQ(kq_dist_at_most(&x.d, KQ_DIST_NR, 50), KQ_NONE32);
  EXPECT_EQ(kq_dist_at_least(&x.d, KQ_DIST_NR + 7, 50), KQ_NONE32);
}

// Only the windows the PMU thresholds decide join the distribution.
TEST(Thresholds, OnlyWindowsThePmuDecides) {
  const kq_policy_params p = Defaults();
  kq_window w = Pmu(1000, 1000, 0);
  EXPECT_TRUE(kq_policy_uses_pmu(&p, &w));
  kq_window idle = w;
  idle.halt_ns = idle.window_ns * p.idle_halt_pct / 100;
  EXPECT_FALSE(kq_policy_uses_pmu(&p, &idle));
  kq_window latency = w;  // halts as long as it runs, in 0.4 ms bursts
  latency.window_ns = 400000000;
  latency.halt_ns = latency.run_ns;
  latency.slices = 200;
  kq_window_derive(&latency);
  ASSERT_LE(latency.quantum_ns, u64{p.latency_burst_us} * 1000);
  ASSERT_LT(latency.halt_ns * 100, latency.window_ns * p.idle_halt_pct);  // not idle
  EXPECT_FALSE(kq_policy_uses_pmu(&p, &latency));
  kq_window spin = w;
  spin.ple_exits = 1000000;
  EXPECT_FALSE(kq_policy_uses_pmu(&p, &spin));
  kq_window none = w;
  none.guest_ns = 0;
  EXPECT_FALSE(kq_policy_uses_pmu(&p, &none));
}

}  // namespace
