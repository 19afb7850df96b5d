// SPDX-License-Identifier: GPL-2.0
// Property tests for exit classification (src/core/exit_kind.c), run on
// random exit streams shaped like KVM's: an exit, its handler moving zero or
// more counters, then usually an entry.
#include "exit_kind.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <numeric>
#include <random>

namespace {

u64 Sum(const u64* kinds) { return std::accumulate(kinds, kinds + KVM_QUANTA_EXIT_NR, u64{0}); }

// At an entry: what the module's kvm_entry probe does (hooks.c), the sum of
// KVM's counters first, the snapshot only when it moved; or the snapshot
// every time.
void Attribute(kq_exit_acct* a, const kq_exit_stat& now, bool fast) {
  if (!fast || !kq_exit_attribute_unmoved(a, kq_exit_stat_sum(&now))) kq_exit_attribute(a, &now);
}

class ExitKindStreams : public ::testing::TestWithParam<bool> {};

TEST_P(ExitKindStreams, RandomStreamsKeepEveryExitWithOneKind) {
  std::mt19937_64 rng(42);
  for (int run = 0; run < 200; ++run) {
    kq_exit_stat now{};
    for (auto& c : now.c) c = rng() >> 1;  // counters start anywhere (u64s do not wrap)
    kq_exit_acct a;
    kq_exit_acct_init(&a, &now);
    std::array<u64, KVM_QUANTA_EXIT_NR> expect{};
    const int n = 1 + static_cast<int>(rng() % 500);
    for (int i = 0; i < n; ++i) {
      a.exits++;
      const unsigned kind = rng() % KVM_QUANTA_EXIT_NR;
      if (kind != KVM_QUANTA_EXIT_OTHER) now.c[kind]++;
      // Lower-priority counters moving too must not change the kind.
      for (unsigned j = kind + 1; j < KQ_EXIT_STAT_NR; ++j)
        if (rng() % 4 == 0) now.c[j]++;
      expect[kind]++;
      if (i + 1 < n || rng() % 2) Attribute(&a, now, GetParam());
    }
    u64 kinds[KVM_QUANTA_EXIT_NR];
    kq_exit_acct_view(&a, &now, kinds);
    for (unsigned k = 0; k < KVM_QUANTA_EXIT_NR; ++k)
      EXPECT_EQ(kinds[k], expect[k]) << "run " << run << " kind " << kq_exit_kind_name(k);
    EXPECT_EQ(Sum(kinds), a.exits);
  }
}

INSTANTIATE_TEST_SUITE_P(FastAndFull, ExitKindStreams, ::testing::Bool());

TEST(ExitKind, UnmovedIsTheFastCaseOnly) {
  kq_exit_stat now{};
  now.c[KVM_QUANTA_EXIT_HLT] = u64{1} << 62;
  kq_exit_acct a;
  kq_exit_acct_init(&a, &now);
  a.exits = 1;  // a CPUID exit: no counter moves
  EXPECT_TRUE(kq_exit_attribute_unmoved(&a, kq_exit_stat_sum(&now)));
  EXPECT_EQ(a.kinds[KVM_QUANTA_EXIT_OTHER], 1u);
  EXPECT_EQ(a.attributed, 1u);
  a.exits = 2;  // a HLT exit
  now.c[KVM_QUANTA_EXIT_HLT]++;
  const kq_exit_acct before = a;
  EXPECT_FALSE(kq_exit_attribute_unmoved(&a, kq_exit_stat_sum(&now)));
  EXPECT_EQ(0, memcmp(&before, &a, sizeof(a)));  // left to kq_exit_attribute()
  kq_exit_attribute(&a, &now);
  EXPECT_EQ(a.kinds[KVM_QUANTA_EXIT_HLT], 1u);
  // The snapshot's sum follows: the next exit that moves nothing is fast.
  a.exits = 4;  // two, one bypassing the hook (fastpath re-entry)
  EXPECT_TRUE(kq_exit_attribute_unmoved(&a, kq_exit_stat_sum(&now)));
  EXPECT_EQ(a.kinds[KVM_QUANTA_EXIT_OTHER], 3u);
  EXPECT_EQ(a.attributed, 4u);
  EXPECT_EQ(kq_exit_stat_sum(&now), a.snap_sum);
}

TEST(ExitKind, SumsEveryCounter) {
  kq_exit_stat s{};
  for (unsigned i = 0; i < KQ_EXIT_STAT_NR; ++i) s.c[i] = u64{1} << i;
  EXPECT_EQ(kq_exit_stat_sum(&s), (u64{1} << KQ_EXIT_STAT_NR) - 1);
  kq_exit_acct a;
  kq_exit_acct_init_since(&a, &s, 100);
  EXPECT_EQ(a.snap_sum, kq_exit_stat_sum(&s));
}

// A vCPU registered after it ran: its exits from KVM's totals, each kind
// capped in priority order by the exits left, the rest "other"; whatever
// the accounting held before.
TEST(ExitKind, InitSinceCapsInPriorityOrder) {
  kq_exit_stat now{};
  now.c[KVM_QUANTA_EXIT_IO] = 4;
  now.c[KVM_QUANTA_EXIT_HLT] = 3;
  now.c[KVM_QUANTA_EXIT_NPF] = 5;
  now.c[KVM_QUANTA_EXIT_EMULATION] = 9;
  kq_exit_acct a;
  std::memset(&a, 0xff, sizeof(a));
  kq_exit_acct_init_since(&a, &now, 10);
  const u64 want[KVM_QUANTA_EXIT_NR] = {4, 0, 3, 0, 3, 0, 0, 0, 0, 0};
  for (unsigned k = 0; k < KVM_QUANTA_EXIT_NR; ++k) EXPECT_EQ(a.kinds[k], want[k]) << k;
  EXPECT_EQ(a.exits, 10u);
  EXPECT_EQ(a.attributed, 10u);
  kq_exit_acct_init_since(&a, &now, 30);  // more exits than counts: "other"
  EXPECT_EQ(a.kinds[KVM_QUANTA_EXIT_IO], 4u);
  EXPECT_EQ(a.kinds[KVM_QUANTA_EXIT_EMULATION], 9u);
  EXPECT_EQ(a.kinds[KVM_QUANTA_EXIT_OTHER], 30u - 4 - 3 - 5 - 9);
  EXPECT_EQ(Sum(a.kinds), 30u);
}

TEST(ExitKind, ViewIsPureAndRepeatable) {
  kq_exit_stat now{};
  kq_exit_acct a;
  kq_exit_acct_init(&a, &now);
  a.exits = 2;
  now.c[KVM_QUANTA_EXIT_MMIO] = 1;
  const kq_exit_acct before = a;
  u64 first[KVM_QUANTA_EXIT_NR], second[KVM_QUANTA_EXIT_NR];
  kq_exit_acct_view(&a, &now, first);
  kq_exit_acct_view(&a, &now, second);
  EXPECT_EQ(0, memcmp(&before, &a, sizeof(a)));
  EXPECT_EQ(0, memcmp(first, second, sizeof(first)));
  EXPECT_EQ(first[KVM_QUANTA_EXIT_MMIO], 1u);
  EXPECT_EQ(first[KVM_QUANTA_EXIT_OTHER], 1u);
}

TEST(ExitKind, NamesMatchTheSysfsAbi) {
  // Documentation/ABI/testing/sysfs-kernel-kvm_quanta lists these names.
  const char* abi[] = {"io",        "mmio",       "hlt",        "intr",      "npf",
                       "hypercall", "irq_window", "nmi_window", "emulation", "other"};
  static_assert(std::size(abi) == KVM_QUANTA_EXIT_NR);
  for (unsigned k = 0; k < KVM_QUANTA_EXIT_NR; ++k) EXPECT_STREQ(kq_exit_kind_name(k), abi[k]);
  EXPECT_EQ(kq_exit_kind_name(KVM_QUANTA_EXIT_NR), nullptr);
}

}  // namespace
