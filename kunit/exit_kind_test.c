// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for exit classification (src/core/exit_kind.c).
 */
#include <kunit/test.h>

#include "exit_kind.h"

static u64 kq_test_sum(const u64 *kinds)
{
	u64 sum = 0;
	unsigned int i;

	for (i = 0; i < KVM_QUANTA_EXIT_NR; i++)
		sum += kinds[i];
	return sum;
}

/* Every kind as @want says, and the exits their sum. */
static void kq_test_kinds_are(struct kunit *test, const struct kq_exit_acct *a,
			      const u64 want[KVM_QUANTA_EXIT_NR])
{
	unsigned int i;

	for (i = 0; i < KVM_QUANTA_EXIT_NR; i++)
		KUNIT_EXPECT_EQ_MSG(test, a->kinds[i], want[i], "kind %s",
				    kq_exit_kind_name(i));
	KUNIT_EXPECT_EQ(test, a->exits, kq_test_sum(want));
}

/* @n more exits, each moving @kind's counter alone. */
static void kq_test_exits_of(struct kq_exit_stat *now, u64 *exits,
			     unsigned int kind, u64 n)
{
	*exits += n;
	if (kind != KVM_QUANTA_EXIT_OTHER)
		now->c[kind] += n;
}

/* Each kind's counter names its exits, wherever the counters start. */
static void kq_test_fold_each_kind(struct kunit *test)
{
	struct kq_exit_stat now = {};
	struct kq_exit_acct a;
	u64 exits = 1000;
	unsigned int i;

	for (i = 0; i < KQ_EXIT_STAT_NR; i++)
		now.c[i] = 10 * i;	/* before the module looked */
	kq_exit_acct_init_since(&a, &now, exits, true, 0);
	for (i = 0; i < KVM_QUANTA_EXIT_NR; i++) {
		struct kq_exit_acct before = a;

		kq_test_exits_of(&now, &exits, i, i + 1);
		kq_exit_fold(&a, &now, exits, true, 0);
		KUNIT_EXPECT_EQ(test, a.kinds[i] - before.kinds[i], i + 1);
		KUNIT_EXPECT_EQ(test, a.exits - before.exits, i + 1);
		KUNIT_EXPECT_EQ(test, kq_test_sum(a.kinds), a.exits);
	}
	KUNIT_EXPECT_EQ(test, a.exits, exits);
}

/*
 * Exits that move two counters: counted once, under the first kind; the
 * second counter's moves take the place of exits that moved none, which
 * a window cannot tell apart (exit_kind.c).
 */
static void kq_test_fold_priority(struct kunit *test)
{
	/* Per window: the counters' moves, the exits, the kinds after. */
	static const struct {
		u64 moved[KQ_EXIT_STAT_NR];
		u64 exits;
		u64 want[KVM_QUANTA_EXIT_NR];
	} win[] = {
		/* 3 MMIO exits to userspace (page fault, emulation too), 5 CPUIDs. */
		{ { [KVM_QUANTA_EXIT_MMIO] = 3, [KVM_QUANTA_EXIT_NPF] = 3,
		    [KVM_QUANTA_EXIT_EMULATION] = 3 }, 8,
		  { [KVM_QUANTA_EXIT_MMIO] = 3, [KVM_QUANTA_EXIT_NPF] = 3,
		    [KVM_QUANTA_EXIT_EMULATION] = 2 } },
		/* String I/O is emulated: I/O first; the extra move waits. */
		{ { [KVM_QUANTA_EXIT_IO] = 2, [KVM_QUANTA_EXIT_EMULATION] = 2 }, 2,
		  { [KVM_QUANTA_EXIT_IO] = 2, [KVM_QUANTA_EXIT_MMIO] = 3,
		    [KVM_QUANTA_EXIT_NPF] = 3, [KVM_QUANTA_EXIT_EMULATION] = 2 } },
	};
	struct kq_exit_stat now = {};
	struct kq_exit_acct a;
	unsigned int w, i;
	u64 exits = 0;

	kq_exit_acct_init_since(&a, &now, exits, true, 0);
	for (w = 0; w < ARRAY_SIZE(win); w++) {
		for (i = 0; i < KQ_EXIT_STAT_NR; i++)
			now.c[i] += win[w].moved[i];
		exits += win[w].exits;
		kq_exit_fold(&a, &now, exits, true, 0);
		kq_test_kinds_are(test, &a, win[w].want);
	}
}

/* Root cleared counters through KVM's debugfs: that is no exit. */
static void kq_test_fold_cleared(struct kunit *test)
{
	struct kq_exit_stat now = {};
	struct kq_exit_acct a;

	now.c[KVM_QUANTA_EXIT_IO] = 7;
	kq_exit_acct_init_since(&a, &now, 9, true, 0);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_IO], 7);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_OTHER], 2);
	/* io_exits cleared, then one emulation exit. */
	now.c[KVM_QUANTA_EXIT_IO] = 0;
	now.c[KVM_QUANTA_EXIT_EMULATION] = 1;
	kq_exit_fold(&a, &now, 10, true, 0);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_IO], 7);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_EMULATION], 1);
	/* Counting goes on from the cleared value. */
	now.c[KVM_QUANTA_EXIT_IO] = 1;
	kq_exit_fold(&a, &now, 11, true, 0);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_IO], 8);
	/* stat.exits cleared while an exit was in flight. */
	kq_exit_fold(&a, &now, 1, false, 0);
	KUNIT_EXPECT_EQ(test, a.exits, 11);
	kq_exit_fold(&a, &now, 11, true, 0);
	KUNIT_EXPECT_EQ(test, a.exits, 22);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_OTHER], 13);
	/* stat.exits cleared too: no exit, and nothing goes back. */
	kq_exit_fold(&a, &now, 0, true, 0);
	KUNIT_EXPECT_EQ(test, a.exits, 22);
	kq_exit_fold(&a, &now, 2, true, 0);
	KUNIT_EXPECT_EQ(test, a.exits, 24);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_OTHER], 15);
	KUNIT_EXPECT_EQ(test, kq_test_sum(a.kinds), a.exits);
}

/* A counter that moves with no exit (e.g. while blocked) names none. */
static void kq_test_fold_no_exit(struct kunit *test)
{
	struct kq_exit_stat now = {};
	struct kq_exit_acct a;

	kq_exit_acct_init_since(&a, &now, 0, true, 0);
	now.c[KVM_QUANTA_EXIT_EMULATION] = 3;
	kq_exit_fold(&a, &now, 0, true, 0);
	KUNIT_EXPECT_EQ(test, kq_test_sum(a.kinds), 0);
	now.c[KVM_QUANTA_EXIT_INTR]++;
	kq_exit_fold(&a, &now, 1, true, 0);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_INTR], 1);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_EMULATION], 0);
}

/*
 * KVM counts an exit before its handler moves the kind's counter: unless
 * the vCPU was back in guest mode, its last exit waits for the next fold;
 * and a counter's move no exit took (its exit counted after the read)
 * waits too, one per counter.
 */
static void kq_test_fold_in_flight(struct kunit *test)
{
	struct kq_exit_stat now = {};
	struct kq_exit_acct a;

	/* First seen in its first exit, a port write not handled yet. */
	kq_exit_acct_init_since(&a, &now, 1, false, 0);
	KUNIT_EXPECT_EQ(test, a.exits, 0);
	now.c[KVM_QUANTA_EXIT_IO] = 7;
	now.c[KVM_QUANTA_EXIT_HLT] = 1;
	kq_exit_fold(&a, &now, 8, true, 0);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_IO], 7);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_HLT], 1);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_OTHER], 0);
	/* A HLT skipped by the emulator: one counter, a fold, the other. */
	now.c[KVM_QUANTA_EXIT_EMULATION]++;
	kq_exit_fold(&a, &now, 9, false, 0);
	KUNIT_EXPECT_EQ(test, a.exits, 8);
	now.c[KVM_QUANTA_EXIT_HLT]++;
	kq_exit_fold(&a, &now, 9, true, 0);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_HLT], 2);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_EMULATION], 0);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_OTHER], 0);
	/* An I/O exit counted after stat.exits was read: its move waits. */
	now.c[KVM_QUANTA_EXIT_IO] += 4;
	kq_exit_fold(&a, &now, 12, true, 0);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_IO], 10);
	kq_exit_fold(&a, &now, 13, true, 0);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_IO], 11);
	KUNIT_EXPECT_EQ(test, kq_test_sum(a.kinds), 13);
	/* Two I/O exits counted while the counters were read: both wait. */
	now.c[KVM_QUANTA_EXIT_IO] += 2;
	kq_exit_fold(&a, &now, 13, true, 2);
	kq_exit_fold(&a, &now, 15, true, 0);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_IO], 13);
	KUNIT_EXPECT_EQ(test, kq_test_sum(a.kinds), 15);
	/*
	 * A fold between leaving guest mode and counting the exit holds
	 * nothing back twice: the next counts one exit, not two.  That exit
	 * moved no counter; the HLT's emulation move, waiting since, takes
	 * it: the price of a two-counter exit.
	 */
	kq_exit_fold(&a, &now, 15, false, 0);
	kq_exit_fold(&a, &now, 16, true, 0);
	KUNIT_EXPECT_EQ(test, a.exits, 16);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_EMULATION], 1);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_OTHER], 0);
	/* Moves no exit takes do not pile up: one waits, per counter. */
	now.c[KVM_QUANTA_EXIT_NPF] += 5;
	kq_exit_fold(&a, &now, 16, true, 0);
	kq_exit_fold(&a, &now, 19, true, 0);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_NPF], 1);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_EMULATION], 1);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_OTHER], 2);
}

static void kq_test_kind_names(struct kunit *test)
{
	unsigned int i, j;

	KUNIT_EXPECT_STREQ(test, kq_exit_kind_name(KVM_QUANTA_EXIT_IO), "io");
	KUNIT_EXPECT_STREQ(test, kq_exit_kind_name(KVM_QUANTA_EXIT_OTHER),
			   "other");
	KUNIT_EXPECT_PTR_EQ(test, kq_exit_kind_name(KVM_QUANTA_EXIT_NR), NULL);
	for (i = 0; i < KVM_QUANTA_EXIT_NR; i++) {
		KUNIT_ASSERT_NOT_NULL(test, kq_exit_kind_name(i));
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_STRNEQ(test, kq_exit_kind_name(i),
					    kq_exit_kind_name(j));
	}
}

/*
 * A vCPU first seen after it ran counts from KVM's totals: every exit
 * since creation, kinds capped by the exits in priority order, the rest
 * "other"; later windows fold on from there.
 */
static void kq_test_init_since(struct kunit *test)
{
	static const u64 capped[KVM_QUANTA_EXIT_NR] = {
		[KVM_QUANTA_EXIT_MMIO] = 5, [KVM_QUANTA_EXIT_NPF] = 3,
	};
	struct kq_exit_stat now = {};
	struct kq_exit_acct a;

	now.c[KVM_QUANTA_EXIT_IO] = 100;
	now.c[KVM_QUANTA_EXIT_HLT] = 1;
	now.c[KVM_QUANTA_EXIT_INTR] = 7;
	kq_exit_acct_init_since(&a, &now, 110, true, 0);
	KUNIT_EXPECT_EQ(test, a.exits, 110);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_IO], 100);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_HLT], 1);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_INTR], 7);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_OTHER], 2);

	/* One more I/O exit, at the next window. */
	now.c[KVM_QUANTA_EXIT_IO]++;
	kq_exit_fold(&a, &now, 111, true, 0);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_IO], 101);
	KUNIT_EXPECT_EQ(test, kq_test_sum(a.kinds), 111);

	/* Counters that say more than the exits: capped in priority order. */
	now = (struct kq_exit_stat){};
	now.c[KVM_QUANTA_EXIT_MMIO] = 5;
	now.c[KVM_QUANTA_EXIT_NPF] = 5;
	now.c[KVM_QUANTA_EXIT_EMULATION] = 5;
	kq_exit_acct_init_since(&a, &now, 8, true, 0);
	kq_test_kinds_are(test, &a, capped);
}

static struct kunit_case kq_exit_kind_cases[] = {
	KUNIT_CASE(kq_test_fold_each_kind),
	KUNIT_CASE(kq_test_fold_priority),
	KUNIT_CASE(kq_test_fold_cleared),
	KUNIT_CASE(kq_test_fold_no_exit),
	KUNIT_CASE(kq_test_fold_in_flight),
	KUNIT_CASE(kq_test_kind_names),
	KUNIT_CASE(kq_test_init_since),
	{}
};

static struct kunit_suite kq_exit_kind_suite = {
	.name = "kvm_quanta_exit_kind",
	.test_cases = kq_exit_kind_cases,
};

kunit_test_suites(&kq_exit_kind_suite);

MODULE_LICENSE("GPL");
