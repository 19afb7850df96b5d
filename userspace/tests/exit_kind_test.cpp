// SPDX-License-Identifier: GPL-2.0
// Property tests for exit kinds folded per window (src/core/exit_kind.c),
// run on random exit streams shaped like KVM's: an exit, its handler moving
// zero or more counters, and now and then a window.
#include "exit_kind.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>
#include <random>

namespace {

u64 Sum(const u64* kinds) { return std::accumulate(kinds, kinds + KVM_QUANTA_EXIT_NR, u64{0}); }

// A random stream of exits with windows at random points, as the sampler
// folds them (registry.c): every exit moves the counter of its kind.  KVM
// counts an exit before its handler moves that counter: a window may fall
// in between, when the vCPU is not back in the guest (kInFlight), or the
// counters may be read after one more exit than stat.exits (kLate).  With
// kOverlap an exit also moves some lower-priority counters (an MMIO exit
// takes a page fault and emulates); with kTwoStep an exit of a kind above
// emulation moves the emulation counter first, and a window may fall
// before its own counter moves (a HLT skipped by KVM's emulator on a CPU
// without NRIP save).  At every fold the kinds add up to the exits, and
// no kind goes back.  Without overlap they end exact; with it, exits only
// ever move to a higher-priority kind: every prefix of the kinds in
// priority order counts at least the true exits of those kinds.
enum class Stream { kExact, kInFlight, kLate, kOverlap, kTwoStep };

class ExitKindStreams : public ::testing::TestWithParam<Stream> {};

TEST_P(ExitKindStreams, FoldKeepsEveryExitOnce) {
  const Stream mode = GetParam();
  std::mt19937_64 rng(42);
  for (int run = 0; run < 200; ++run) {
    kq_exit_stat now{};
    // Counters start anywhere (u64s do not wrap), as many exits before.
    u64 exits = rng() >> 8;
    for (auto& c : now.c) exits += c = rng() >> 8;
    kq_exit_acct a;
    kq_exit_acct_init_since(&a, &now, exits, true, 0);
    const kq_exit_acct base = a;
    std::array<u64, KVM_QUANTA_EXIT_NR> truth{};
    u64 last_seen = exits;  // stat.exits never goes back between reads
    auto fold = [&](u64 seen, bool settled, u64 late = 0) {
      const kq_exit_acct before = a;
      last_seen = seen;
      kq_exit_fold(&a, &now, seen, settled, late);
      for (unsigned k = 0; k < KVM_QUANTA_EXIT_NR; ++k) EXPECT_GE(a.kinds[k], before.kinds[k]);
      EXPECT_EQ(Sum(a.kinds), a.exits);
      EXPECT_LE(a.exits - base.exits, seen - base.snap_exits);
      EXPECT_GE(a.exits - base.exits + 1, seen - base.snap_exits);
    };
    const int n = 1 + static_cast<int>(rng() % 500);
    for (int i = 0; i < n; ++i) {
      exits++;
      const bool window = rng() % 16 == 0;
      if (mode == Stream::kInFlight && window) {
        fold(exits - 1, false);  // left guest mode, the exit not counted yet
        fold(exits, false);
      }
      const unsigned kind = rng() % KVM_QUANTA_EXIT_NR;
      if (mode == Stream::kTwoStep && kind < KVM_QUANTA_EXIT_EMULATION) {
        now.c[KVM_QUANTA_EXIT_EMULATION]++;
        if (window) fold(exits, false);
      }
      if (kind != KVM_QUANTA_EXIT_OTHER) now.c[kind]++;
      if (mode == Stream::kOverlap)
        for (unsigned j = kind + 1; j < KQ_EXIT_STAT_NR; ++j)
          if (rng() % 4 == 0) now.c[j]++;
      truth[kind]++;
      if (mode == Stream::kLate && window) {
        const u64 late = std::min<u64>(rng() % 4, exits - last_seen);
        fold(exits - late, true, late);
      }
      if ((mode == Stream::kExact || mode == Stream::kOverlap) && window) fold(exits, true);
    }
    fold(exits, true);
    EXPECT_EQ(a.exits - base.exits, exits - base.snap_exits);
    u64 counted = 0, real = 0;
    for (unsigned k = 0; k < KVM_QUANTA_EXIT_NR; ++k) {
      const u64 got = a.kinds[k] - base.kinds[k];
      // Two counters moved: the kinds above the second one stay exact.
      if (mode == Stream::kExact || mode == Stream::kInFlight || mode == Stream::kLate ||
          (mode == Stream::kTwoStep && k < KVM_QUANTA_EXIT_EMULATION)) {
        EXPECT_EQ(got, truth[k]) << "run " << run << " kind " << kq_exit_kind_name(k);
      }
      counted += got;
      real += truth[k];
      EXPECT_GE(counted, real) << "run " << run << " up to " << kq_exit_kind_name(k);
    }
    EXPECT_EQ(counted, real);
  }
}

INSTANTIATE_TEST_SUITE_P(Streams, ExitKindStreams,
                         ::testing::Values(Stream::kExact, Stream::kInFlight, Stream::kLate,
                                           Stream::kOverlap, Stream::kTwoStep));

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
  kq_exit_acct_init_since(&a, &now, 10, true, 0);
  const u64 want[KVM_QUANTA_EXIT_NR] = {4, 0, 3, 0, 3, 0, 0, 0, 0, 0};
  for (unsigned k = 0; k < KVM_QUANTA_EXIT_NR; ++k) EXPECT_EQ(a.kinds[k], want[k]) << k;
  EXPECT_EQ(a.exits, 10u);
  EXPECT_EQ(a.snap_exits, 10u);
  kq_exit_acct_init_since(&a, &now, 30, true, 0);  // more exits than counts: "other"
  EXPECT_EQ(a.kinds[KVM_QUANTA_EXIT_IO], 4u);
  EXPECT_EQ(a.kinds[KVM_QUANTA_EXIT_EMULATION], 9u);
  EXPECT_EQ(a.kinds[KVM_QUANTA_EXIT_OTHER], 30u - 4 - 3 - 5 - 9);
  EXPECT_EQ(Sum(a.kinds), 30u);
}

// A window in which nothing happened changes nothing; folding twice at the
// same instant is folding once.
TEST(ExitKind, FoldIsIdempotentAtOneInstant) {
  kq_exit_stat now{};
  now.c[KVM_QUANTA_EXIT_MMIO] = 1;
  kq_exit_acct a;
  kq_exit_acct_init_since(&a, &now, 2, true, 0);
  now.c[KVM_QUANTA_EXIT_HLT] = 4;
  kq_exit_fold(&a, &now, 9, true, 0);
  const kq_exit_acct once = a;
  kq_exit_fold(&a, &now, 9, true, 0);
  EXPECT_EQ(0, memcmp(&once, &a, sizeof(a)));
  EXPECT_EQ(a.kinds[KVM_QUANTA_EXIT_MMIO], 1u);
  EXPECT_EQ(a.kinds[KVM_QUANTA_EXIT_HLT], 4u);
  EXPECT_EQ(a.kinds[KVM_QUANTA_EXIT_OTHER], 4u);
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
