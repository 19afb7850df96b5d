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
#include <utility>
#include <vector>

#include "policy.h"

namespace {

constexpr u64 kMs = 1000000;

u64 Rand(std::mt19937_64& rng, u64 n) { return rng() % n; }

// A member with a random window: 100 ms, some run and guest time, exits,
// maybe a halt and maybe an IPC.
kq_group_member RandomMember(std::mt19937_64& rng, u32 groups, int cpus, u32 bound) {
  kq_window w;
  kq_window_init(&w);
  w.window_ns = 100 * kMs;
  w.run_ns = 1 + Rand(rng, 100 * kMs);
  w.guest_ns = Rand(rng, w.run_ns + 1);
  w.halt_ns = Rand(rng, 4) ? 0 : Rand(rng, 100 * kMs);
  w.exits = Rand(rng, 3) ? Rand(rng, 1000000) : 0;
  w.ipc_milli = Rand(rng, 3) ? static_cast<u32>(Rand(rng, 4000)) : KQ_NONE32;
  kq_group_member m;
  const s32 lb = static_cast<s32>(bound / 2) + 3;  // some beyond, as after a lowered bound
  kq_group_member_init(&m, 1 + static_cast<u32>(Rand(rng, groups)),
                       static_cast<s32>(Rand(rng, static_cast<u64>(cpus))), &w,
                       1 + static_cast<u32>(Rand(rng, 10000000)),
                       static_cast<s32>(Rand(rng, static_cast<u64>(2 * lb + 1))) - lb);
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

TEST(Group, Properties) {
  std::mt19937_64 rng(20261130);
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
    std::map<Key, u64> before, after;
    for (const auto& x : in)
      if (x.competes) members[{x.group, x.cpu}]++;
    const auto ipc = AllIpc(in);
    const s32 bound = static_cast<s32>(p.group_shift_pct);
    for (unsigned i = 0; i < n; i++) {
      const Key k{in[i].group, in[i].cpu};
      // The lasting part within its half, moved by one step at most.
      EXPECT_LE(std::abs(out[i].lasting_pct), bound / 2);
      const s32 held = std::clamp(in[i].lasting_pct, -bound / 2, bound / 2);
      EXPECT_LE(std::abs(out[i].lasting_pct - held), 1);
      if (!in[i].competes || members[k] < 2) {
        EXPECT_EQ(out[i].weight, in[i].weight) << round;
        EXPECT_EQ(out[i].shift_pct, 0);
        EXPECT_EQ(out[i].lasting_pct, held);
        continue;
      }
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
      kq_group_member_init(&m[0], 1, 0, &compute, 100000, lasting[0]);
      kq_group_member_init(&m[1], 1, 0, &heavy, 100000, lasting[1]);
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
