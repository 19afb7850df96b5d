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

static void kq_test_classify_each_kind(struct kunit *test)
{
	struct kq_exit_stat before = {}, after;
	unsigned int i;

	for (i = 0; i < KQ_EXIT_STAT_NR; i++) {
		after = before;
		after.c[i] += 1;
		KUNIT_EXPECT_EQ(test, kq_exit_classify(&before, &after), i);
	}
	KUNIT_EXPECT_EQ(test, kq_exit_classify(&before, &before),
			KVM_QUANTA_EXIT_OTHER);
}

static void kq_test_classify_priority(struct kunit *test)
{
	struct kq_exit_stat before = {}, after = {};

	/* An MMIO exit to userspace also takes a page fault and emulates. */
	after.c[KVM_QUANTA_EXIT_NPF] = 1;
	after.c[KVM_QUANTA_EXIT_EMULATION] = 1;
	after.c[KVM_QUANTA_EXIT_MMIO] = 1;
	KUNIT_EXPECT_EQ(test, kq_exit_classify(&before, &after),
			KVM_QUANTA_EXIT_MMIO);
	/* String I/O is emulated: still I/O. */
	after = before;
	after.c[KVM_QUANTA_EXIT_EMULATION] = 1;
	after.c[KVM_QUANTA_EXIT_IO] = 1;
	KUNIT_EXPECT_EQ(test, kq_exit_classify(&before, &after),
			KVM_QUANTA_EXIT_IO);
	/* In-kernel MMIO (e.g. the local APIC): a page fault. */
	after = before;
	after.c[KVM_QUANTA_EXIT_EMULATION] = 1;
	after.c[KVM_QUANTA_EXIT_NPF] = 1;
	KUNIT_EXPECT_EQ(test, kq_exit_classify(&before, &after),
			KVM_QUANTA_EXIT_NPF);
}

/* Root cleared a counter through KVM's debugfs: that is no exit. */
static void kq_test_classify_cleared(struct kunit *test)
{
	struct kq_exit_stat before = {}, after = {};
	struct kq_exit_acct a;

	before.c[KVM_QUANTA_EXIT_IO] = 7;
	KUNIT_EXPECT_EQ(test, kq_exit_classify(&before, &after),
			KVM_QUANTA_EXIT_OTHER);
	after.c[KVM_QUANTA_EXIT_EMULATION] = 1;
	KUNIT_EXPECT_EQ(test, kq_exit_classify(&before, &after),
			KVM_QUANTA_EXIT_EMULATION);
	/* The snapshot takes the cleared value: the next I/O counts. */
	kq_exit_acct_init(&a, &before);
	a.exits = 1;
	kq_exit_attribute(&a, &after);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_EMULATION], 1);
	a.exits = 2;
	after.c[KVM_QUANTA_EXIT_IO] = 1;
	kq_exit_attribute(&a, &after);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_IO], 1);
	KUNIT_EXPECT_EQ(test, kq_test_sum(a.kinds), 2);
}

/* N port writes then a HLT, each exit followed by an entry but the last. */
static void kq_test_attribute_stream(struct kunit *test)
{
	struct kq_exit_stat now = {};
	struct kq_exit_acct a;
	u64 kinds[KVM_QUANTA_EXIT_NR];
	unsigned int i;

	now.c[KVM_QUANTA_EXIT_IO] = 40;	/* counters from before we looked */
	kq_exit_acct_init(&a, &now);
	for (i = 0; i < 1000; i++) {
		a.exits++;			/* kvm_exit */
		now.c[KVM_QUANTA_EXIT_IO]++;	/* the handler */
		kq_exit_attribute(&a, &now);	/* kvm_entry */
	}
	a.exits++;
	now.c[KVM_QUANTA_EXIT_HLT]++;

	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_IO], 1000);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_HLT], 0);
	kq_exit_acct_view(&a, &now, kinds);
	KUNIT_EXPECT_EQ(test, kinds[KVM_QUANTA_EXIT_IO], 1000);
	KUNIT_EXPECT_EQ(test, kinds[KVM_QUANTA_EXIT_HLT], 1);
	KUNIT_EXPECT_EQ(test, kq_test_sum(kinds), a.exits);
	/* The view does not change the accounting. */
	KUNIT_EXPECT_EQ(test, a.attributed, 1000);
}

static void kq_test_attribute_no_exit(struct kunit *test)
{
	struct kq_exit_stat now = {};
	struct kq_exit_acct a;

	kq_exit_acct_init(&a, &now);
	/* A counter moves with no exit (e.g. while blocked): absorbed. */
	now.c[KVM_QUANTA_EXIT_EMULATION] = 3;
	kq_exit_attribute(&a, &now);
	KUNIT_EXPECT_EQ(test, kq_test_sum(a.kinds), 0);
	a.exits++;
	now.c[KVM_QUANTA_EXIT_INTR]++;
	kq_exit_attribute(&a, &now);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_INTR], 1);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_EMULATION], 0);
}

static void kq_test_attribute_unhooked_exits(struct kunit *test)
{
	struct kq_exit_stat now = {};
	struct kq_exit_acct a;

	kq_exit_acct_init(&a, &now);
	a.exits += 3;
	now.c[KVM_QUANTA_EXIT_IO]++;
	kq_exit_attribute(&a, &now);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_IO], 1);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_OTHER], 2);
	KUNIT_EXPECT_EQ(test, kq_test_sum(a.kinds), a.exits);
}

/*
 * The entry probe's order (hooks.c): the counters' sum first, the snapshot
 * only when it moved.  CPUID exits (no counter) and port writes in turn.
 */
static void kq_test_attribute_unmoved(struct kunit *test)
{
	struct kq_exit_stat now = {};
	struct kq_exit_acct a;
	unsigned int i, slow = 0;

	now.c[KVM_QUANTA_EXIT_IO] = 40;
	kq_exit_acct_init(&a, &now);
	for (i = 0; i < 100; i++) {
		a.exits++;
		if (i % 2)
			now.c[KVM_QUANTA_EXIT_IO]++;
		if (!kq_exit_attribute_unmoved(&a, kq_exit_stat_sum(&now))) {
			kq_exit_attribute(&a, &now);
			slow++;
		}
	}
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_IO], 50);
	KUNIT_EXPECT_EQ(test, a.kinds[KVM_QUANTA_EXIT_OTHER], 50);
	KUNIT_EXPECT_EQ(test, a.attributed, 100);
	/* The port writes, and only they, took the snapshot. */
	KUNIT_EXPECT_EQ(test, slow, 50);
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
 * A vCPU registered after it ran (a burst emptied the pool) counts from
 * KVM's totals: every exit since creation, kinds as KVM counted them,
 * capped by the exits in priority order, the rest "other"; later exits
 * are attributed one by one as usual.
 */
static void kq_test_init_since(struct kunit *test)
{
	struct kq_exit_stat now = {};
	struct kq_exit_acct a;
	u64 kinds[KVM_QUANTA_EXIT_NR];

	now.c[KVM_QUANTA_EXIT_IO] = 100;
	now.c[KVM_QUANTA_EXIT_HLT] = 1;
	now.c[KVM_QUANTA_EXIT_INTR] = 7;
	kq_exit_acct_init_since(&a, &now, 110);
	kq_exit_acct_view(&a, &now, kinds);
	KUNIT_EXPECT_EQ(test, a.exits, 110);
	KUNIT_EXPECT_EQ(test, kinds[KVM_QUANTA_EXIT_IO], 100);
	KUNIT_EXPECT_EQ(test, kinds[KVM_QUANTA_EXIT_HLT], 1);
	KUNIT_EXPECT_EQ(test, kinds[KVM_QUANTA_EXIT_INTR], 7);
	KUNIT_EXPECT_EQ(test, kinds[KVM_QUANTA_EXIT_OTHER], 2);
	KUNIT_EXPECT_EQ(test, kq_test_sum(kinds), 110);

	/* One more I/O exit, attributed at the next entry. */
	a.exits++;
	now.c[KVM_QUANTA_EXIT_IO]++;
	kq_exit_attribute(&a, &now);
	kq_exit_acct_view(&a, &now, kinds);
	KUNIT_EXPECT_EQ(test, kinds[KVM_QUANTA_EXIT_IO], 101);
	KUNIT_EXPECT_EQ(test, kq_test_sum(kinds), 111);

	/* Counters that say more than the exits: capped in priority order. */
	now = (struct kq_exit_stat){};
	now.c[KVM_QUANTA_EXIT_MMIO] = 5;
	now.c[KVM_QUANTA_EXIT_NPF] = 5;
	now.c[KVM_QUANTA_EXIT_EMULATION] = 5;
	kq_exit_acct_init_since(&a, &now, 8);
	kq_exit_acct_view(&a, &now, kinds);
	KUNIT_EXPECT_EQ(test, kinds[KVM_QUANTA_EXIT_MMIO], 5);
	KUNIT_EXPECT_EQ(test, kinds[KVM_QUANTA_EXIT_NPF], 3);
	KUNIT_EXPECT_EQ(test, kinds[KVM_QUANTA_EXIT_EMULATION], 0);
	KUNIT_EXPECT_EQ(test, kinds[KVM_QUANTA_EXIT_OTHER], 0);
	KUNIT_EXPECT_EQ(test, kq_test_sum(kinds), 8);
}

static struct kunit_case kq_exit_kind_cases[] = {
	KUNIT_CASE(kq_test_classify_each_kind),
	KUNIT_CASE(kq_test_classify_priority),
	KUNIT_CASE(kq_test_classify_cleared),
	KUNIT_CASE(kq_test_attribute_stream),
	KUNIT_CASE(kq_test_attribute_no_exit),
	KUNIT_CASE(kq_test_attribute_unhooked_exits),
	KUNIT_CASE(kq_test_attribute_unmoved),
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
