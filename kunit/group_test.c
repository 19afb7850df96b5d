// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for phase placement within a group (src/core/group.c): the
 * shift toward the efficient member and its bound, the regimen and the
 * lasting part, who is left alone (other CPUs, other groups, members that
 * do not compete), the PMU's IPC against guest time per exit, and the
 * switch.  Property tests over random sets, and the ledger with shifted
 * weights, are in userspace/tests/group_test.cpp.
 */
#include <kunit/test.h>

#include "group.h"

#define KQ_GT_MS 1000000ULL

/*
 * A member of VM @vm that ran 50 ms of a 100 ms window (40 in the guest,
 * with @exits exits) and waited the rest but @halt_ms halted.
 */
static void kq_gt_member(struct kq_group_member *m, u32 group, s32 cpu,
			 u64 exits, u64 halt_ms, u32 ipc, s32 lasting)
{
	static u64 vm;
	struct kq_window w;

	kq_window_init(&w);
	w.window_ns = 100 * KQ_GT_MS;
	w.run_ns = 50 * KQ_GT_MS;
	w.wait_ns = (50 - halt_ms) * KQ_GT_MS;
	w.guest_ns = 40 * KQ_GT_MS;
	w.halt_ns = halt_ms * KQ_GT_MS;
	w.exits = exits;
	w.ipc_milli = ipc;
	kq_group_member_init(m, group, ++vm, cpu, &w, 100000, lasting);
}

static void kq_gt_params(struct kq_policy_params *p, u32 bound)
{
	kq_policy_defaults(p);
	p->group_shift_pct = bound;
}

/* Compute (10 exits) against exit-heavy (10^5 exits), one CPU, no PMU. */
static void kq_test_group_pair(struct kunit *test)
{
	struct kq_group_member m[2];
	struct kq_policy_params p;
	s32 lasting[2] = { 0, 0 };
	unsigned int i;

	kq_gt_params(&p, 20);
	for (i = 1; i <= 30; i++) {
		kq_gt_member(&m[0], 7, 3, 10, 0, KQ_NONE32, lasting[0]);
		kq_gt_member(&m[1], 7, 3, 100000, 0, KQ_NONE32, lasting[1]);
		kq_group_window(&p, m, 2);
		lasting[0] = m[0].lasting_pct;
		lasting[1] = m[1].lasting_pct;
		if (i == 1) {
			/* Regimen: half the bound at once; lasting: one step. */
			KUNIT_EXPECT_EQ(test, m[0].shift_pct, 11);
			KUNIT_EXPECT_EQ(test, m[1].shift_pct, -11);
			KUNIT_EXPECT_EQ(test, m[0].weight, 111000U);
			KUNIT_EXPECT_EQ(test, m[1].weight, 89000U);
		}
	}
	/* The lasting part reached its half; the whole stays in the bound. */
	KUNIT_EXPECT_EQ(test, lasting[0], 10);
	KUNIT_EXPECT_EQ(test, lasting[1], -10);
	KUNIT_EXPECT_EQ(test, m[0].shift_pct, 20);
	KUNIT_EXPECT_EQ(test, m[1].shift_pct, -20);
	KUNIT_EXPECT_EQ(test, m[0].weight, 120000U);
	KUNIT_EXPECT_EQ(test, m[1].weight, 80000U);

	/* Even again: the regimen goes at once, the lasting part step by step. */
	kq_gt_member(&m[0], 7, 3, 1000, 0, KQ_NONE32, lasting[0]);
	kq_gt_member(&m[1], 7, 3, 1000, 0, KQ_NONE32, lasting[1]);
	kq_group_window(&p, m, 2);
	KUNIT_EXPECT_EQ(test, m[0].lasting_pct, 9);
	KUNIT_EXPECT_EQ(test, m[1].lasting_pct, -9);
	KUNIT_EXPECT_EQ(test, m[0].shift_pct, 9);
	KUNIT_EXPECT_EQ(test, m[0].weight, 109000U);
}

/*
 * Only members of one group on one CPU alone, runnable 75% of the window,
 * of two VMs at least, are a set; 75% runnable is enough.
 */
static void kq_test_group_who(struct kunit *test)
{
	struct kq_group_member m[9];
	struct kq_policy_params p;
	unsigned int i;

	kq_gt_params(&p, 20);
	kq_gt_member(&m[0], 1, 0, 10, 0, KQ_NONE32, 4);	/* alone on CPU 0 */
	kq_gt_member(&m[1], 1, 1, 100000, 0, KQ_NONE32, 0);
	kq_gt_member(&m[2], 2, 1, 10, 0, KQ_NONE32, 0);	/* other group */
	kq_gt_member(&m[3], 3, 2, 10, 0, KQ_NONE32, 0);
	kq_gt_member(&m[4], 3, 2, 100000, 26, KQ_NONE32, 3); /* runnable 74% */
	kq_gt_member(&m[5], 4, 5, 10, 0, KQ_NONE32, 0);
	kq_gt_member(&m[6], 4, -1, 100000, 0, KQ_NONE32, 0); /* several CPUs */
	kq_gt_member(&m[7], 5, 6, 10, 0, KQ_NONE32, 0);
	kq_gt_member(&m[8], 5, 6, 100000, 0, KQ_NONE32, 0);
	m[8].vm = m[7].vm;	/* two vCPUs of one VM: not a set */
	kq_group_window(&p, m, 9);
	for (i = 0; i < 9; i++) {
		KUNIT_EXPECT_EQ(test, m[i].weight, 100000U);
		KUNIT_EXPECT_EQ(test, m[i].shift_pct, 0);
	}
	/* Lasting shifts of members without a set hold. */
	KUNIT_EXPECT_EQ(test, m[0].lasting_pct, 4);
	KUNIT_EXPECT_EQ(test, m[4].lasting_pct, 3);

	kq_gt_member(&m[0], 3, 2, 10, 0, KQ_NONE32, 0);
	kq_gt_member(&m[1], 3, 2, 100000, 25, KQ_NONE32, 0); /* runnable 75% */
	kq_group_window(&p, m, 2);
	KUNIT_EXPECT_EQ(test, m[0].shift_pct, 11);
	KUNIT_EXPECT_EQ(test, m[1].shift_pct, -11);
}

/* With every member's IPC, IPC decides; with one missing, guest time per exit. */
static void kq_test_group_pmu(struct kunit *test)
{
	struct kq_group_member m[2];
	struct kq_policy_params p;

	kq_gt_params(&p, 20);
	/* Fewer exits but lower IPC: IPC wins. */
	kq_gt_member(&m[0], 1, 0, 10, 0, 500, 0);
	kq_gt_member(&m[1], 1, 0, 100000, 0, 2000, 0);
	kq_group_window(&p, m, 2);
	KUNIT_EXPECT_EQ(test, m[0].shift_pct, -11);
	KUNIT_EXPECT_EQ(test, m[1].shift_pct, 11);

	kq_gt_member(&m[0], 1, 0, 10, 0, 500, 0);
	kq_gt_member(&m[1], 1, 0, 100000, 0, KQ_NONE32, 0);
	kq_group_window(&p, m, 2);
	KUNIT_EXPECT_EQ(test, m[0].shift_pct, 11);
	KUNIT_EXPECT_EQ(test, m[1].shift_pct, -11);

	/* Within KQ_GROUP_EVEN_PCT of the mean: a small regimen, no lasting step. */
	kq_gt_member(&m[0], 1, 0, 10, 0, 1000, 0);
	kq_gt_member(&m[1], 1, 0, 10, 0, 1100, 0);
	kq_group_window(&p, m, 2);
	KUNIT_EXPECT_EQ(test, m[0].lasting_pct, 0);
	KUNIT_EXPECT_EQ(test, m[1].lasting_pct, 0);
	KUNIT_EXPECT_EQ(test, m[0].shift_pct, -4);
	KUNIT_EXPECT_EQ(test, m[1].shift_pct, 4);
}

/* Unequal weights: zero-sum over the weights, and no one past the bound. */
static void kq_test_group_balance(struct kunit *test)
{
	struct kq_group_member m[3];
	struct kq_policy_params p;
	u64 before = 0, after = 0;
	unsigned int i;

	kq_gt_params(&p, 20);
	kq_gt_member(&m[0], 9, 1, 10, 0, KQ_NONE32, 10);
	kq_gt_member(&m[1], 9, 1, 10, 0, KQ_NONE32, 10);
	kq_gt_member(&m[2], 9, 1, 100000, 0, KQ_NONE32, -10);
	m[0].weight = 300000;
	m[2].weight = 50000;
	for (i = 0; i < 3; i++)
		before += m[i].weight;
	kq_group_window(&p, m, 3);
	for (i = 0; i < 3; i++)
		after += m[i].weight;
	KUNIT_EXPECT_EQ(test, after, before);
	/* The exit-heavy member loses the most it may; the others share it. */
	KUNIT_EXPECT_EQ(test, m[2].shift_pct, -20);
	KUNIT_EXPECT_EQ(test, m[2].weight, 40000U);
	KUNIT_EXPECT_GT(test, m[0].weight, 300000U);
	KUNIT_EXPECT_GT(test, m[1].weight, 100000U);
	KUNIT_EXPECT_LE(test, m[0].shift_pct, 20);
}

/* group_shift_pct 0: off, lasting shifts cleared; lowered: clamped at once. */
static void kq_test_group_switch(struct kunit *test)
{
	struct kq_group_member m[2];
	struct kq_policy_params p;

	kq_gt_params(&p, 0);
	kq_gt_member(&m[0], 1, 0, 10, 0, KQ_NONE32, 10);
	kq_gt_member(&m[1], 1, 0, 100000, 0, KQ_NONE32, -10);
	kq_group_window(&p, m, 2);
	KUNIT_EXPECT_EQ(test, m[0].weight, 100000U);
	KUNIT_EXPECT_EQ(test, m[1].weight, 100000U);
	KUNIT_EXPECT_EQ(test, m[0].lasting_pct, 0);
	KUNIT_EXPECT_EQ(test, m[1].lasting_pct, 0);

	kq_gt_params(&p, 6);
	kq_gt_member(&m[0], 1, 0, 10, 0, KQ_NONE32, 10);
	kq_gt_member(&m[1], 1, 0, 100000, 0, KQ_NONE32, -10);
	kq_group_window(&p, m, 2);
	KUNIT_EXPECT_EQ(test, m[0].lasting_pct, 3);
	KUNIT_EXPECT_EQ(test, m[0].shift_pct, 6);
	KUNIT_EXPECT_EQ(test, m[1].shift_pct, -6);
	KUNIT_EXPECT_EQ(test, m[0].weight, 106000U);
}

static struct kunit_case kq_group_cases[] = {
	KUNIT_CASE(kq_test_group_pair),
	KUNIT_CASE(kq_test_group_who),
	KUNIT_CASE(kq_test_group_pmu),
	KUNIT_CASE(kq_test_group_balance),
	KUNIT_CASE(kq_test_group_switch),
	{}
};

static struct kunit_suite kq_group_suite = {
	.name = "kvm_quanta_group",
	.test_cases = kq_group_cases,
};

kunit_test_suites(&kq_group_suite);
