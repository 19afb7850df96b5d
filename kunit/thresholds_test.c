// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for thresholds that fit the processor (src/core/thresholds.c):
 * cold start, the buckets, decay, the switch, and the decisions they change
 * on a processor with a small LLC.  The property tests are in
 * userspace/tests/thresholds_test.cpp.
 */
#include <kunit/test.h>
#include <linux/string.h>

#include "thresholds.h"

/* Everything a test needs, on the heap (frame limit). */
struct kq_thr_ctx {
	struct kq_host_dist d;
	struct kq_policy_params in;
	struct kq_policy_params out;
	struct kq_vm_policy vp;
	struct kq_vcpu_policy st;
	struct kq_history h;
	struct kq_window w;
};

static struct kq_thr_ctx *kq_thr_ctx_new(struct kunit *test)
{
	struct kq_thr_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, c);
	kq_dist_init(&c->d);
	kq_policy_defaults(&c->in);
	kq_vm_policy_defaults(&c->vp);
	kq_vcpu_policy_init(&c->st, &c->vp);
	kq_history_init(&c->h);
	return c;
}

/* A window with these derived values and some guest time. */
static void kq_thr_values(struct kq_window *w, u32 ipc, u32 llc, u32 br)
{
	kq_window_init(w);
	w->guest_ns = 1;
	w->ipc_milli = ipc;
	w->llc_mpki_milli = llc;
	w->br_mpki_milli = br;
}

static void kq_thr_add(struct kq_thr_ctx *c, u32 ipc, u32 llc, u32 br,
		       unsigned int times)
{
	unsigned int i;

	kq_thr_values(&c->w, ipc, llc, br);
	for (i = 0; i < times; i++)
		kq_dist_add(&c->d, &c->w);
}

static void kq_test_thr_defaults(struct kunit *test)
{
	struct kq_thr_ctx *c = kq_thr_ctx_new(test);

	KUNIT_EXPECT_EQ(test, c->in.host_thresholds, 1);
	KUNIT_EXPECT_EQ(test, c->in.warm_pct, 25);
	KUNIT_EXPECT_EQ(test, c->in.flush_pct, 90);
}

/* Until a metric has KQ_DIST_MIN windows, and when off: the constants. */
static void kq_test_thr_cold_start(struct kunit *test)
{
	struct kq_thr_ctx *c = kq_thr_ctx_new(test);

	memset(&c->out, 0x5a, sizeof(c->out));
	KUNIT_EXPECT_EQ(test, kq_thresholds_apply(&c->d, &c->in, &c->out), 0);
	KUNIT_EXPECT_EQ(test, memcmp(&c->in, &c->out, sizeof(c->in)), 0);
	kq_thr_add(c, 500, 30000, 8000, KQ_DIST_MIN - 1);
	KUNIT_EXPECT_EQ(test, kq_thresholds_apply(&c->d, &c->in, &c->out), 0);
	KUNIT_EXPECT_EQ(test, memcmp(&c->in, &c->out, sizeof(c->in)), 0);
	kq_thr_add(c, 500, 30000, 8000, 1);
	KUNIT_EXPECT_EQ(test, kq_thresholds_apply(&c->d, &c->in, &c->out),
			(1U << KQ_THR_NR) - 1);
	/* 500 is in [480, 511], 30000 in [28672, 30719], 8000 in [7680, 8191]. */
	KUNIT_EXPECT_EQ(test, c->out.warm_ipc_milli, 480);
	KUNIT_EXPECT_EQ(test, c->out.warm_llc_mpki_milli, 30719);
	KUNIT_EXPECT_EQ(test, c->out.warm_br_mpki_milli, 8191);
	KUNIT_EXPECT_EQ(test, c->out.flush_llc_mpki_milli, 28672);

	c->in.host_thresholds = 0;
	memset(&c->out, 0x5a, sizeof(c->out));
	KUNIT_EXPECT_EQ(test, kq_thresholds_apply(&c->d, &c->in, &c->out), 0);
	KUNIT_EXPECT_EQ(test, memcmp(&c->in, &c->out, sizeof(c->in)), 0);
}

/* Exact under 16, then 8 buckets per doubling; none, no guest time: skipped. */
static void kq_test_thr_buckets(struct kunit *test)
{
	static const u32 v[] = { 0, 7, 15, 16, 17, 1000, 65536, 1000000 };
	static const u32 lo[] = { 0, 7, 15, 16, 16, 960, 65536, 983040 };
	static const u32 hi[] = { 0, 7, 15, 17, 17, 1023, 73727, 1000000 };
	struct kq_thr_ctx *c = kq_thr_ctx_new(test);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		kq_dist_init(&c->d);
		kq_thr_add(c, KQ_NONE32, v[i], KQ_NONE32, 1);
		KUNIT_EXPECT_EQ_MSG(test, kq_dist_at_least(&c->d,
							   KQ_DIST_LLC_MPKI, 50),
				    lo[i], "%u", v[i]);
		KUNIT_EXPECT_EQ_MSG(test, kq_dist_at_most(&c->d,
							  KQ_DIST_LLC_MPKI, 50),
				    hi[i], "%u", v[i]);
	}
	KUNIT_EXPECT_EQ(test, kq_dist_at_least(&c->d, KQ_DIST_IPC, 50),
			KQ_NONE32);
	kq_thr_values(&c->w, 700, 700, 700);
	c->w.guest_ns = 0;
	kq_dist_add(&c->d, &c->w);
	KUNIT_EXPECT_EQ(test, c->d.total[KQ_DIST_IPC], 0);
	KUNIT_EXPECT_EQ(test, c->d.total[KQ_DIST_LLC_MPKI], 1);
}

/* The total stays under the cap; a new level takes over. */
static void kq_test_thr_decay(struct kunit *test)
{
	struct kq_thr_ctx *c = kq_thr_ctx_new(test);
	unsigned int i;

	for (i = 0; i < 3 * KQ_DIST_CAP; i++) {
		kq_thr_add(c, 800, 2000, KQ_NONE32, 1);
		KUNIT_ASSERT_LT(test, c->d.total[KQ_DIST_LLC_MPKI], KQ_DIST_CAP);
	}
	KUNIT_EXPECT_GE(test, c->d.total[KQ_DIST_LLC_MPKI], KQ_DIST_CAP / 2);
	kq_thr_add(c, 800, 40000, KQ_NONE32, 8 * KQ_DIST_CAP);
	/* 40000 is in [36864, 40959]: even the smallest left is there. */
	KUNIT_EXPECT_EQ(test, kq_dist_at_least(&c->d, KQ_DIST_LLC_MPKI, 0),
			36864);
	i = c->d.total[KQ_DIST_IPC];
	kq_dist_decay(&c->d);
	KUNIT_EXPECT_EQ(test, c->d.total[KQ_DIST_IPC], i / 2);
}

/*
 * A processor with a small LLC: windows at 25-60 LLC MPKI, IPC 0.9 down to
 * 0.4 as the misses grow, few exits.  The constants never call one warm;
 * the host's thresholds call about the cache-friendliest quarter warm, and
 * only windows among the friendliest.
 */
static void kq_test_thr_small_cache(struct kunit *test)
{
	struct kq_thr_ctx *c = kq_thr_ctx_new(test);
	unsigned int i, warm[2] = { 0, 0 }, host;
	u32 u, llc_max = 0;

	for (host = 0; host < 2; host++) {
		kq_dist_init(&c->d);
		kq_history_init(&c->h);
		kq_vcpu_policy_init(&c->st, &c->vp);
		c->in.host_thresholds = host;
		for (i = 0; i < 1200; i++) {
			u = (i * 37) % 1001;
			c->w = (struct kq_window){ 0 };
			c->w.window_ns = 100000000;
			c->w.guest_ns = 80000000;
			c->w.run_ns = 80000000;
			c->w.exits = 40;
			c->w.slices = 20;
			c->w.pmu[KVM_QUANTA_EV_CYCLES] = 240000000;
			c->w.pmu[KVM_QUANTA_EV_INSTRUCTIONS] =
				240000 * (900 - u / 2);
			c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] =
				c->w.pmu[KVM_QUANTA_EV_INSTRUCTIONS] *
				(25000 + u * 35) / 1000000;
			c->w.pmu[KVM_QUANTA_EV_BRANCH_MISSES] = KQ_NONE64;
			kq_window_derive(&c->w);
			kq_thresholds_apply(&c->d, &c->in, &c->out);
			kq_policy_window(&c->out, &c->vp, &c->st, &c->w, &c->h);
			kq_history_add(&c->h, &c->w);
			if (kq_policy_uses_pmu(&c->in, &c->w))
				kq_dist_add(&c->d, &c->w);
			if (c->st.reason != KVM_QUANTA_R_WARM)
				continue;
			warm[host]++;
			if (c->w.llc_mpki_milli > llc_max)
				llc_max = c->w.llc_mpki_milli;
		}
	}
	KUNIT_EXPECT_EQ(test, warm[0], 0);
	/* The best quarter of 944 windows after the cold start, within a bucket. */
	KUNIT_EXPECT_GT(test, warm[1], 944 * 20 / 100);
	KUNIT_EXPECT_LT(test, warm[1], 944 * 32 / 100);
	/* The 25th percentile is 33750, in [32768, 36863]. */
	KUNIT_EXPECT_LE(test, llc_max, 36863);
}

static struct kunit_case kq_thresholds_cases[] = {
	KUNIT_CASE(kq_test_thr_defaults),
	KUNIT_CASE(kq_test_thr_cold_start),
	KUNIT_CASE(kq_test_thr_buckets),
	KUNIT_CASE(kq_test_thr_decay),
	KUNIT_CASE(kq_test_thr_small_cache),
	{}
};

static struct kunit_suite kq_thresholds_suite = {
	.name = "kvm_quanta_thresholds",
	.test_cases = kq_thresholds_cases,
};

kunit_test_suites(&kq_thresholds_suite);
