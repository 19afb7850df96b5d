// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for SMT siblings in the decision (src/core/smt.c) on a fake
 * topology, which the rig (TCG: no SMT, no PMU) cannot show: four CPUs as
 * two SMT pairs and one CPU without a sibling.  The decisions the result
 * drives are in kunit/policy_test.c (kq_test_smt).
 */
#include <kunit/test.h>

#include "smt.h"

#define KQ_ST_MS 1000000ULL

/* CPUs 0/2 and 1/3 are siblings; 4 has none. */
static const s32 kq_st_sibling[5] = { 2, 3, 0, 1, KQ_NO_SIBLING };

static void kq_st_vcpu(struct kq_smt_vcpu *v, s32 cpu, u64 run_ms, u32 llc)
{
	v->cpu = cpu;
	v->run_ns = run_ms * KQ_ST_MS;
	v->llc_mpki_milli = llc;
	v->press = 0x5a;
}

static void kq_st_run(const struct kq_policy_params *p, struct kq_smt_vcpu *v,
		      unsigned int n)
{
	u64 hungry_ns[5];
	u32 hungry_max[5];

	kq_smt_window(p, v, n, kq_st_sibling, 5, 100 * KQ_ST_MS, hungry_ns,
		      hungry_max);
}

/* Who is pressed, who thrashes, who is left alone. */
static void kq_test_smt_pairs(struct kunit *test)
{
	struct kq_policy_params p;
	struct kq_smt_vcpu v[7];

	kq_policy_defaults(&p);	/* hungry: LLC MPKI >= 10 (half of 20) */
	kq_st_vcpu(&v[0], 0, 80, 30000);	/* misses the most of the pair */
	kq_st_vcpu(&v[1], 2, 80, 20000);
	kq_st_vcpu(&v[2], 0, 20, 1000);		/* not hungry, beside v[1] */
	kq_st_vcpu(&v[3], 1, 90, 50000);	/* sibling 3 idle */
	kq_st_vcpu(&v[4], 4, 90, 50000);	/* no sibling */
	kq_st_vcpu(&v[5], 5, 90, 50000);	/* a CPU beyond nr_cpus */
	kq_st_vcpu(&v[6], 2, 90, KQ_NONE32);	/* no PMU */
	kq_st_run(&p, v, 7);
	KUNIT_EXPECT_EQ(test, v[0].press, KQ_SMT_THRASHER);
	KUNIT_EXPECT_EQ(test, v[1].press, KQ_SMT_PRESSED);
	KUNIT_EXPECT_EQ(test, v[2].press, KQ_SMT_NONE);
	KUNIT_EXPECT_EQ(test, v[3].press, KQ_SMT_NONE);
	KUNIT_EXPECT_EQ(test, v[4].press, KQ_SMT_NONE);
	KUNIT_EXPECT_EQ(test, v[5].press, KQ_SMT_NONE);
	KUNIT_EXPECT_EQ(test, v[6].press, KQ_SMT_NONE);

	/* Equal misses: both thrash, both are cut. */
	kq_st_vcpu(&v[0], 0, 80, 20000);
	kq_st_vcpu(&v[1], 2, 80, 20000);
	kq_st_run(&p, v, 2);
	KUNIT_EXPECT_EQ(test, v[0].press, KQ_SMT_THRASHER);
	KUNIT_EXPECT_EQ(test, v[1].press, KQ_SMT_THRASHER);
}

/* The sibling's hungry time: a quarter of the window, summed. */
static void kq_test_smt_busy(struct kunit *test)
{
	struct kq_policy_params p;
	struct kq_smt_vcpu v[3];

	kq_policy_defaults(&p);
	kq_st_vcpu(&v[0], 1, 90, 20000);
	kq_st_vcpu(&v[1], 3, 24, 30000);
	kq_st_run(&p, v, 2);
	KUNIT_EXPECT_EQ(test, v[0].press, KQ_SMT_NONE);
	/* The sibling's side: CPU 1 was hungry 90% of the window. */
	KUNIT_EXPECT_EQ(test, v[1].press, KQ_SMT_THRASHER);

	kq_st_vcpu(&v[1], 3, 25, 30000);
	kq_st_run(&p, v, 2);
	KUNIT_EXPECT_EQ(test, v[0].press, KQ_SMT_PRESSED);

	/* Two on the sibling, 15 + 10 ms: the worst of them counts. */
	kq_st_vcpu(&v[1], 3, 15, 15000);
	kq_st_vcpu(&v[2], 3, 10, 25000);
	kq_st_run(&p, v, 3);
	KUNIT_EXPECT_EQ(test, v[0].press, KQ_SMT_PRESSED);
	kq_st_vcpu(&v[0], 1, 90, 25000);
	kq_st_run(&p, v, 3);
	KUNIT_EXPECT_EQ(test, v[0].press, KQ_SMT_THRASHER);
}

/* Hungry is smt_hungry_pct of the flush threshold in use; 0 is off. */
static void kq_test_smt_hungry(struct kunit *test)
{
	struct kq_policy_params p;
	struct kq_smt_vcpu v[2];

	kq_policy_defaults(&p);
	KUNIT_EXPECT_TRUE(test, kq_smt_hungry(&p, 10000));
	KUNIT_EXPECT_FALSE(test, kq_smt_hungry(&p, 9999));
	KUNIT_EXPECT_FALSE(test, kq_smt_hungry(&p, KQ_NONE32));
	/* A host threshold of 60 MPKI (small cache): 30 is hungry. */
	p.flush_llc_mpki_milli = 60000;
	KUNIT_EXPECT_FALSE(test, kq_smt_hungry(&p, 29999));
	KUNIT_EXPECT_TRUE(test, kq_smt_hungry(&p, 30000));
	p.smt_hungry_pct = 100;
	KUNIT_EXPECT_FALSE(test, kq_smt_hungry(&p, 59999));
	KUNIT_EXPECT_TRUE(test, kq_smt_hungry(&p, 60000));
	p.smt_hungry_pct = 0;
	KUNIT_EXPECT_FALSE(test, kq_smt_hungry(&p, 1000000));
	kq_st_vcpu(&v[0], 0, 80, 1000000);
	kq_st_vcpu(&v[1], 2, 80, 1000000);
	kq_st_run(&p, v, 2);
	KUNIT_EXPECT_EQ(test, v[0].press, KQ_SMT_NONE);
	KUNIT_EXPECT_EQ(test, v[1].press, KQ_SMT_NONE);
}

static struct kunit_case kq_smt_cases[] = {
	KUNIT_CASE(kq_test_smt_pairs),
	KUNIT_CASE(kq_test_smt_busy),
	KUNIT_CASE(kq_test_smt_hungry),
	{}
};

static struct kunit_suite kq_smt_suite = {
	.name = "kvm_quanta_smt",
	.test_cases = kq_smt_cases,
};

kunit_test_suites(&kq_smt_suite);
