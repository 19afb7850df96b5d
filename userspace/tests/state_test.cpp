// SPDX-License-Identifier: GPL-2.0
// Property tests for processor-state windows and history (src/core/state.c):
// random cumulative reading streams (starting anywhere, wrapping), random
// windows, and a 128-bit reference for every ratio.  The exact cases live in
// kunit/state_test.c.
#include "state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <random>
#include <vector>

namespace {

using u128 = unsigned __int128;

constexpr u64 kNone64 = KQ_NONE64;
constexpr u32 kNone32 = KQ_NONE32;

// A random u64 of random magnitude: small, mid-sized and huge values alike.
u64 RandMag(std::mt19937_64& rng) {
  const unsigned bits = rng() % 65;
  if (bits == 0) return 0;
  return bits == 64 ? rng() : rng() & ((u64{1} << bits) - 1);
}

u64 RefMulDiv(u64 a, u64 b, u64 c, u64 limit) {
  const u128 q = static_cast<u128>(a) * b / c;
  return q > limit ? limit : static_cast<u64>(q);
}

// The documented meaning of kq_pmu_scaled_delta(), on 128-bit integers.
u64 RefScaled(const kq_pmu_value& p, const kq_pmu_value& c) {
  if (!p.valid || !c.valid) return kNone64;
  const u64 v = c.value - p.value, e = c.enabled - p.enabled, r = c.running - p.running;
  if (e == 0) return 0;
  if (r == 0) return kNone64;
  if (r >= e) return v;
  return RefMulDiv(v, e, r, kNone64 - 1);
}

u32 RefPerKilo(u64 events, u64 insns) {
  if (events == kNone64 || insns == kNone64 || insns == 0) return kNone32;
  return static_cast<u32>(RefMulDiv(events, 1000000, insns, kNone32 - 1));
}

struct Derived {
  u32 ipc, llc, br;
  u64 rate, mean_run, quantum;
};

// What the header and the UAPI say the derived values are.
Derived RefDerive(const kq_window& w) {
  const u64 cyc = w.pmu[KVM_QUANTA_EV_CYCLES], ins = w.pmu[KVM_QUANTA_EV_INSTRUCTIONS];
  Derived d;
  d.ipc = (cyc == kNone64 || ins == kNone64 || cyc == 0)
              ? kNone32
              : static_cast<u32>(RefMulDiv(ins, 1000, cyc, kNone32 - 1));
  d.llc = RefPerKilo(w.pmu[KVM_QUANTA_EV_LLC_MISSES], ins);
  d.br = RefPerKilo(w.pmu[KVM_QUANTA_EV_BRANCH_MISSES], ins);
  // exits per ms of guest time, x 1000
  d.rate = w.guest_ns ? RefMulDiv(w.exits, 1000000000, w.guest_ns, kNone64 - 1) : kNone64;
  d.mean_run = (w.guest_ns && w.exits) ? w.guest_ns / w.exits : kNone64;
  d.quantum = w.slices ? w.run_ns / w.slices : kNone64;
  return d;
}

void ExpectDerived(const kq_window& w, const char* what) {
  const Derived d = RefDerive(w);
  EXPECT_EQ(w.ipc_milli, d.ipc) << what;
  EXPECT_EQ(w.llc_mpki_milli, d.llc) << what;
  EXPECT_EQ(w.br_mpki_milli, d.br) << what;
  EXPECT_EQ(w.exit_rate_milli, d.rate) << what;
  EXPECT_EQ(w.mean_run_ns, d.mean_run) << what;
  EXPECT_EQ(w.quantum_ns, d.quantum) << what;
}

// A stream of cumulative readings of one vCPU: every counter starts at a
// random point (so some wrap past U64_MAX) and moves by random amounts.
std::vector<kq_reading> RandomStream(std::mt19937_64& rng, int n, bool multiplex) {
  std::vector<kq_reading> r(n);
  kq_reading cur{};
  cur.t_ns = rng();
  cur.guest_ns = rng();
  cur.exits = rng();
  for (auto& k : cur.kinds) k = rng();
  cur.run_ns = rng();
  cur.wait_ns = rng();
  cur.slices = rng();
  cur.halt_ns = rng();
  for (auto& p : cur.pmu) p = {rng(), rng(), 0, true};
  for (auto& p : cur.pmu) p.running = multiplex ? rng() : p.enabled;
  for (int i = 0; i < n; ++i) {
    r[i] = cur;
    const u64 dt = 1 + rng() % 100000000;  // up to 100 ms
    const u64 guest = rng() % (dt + 1), run = guest + rng() % (dt - guest + 1);
    cur.t_ns += dt;
    cur.guest_ns += guest;
    const u64 exits = rng() % 4 ? rng() % 200000 : 0;
    cur.exits += exits;
    u64 left = exits;
    for (unsigned k = 0; k + 1 < KVM_QUANTA_EXIT_NR; ++k) {
      const u64 d = left ? rng() % (left + 1) : 0;
      cur.kinds[k] += d;
      left -= d;
    }
    cur.kinds[KVM_QUANTA_EXIT_NR - 1] += left;
    cur.run_ns += run;
    cur.wait_ns += dt - run;
    cur.slices += rng() % 4 ? rng() % 100 : 0;
    cur.halt_ns += rng() % (dt + 1);
    cur.ple_exits += rng() % 3 ? 0 : rng() % 5000;
    cur.pv_yields += rng() % 3 ? 0 : rng() % 5000;
    for (auto& p : cur.pmu) {
      const u64 en = rng() % 3 ? run : 0;
      p.enabled += en;
      p.running += multiplex && en ? rng() % (en + 1) : en;
      // A counter only counts while enabled; at most 2^56 a window, so
      // the whole stream's count fits in 64 bits.
      if (en) p.value += RandMag(rng) >> (8 + rng() % 20);
    }
  }
  return r;
}

TEST(State, WindowDeltasMatchTheDocumentedMeaning) {
  std::mt19937_64 rng(1);
  for (int run = 0; run < 300; ++run) {
    const auto r = RandomStream(rng, 20, run % 2);
    for (size_t i = 1; i < r.size(); ++i) {
      kq_window w;
      std::memset(&w, 0xa5, sizeof(w));
      kq_window_from(&w, &r[i - 1], &r[i]);
      EXPECT_EQ(w.window_ns, r[i].t_ns - r[i - 1].t_ns);
      EXPECT_EQ(w.guest_ns, r[i].guest_ns - r[i - 1].guest_ns);
      EXPECT_EQ(w.exits, r[i].exits - r[i - 1].exits);
      EXPECT_EQ(w.ple_exits, r[i].ple_exits - r[i - 1].ple_exits);
      EXPECT_EQ(w.pv_yields, r[i].pv_yields - r[i - 1].pv_yields);
      u64 kinds = 0;
      for (unsigned k = 0; k < KVM_QUANTA_EXIT_NR; ++k) kinds += w.kinds[k];
      EXPECT_EQ(kinds, w.exits);
      EXPECT_EQ(w.run_ns + w.wait_ns, w.window_ns);
      EXPECT_LE(w.guest_ns, w.run_ns);
      for (unsigned k = 0; k < KVM_QUANTA_EV_NR; ++k)
        EXPECT_EQ(w.pmu[k], RefScaled(r[i - 1].pmu[k], r[i].pmu[k])) << "role " << k;
      ExpectDerived(w, "window");
    }
  }
}

// Without multiplexing, cutting a stream into windows loses nothing: the
// long-term total of the windows is the window from the first reading to
// the last, deltas and derived values alike.
// An exit read before its kind was known shows as "other", then as its
// kind: a kind may step back by one between readings.  That reads as 0,
// not as 2^64 - 1, and the other kinds and the exit count are untouched.
TEST(State, KindStepsBackReadsZero) {
  kq_reading a{}, b{};
  a.exits = 15;
  a.kinds[KVM_QUANTA_EXIT_IO] = 10;
  a.kinds[KVM_QUANTA_EXIT_OTHER] = 5;
  b.exits = 16;
  b.kinds[KVM_QUANTA_EXIT_IO] = 12;
  b.kinds[KVM_QUANTA_EXIT_OTHER] = 4;
  kq_window w{};
  kq_window_from(&w, &a, &b);
  EXPECT_EQ(w.exits, 1u);
  EXPECT_EQ(w.kinds[KVM_QUANTA_EXIT_IO], 2u);
  EXPECT_EQ(w.kinds[KVM_QUANTA_EXIT_OTHER], 0u);
  // A counter that wrapped still moves forward.
  a.kinds[KVM_QUANTA_EXIT_IO] = ~u64{0} - 1;
  b.kinds[KVM_QUANTA_EXIT_IO] = 3;
  kq_window_from(&w, &a, &b);
  EXPECT_EQ(w.kinds[KVM_QUANTA_EXIT_IO], 5u);
}

TEST(State, SumOfWindowsIsLastMinusFirst) {
  std::mt19937_64 rng(2);
  for (int run = 0; run < 300; ++run) {
    const int n = 2 + static_cast<int>(rng() % 60);
    const auto r = RandomStream(rng, n, false);
    kq_history h;
    kq_history_init(&h);
    for (int i = 1; i < n; ++i) {
      kq_window w;
      kq_window_from(&w, &r[i - 1], &r[i]);
      kq_history_add(&h, &w);
    }
    kq_window span;
    kq_window_from(&span, &r.front(), &r.back());
    EXPECT_EQ(h.windows, static_cast<u64>(n - 1));
    EXPECT_EQ(h.total.window_ns, span.window_ns);
    EXPECT_EQ(h.total.guest_ns, span.guest_ns);
    EXPECT_EQ(h.total.exits, span.exits);
    for (unsigned k = 0; k < KVM_QUANTA_EXIT_NR; ++k) EXPECT_EQ(h.total.kinds[k], span.kinds[k]);
    EXPECT_EQ(h.total.run_ns, span.run_ns);
    EXPECT_EQ(h.total.wait_ns, span.wait_ns);
    EXPECT_EQ(h.total.slices, span.slices);
    EXPECT_EQ(h.total.halt_ns, span.halt_ns);
    EXPECT_EQ(h.total.ple_exits, span.ple_exits);
    EXPECT_EQ(h.total.pv_yields, span.pv_yields);
    for (unsigned k = 0; k < KVM_QUANTA_EV_NR; ++k)
      EXPECT_EQ(h.total.pmu[k], span.pmu[k]) << "run " << run << " role " << k;
    EXPECT_EQ(h.total.ipc_milli, span.ipc_milli);
    EXPECT_EQ(h.total.llc_mpki_milli, span.llc_mpki_milli);
    EXPECT_EQ(h.total.br_mpki_milli, span.br_mpki_milli);
    EXPECT_EQ(h.total.exit_rate_milli, span.exit_rate_milli);
    EXPECT_EQ(h.total.mean_run_ns, span.mean_run_ns);
    EXPECT_EQ(h.total.quantum_ns, span.quantum_ns);
  }
}

// The 128-bit multiply-divide behind scaling, on random operands of every
// magnitude, against the compiler's own 128-bit division.
TEST(State, ScaledDeltaMatches128BitReference) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200000; ++i) {
    kq_pmu_value p{rng(), rng(), rng(), rng() % 64 != 0};
    kq_pmu_value c = p;
    c.valid = rng() % 64 != 0;
    u64 e = RandMag(rng), r = RandMag(rng);
    if (rng() % 2 && e < r) std::swap(e, r);  // mostly enabled >= running
    if (rng() % 8 == 0) r = e - rng() % 3;    // nearly always running
    c.value += RandMag(rng);
    c.enabled += e;
    c.running += r;
    const u64 got = kq_pmu_scaled_delta(&p, &c);
    ASSERT_EQ(got, RefScaled(p, c))
        << std::hex << "value " << c.value - p.value << " enabled " << e << " running " << r;
    // Scaling never shrinks a count and KQ_NONE64 only means "unknown".
    if (got != kNone64 && e != 0) {
      EXPECT_GE(got, c.value - p.value);
    }
  }
}

// Quotients right at 2^64, where the high half of the 128-bit product is
// the divisor or just below it.
TEST(State, ScaledDeltaAtTheSaturationBoundary) {
  std::mt19937_64 rng(8);
  for (int i = 0; i < 100000; ++i) {
    u64 e = RandMag(rng) | 2, r = RandMag(rng) % e;
    if (r == 0) r = 1;
    const u64 base = static_cast<u64>((static_cast<u128>(r) << 64) / e);
    for (int d = -2; d <= 2; ++d) {
      const kq_pmu_value p{0, 0, 0, true}, c{base + d, e, r, true};
      ASSERT_EQ(kq_pmu_scaled_delta(&p, &c), RefScaled(p, c))
          << std::hex << "value " << c.value << " enabled " << e << " running " << r;
    }
  }
}

TEST(State, DerivedValuesMatch128BitReference) {
  std::mt19937_64 rng(4);
  for (int i = 0; i < 200000; ++i) {
    kq_window w{};
    for (auto& v : w.pmu) v = rng() % 8 == 0 ? kNone64 : rng() % 8 == 0 ? 0 : RandMag(rng);
    w.guest_ns = rng() % 8 == 0 ? 0 : RandMag(rng);
    w.exits = rng() % 8 == 0 ? 0 : RandMag(rng);
    w.run_ns = RandMag(rng);
    w.slices = rng() % 8 == 0 ? 0 : RandMag(rng);
    kq_window_derive(&w);
    ExpectDerived(w, "random window");
    if (HasFailure()) break;
  }
}

// One window's derived values, of which some may be missing.
kq_window RandomDerivedWindow(std::mt19937_64& rng) {
  kq_window w{};
  auto pick32 = [&] { return rng() % 4 == 0 ? kNone32 : static_cast<u32>(RandMag(rng) % kNone32); };
  auto pick64 = [&] { return rng() % 4 == 0 ? kNone64 : RandMag(rng) % kNone64; };
  w.ipc_milli = pick32();
  w.llc_mpki_milli = pick32();
  w.br_mpki_milli = pick32();
  w.exit_rate_milli = pick64();
  w.mean_run_ns = pick64();
  w.quantum_ns = pick64();
  for (auto& v : w.pmu) v = kNone64;
  return w;
}

template <typename T>
struct Track {
  std::optional<T> lo, hi, avg;
  // The EWMA: seeded by the first value, then 1/4 of the step, truncated.
  void Add(T v, T none) {
    if (v == none) return;
    lo = lo ? std::min(*lo, v) : v;
    hi = hi ? std::max(*hi, v) : v;
    avg = !avg ? v : v >= *avg ? T(*avg + (v - *avg) / 4) : T(*avg - (*avg - v) / 4);
  }
  void Check(T got, T none, const char* what, int step) const {
    if (!avg) {
      EXPECT_EQ(got, none) << what << " step " << step;
      return;
    }
    EXPECT_EQ(got, *avg) << what << " step " << step;
    EXPECT_GE(got, *lo) << what << " step " << step;
    EXPECT_LE(got, *hi) << what << " step " << step;
  }
};

TEST(State, EwmaStaysWithinItsInputsAndSkipsMissingValues) {
  std::mt19937_64 rng(5);
  for (int run = 0; run < 2000; ++run) {
    kq_history h;
    kq_history_init(&h);
    Track<u32> ipc, llc, br;
    Track<u64> rate, mean, quantum;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      const kq_window w = RandomDerivedWindow(rng);
      const u64 before = h.recent.quantum_ns;
      kq_history_add(&h, &w);
      ipc.Add(w.ipc_milli, kNone32);
      llc.Add(w.llc_mpki_milli, kNone32);
      br.Add(w.br_mpki_milli, kNone32);
      rate.Add(w.exit_rate_milli, kNone64);
      mean.Add(w.mean_run_ns, kNone64);
      quantum.Add(w.quantum_ns, kNone64);
      ipc.Check(h.recent.ipc_milli, kNone32, "ipc", i);
      llc.Check(h.recent.llc_mpki_milli, kNone32, "llc", i);
      br.Check(h.recent.br_mpki_milli, kNone32, "br", i);
      rate.Check(h.recent.exit_rate_milli, kNone64, "rate", i);
      mean.Check(h.recent.mean_run_ns, kNone64, "mean_run", i);
      quantum.Check(h.recent.quantum_ns, kNone64, "quantum", i);
      // Never moves away from the latest value.
      if (w.quantum_ns != kNone64 && before != kNone64) {
        const u64 d0 = before > w.quantum_ns ? before - w.quantum_ns : w.quantum_ns - before;
        const u64 d1 = h.recent.quantum_ns > w.quantum_ns ? h.recent.quantum_ns - w.quantum_ns
                                                          : w.quantum_ns - h.recent.quantum_ns;
        EXPECT_LE(d1, d0);
      }
    }
    EXPECT_EQ(h.windows, static_cast<u64>(n));
    if (HasFailure()) break;
  }
}

TEST(State, EwmaOfAConstantEndsWithinThreeOfIt) {
  std::mt19937_64 rng(6);
  for (int run = 0; run < 2000; ++run) {
    kq_history h;
    kq_history_init(&h);
    kq_window w = RandomDerivedWindow(rng);
    w.quantum_ns = RandMag(rng) % kNone64;
    kq_history_add(&h, &w);
    w.quantum_ns = RandMag(rng) % kNone64;
    // (3/4)^160 * 2^64 < 1: at most 160 steps to get within 3.
    for (int i = 0; i < 160; ++i) kq_history_add(&h, &w);
    const u64 q = h.recent.quantum_ns, t = w.quantum_ns;
    EXPECT_LE(q > t ? q - t : t - q, 3u) << "target " << t;
  }
}

// Totals add window by window; a role missing from some windows keeps the
// others' sum, and is missing only if no window had it.
TEST(State, TotalsAreSumsOfTheWindows) {
  std::mt19937_64 rng(7);
  for (int run = 0; run < 1000; ++run) {
    kq_history h;
    kq_history_init(&h);
    kq_window sum{};
    bool had[KVM_QUANTA_EV_NR] = {};
    const int n = 1 + static_cast<int>(rng() % 50);
    for (int i = 0; i < n; ++i) {
      kq_window w{};
      w.window_ns = rng() % 1000000000;
      w.guest_ns = rng() % (w.window_ns + 1);
      w.exits = rng() % 100000;
      w.run_ns = rng() % 1000000000;
      w.wait_ns = rng() % 1000000000;
      w.slices = rng() % 1000;
      w.halt_ns = rng() % 1000000000;
      for (auto& k : w.kinds) k = rng() % 1000;
      for (unsigned k = 0; k < KVM_QUANTA_EV_NR; ++k) {
        w.pmu[k] = rng() % 3 == 0 ? kNone64 : rng() % (u64{1} << 50);
        if (w.pmu[k] != kNone64) {
          sum.pmu[k] += w.pmu[k];
          had[k] = true;
        }
      }
      kq_window_derive(&w);
      sum.window_ns += w.window_ns;
      sum.guest_ns += w.guest_ns;
      sum.exits += w.exits;
      sum.run_ns += w.run_ns;
      sum.wait_ns += w.wait_ns;
      sum.slices += w.slices;
      sum.halt_ns += w.halt_ns;
      for (unsigned k = 0; k < KVM_QUANTA_EXIT_NR; ++k) sum.kinds[k] += w.kinds[k];
      kq_history_add(&h, &w);
    }
    for (unsigned k = 0; k < KVM_QUANTA_EV_NR; ++k)
      if (!had[k]) sum.pmu[k] = kNone64;
    EXPECT_EQ(h.total.window_ns, sum.window_ns);
    EXPECT_EQ(h.total.guest_ns, sum.guest_ns);
    EXPECT_EQ(h.total.exits, sum.exits);
    EXPECT_EQ(h.total.run_ns, sum.run_ns);
    EXPECT_EQ(h.total.wait_ns, sum.wait_ns);
    EXPECT_EQ(h.total.slices, sum.slices);
    EXPECT_EQ(h.total.halt_ns, sum.halt_ns);
    for (unsigned k = 0; k < KVM_QUANTA_EXIT_NR; ++k) EXPECT_EQ(h.total.kinds[k], sum.kinds[k]);
    for (unsigned k = 0; k < KVM_QUANTA_EV_NR; ++k) EXPECT_EQ(h.total.pmu[k], sum.pmu[k]);
    ExpectDerived(h.total, "total");
    if (HasFailure()) break;
  }
}

// PMU sums saturate below KQ_NONE64 instead of wrapping or reading as
// "missing".
TEST(State, PmuTotalsSaturate) {
  kq_window sum, w{};
  kq_window_init(&sum);
  for (auto& v : w.pmu) v = kNone64 - 1;
  kq_window_add(&sum, &w);
  kq_window_add(&sum, &w);
  for (unsigned k = 0; k < KVM_QUANTA_EV_NR; ++k) EXPECT_EQ(sum.pmu[k], kNone64 - 1);
  EXPECT_EQ(sum.ipc_milli, 1000u);
}

}  // namespace
