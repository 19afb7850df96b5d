// SPDX-License-Identifier: GPL-2.0
// The fairness ledger (src/core/policy.c kq_ledger_window and its helpers):
// exact cases worked out by hand from a weighted fair scheduler over known
// runnable periods (not from the ledger's own formula), and properties over
// random groups with fixed seeds: per-CPU conservation, independence of
// input order, CPUs apart, and no forgiveness.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "policy.h"

namespace {

constexpr u64 kMs = 1000000;

kq_ledger_entry Entry(int cpu, u64 run, u64 wait, u32 weight, s64 debt = 0) {
  kq_ledger_entry e{};
  e.cpu = cpu;
  e.run_ns = run;
  e.wait_ns = wait;
  e.weight = weight;
  e.debt_ns = debt;
  return e;
}

std::vector<u64> Fair(std::vector<kq_ledger_entry> e) {
  kq_ledger_window(e.data(), static_cast<unsigned>(e.size()));
  std::vector<u64> f;
  for (const auto& x : e) f.push_back(x.fair_ns);
  return f;
}

// The case: A runnable all of a 100 ms window, B CPU-bound for half
// of it.  Stock: 25 ms each while both are runnable, A alone the rest: 75/25.
TEST(Ledger, PartialOverlapIsNotDebt) {
  std::vector<kq_ledger_entry> e = {Entry(0, 75 * kMs, 25 * kMs, 100, 0),
                                    Entry(0, 25 * kMs, 25 * kMs, 100, 0)};
  kq_ledger_window(e.data(), 2);
  EXPECT_EQ(e[0].fair_ns, 75 * kMs);
  EXPECT_EQ(e[1].fair_ns, 25 * kMs);
  EXPECT_EQ(e[0].debt_ns, 0);
  EXPECT_EQ(e[1].debt_ns, 0);
  // A took 5 ms of B's: B's runnable periods are the same (it waits longer
  // and runs less), the overlap is the same 50 ms.
  e = {Entry(0, 80 * kMs, 20 * kMs, 100, 7), Entry(0, 20 * kMs, 30 * kMs, 100, -7)};
  kq_ledger_window(e.data(), 2);
  EXPECT_EQ(e[0].debt_ns, 5 * s64{kMs} + 7);
  EXPECT_EQ(e[1].debt_ns, -5 * s64{kMs} - 7);
}

// Two vCPUs, weights 3:1, B (40 ms runnable) within A's 100 ms: while both
// are runnable B gets 1/4 of 40 ms, A the rest and its 60 ms alone.
TEST(Ledger, TwoVcpusAnyWeightsAnyOverlap) {
  EXPECT_EQ(Fair({Entry(0, 80 * kMs, 20 * kMs, 3000), Entry(0, 20 * kMs, 20 * kMs, 1000)}),
            (std::vector<u64>{90 * kMs, 10 * kMs}));
  // Overlap of 10 ms only: A 60 ms runnable, B 30 ms, busy 80 ms.
  // A alone 50, B alone 20, together 10 split 3:1.
  EXPECT_EQ(Fair({Entry(1, 55 * kMs, 5 * kMs, 3000), Entry(1, 25 * kMs, 5 * kMs, 1000)}),
            (std::vector<u64>{57500000, 22500000}));
  // Never overlapping: each ran what it asked for, whatever the weights.
  EXPECT_EQ(Fair({Entry(2, 60 * kMs, 0, 2000), Entry(2, 20 * kMs, 0, 1000)}),
            (std::vector<u64>{60 * kMs, 20 * kMs}));
  EXPECT_EQ(Fair({Entry(2, 20 * kMs, 0, 1), Entry(2, 60 * kMs, 0, 9000)}),
            (std::vector<u64>{20 * kMs, 60 * kMs}));
}

TEST(Ledger, AllRunnableSplitByWeight) {
  // 60 ms, weights 1:2:3, whoever ran what.
  EXPECT_EQ(Fair({Entry(0, 40 * kMs, 20 * kMs, 1000), Entry(0, 10 * kMs, 50 * kMs, 2000),
                  Entry(0, 10 * kMs, 50 * kMs, 3000)}),
            (std::vector<u64>{10 * kMs, 20 * kMs, 30 * kMs}));
  // Three equal: 10 ms / 3; the 1 ns left over goes to the first (all tie).
  EXPECT_EQ(Fair({Entry(0, 4 * kMs, 6 * kMs, 100), Entry(0, 3 * kMs, 7 * kMs, 100),
                  Entry(0, 3 * kMs, 7 * kMs, 100)}),
            (std::vector<u64>{3333334, 3333333, 3333333}));
}

// Nested runnable periods 90 ⊃ 60 ⊃ 30 ms, equal weights, busy 90 ms:
// 30 ms shared by three, 30 by two, 30 alone: 10+15+30, 10+15, 10.
TEST(Ledger, NestedPeriods) {
  EXPECT_EQ(Fair({Entry(0, 30 * kMs, 60 * kMs, 100), Entry(0, 30 * kMs, 30 * kMs, 100),
                  Entry(0, 30 * kMs, 0, 100)}),
            (std::vector<u64>{55 * kMs, 25 * kMs, 10 * kMs}));
  // The same with the shortest weighing 2: 30 ms shared 1:1:2 gives it 15.
  EXPECT_EQ(Fair({Entry(0, 30 * kMs, 60 * kMs, 100), Entry(0, 30 * kMs, 30 * kMs, 100),
                  Entry(0, 30 * kMs, 0, 200)}),
            (std::vector<u64>{7500000 + 15 * kMs + 30 * kMs, 7500000 + 15 * kMs, 15 * kMs}));
}

// Waiting for tasks outside the ledger (more wait than the vCPUs' overlap)
// moves no time between the vCPUs: equal shares of what they ran.
TEST(Ledger, WaitForOtherTasks) {
  EXPECT_EQ(Fair({Entry(0, 30 * kMs, 70 * kMs, 100), Entry(0, 30 * kMs, 70 * kMs, 100)}),
            (std::vector<u64>{30 * kMs, 30 * kMs}));
  // Alone on a CPU with a busy host task: it ran its share, whatever.
  EXPECT_EQ(Fair({Entry(4, 9 * kMs, 40 * kMs, 1)}), (std::vector<u64>{9 * kMs}));
}

TEST(Ledger, EdgeCases) {
  // Nothing: nothing happens; nothing runnable: nothing changes.
  kq_ledger_window(nullptr, 0);
  std::vector<kq_ledger_entry> e = {Entry(0, 0, 0, 100, 11), Entry(0, 0, 0, 100, -11)};
  kq_ledger_window(e.data(), 2);
  EXPECT_EQ(e[0].debt_ns, 11);
  EXPECT_EQ(e[1].debt_ns, -11);
  EXPECT_EQ(e[0].fair_ns, 0u);
  // Waited, never ran: owed nothing on its own CPU.
  e = {Entry(3, 0, 5 * kMs, 100, 7)};
  kq_ledger_window(e.data(), 1);
  EXPECT_EQ(e[0].debt_ns, 7);
  // Weight 0 (not valid, but not a division by zero): the other gets all.
  e = {Entry(0, 5 * kMs, 5 * kMs, 0), Entry(0, 5 * kMs, 5 * kMs, 100)};
  kq_ledger_window(e.data(), 2);
  EXPECT_EQ(e[1].fair_ns, 10 * kMs);
}

// An unpinned vCPU with entries on two CPUs: each CPU is its own group.
TEST(Ledger, UnpinnedVcpuPerCpu) {
  // vCPU 0 ran 30 ms on CPU 0 and 20 ms on CPU 1; vCPU 1 is on CPU 0,
  // vCPU 2 on CPU 1; all runnable all of a 50 ms window, equal weights.
  std::vector<kq_ledger_entry> e = {
      Entry(1, 20 * kMs, 10 * kMs, 100, 0),        // vCPU 0 on CPU 1
      Entry(0, 20 * kMs, 30 * kMs, 100, 0),        // vCPU 1
      Entry(0, 30 * kMs, 20 * kMs, 100, 3 * kMs),  // vCPU 0 on CPU 0, holds its debt
      Entry(1, 30 * kMs, 20 * kMs + 0, 100, 0),    // vCPU 2
  };
  kq_ledger_window(e.data(), 4);
  // CPU 0: 50 ms runnable each, 25 fair.  CPU 1: vCPU 0 runnable 30,
  // vCPU 2 50, 50 busy, overlap 30: 15 and 35.
  EXPECT_EQ(e[1].fair_ns, 25 * kMs);
  EXPECT_EQ(e[2].fair_ns, 25 * kMs);
  EXPECT_EQ(e[0].fair_ns, 15 * kMs);
  EXPECT_EQ(e[3].fair_ns, 35 * kMs);
  EXPECT_EQ(e[0].debt_ns + e[2].debt_ns, 3 * s64{kMs} + 5 * s64{kMs} + 5 * s64{kMs});
  EXPECT_EQ(e[1].debt_ns, -5 * s64{kMs});
  EXPECT_EQ(e[3].debt_ns, -5 * s64{kMs});
}

// Where the exit path charged run time, slot by slot.
TEST(RanOn, AddFillsFreeSlotsThenRoundRobin) {
  kq_ran_on r[KQ_RAN_SLOTS];
  kq_ran_init(r);
  for (const auto& x : r) {
    EXPECT_EQ(x.cpu, -1);
    EXPECT_EQ(x.ns, 0u);
  }
  u32 next = 0;
  kq_ran_add(r, &next, 5, 10);
  kq_ran_add(r, &next, 7, 20);
  kq_ran_add(r, &next, 5, 1);  // same CPU: same slot
  EXPECT_EQ(r[0].cpu, 5);
  EXPECT_EQ(r[0].ns, 11u);
  EXPECT_EQ(r[1].cpu, 7);
  EXPECT_EQ(r[1].ns, 20u);
  EXPECT_EQ(r[2].cpu, -1);
  kq_ran_add(r, &next, 0, 3);  // CPU 0 is a CPU, not "unused"
  kq_ran_add(r, &next, 9, 4);
  EXPECT_EQ(r[2].cpu, 0);
  EXPECT_EQ(r[3].cpu, 9);
  EXPECT_EQ(next, 0u);  // free slots were taken without turning
  // All in use: a fifth CPU takes slot 0, a sixth slot 1.
  EXPECT_EQ(r[0].gen, 1u);
  kq_ran_add(r, &next, 11, 6);
  EXPECT_EQ(r[0].cpu, 11);
  EXPECT_EQ(r[0].gen, 2u);  // taken again: a reader must not subtract
  EXPECT_EQ(r[0].ns, 6u);
  EXPECT_EQ(next, 1u);
  kq_ran_add(r, &next, 12, 8);
  EXPECT_EQ(r[1].cpu, 12);
  EXPECT_EQ(r[1].ns, 8u);
  EXPECT_EQ(r[2].ns, 3u);
  EXPECT_EQ(next, 2u);
  // A freed slot in the middle is taken before any turn.
  r[3].cpu = -1;
  kq_ran_add(r, &next, 13, 1);
  EXPECT_EQ(r[3].cpu, 13);
  EXPECT_EQ(next, 2u);
  next = KQ_RAN_SLOTS + 1;  // out of range: wraps, never past the array
  kq_ran_add(r, &next, 14, 1);
  EXPECT_EQ(r[1].cpu, 14);
  EXPECT_EQ(next, 2u);
}

TEST(RanOn, WindowDeltas) {
  kq_ran_on prev[KQ_RAN_SLOTS], cur[KQ_RAN_SLOTS];
  kq_ran_init(prev);
  kq_ran_init(cur);
  s32 cpus[KQ_RAN_SLOTS];
  u64 ns[KQ_RAN_SLOTS];
  EXPECT_EQ(kq_ran_window(prev, cur, cpus, ns), 0u);
  prev[0] = {2, 1, 100};
  prev[1] = {3, 1, 50};
  prev[2] = {4, 1, 10};
  cur[0] = {2, 1, 130};  // +30 on CPU 2
  cur[1] = {3, 1, 50};   // nothing on CPU 3: left out
  cur[2] = {6, 2, 7};    // the slot took CPU 6: counts from 0
  cur[3] = {0, 1, 9};    // a new slot, on CPU 0
  ASSERT_EQ(kq_ran_window(prev, cur, cpus, ns), 3u);
  EXPECT_EQ(cpus[0], 2);
  EXPECT_EQ(ns[0], 30u);
  EXPECT_EQ(cpus[1], 6);
  EXPECT_EQ(ns[1], 7u);
  EXPECT_EQ(cpus[2], 0);
  EXPECT_EQ(ns[2], 9u);
  // Taken again by the same CPU in between (a new generation): from 0,
  // whether it has gathered more or less than before.
  cur[0] = {2, 2, 40};
  ASSERT_EQ(kq_ran_window(prev, cur, cpus, ns), 3u);
  EXPECT_EQ(ns[0], 40u);
  cur[0] = {2, 2, 160};
  ASSERT_EQ(kq_ran_window(prev, cur, cpus, ns), 3u);
  EXPECT_EQ(ns[0], 160u);
  cur[0] = {2, 1, 100};  // kept, nothing more: nothing
  ASSERT_EQ(kq_ran_window(prev, cur, cpus, ns), 2u);
  EXPECT_EQ(cpus[0], 6);
  // Kept by generation but gone back (a generation that wrapped): from 0,
  // never a delta near 2^64.
  cur[0] = {2, 1, 60};
  ASSERT_EQ(kq_ran_window(prev, cur, cpus, ns), 3u);
  EXPECT_EQ(ns[0], 60u);
}

TEST(RanOn, AddThenWindowAcrossEvictions) {
  kq_ran_on r[KQ_RAN_SLOTS], prev[KQ_RAN_SLOTS];
  kq_ran_init(r);
  u32 next = 0;
  for (s32 cpu = 0; cpu < KQ_RAN_SLOTS; cpu++) kq_ran_add(r, &next, cpu, 100);
  std::copy(r, r + KQ_RAN_SLOTS, prev);
  s32 cpus[KQ_RAN_SLOTS];
  u64 ns[KQ_RAN_SLOTS];
  kq_ran_add(r, &next, 0, 5);    // slot 0: 105
  kq_ran_add(r, &next, 9, 7);    // CPU 9 takes slot 0 (CPU 0's 5 drop out)
  kq_ran_add(r, &next, 0, 200);  // CPU 0 takes slot 1 (CPU 1 had nothing new)
  kq_ran_add(r, &next, 2, 3);    // slot 2: 103
  ASSERT_EQ(kq_ran_window(prev, r, cpus, ns), 3u);
  EXPECT_EQ(cpus[0], 9);
  EXPECT_EQ(ns[0], 7u);
  EXPECT_EQ(cpus[1], 0);
  EXPECT_EQ(ns[1], 200u);
  EXPECT_EQ(cpus[2], 2);
  EXPECT_EQ(ns[2], 3u);
  // A CPU that loses its slot and takes the same one back within a window
  // counts from 0 there: 150, not 150 - 100.
  kq_ran_init(r);
  next = 0;
  for (s32 cpu = 0; cpu < KQ_RAN_SLOTS; cpu++) kq_ran_add(r, &next, cpu, 100);
  std::copy(r, r + KQ_RAN_SLOTS, prev);
  for (s32 cpu = 10; cpu < 10 + KQ_RAN_SLOTS; cpu++) kq_ran_add(r, &next, cpu, 1);
  kq_ran_add(r, &next, 0, 150);
  ASSERT_EQ(kq_ran_window(prev, r, cpus, ns), 4u);
  EXPECT_EQ(cpus[0], 0);
  EXPECT_EQ(ns[0], 150u);
  EXPECT_EQ(ns[1] + ns[2] + ns[3], 3u);
}

TEST(Ledger, SplitByWhereItRan) {
  kq_ledger_entry e[KQ_RAN_SLOTS];
  const s32 cpus[] = {3, 1, 2};
  const u64 ns[] = {6, 3, 1};
  // 100 ms run, 50 ms wait: 60/30/10 and 30/15/5, the debt in the first.
  ASSERT_EQ(kq_ledger_split(e, 9, 100 * kMs, 50 * kMs, 0, 777, -42, true, cpus, ns, 3), 3u);
  EXPECT_EQ(e[0].cpu, 3);
  EXPECT_EQ(e[1].cpu, 1);
  EXPECT_EQ(e[2].cpu, 2);
  EXPECT_EQ(e[0].run_ns, 60 * kMs);
  EXPECT_EQ(e[1].run_ns, 30 * kMs);
  EXPECT_EQ(e[2].run_ns, 10 * kMs);
  EXPECT_EQ(e[0].wait_ns, 30 * kMs);
  EXPECT_EQ(e[1].wait_ns, 15 * kMs);
  EXPECT_EQ(e[2].wait_ns, 5 * kMs);
  for (const auto& x : e) {
    if (&x == &e[3]) break;
    EXPECT_EQ(x.weight, 777u);
  }
  EXPECT_EQ(e[0].debt_ns, -42);
  EXPECT_EQ(e[1].debt_ns, 0);
  EXPECT_EQ(e[2].debt_ns, 0);
  EXPECT_EQ(kq_ledger_join(e, 3), -42);
  // Rounding: the last takes what is left, nothing is lost or made up.
  const u64 thirds[] = {1, 1, 1};
  ASSERT_EQ(kq_ledger_split(e, 0, 100, 10, 0, 1, 0, true, cpus, thirds, 3), 3u);
  EXPECT_EQ(e[0].run_ns, 33u);
  EXPECT_EQ(e[1].run_ns, 33u);
  EXPECT_EQ(e[2].run_ns, 34u);
  EXPECT_EQ(e[0].wait_ns + e[1].wait_ns + e[2].wait_ns, 10u);
  EXPECT_EQ(e[2].wait_ns, 4u);
  // No split (no entry seen, or nothing charged): one entry where it is.
  for (unsigned n : {0u, 2u}) {
    const u64 zero[] = {0, 0};
    ASSERT_EQ(kq_ledger_split(e, 9, 5, 6, 0, 7, 8, true, cpus, zero, n), 1u) << n;
    EXPECT_EQ(e[0].cpu, 9);
    EXPECT_EQ(e[0].run_ns, 5u);
    EXPECT_EQ(e[0].wait_ns, 6u);
    EXPECT_EQ(e[0].weight, 7u);
    EXPECT_EQ(e[0].debt_ns, 8);
  }
  // Pinned: one CPU, the whole window there.
  ASSERT_EQ(kq_ledger_split(e, 9, 5, 6, 0, 7, 8, true, cpus, ns, 1), 1u);
  EXPECT_EQ(e[0].cpu, 3);
  EXPECT_EQ(e[0].run_ns, 5u);
  EXPECT_EQ(e[0].wait_ns, 6u);
}

// A vCPU's first window starts when it was first seen, not with its
// CPU-mates': it is in the ledger with nothing, its debt standing, and the
// vCPU it shared the CPU with is charged nothing for it.
TEST(Ledger, FirstWindowJoinsNothing) {
  kq_ledger_entry e[2];
  const s32 cpus[] = {0, 1};
  const u64 ns[] = {3, 2};
  ASSERT_EQ(kq_ledger_split(e, 0, 30 * kMs, 20 * kMs, 0, 100, 7, false, cpus, ns, 2), 2u);
  for (const auto& x : e) {
    EXPECT_EQ(x.run_ns, 0u);
    EXPECT_EQ(x.wait_ns, 0u);
  }
  ASSERT_EQ(kq_ledger_split(e, 0, 30 * kMs, 20 * kMs, 0, 100, 7, false, cpus, ns, 0), 1u);
  e[1] = Entry(0, 20 * kMs, 30 * kMs, 100);
  kq_ledger_window(e, 2);
  EXPECT_EQ(e[0].debt_ns, 7);
  EXPECT_EQ(e[1].debt_ns, 0);
  // Joined, the same window is shared: each 25 ms.
  ASSERT_EQ(kq_ledger_split(e, 0, 30 * kMs, 20 * kMs, 0, 100, 7, true, cpus, ns, 0), 1u);
  e[1] = Entry(0, 20 * kMs, 30 * kMs, 100);
  kq_ledger_window(e, 2);
  EXPECT_EQ(e[0].debt_ns, 7 + 5 * s64{kMs});
  EXPECT_EQ(e[1].debt_ns, -5 * s64{kMs});
}

// The ledger over split entries is the ledger of the per-CPU groups.  A
// 50 ms window; vCPU 0 ran 30 ms on CPU 0 and 20 on CPU 1, waited 30 ms
// (18 and 12 by the split); vCPU 1 and 2 are always runnable on CPU 0 and
// 1.  CPU 0: runnable 48 and 50, overlapping 48: 24 each, vCPU 1 alone 2
// more: fair 24 and 26.  CPU 1: 32 and 50, overlap 32: 16 and 16 + 18.
TEST(Ledger, SplitThenJoinIsPerCpu) {
  kq_ledger_entry e[KQ_RAN_SLOTS + 2];
  const s32 cpus[] = {0, 1};
  const u64 ns[] = {3, 2};
  const unsigned m =
      kq_ledger_split(e, 1, 50 * kMs, 30 * kMs, 0, 100, 3 * s64{kMs}, true, cpus, ns, 2);
  ASSERT_EQ(m, 2u);
  e[m] = Entry(0, 20 * kMs, 30 * kMs, 100);      // on CPU 0 all the window
  e[m + 1] = Entry(1, 30 * kMs, 20 * kMs, 100);  // on CPU 1 all the window
  kq_ledger_window(e, m + 2);
  EXPECT_EQ(e[0].fair_ns, 24 * kMs);
  EXPECT_EQ(e[1].fair_ns, 16 * kMs);
  EXPECT_EQ(kq_ledger_join(e, m), (3 + 6 + 4) * s64{kMs});
  EXPECT_EQ(e[m].debt_ns, -6 * s64{kMs});
  EXPECT_EQ(e[m + 1].debt_ns, -4 * s64{kMs});
  // Charged whole to CPU 1 (where it ended the window), as before the
  // split: CPU 0's vCPU ran 20 of 20 "alone" and the debts are wrong.
  kq_ledger_entry w[3] = {Entry(1, 50 * kMs, 30 * kMs, 100, 3 * s64{kMs}),
                          Entry(0, 20 * kMs, 30 * kMs, 100), Entry(1, 30 * kMs, 20 * kMs, 100)};
  kq_ledger_window(w, 3);
  EXPECT_NE(w[0].debt_ns, 13 * s64{kMs});
  EXPECT_EQ(w[1].debt_ns, 0);  // alone on CPU 0 as far as the ledger knew
}

u64 Rand(std::mt19937_64& rng, u64 n) { return n ? rng() % n : 0; }

std::vector<kq_ledger_entry> RandomGroup(std::mt19937_64& rng) {
  std::vector<kq_ledger_entry> e(1 + Rand(rng, 40));
  const int cpus = 1 + static_cast<int>(Rand(rng, 6));
  for (auto& x : e) {
    x = Entry(static_cast<int>(Rand(rng, cpus)), Rand(rng, 4) ? Rand(rng, 200 * kMs) : 0,
              Rand(rng, 4) ? Rand(rng, 200 * kMs) : 0,
              Rand(rng, 3) ? 100000 : 1 + static_cast<u32>(Rand(rng, 10000000)),
              static_cast<s64>(Rand(rng, 1ULL << 42)) - (s64{1} << 41));
    // Sometimes equal runnable times: ties must not depend on order.
    if (Rand(rng, 5) == 0) x.wait_ns = 100 * kMs - std::min(x.run_ns, 100 * kMs);
    x.served = Rand(rng, 4) == 0;
  }
  return e;
}

// A request server among two hogs on one CPU, all weight 100: it ran 7 ms
// of the 100, in bursts served at once (2 ms of wait in all), and halted
// the rest.  Over its runnable periods it "should" have had a third; it
// asked for 7 ms, far under its third of the CPU, and ran it: no debt for
// being served promptly, none for the hogs either.
TEST(Ledger, ServedOweNothingForPromptness) {
  auto server = Entry(0, 7 * kMs, 2 * kMs, 100000);
  std::vector<kq_ledger_entry> e = {Entry(0, 46500000, 53500000, 100000), server,
                                    Entry(0, 46500000, 53500000, 100000)};
  kq_ledger_window(e.data(), 3);
  EXPECT_GT(e[1].debt_ns, 3 * s64{kMs});  // the runnable-period model alone
  e = {Entry(0, 46500000, 53500000, 100000), server, Entry(0, 46500000, 53500000, 100000)};
  e[1].served = true;
  kq_ledger_window(e.data(), 3);
  EXPECT_EQ(e[1].fair_ns, 7 * kMs);
  EXPECT_EQ(e[1].debt_ns, 0);
  EXPECT_EQ(e[0].debt_ns, 0);
  EXPECT_EQ(e[2].debt_ns, 0);
}

// kq_ledger_split() marks every entry of a vCPU that halted at least as
// long as it ran; never one that did not halt.
TEST(Ledger, SplitMarksServed) {
  kq_ledger_entry e[KQ_RAN_SLOTS];
  const s32 cpus[2] = {0, 1};
  const u64 ns[2] = {1, 3};
  ASSERT_EQ(kq_ledger_split(e, 0, 40, 9, 40, 100, 0, true, cpus, ns, 2), 2u);
  EXPECT_TRUE(e[0].served);
  EXPECT_TRUE(e[1].served);
  kq_ledger_split(e, 0, 40, 9, 39, 100, 0, true, cpus, ns, 2);
  EXPECT_FALSE(e[0].served);
  EXPECT_FALSE(e[1].served);
  kq_ledger_split(e, 0, 0, 9, 0, 100, 0, true, cpus, ns, 0);
  EXPECT_FALSE(e[0].served);
  kq_ledger_split(e, 0, 0, 9, 1, 100, 0, true, cpus, ns, 0);
  EXPECT_TRUE(e[0].served);
}

// Served, but beyond its weighted share: 50 of 100 ms against two hogs at
// the same weight is owed 33.3 ms; the rest is debt.  At three times the
// weight, 60 ms is owed, and 50 is all fair.
TEST(Ledger, ServedUpToItsWeightedShare) {
  std::vector<kq_ledger_entry> e = {Entry(0, 25 * kMs, 75 * kMs, 100000),
                                    Entry(0, 50 * kMs, 5 * kMs, 100000),
                                    Entry(0, 25 * kMs, 75 * kMs, 100000)};
  e[1].served = true;
  kq_ledger_window(e.data(), 3);
  EXPECT_EQ(e[1].fair_ns, 33333333u);
  EXPECT_EQ(e[0].fair_ns + e[1].fair_ns + e[2].fair_ns, 100 * kMs);
  EXPECT_EQ(e[1].debt_ns, 50 * s64{kMs} - 33333333);
  e = {Entry(0, 25 * kMs, 75 * kMs, 100000), Entry(0, 50 * kMs, 5 * kMs, 300000),
       Entry(0, 25 * kMs, 75 * kMs, 100000)};
  e[1].served = true;
  kq_ledger_window(e.data(), 3);
  EXPECT_EQ(e[1].debt_ns, 0);
  EXPECT_EQ(e[0].debt_ns, 0);
  EXPECT_EQ(e[2].debt_ns, 0);
}

// Waiting long behind hogs is no credit either: 10 ms run, 30 ms waited,
// 60 ms halted is due 10 ms, where the runnable-period model gives 13.3.
TEST(Ledger, ServedEarnNoCreditForWaiting) {
  std::vector<kq_ledger_entry> e = {Entry(0, 45 * kMs, 55 * kMs, 100000),
                                    Entry(0, 10 * kMs, 30 * kMs, 100000),
                                    Entry(0, 45 * kMs, 55 * kMs, 100000)};
  e[1].served = true;
  kq_ledger_window(e.data(), 3);
  EXPECT_EQ(e[1].fair_ns, 10 * kMs);
  EXPECT_EQ(e[1].debt_ns, 0);
  EXPECT_EQ(e[0].fair_ns + e[2].fair_ns, 90 * kMs);
}

// A served vCPU's share is of the vCPUs that wanted the CPU: halted
// siblings that neither ran nor waited do not shrink it.
TEST(Ledger, ServedShareOfTheRunnable) {
  std::vector<kq_ledger_entry> e = {Entry(0, 80 * kMs, 20 * kMs, 100000),
                                    Entry(0, 20 * kMs, 5 * kMs, 100000)};
  for (int i = 0; i < 6; i++) e.push_back(Entry(0, 0, 0, 100000));
  e[1].served = true;
  kq_ledger_window(e.data(), static_cast<unsigned>(e.size()));
  EXPECT_EQ(e[1].fair_ns, 20 * kMs);
  EXPECT_EQ(e[1].debt_ns, 0);
}

// The served raise comes from the entries not served in proportion to
// their fair shares (2:1 here), and a lowering goes to them in proportion
// to the runnable time their shares leave out; the served entry sorted
// first (longest runnable) is moved like any other.
TEST(Ledger, ServedMovesTimeInProportion) {
  // A served entry, longest runnable, due more than the model gives it:
  // 3 hogs at weights 2:1:1 pay for it in proportion to their shares.
  std::vector<kq_ledger_entry> e = {
      Entry(0, 40 * kMs, 60 * kMs, 100000), Entry(0, 30 * kMs, 70 * kMs, 200000),
      Entry(0, 15 * kMs, 85 * kMs, 100000), Entry(0, 15 * kMs, 85 * kMs, 100000)};
  e[0].run_ns = 40 * kMs;
  e[0].wait_ns = 1 * kMs;
  e[0].served = true;
  std::vector<kq_ledger_entry> plain = e;
  plain[0].served = false;
  kq_ledger_window(plain.data(), 4);
  kq_ledger_window(e.data(), 4);
  const u64 raised = e[0].fair_ns - plain[0].fair_ns;
  ASSERT_GT(raised, 0u);
  const u64 rest = plain[1].fair_ns + plain[2].fair_ns + plain[3].fair_ns;
  for (int i = 1; i < 4; i++) {
    const double want = double(plain[i].fair_ns) * double(raised) / double(rest);
    EXPECT_NEAR(double(plain[i].fair_ns - e[i].fair_ns), want, 2.0) << i;
  }
  // Lowered: a served entry credited by the model gives its credit to the
  // two that waited, in proportion to their headroom.
  e = {Entry(0, 10 * kMs, 60 * kMs, 100000), Entry(0, 50 * kMs, 20 * kMs, 100000),
       Entry(0, 40 * kMs, 60 * kMs, 300000)};
  e[0].served = true;
  plain = e;
  plain[0].served = false;
  kq_ledger_window(plain.data(), 3);
  kq_ledger_window(e.data(), 3);
  ASSERT_EQ(e[0].fair_ns, 10 * kMs);
  const u64 lowered = plain[0].fair_ns - e[0].fair_ns;
  ASSERT_GT(lowered, 0u);
  const u64 room1 = 70 * kMs - plain[1].fair_ns, room2 = 100 * kMs - plain[2].fair_ns;
  EXPECT_NEAR(double(e[1].fair_ns - plain[1].fair_ns),
              double(lowered) * double(room1) / double(room1 + room2), 2.0);
  EXPECT_NEAR(double(e[2].fair_ns - plain[2].fair_ns),
              double(lowered) * double(room2) / double(room1 + room2), 2.0);
}

// Entries tied in runnable time and run, told apart by weight, the served
// mark or debt: the same results whatever order they come in.
TEST(Ledger, TiesByContentNotOrder) {
  std::vector<kq_ledger_entry> base = {Entry(0, 7, 5, 3, 11), Entry(0, 7, 5, 3, -4),
                                       Entry(0, 7, 5, 2, 0),  Entry(0, 7, 5, 3, 0),
                                       Entry(0, 3, 9, 1, 0),  Entry(0, 9, 2, 5, 1)};
  base[3].served = true;
  base[4].served = true;
  std::vector<size_t> perm = {0, 1, 2, 3, 4, 5};
  std::vector<u64> first;
  do {
    std::vector<kq_ledger_entry> e;
    for (size_t i : perm) e.push_back(base[i]);
    kq_ledger_window(e.data(), static_cast<unsigned>(e.size()));
    std::vector<u64> fair(base.size());
    for (size_t k = 0; k < perm.size(); k++) fair[perm[k]] = e[k].fair_ns;
    if (first.empty())
      first = fair;
    else
      ASSERT_EQ(fair, first);
  } while (std::next_permutation(perm.begin(), perm.end()));
}

// Where the rounding lands, pinned: 200,000 small groups (times of 0-12 ns,
// weights 1-5, half of them served) from a fixed xorshift generator, their
// fair shares folded into one FNV-1a hash.  The ledger's rounding is
// deterministic by content (ties broken by run, weight, served, debt), and
// a change to where a nanosecond goes shows here; one made on purpose
// updates the constant.
TEST(Ledger, RoundingPinned) {
  uint64_t x = 88172645463325252ULL, h = 1469598103934665603ULL;
  auto rnd = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int round = 0; round < 200000; round++) {
    kq_ledger_entry e[6];
    const unsigned m = 2 + rnd() % 4;
    for (unsigned i = 0; i < m; i++) {
      e[i] = kq_ledger_entry{};
      e[i].run_ns = rnd() % 13;
      e[i].wait_ns = rnd() % 13;
      e[i].weight = static_cast<u32>(1 + rnd() % 5);
      e[i].served = rnd() % 2;
    }
    kq_ledger_window(e, m);
    for (unsigned i = 0; i < m; i++) {
      h ^= e[i].fair_ns;
      h *= 1099511628211ULL;
    }
  }
  EXPECT_EQ(h, 5400902854177118513ULL);
}

// Every vCPU that wanted the CPU was served: each is owed what it ran,
// whoever waited for whom (no credit pump among the served).
TEST(Ledger, AllServedOweWhatTheyRan) {
  std::vector<kq_ledger_entry> e = {Entry(0, 10 * kMs, 30 * kMs, 100000),
                                    Entry(0, 40 * kMs, 10 * kMs, 100000), Entry(0, 0, 0, 100000)};
  e[0].served = e[1].served = true;
  kq_ledger_window(e.data(), 3);
  EXPECT_EQ(e[0].fair_ns, 10 * kMs);
  EXPECT_EQ(e[1].fair_ns, 40 * kMs);
  EXPECT_EQ(e[0].debt_ns, 0);
  EXPECT_EQ(e[1].debt_ns, 0);
  // One not served that wanted the CPU: the rule moves time as before.
  e = {Entry(0, 10 * kMs, 30 * kMs, 100000), Entry(0, 40 * kMs, 10 * kMs, 100000),
       Entry(0, 0, 1, 100000)};
  e[0].served = e[1].served = true;
  kq_ledger_window(e.data(), 3);
  EXPECT_EQ(e[0].fair_ns + e[1].fair_ns + e[2].fair_ns, 50 * kMs);
}

// Two served vCPUs, unequal weights, one beyond its share, beside one
// that was hardly runnable: the first gets its due (all it ran), the third
// no more than it was runnable, and the one beyond its share keeps what
// nobody who waited could take: its excess deprived no one.
TEST(Ledger, ServedBeyondItsShareWhereNobodyWaited) {
  // 100 ms, 80 of them run: 30 (2 waited, the rest halted), 45 (5 waited,
  // the rest halted) and 5 (1 waited); weights 3:1:1, so the second's share
  // is 16 ms and it ran 45.
  std::vector<kq_ledger_entry> e = {Entry(0, 30 * kMs, 2 * kMs, 300000),
                                    Entry(0, 45 * kMs, 5 * kMs, 100000),
                                    Entry(0, 5 * kMs, 1 * kMs, 100000)};
  e[0].served = e[1].served = true;
  kq_ledger_window(e.data(), 3);
  EXPECT_EQ(e[0].fair_ns + e[1].fair_ns + e[2].fair_ns, 80 * kMs);
  // The first is about its due (what it waited had no one to come from).
  EXPECT_NEAR(static_cast<double>(e[0].fair_ns), 30e6, 0.2e6);
  EXPECT_LE(e[2].fair_ns, 6 * kMs);
  EXPECT_GE(e[1].fair_ns, 43 * kMs);  // not charged 29 ms beyond 16
}

// Beyond its share where another waited: the excess is debt, given to the
// one that waited.
TEST(Ledger, ServedBeyondItsShareIsDebt) {
  std::vector<kq_ledger_entry> e = {Entry(0, 50 * kMs, 5 * kMs, 100000),
                                    Entry(0, 25 * kMs, 75 * kMs, 100000),
                                    Entry(0, 25 * kMs, 75 * kMs, 100000)};
  e[0].served = true;
  kq_ledger_window(e.data(), 3);
  EXPECT_EQ(e[0].fair_ns, 33333333u);
  EXPECT_EQ(e[0].debt_ns, 50 * s64{kMs} - 33333333);
  EXPECT_EQ(e[1].fair_ns + e[2].fair_ns, 100 * kMs - 33333333);
}

// The served adjustment moves time whole, both ways, with tiny times
// where rounding is most of it: each CPU's time is handed out exactly, no
// share wraps, and with entries not served holding time a served entry
// ends at its due or between the model's share and its due.
TEST(Ledger, ServedRoundingConserves) {
  std::mt19937_64 rng(23);
  for (int round = 0; round < 50000; round++) {
    std::vector<kq_ledger_entry> e(2 + Rand(rng, 6));
    for (auto& x : e) {
      x = Entry(0, Rand(rng, 12), Rand(rng, 12), 1 + static_cast<u32>(Rand(rng, 5)));
      x.served = Rand(rng, 2);
    }
    std::vector<kq_ledger_entry> plain = e;
    for (auto& x : plain) x.served = false;
    kq_ledger_window(e.data(), static_cast<unsigned>(e.size()));
    kq_ledger_window(plain.data(), static_cast<unsigned>(plain.size()));
    u64 run = 0, fair = 0, load = 0, rest = 0;
    for (size_t i = 0; i < e.size(); i++) {
      run += e[i].run_ns;
      fair += e[i].fair_ns;
      if (e[i].run_ns + e[i].wait_ns) load += e[i].weight;
      if (!e[i].served) rest += plain[i].fair_ns;
      ASSERT_LE(e[i].fair_ns, e[i].run_ns + e[i].wait_ns + e.size())
          << "round " << round;  // never more than it was runnable
    }
    ASSERT_EQ(fair, run) << "round " << round;
    for (size_t i = 0; i < e.size() && rest; i++) {
      if (!e[i].served) continue;
      const u64 due = std::min<u64>(e[i].run_ns, load ? run * e[i].weight / load : run);
      ASSERT_LE(e[i].fair_ns, std::max(due, plain[i].fair_ns)) << "round " << round;
      ASSERT_GE(e[i].fair_ns, std::min(due, plain[i].fair_ns)) << "round " << round;
    }
  }
}

TEST(Ledger, ConservesEachCpusTimeExactly) {
  std::mt19937_64 rng(21);
  for (int round = 0; round < 20000; round++) {
    std::vector<kq_ledger_entry> e = RandomGroup(rng);
    // Scratch and output fields come in as anything.
    for (auto& x : e) {
      x.order = static_cast<u32>(rng());
      x.fair_ns = rng();
    }
    const std::vector<kq_ledger_entry> before = e;
    kq_ledger_window(e.data(), static_cast<unsigned>(e.size()));
    std::map<int, s64> delta;
    std::map<int, u64> run, fair;
    for (size_t i = 0; i < e.size(); i++) {
      // Inputs stay, in their order.
      ASSERT_EQ(e[i].cpu, before[i].cpu);
      ASSERT_EQ(e[i].run_ns, before[i].run_ns);
      ASSERT_EQ(e[i].wait_ns, before[i].wait_ns);
      ASSERT_EQ(e[i].weight, before[i].weight);
      ASSERT_EQ(e[i].debt_ns - before[i].debt_ns,
                static_cast<s64>(e[i].run_ns) - static_cast<s64>(e[i].fair_ns));
      // Never more than it was runnable (but for rounding, 1 ns each).
      ASSERT_LE(e[i].fair_ns, e[i].run_ns + e[i].wait_ns + e.size()) << "round " << round;
      delta[e[i].cpu] += e[i].debt_ns - before[i].debt_ns;
      run[e[i].cpu] += e[i].run_ns;
      fair[e[i].cpu] += e[i].fair_ns;
    }
    for (const auto& [cpu, d] : delta) {
      ASSERT_EQ(d, 0) << "round " << round << " cpu " << cpu;
      ASSERT_EQ(fair[cpu], run[cpu]) << "round " << round << " cpu " << cpu;
    }
  }
}

TEST(Ledger, InputOrderDoesNotMatter) {
  std::mt19937_64 rng(22);
  for (int round = 0; round < 5000; round++) {
    std::vector<kq_ledger_entry> e = RandomGroup(rng);
    std::vector<size_t> perm(e.size());
    for (size_t i = 0; i < perm.size(); i++) perm[i] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    // Only entries with distinct runnable times on a CPU are order-free;
    // a tie's rounding ns goes to the first of them.
    std::map<std::pair<int, u64>, int> seen;
    for (const auto& x : e) seen[{x.cpu, x.run_ns + x.wait_ns}]++;
    std::vector<kq_ledger_entry> p(e.size());
    for (size_t i = 0; i < e.size(); i++) p[i] = e[perm[i]];
    kq_ledger_window(e.data(), static_cast<unsigned>(e.size()));
    kq_ledger_window(p.data(), static_cast<unsigned>(p.size()));
    for (size_t i = 0; i < e.size(); i++) {
      const kq_ledger_entry& a = p[i];
      const kq_ledger_entry& b = e[perm[i]];
      ASSERT_EQ(a.cpu, b.cpu);
      ASSERT_EQ(a.run_ns, b.run_ns);
      if (seen[{a.cpu, a.run_ns + a.wait_ns}] == 1) {
        ASSERT_EQ(a.fair_ns, b.fair_ns) << "round " << round;
      } else {
        ASSERT_LE(a.fair_ns > b.fair_ns ? a.fair_ns - b.fair_ns : b.fair_ns - a.fair_ns, e.size());
      }
    }
  }
}

// A vCPU that always takes 10% more than fair accumulates it for ever: no
// clamp forgives it.
TEST(Ledger, NeverForgives) {
  std::vector<kq_ledger_entry> e = {Entry(0, 0, 0, 100), Entry(0, 0, 0, 100)};
  for (int i = 1; i <= 10000; i++) {
    e[0].run_ns = 55 * kMs;
    e[0].wait_ns = 45 * kMs;
    e[1].run_ns = 45 * kMs;
    e[1].wait_ns = 55 * kMs;
    kq_ledger_window(e.data(), 2);
    ASSERT_EQ(e[0].debt_ns, i * 5 * s64{kMs});
    ASSERT_EQ(e[1].debt_ns, -i * 5 * s64{kMs});
  }
}

// Each CPU's group is computed on its own.
TEST(Ledger, CpusApart) {
  std::mt19937_64 rng(23);
  for (int round = 0; round < 2000; round++) {
    std::vector<kq_ledger_entry> e = RandomGroup(rng);
    std::vector<kq_ledger_entry> all = e;
    kq_ledger_window(all.data(), static_cast<unsigned>(all.size()));
    std::map<int, std::vector<size_t>> by_cpu;
    for (size_t i = 0; i < e.size(); i++) by_cpu[e[i].cpu].push_back(i);
    for (const auto& [cpu, idx] : by_cpu) {
      std::vector<kq_ledger_entry> one;
      for (size_t i : idx) one.push_back(e[i]);
      kq_ledger_window(one.data(), static_cast<unsigned>(one.size()));
      for (size_t k = 0; k < idx.size(); k++)
        ASSERT_EQ(one[k].fair_ns, all[idx[k]].fair_ns) << "round " << round << " cpu " << cpu;
    }
  }
}

// ---- weight and correction --------------------------------------------------

TEST(Ledger, VmWeightIsSplitAmongRunnableVcpus) {
  constexpr u64 T = 100 * kMs;
  // Alone in its VM: the VM's whole weight, however runnable.
  EXPECT_EQ(kq_ledger_weight(100, T, T, T), 100000u);
  EXPECT_EQ(kq_ledger_weight(100, 30 * kMs, 30 * kMs, T), 100000u);
  EXPECT_EQ(kq_ledger_weight(100, 0, 0, T), 100000u);
  // Four always runnable: a quarter each.
  EXPECT_EQ(kq_ledger_weight(100, T, 4 * T, T), 25000u);
  // Runnable with siblings runnable 150 ms of the window between them:
  // 2.5 of the VM's vCPUs on average.
  EXPECT_EQ(kq_ledger_weight(300, 40 * kMs, 190 * kMs, T), 120000u);
  // B runnable half the window, inside A's: B always shares (1/2), A half
  // the time (1 / 1.5 here: siblings taken at random times).
  EXPECT_EQ(kq_ledger_weight(100, 50 * kMs, 150 * kMs, T), 50000u);
  EXPECT_EQ(kq_ledger_weight(100, T, 150 * kMs, T), 66666u);
  EXPECT_EQ(kq_ledger_weight(10000, T, T + 1, T), 9999999u);
  // Never 0, even for weight 1 over very many vCPUs.
  EXPECT_EQ(kq_ledger_weight(1, T, 1000000 * kMs, T), 1u);
  // Empty window: nothing to split by.
  EXPECT_EQ(kq_ledger_weight(7, 5, 9, 0), 7000u);
  // Inconsistent input (siblings' sum below its own): its whole weight.
  EXPECT_EQ(kq_ledger_weight(7, 9, 5, T), 7000u);

  // A 4-vCPU VM and a 1-vCPU VM of equal weight, every vCPU on one CPU,
  // all runnable: the VMs get equal halves, not 4:1.
  const u32 w4 = kq_ledger_weight(100, T, 4 * T, T);
  const u32 w1 = kq_ledger_weight(100, T, T, T);
  std::vector<kq_ledger_entry> e;
  for (int i = 0; i < 4; i++) e.push_back(Entry(0, 20 * kMs, 80 * kMs, w4));
  e.push_back(Entry(0, 20 * kMs, 80 * kMs, w1));
  kq_ledger_window(e.data(), 5);
  u64 vm4 = 0;
  for (int i = 0; i < 4; i++) vm4 += e[i].fair_ns;
  EXPECT_EQ(vm4, 50 * kMs);
  EXPECT_EQ(e[4].fair_ns, 50 * kMs);
}

TEST(Ledger, CorrectionLevels) {
  constexpr s64 b = 20 * s64{kMs};
  struct {
    s64 debt;
    s32 prev;
    s32 want;
  } cases[] = {
      {0, 0, 0},
      {b, 0, 0},
      {b + 1, 0, 1},
      {2 * b, 0, 1},
      {2 * b + 1, 0, 2},
      {3 * b + 1, 0, 3},
      {100 * b, 0, 3},
      {-b, 0, 0},
      {-b - 1, 0, -1},
      {-3 * b - 1, 0, -3},
      {-100 * b, 0, -3},
      {INT64_MIN, 0, -3},
      {INT64_MAX, 0, 3},
      // Hysteresis: once paying, at least one level until even.
      {1, 1, 1},
      {b, 3, 1},
      {0, 1, 0},
      {-1, 1, 0},
      {-1, -1, -1},
      {-b, -2, -1},
      {1, -1, 0},
      {0, -1, 0},
      {b, 0, 0},
      {-b, 0, 0},
  };
  for (const auto& c : cases)
    EXPECT_EQ(kq_ledger_correction(c.debt, b, c.prev), c.want)
        << "debt " << c.debt << " prev " << c.prev;
  // A zero or negative deadband is 1 ns, not a division by zero.
  EXPECT_EQ(kq_ledger_correction(2, 0, 0), 1);
  EXPECT_EQ(kq_ledger_correction(5, -4, 0), 3);
  EXPECT_EQ(kq_ledger_correction(1, 0, 0), 0);
}

TEST(Ledger, NiceFromWeightAndPayback) {
  // Weight 100 alone is nice 0; a quarter of it (4 vCPUs) is 1024/4 = 256
  // (nice +6 is 272, closest); 2x is 2048 (nice -3 is 1991).
  EXPECT_EQ(kq_policy_nice(100000, 0), 0);
  EXPECT_EQ(kq_policy_nice(25000, 0), 6);
  EXPECT_EQ(kq_policy_nice(200000, 0), -3);
  EXPECT_EQ(kq_policy_nice(100000, 2), 2);
  EXPECT_EQ(kq_policy_nice(100000, -3), -3);
  EXPECT_EQ(kq_policy_nice(25000, -3), 3);
  // Clamped to the nice range.
  EXPECT_EQ(kq_policy_nice(10000000, -3), -20);
  EXPECT_EQ(kq_policy_nice(1, 3), 19);
  EXPECT_EQ(kq_policy_nice(1000, 0), 19);
  // At the clamps, and just inside them.
  EXPECT_EQ(kq_policy_nice(100000, -19), -19);
  EXPECT_EQ(kq_policy_nice(100000, -21), -20);
  EXPECT_EQ(kq_policy_nice(100000, 18), 18);
  EXPECT_EQ(kq_policy_nice(100000, 20), 19);
  // Half way between nice 0 (1024) and 1 (820) is load 922: a tie goes to
  // the heavier; 921 is nice 1.  Weight x 1024 / 100000 rounds down:
  // 90040 is load 922, 90039 is 921.
  EXPECT_EQ(kq_policy_nice(90040, 0), 0);
  EXPECT_EQ(kq_policy_nice(90039, 0), 1);
  // Between nice 0 and -1 (1277): load 1150 is 0, 1151 is -1; 112403 x
  // 1024 / 100000 is 1151.007, 112402 is 1150.997.
  EXPECT_EQ(kq_policy_nice(112403, 0), -1);
  EXPECT_EQ(kq_policy_nice(112402, 0), 0);
  // The same table as kq_weight_to_nice for whole VM weights.
  for (u32 w = KQ_WEIGHT_MIN; w <= KQ_WEIGHT_MAX; w += 7)
    ASSERT_EQ(kq_policy_nice(w * 1000, 0), kq_weight_to_nice(w)) << w;
}

}  // namespace
