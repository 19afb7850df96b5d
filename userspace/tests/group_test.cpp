// SPDX-License-Identifier: GPL-2.0
// Phase placement within a group (src/core/group.c), as properties over
// random sets with fixed seeds: every shift within group_shift_pct, each
// set's weight kept (so the ledger gives a vCPU outside the group on that
// CPU the same fair share), the more efficient member never shifted below
// a less efficient one, independence of input order, and members without
// a set untouched.  The worked cases are in kunit/group_test.c.
#include "group.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "policy.h"

namespace {

constexpr u64 kMs = 1000000;

u64 Rand(std::mt19937_64& rng, u64 n) { return rng() % n; }

// A member with a random window: 100 ms, some run, wait and guest time,
// exits, maybe a halt and maybe an IPC, on a CPU or on several, of one of
// a few VMs.
kq_group_member RandomMember(std::mt19937_64& rng, u32 groups, int cpus, u32 bound) {
  kq_window w;
  kq_window_init(&w);
  w.window_ns = 100 * kMs;
  w.run_ns = 1 + Rand(rng, 100 * kMs);
  w.wait_ns = Rand(rng, 3) ? 100 * kMs - w.run_ns - Rand(rng, 15 * kMs) % (100 * kMs - w.run_ns + 1)
                           : Rand(rng, 100 * kMs - w.run_ns + 1);
  w.guest_ns = Rand(rng, 8) ? Rand(rng, w.run_ns + 1) : 0;
  w.halt_ns = 100 * kMs - w.run_ns - w.wait_ns;
  w.exits = Rand(rng, 3) ? Rand(rng, 1000000) : 0;
  w.ipc_milli = Rand(rng, 3) ? static_cast<u32>(Rand(rng, 4000)) : KQ_NONE32;
  kq_group_member m;
  const s32 lb = static_cast<s32>(bound / 2) + 3;  // some beyond, as after a lowered bound
  const s32 cpu = Rand(rng, 6) ? static_cast<s32>(Rand(rng, static_cast<u64>(cpus))) : -1;
  kq_group_member_init(&m, 1 + static_cast<u32>(Rand(rng, groups)), 1 + Rand(rng, 3), cpu, &w,
                       1 + static_cast<u32>(Rand(rng, 10000000)),
                       static_cast<s32>(Rand(rng, static_cast<u64>(2 * lb + 1))) - lb);
  EXPECT_EQ(m.competes, cpu >= 0 && w.guest_ns > 0 && w.run_ns + w.wait_ns >= 75 * kMs);
  return m;
}

using Key = std::pair<u32, s32>;

// Each member's efficiency as the design defines it within its set.
std::map<Key, bool> AllIpc(const std::vector<kq_group_member>& m) {
  std::map<Key, bool> ipc;
  for (const auto& x : m) {
    if (!x.competes) continue;
    auto [it, fresh] = ipc.emplace(Key{x.group, x.cpu}, true);
    it->second = it->second && x.ipc_milli != KQ_NONE32;
  }
  return ipc;
}

// A member of a VM of its own that ran 50 ms of a 100 ms window, 40 ms in
// the guest, and waited the rest but halt_ms halted, with this many exits
// and IPC, weight 100000.
kq_group_member Member(u32 group, s32 cpu, u64 exits, u32 ipc = KQ_NONE32, s32 lasting = 0,
                       u64 halt_ms = 0, u64 guest_ms = 40) {
  static u64 vm;
  kq_window w;
  kq_window_init(&w);
  w.window_ns = 100 * kMs;
  w.run_ns = 50 * kMs;
  w.wait_ns = (50 - halt_ms) * kMs;
  w.guest_ns = guest_ms * kMs;
  w.halt_ns = halt_ms * kMs;
  w.exits = exits;
  w.ipc_milli = ipc;
  kq_group_member m;
  kq_group_member_init(&m, group, ++vm, cpu, &w, 100000, lasting);
  return m;
}

kq_policy_params Bound(u32 pct) {
  kq_policy_params p;
  kq_policy_defaults(&p);
  p.group_shift_pct = pct;
  return p;
}

std::vector<s32> Shifts(const std::vector<kq_group_member>& m) {
  std::vector<s32> out;
  for (const auto& x : m) out.push_back(x.shift_pct);
  return out;
}

std::vector<u32> Weights(const std::vector<kq_group_member>& m) {
  std::vector<u32> out;
  for (const auto& x : m) out.push_back(x.weight);
  return out;
}

// Compute (10 exits) against exit-heavy (10^5), one CPU, no PMU: half the
// bound at once, the lasting half one percent per window, then back.
TEST(Group, PairWorkedOut) {
  const kq_policy_params p = Bound(20);
  s32 lasting[2] = {0, 0};
  std::vector<kq_group_member> m;
  for (int i = 1; i <= 30; i++) {
    m = {Member(7, 3, 10, KQ_NONE32, lasting[0]), Member(7, 3, 100000, KQ_NONE32, lasting[1])};
    kq_group_window(&p, m.data(), 2);
    lasting[0] = m[0].lasting_pct;
    lasting[1] = m[1].lasting_pct;
    if (i == 1) {
      EXPECT_EQ(Shifts(m), (std::vector<s32>{11, -11}));
      EXPECT_EQ(Weights(m), (std::vector<u32>{111000, 89000}));
    }
    if (i == 6) {
      EXPECT_EQ(Shifts(m), (std::vector<s32>{16, -16}));
    }
  }
  EXPECT_EQ(lasting[0], 10);
  EXPECT_EQ(lasting[1], -10);
  EXPECT_EQ(Shifts(m), (std::vector<s32>{20, -20}));
  EXPECT_EQ(Weights(m), (std::vector<u32>{120000, 80000}));
  m = {Member(7, 3, 1000, KQ_NONE32, lasting[0]), Member(7, 3, 1000, KQ_NONE32, lasting[1])};
  kq_group_window(&p, m.data(), 2);
  EXPECT_EQ(m[0].lasting_pct, 9);
  EXPECT_EQ(m[1].lasting_pct, -9);
  EXPECT_EQ(Weights(m), (std::vector<u32>{109000, 91000}));
}

// Who is no set: alone on its CPU, another group, runnable under 75% of
// the window, no guest time, on several CPUs, no run at all, two vCPUs of
// one VM.
TEST(Group, WhoIsLeftAlone) {
  const kq_policy_params p = Bound(20);
  std::vector<kq_group_member> m = {
      Member(1, 0, 10, KQ_NONE32, 4),
      Member(1, 1, 100000),
      Member(2, 1, 10),
      Member(3, 2, 10),
      Member(3, 2, 100000, KQ_NONE32, 3, 26),
      Member(4, 5, 10),
      Member(4, 5, 100000, KQ_NONE32, 0, 0, 0),
  };
  kq_window none;
  kq_window_init(&none);
  kq_group_member idle;
  kq_group_member_init(&idle, 6, 99, 6, &none, 100000, 2);
  m.push_back(idle);
  m.push_back(Member(6, 6, 10));
  m.push_back(Member(7, 7, 10));
  m.push_back(Member(7, -1, 100000));
  m.push_back(Member(8, 8, 10));
  m.push_back(Member(8, 8, 100000));
  m.back().vm = m[m.size() - 2].vm;
  kq_group_window(&p, m.data(), static_cast<unsigned>(m.size()));
  EXPECT_EQ(Shifts(m), std::vector<s32>(m.size(), 0));
  EXPECT_EQ(Weights(m), std::vector<u32>(m.size(), 100000));
  EXPECT_EQ(m[0].lasting_pct, 4);
  EXPECT_EQ(m[4].lasting_pct, 3);
  EXPECT_EQ(m[7].lasting_pct, 2);
  EXPECT_FALSE(m[4].competes);
  EXPECT_FALSE(m[6].competes);
  EXPECT_FALSE(idle.competes);
  EXPECT_FALSE(m[10].competes);
  EXPECT_TRUE(m[5].competes);
  EXPECT_TRUE(m[11].competes);
  // Runnable 75% is enough.
  m = {Member(3, 2, 10), Member(3, 2, 100000, KQ_NONE32, 0, 25)};
  kq_group_window(&p, m.data(), 2);
  EXPECT_EQ(Shifts(m), (std::vector<s32>{11, -11}));
}

// IPC decides when every member has one; else guest time per exit.
TEST(Group, IpcOrTimePerExit) {
  const kq_policy_params p = Bound(20);
  std::vector<kq_group_member> m = {Member(1, 0, 10, 500), Member(1, 0, 100000, 2000)};
  kq_group_window(&p, m.data(), 2);
  EXPECT_EQ(Shifts(m), (std::vector<s32>{-11, 11}));
  m = {Member(1, 0, 10, 500), Member(1, 0, 100000, KQ_NONE32)};
  kq_group_window(&p, m.data(), 2);
  EXPECT_EQ(Shifts(m), (std::vector<s32>{11, -11}));
  // A member with no exit: all of its guest time per exit.
  m = {Member(1, 0, 0), Member(1, 0, 1)};
  EXPECT_EQ(m[0].per_exit_ns, 40 * kMs);
  EXPECT_EQ(m[1].per_exit_ns, 40 * kMs);
  kq_group_window(&p, m.data(), 2);
  EXPECT_EQ(Shifts(m), (std::vector<s32>{0, 0}));
}

// The regimen in whole percent of the mean, rounded down; within
// KQ_GROUP_EVEN_PCT (5) inclusive of the mean the lasting part goes to 0.
TEST(Group, RegimenRounding) {
  const kq_policy_params p = Bound(20);
  auto pair = [&](u32 a, u32 b, s32 la = 0, s32 lb = 0) {
    std::vector<kq_group_member> m = {Member(1, 0, 10, a, la), Member(1, 0, 10, b, lb)};
    kq_group_window(&p, m.data(), 2);
    return m;
  };
  // 4.76% of the mean: 4.
  auto m = pair(1000, 1100);
  EXPECT_EQ(Shifts(m), (std::vector<s32>{-4, 4}));
  EXPECT_EQ(m[1].lasting_pct, 0);
  // 3.99%: 3.
  m = pair(10399, 9601);
  EXPECT_EQ(Shifts(m), (std::vector<s32>{3, -3}));
  // Exactly 10%: 10, and the lasting step.
  m = pair(1100, 900);
  EXPECT_EQ(Shifts(m), (std::vector<s32>{11, -11}));
  // Exactly 5% is even: a lasting part goes back toward 0.
  m = pair(1050, 950, 3, -3);
  EXPECT_EQ(m[0].lasting_pct, 2);
  EXPECT_EQ(m[1].lasting_pct, -2);
  EXPECT_EQ(Shifts(m), (std::vector<s32>{7, -7}));
  // 6%: not even.
  m = pair(1060, 940);
  EXPECT_EQ(m[0].lasting_pct, 1);
  EXPECT_EQ(m[1].lasting_pct, -1);
  // Tiny values: IPC 0.001 and 0.002 have the mean 1 (rounded down), so
  // only the second is off the mean; the balance halves its shift.
  m = pair(1, 2);
  EXPECT_EQ(Shifts(m), (std::vector<s32>{-5, 5}));
  EXPECT_EQ(m[0].lasting_pct, 0);
  EXPECT_EQ(m[1].lasting_pct, 1);
  m = pair(1, 3);
  EXPECT_EQ(Shifts(m), (std::vector<s32>{-11, 11}));
  // Nothing counted (IPC 0 for both): no regimen, the lasting part holds.
  m = pair(0, 0, 4, -4);
  EXPECT_EQ(Shifts(m), (std::vector<s32>{4, -4}));
  EXPECT_EQ(m[0].lasting_pct, 4);
}

// Unequal weights: zero-sum over the weights, exactly here, and scaled so
// that the largest shift is the bound.
TEST(Group, BalanceWorkedOut) {
  const kq_policy_params p = Bound(20);
  std::vector<kq_group_member> m = {Member(9, 1, 10, KQ_NONE32, 10),
                                    Member(9, 1, 10, KQ_NONE32, 10),
                                    Member(9, 1, 100000, KQ_NONE32, -10)};
  m[0].weight = 300000;
  m[2].weight = 50000;
  kq_group_window(&p, m.data(), 3);
  EXPECT_EQ(Weights(m), (std::vector<u32>{307500, 102500, 40000}));
  EXPECT_EQ(Shifts(m), (std::vector<s32>{2, 2, -20}));
}

// group_shift_pct 0 is off and clears lasting parts; a lowered bound holds
// at once; an odd bound gives the regimen the larger half.
TEST(Group, Switch) {
  std::vector<kq_group_member> m = {Member(1, 0, 10, KQ_NONE32, 10),
                                    Member(1, 0, 100000, KQ_NONE32, -10)};
  kq_policy_params p = Bound(0);
  kq_group_window(&p, m.data(), 2);
  EXPECT_EQ(Weights(m), (std::vector<u32>{100000, 100000}));
  EXPECT_EQ(m[0].lasting_pct, 0);
  EXPECT_EQ(m[1].lasting_pct, 0);
  p = Bound(6);
  m = {Member(1, 0, 10, KQ_NONE32, 10), Member(1, 0, 100000, KQ_NONE32, -10)};
  kq_group_window(&p, m.data(), 2);
  EXPECT_EQ(m[0].lasting_pct, 3);
  EXPECT_EQ(Shifts(m), (std::vector<s32>{6, -6}));
  EXPECT_EQ(Weights(m), (std::vector<u32>{106000, 94000}));
  p = Bound(7);
  m = {Member(1, 0, 10, KQ_NONE32, 0), Member(1, 0, 100000, KQ_NONE32, 0)};
  kq_group_window(&p, m.data(), 2);
  EXPECT_EQ(Shifts(m), (std::vector<s32>{5, -5}));
  EXPECT_EQ(m[0].lasting_pct, 1);
  p = Bound(KQ_PARAM_GROUP_SHIFT_PCT_MAX);
  for (int i = 0; i < 40; i++) {
    m = {Member(1, 0, 10, KQ_NONE32, m[0].lasting_pct),
         Member(1, 0, 100000, KQ_NONE32, m[1].lasting_pct)};
    kq_group_window(&p, m.data(), 2);
  }
  EXPECT_EQ(Weights(m), (std::vector<u32>{150000, 50000}));
}

TEST(Group, Properties) {
  std::mt19937_64 rng(20261130);
  int sets = 0;
  for (int round = 0; round < 3000; round++) {
    kq_policy_params p;
    kq_policy_defaults(&p);
    p.group_shift_pct = static_cast<u32>(Rand(rng, KQ_PARAM_GROUP_SHIFT_PCT_MAX + 1));
    const unsigned n = 1 + static_cast<unsigned>(Rand(rng, 12));
    std::vector<kq_group_member> in;
    for (unsigned i = 0; i < n; i++)
      in.push_back(RandomMember(rng, 1 + static_cast<u32>(Rand(rng, 3)),
                                1 + static_cast<int>(Rand(rng, 3)), p.group_shift_pct));
    std::vector<kq_group_member> out = in;
    kq_group_window(&p, out.data(), n);

    std::map<Key, int> members;
    std::map<Key, std::set<u64>> vms;
    std::map<Key, u64> before, after;
    for (const auto& x : in) {
      if (!x.competes) continue;
      members[{x.group, x.cpu}]++;
      vms[{x.group, x.cpu}].insert(x.vm);
    }
    const auto ipc = AllIpc(in);
    const s32 bound = static_cast<s32>(p.group_shift_pct);
    for (unsigned i = 0; i < n; i++) {
      const Key k{in[i].group, in[i].cpu};
      // The lasting part within its half, moved by one step at most.
      EXPECT_LE(std::abs(out[i].lasting_pct), bound / 2);
      const s32 held = std::clamp(in[i].lasting_pct, -bound / 2, bound / 2);
      EXPECT_LE(std::abs(out[i].lasting_pct - held), 1);
      if (!in[i].competes || p.group_shift_pct == 0 || vms[k].size() < 2) {
        EXPECT_EQ(out[i].weight, in[i].weight) << round;
        EXPECT_EQ(out[i].shift_pct, 0);
        EXPECT_EQ(out[i].lasting_pct, held);
        continue;
      }
      sets++;
      // Within the bound, weight moved as the shift says.
      EXPECT_LE(std::abs(out[i].shift_pct), bound);
      const double moved =
          (static_cast<double>(out[i].weight) - in[i].weight) * 100.0 / in[i].weight;
      EXPECT_LE(std::abs(moved), bound + 1e-9) << round;
      EXPECT_GE(out[i].weight, 1u);
      before[k] += in[i].weight;
      after[k] += out[i].weight;
      // Order: a member more efficient and with no lower lasting part than
      // another of its set never ends with a smaller shift.
      for (unsigned j = 0; j < n; j++) {
        if (j == i || !in[j].competes || Key{in[j].group, in[j].cpu} != k) continue;
        const bool use_ipc = ipc.at(k);
        const u64 ei = use_ipc ? in[i].ipc_milli : in[i].per_exit_ns;
        const u64 ej = use_ipc ? in[j].ipc_milli : in[j].per_exit_ns;
        if (ei > ej && out[i].lasting_pct >= out[j].lasting_pct) {
          EXPECT_GE(out[i].shift_pct, out[j].shift_pct) << round;
        }
      }
    }
    // Each set's weight is kept, to one unit per member (each rounds its
    // change toward zero).
    for (const auto& [k, b] : before) {
      const u64 diff = after[k] > b ? after[k] - b : b - after[k];
      EXPECT_LE(diff, static_cast<u64>(members[k])) << round;
    }
    // Any order gives the same result for each member.
    std::vector<unsigned> idx(n);
    for (unsigned i = 0; i < n; i++) idx[i] = i;
    std::shuffle(idx.begin(), idx.end(), rng);
    std::vector<kq_group_member> shuffled;
    for (unsigned i : idx) shuffled.push_back(in[i]);
    kq_group_window(&p, shuffled.data(), n);
    for (unsigned i = 0; i < n; i++) {
      EXPECT_EQ(shuffled[i].weight, out[idx[i]].weight) << round;
      EXPECT_EQ(shuffled[i].lasting_pct, out[idx[i]].lasting_pct) << round;
      EXPECT_EQ(shuffled[i].shift_pct, out[idx[i]].shift_pct) << round;
    }
  }
  EXPECT_GT(sets, 2000) << "members in sets: the properties were exercised";
}

// The ledger with shifted weights: on a CPU shared by a group of two and an
// ungrouped vCPU, all three CPU-bound, the ungrouped one's fair share is
// what it is without the group, and the group's moves toward its efficient
// member by the bound (120:80 of the group's two thirds).
TEST(Group, LedgerKeepsTheOthersShare) {
  kq_policy_params p;
  kq_policy_defaults(&p);
  ASSERT_EQ(p.group_shift_pct, 20u);
  auto fair = [&](bool grouped) {
    kq_window compute, heavy;
    kq_window_init(&compute);
    compute.window_ns = 300 * kMs;
    compute.run_ns = 100 * kMs;
    compute.wait_ns = 200 * kMs;
    compute.guest_ns = 99 * kMs;
    compute.exits = 25;
    heavy = compute;
    heavy.guest_ns = 40 * kMs;
    heavy.exits = 400000;
    u32 w[3] = {100000, 100000, 100000};
    s32 lasting[2] = {0, 0};
    for (int i = 0; grouped && i < 30; i++) {
      kq_group_member m[2];
      kq_group_member_init(&m[0], 1, 1, 0, &compute, 100000, lasting[0]);
      kq_group_member_init(&m[1], 1, 2, 0, &heavy, 100000, lasting[1]);
      kq_group_window(&p, m, 2);
      lasting[0] = m[0].lasting_pct;
      lasting[1] = m[1].lasting_pct;
      w[0] = m[0].weight;
      w[1] = m[1].weight;
    }
    std::vector<kq_ledger_entry> e(3);
    for (unsigned i = 0; i < 3; i++) {
      e[i] = kq_ledger_entry{};
      e[i].cpu = 0;
      e[i].run_ns = 100 * kMs;
      e[i].wait_ns = 200 * kMs;
      e[i].weight = w[i];
    }
    kq_ledger_window(e.data(), 3);
    return std::vector<u64>{e[0].fair_ns, e[1].fair_ns, e[2].fair_ns};
  };
  const auto plain = fair(false), grouped = fair(true);
  EXPECT_EQ(plain, (std::vector<u64>{100 * kMs, 100 * kMs, 100 * kMs}));
  EXPECT_EQ(grouped[2], plain[2]);
  EXPECT_EQ(grouped[0], 120 * kMs);
  EXPECT_EQ(grouped[1], 80 * kMs);
}

}  // namespace
