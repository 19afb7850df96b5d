/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Thresholds that fit the processor: the host's own distribution of the
 * PMU metrics the policy compares with fixed thresholds (IPC, LLC MPKI,
 * branch MPKI), and the thresholds read from its percentiles.  What is
 * cache-warm on a processor with a large LLC is not on one with a small
 * one; the constants of struct kq_policy_params stay the cold-start
 * default.  Pure code: integer arithmetic, bounded memory, no allocation.
 */
#ifndef _KQ_CORE_THRESHOLDS_H
#define _KQ_CORE_THRESHOLDS_H

#include "kq_types.h"
#include "policy.h"
#include "state.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The metrics, each in milli units as struct kq_window has them. */
enum kq_dist_metric {
	KQ_DIST_IPC,
	KQ_DIST_LLC_MPKI,
	KQ_DIST_BR_MPKI,
	KQ_DIST_NR,
};

/*
 * Log-scale buckets, 8 per doubling: values under 16 have a bucket each,
 * from there on a bucket spans 1/8 of its power of two, so a percentile
 * is known within 12.5%.  144 buckets reach 2^20 - 1, beyond
 * KQ_PARAM_MPKI_MILLI_MAX (and KQ_PARAM_IPC_MILLI_MAX).
 */
#define KQ_DIST_SUB_BITS 3
#define KQ_DIST_BUCKETS 144

/*
 * A metric's buckets are halved when its total reaches KQ_DIST_CAP, so the
 * distribution weighs the last few thousand windows and old ones fade;
 * thresholds are read from it once a metric has KQ_DIST_MIN samples.
 */
#define KQ_DIST_CAP 4096
#define KQ_DIST_MIN 256

/**
 * struct kq_host_dist - the host's distribution of the PMU metrics
 * @count: windows per metric and bucket
 * @total: windows per metric, the sum of its @count
 *
 * All zero is an empty distribution (kq_dist_init()).
 */
struct kq_host_dist {
	u32 count[KQ_DIST_NR][KQ_DIST_BUCKETS];
	u32 total[KQ_DIST_NR];
};

/* The thresholds kq_thresholds_apply() can derive, as bits of its result. */
enum kq_threshold {
	KQ_THR_WARM_IPC,
	KQ_THR_WARM_LLC_MPKI,
	KQ_THR_WARM_BR_MPKI,
	KQ_THR_FLUSH_LLC_MPKI,
	KQ_THR_NR,
};

void kq_dist_init(struct kq_host_dist *d);
void kq_dist_add(struct kq_host_dist *d, const struct kq_window *w);
void kq_dist_decay(struct kq_host_dist *d);
u32 kq_dist_at_least(const struct kq_host_dist *d, unsigned int metric,
		     u32 pct);
u32 kq_dist_at_most(const struct kq_host_dist *d, unsigned int metric,
		    u32 pct);
unsigned int kq_thresholds_apply(const struct kq_host_dist *d,
				 const struct kq_policy_params *in,
				 struct kq_policy_params *out);
const char *kq_threshold_name(unsigned int t);
u32 kq_threshold_value(const struct kq_policy_params *p, unsigned int t);

#ifdef __cplusplus
}
#endif

#endif /* _KQ_CORE_THRESHOLDS_H */
