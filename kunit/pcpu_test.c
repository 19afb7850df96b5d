// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for per-CPU profiles (src/core/pcpu.c) on a fake topology:
 * four CPUs as two SMT pairs, as the rig (TCG, no SMT) cannot show.
 */
#include <kunit/test.h>

#include "pcpu.h"

/* CPUs 0/2 and 1/3 are siblings; 4 has none. */
static const int kq_fake_sibling[5] = { 2, 3, 0, 1, KQ_NO_SIBLING };

static void kq_test_pcpu_sibling_view(struct kunit *test)
{
	struct kq_pcpu_reading prev[5] = {}, cur[5] = {};
	struct kq_pcpu_profile out[5];

	/* 10 ms window: CPU 0 runs VM 7 for 8 ms, its sibling VM 9 for 5. */
	cur[0] = (struct kq_pcpu_reading){ 8000000, 400, 7 };
	cur[2] = (struct kq_pcpu_reading){ 5000000, 10, 9 };
	cur[4] = (struct kq_pcpu_reading){ 1000000, 1, 3 };
	kq_pcpu_profiles(prev, cur, kq_fake_sibling, 5, 10000000, out);

	KUNIT_EXPECT_EQ(test, out[0].guest_permille, 800);
	KUNIT_EXPECT_EQ(test, out[0].vm_id, 7);
	KUNIT_EXPECT_EQ(test, out[0].sibling, 2);
	KUNIT_EXPECT_EQ(test, out[0].sibling_guest_permille, 500);
	KUNIT_EXPECT_EQ(test, out[0].sibling_vm_id, 9);
	/* And the other way round. */
	KUNIT_EXPECT_EQ(test, out[2].sibling_vm_id, 7);
	KUNIT_EXPECT_EQ(test, out[2].sibling_guest_permille, 800);
	/* 400 exits in 8 ms of guest time: 50 per ms. */
	KUNIT_EXPECT_EQ(test, out[0].exit_rate_milli, 50000);
	/* An idle pair. */
	KUNIT_EXPECT_EQ(test, out[1].guest_permille, 0);
	KUNIT_EXPECT_EQ(test, out[1].exit_rate_milli, KQ_NONE64);
	KUNIT_EXPECT_EQ(test, out[3].sibling_vm_id, 0);
	/* No sibling. */
	KUNIT_EXPECT_EQ(test, out[4].sibling, KQ_NO_SIBLING);
	KUNIT_EXPECT_EQ(test, out[4].sibling_guest_permille, 0);
}

static void kq_test_pcpu_bad_topology(struct kunit *test)
{
	/* A sibling out of range or the CPU itself is no sibling. */
	static const int bad[3] = { 7, 1, -5 };
	struct kq_pcpu_reading prev[3] = {}, cur[3] = {};
	struct kq_pcpu_profile out[3];
	unsigned int c;

	cur[1].guest_ns = 1000;
	kq_pcpu_profiles(prev, cur, bad, 3, 1000, out);
	for (c = 0; c < 3; c++) {
		KUNIT_EXPECT_EQ(test, out[c].sibling, KQ_NO_SIBLING);
		KUNIT_EXPECT_EQ(test, out[c].sibling_vm_id, 0);
	}
	KUNIT_EXPECT_EQ(test, out[1].guest_permille, 1000);
}

static void kq_test_pcpu_wrap_and_clamp(struct kunit *test)
{
	struct kq_pcpu_reading prev[1], cur[1];
	struct kq_pcpu_profile out[1];
	static const int none[1] = { KQ_NO_SIBLING };

	/* Counters that wrapped still give the right delta. */
	prev[0] = (struct kq_pcpu_reading){ U64_MAX - 99, U64_MAX, 1 };
	cur[0] = (struct kq_pcpu_reading){ 400, 1, 1 };
	kq_pcpu_profiles(prev, cur, none, 1, 1000, out);
	KUNIT_EXPECT_EQ(test, out[0].guest_permille, 500);
	KUNIT_EXPECT_EQ(test, out[0].exit_rate_milli, 2ULL * 1000000000 / 500);
	/* Guest time over the window (clock skew) clamps to 1000. */
	prev[0] = (struct kq_pcpu_reading){ 0, 0, 0 };
	cur[0] = (struct kq_pcpu_reading){ 2000, 0, 0 };
	kq_pcpu_profiles(prev, cur, none, 1, 1000, out);
	KUNIT_EXPECT_EQ(test, out[0].guest_permille, 1000);
	/* An empty window. */
	kq_pcpu_profiles(prev, cur, none, 1, 0, out);
	KUNIT_EXPECT_EQ(test, out[0].guest_permille, 0);
}

static struct kunit_case kq_pcpu_cases[] = {
	KUNIT_CASE(kq_test_pcpu_sibling_view),
	KUNIT_CASE(kq_test_pcpu_bad_topology),
	KUNIT_CASE(kq_test_pcpu_wrap_and_clamp),
	{}
};

static struct kunit_suite kq_pcpu_suite = {
	.name = "kvm_quanta_pcpu",
	.test_cases = kq_pcpu_cases,
};

kunit_test_suites(&kq_pcpu_suite);
