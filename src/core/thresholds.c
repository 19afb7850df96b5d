// SPDX-License-Identifier: GPL-2.0
/*
 * Thresholds that fit the processor.
 *
 * The policy calls a window warm when its IPC is high and its LLC and
 * branch MPKI are low, and a flush when its LLC MPKI is high; what "high"
 * and "low" mean depends on the microarchitecture (a processor with a
 * small LLC misses at 30 MPKI in windows that another would keep under
 * 1).  So the host's own windows, every vCPU that ran, go into a
 * log-scale histogram per metric, and the thresholds are read from its
 * percentiles: the best warm_pct percent of the host's windows are warm on
 * each metric, the worst flush_pct-th percentile of LLC MPKI starts a
 * flush.  Until a metric has KQ_DIST_MIN samples (cold start, or no PMU),
 * its thresholds stay the configured constants.  Halving a metric's
 * buckets whenever its total reaches KQ_DIST_CAP keeps the counts bounded
 * and lets a changed workload take over.  Exit rates are not derived:
 * an exit costs the same wherever it happens.
 */
#include "thresholds.h"

#include "kq_math.h"

static const char *const kq_threshold_names[KQ_THR_NR] = {
	[KQ_THR_WARM_IPC] = "warm_ipc_milli",
	[KQ_THR_WARM_LLC_MPKI] = "warm_llc_mpki_milli",
	[KQ_THR_WARM_BR_MPKI] = "warm_br_mpki_milli",
	[KQ_THR_FLUSH_LLC_MPKI] = "flush_llc_mpki_milli",
};

/* The buckets reach 2^20 - 1 (kq_dist_low(KQ_DIST_BUCKETS) is 2^20). */
static_assert(KQ_PARAM_MPKI_MILLI_MAX < (1 << 20) &&
	      KQ_PARAM_IPC_MILLI_MAX < (1 << 20),
	      "a metric's largest value beyond the last bucket");

/* A metric's largest value, that of its knobs; above it is clamped. */
static u32 kq_dist_max(unsigned int metric)
{
	return metric == KQ_DIST_IPC ? KQ_PARAM_IPC_MILLI_MAX :
				       KQ_PARAM_MPKI_MILLI_MAX;
}

/*
 * The bucket of @v: its power of two 2^e and its next KQ_DIST_SUB_BITS
 * bits; under 2^(KQ_DIST_SUB_BITS + 1) that is @v itself.
 */
static unsigned int kq_dist_bucket(u32 v)
{
	unsigned int e = KQ_DIST_SUB_BITS;

	while (v >> (e + 1))
		e++;
	return ((e - KQ_DIST_SUB_BITS) << KQ_DIST_SUB_BITS) +
	       (v >> (e - KQ_DIST_SUB_BITS));
}

/* The smallest value of bucket @b (KQ_DIST_BUCKETS: one past the last). */
static u32 kq_dist_low(unsigned int b)
{
	unsigned int e = b >> KQ_DIST_SUB_BITS;

	if (!e)
		return b;
	return ((b & ((1U << KQ_DIST_SUB_BITS) - 1)) + (1U << KQ_DIST_SUB_BITS))
	       << (e - 1);
}

/**
 * kq_dist_init() - an empty distribution
 * @d: output
 */
void kq_dist_init(struct kq_host_dist *d)
{
	unsigned int m, b;

	for (m = 0; m < KQ_DIST_NR; m++) {
		for (b = 0; b < KQ_DIST_BUCKETS; b++)
			d->count[m][b] = 0;
		d->total[m] = 0;
	}
}

/* Halve one metric's buckets: older windows weigh half as much. */
static void kq_dist_halve(struct kq_host_dist *d, unsigned int m)
{
	unsigned int b;
	u32 total = 0;

	for (b = 0; b < KQ_DIST_BUCKETS; b++) {
		d->count[m][b] >>= 1;
		total += d->count[m][b];
	}
	d->total[m] = total;
}

/**
 * kq_dist_add() - count one vCPU's window
 * @d: the distribution
 * @w: the window, derived; one that had no guest time is not counted, nor
 *	a metric that has no value (KQ_NONE32: no PMU, or not counted)
 *
 * A metric whose total reaches KQ_DIST_CAP has its buckets halved.
 * O(1), O(KQ_DIST_BUCKETS) when it halves.
 */
void kq_dist_add(struct kq_host_dist *d, const struct kq_window *w)
{
	const u32 v[KQ_DIST_NR] = {
		[KQ_DIST_IPC] = w->ipc_milli,
		[KQ_DIST_LLC_MPKI] = w->llc_mpki_milli,
		[KQ_DIST_BR_MPKI] = w->br_mpki_milli,
	};
	unsigned int m;

	if (!w->guest_ns)
		return;
	for (m = 0; m < KQ_DIST_NR; m++) {
		u32 x = v[m];

		if (x == KQ_NONE32)
			continue;
		if (x > kq_dist_max(m))
			x = kq_dist_max(m);
		d->count[m][kq_dist_bucket(x)]++;
		if (++d->total[m] >= KQ_DIST_CAP)
			kq_dist_halve(d, m);
	}
}

/**
 * kq_dist_decay() - halve every bucket of every metric
 * @d: the distribution
 *
 * What kq_dist_add() does to a metric whose total reaches KQ_DIST_CAP.
 */
void kq_dist_decay(struct kq_host_dist *d)
{
	unsigned int m;

	for (m = 0; m < KQ_DIST_NR; m++)
		kq_dist_halve(d, m);
}

/*
 * The bucket that holds the @pct-th percentile of @m: the first where the
 * windows counted so far reach @pct percent of the total, rounded up, and
 * at least one (the 0th is the smallest value seen).  A @pct over 100 is
 * the last bucket.
 */
static unsigned int kq_dist_rank(const struct kq_host_dist *d, unsigned int m,
				 u32 pct)
{
	u64 rank = kq_div64((u64)d->total[m] * pct + 99, 100), seen = 0;
	unsigned int b;

	if (!rank)
		rank = 1;
	for (b = 0; b < KQ_DIST_BUCKETS - 1; b++) {
		seen += d->count[m][b];
		if (seen >= rank)
			break;
	}
	return b;
}

/**
 * kq_dist_at_least() - a percentile as an "at least this" threshold
 * @d: the distribution
 * @metric: enum kq_dist_metric
 * @pct: the percentile, 0 to 100
 *
 * Return: the smallest value of the bucket that holds the @pct-th
 * percentile, so that a threshold "at least this" takes that bucket in
 * whole; KQ_NONE32 when the metric has no samples or is out of range.
 */
u32 kq_dist_at_least(const struct kq_host_dist *d, unsigned int metric,
		     u32 pct)
{
	if (metric >= KQ_DIST_NR || !d->total[metric])
		return KQ_NONE32;
	return kq_dist_low(kq_dist_rank(d, metric, pct));
}

/**
 * kq_dist_at_most() - a percentile as an "at most this" threshold
 * @d: the distribution
 * @metric: enum kq_dist_metric
 * @pct: the percentile, 0 to 100
 *
 * Return: the largest value of the bucket that holds the @pct-th
 * percentile, at most the metric's largest, so that a threshold "at most
 * this" takes that bucket in whole; KQ_NONE32 when the metric has no
 * samples or is out of range.
 */
u32 kq_dist_at_most(const struct kq_host_dist *d, unsigned int metric,
		    u32 pct)
{
	u32 top;

	if (metric >= KQ_DIST_NR || !d->total[metric])
		return KQ_NONE32;
	top = kq_dist_low(kq_dist_rank(d, metric, pct) + 1) - 1;
	return top < kq_dist_max(metric) ? top : kq_dist_max(metric);
}

/**
 * kq_thresholds_apply() - the policy's knobs with the host's thresholds
 * @d: the host's distribution
 * @in: the knobs as configured; warm_pct and flush_pct within their ranges
 *	(KQ_PARAM_WARM_PCT_*, KQ_PARAM_FLUSH_PCT_*)
 * @out: output: @in, with the PMU thresholds read from @d where
 *	@in->host_thresholds is on and the metric has KQ_DIST_MIN samples
 *
 * warm_ipc_milli is the (100 - warm_pct)th percentile of IPC, the warm
 * MPKI thresholds the warm_pct-th percentiles of LLC and branch MPKI,
 * flush_llc_mpki_milli the flush_pct-th percentile of LLC MPKI but never
 * less than the knob, which stays the flush's floor (then it is not
 * counted as taken from @d).  Every other knob is @in's.
 * O(KQ_DIST_BUCKETS).
 *
 * Return: the thresholds taken from @d, bits 1 << enum kq_threshold.
 */
unsigned int kq_thresholds_apply(const struct kq_host_dist *d,
				 const struct kq_policy_params *in,
				 struct kq_policy_params *out)
{
	unsigned int from_host = 0;
	u32 flush;

	*out = *in;
	if (!in->host_thresholds)
		return 0;
	if (d->total[KQ_DIST_IPC] >= KQ_DIST_MIN) {
		out->warm_ipc_milli = kq_dist_at_least(d, KQ_DIST_IPC,
						       100 - in->warm_pct);
		from_host |= 1U << KQ_THR_WARM_IPC;
	}
	if (d->total[KQ_DIST_LLC_MPKI] >= KQ_DIST_MIN) {
		out->warm_llc_mpki_milli = kq_dist_at_most(d, KQ_DIST_LLC_MPKI,
							   in->warm_pct);
		/*
		 * Never below the knob: on a host whose windows hardly miss,
		 * the percentile is near 0 and every window would be a flush.
		 */
		flush = kq_dist_at_least(d, KQ_DIST_LLC_MPKI, in->flush_pct);
		if (flush > in->flush_llc_mpki_milli) {
			out->flush_llc_mpki_milli = flush;
			from_host |= 1U << KQ_THR_FLUSH_LLC_MPKI;
		}
		from_host |= 1U << KQ_THR_WARM_LLC_MPKI;
	}
	if (d->total[KQ_DIST_BR_MPKI] >= KQ_DIST_MIN) {
		out->warm_br_mpki_milli = kq_dist_at_most(d, KQ_DIST_BR_MPKI,
							  in->warm_pct);
		from_host |= 1U << KQ_THR_WARM_BR_MPKI;
	}
	return from_host;
}

/**
 * kq_threshold_name() - the knob a derived threshold replaces
 * @t: enum kq_threshold
 *
 * Return: its name in policy/, or NULL when out of range.
 */
const char *kq_threshold_name(unsigned int t)
{
	return t < KQ_THR_NR ? kq_threshold_names[t] : NULL;
}

/**
 * kq_threshold_value() - a threshold's value in a set of knobs
 * @p: the knobs
 * @t: enum kq_threshold
 *
 * Return: its value, or KQ_NONE32 when @t is out of range.
 */
u32 kq_threshold_value(const struct kq_policy_params *p, unsigned int t)
{
	switch (t) {
	case KQ_THR_WARM_IPC:
		return p->warm_ipc_milli;
	case KQ_THR_WARM_LLC_MPKI:
		return p->warm_llc_mpki_milli;
	case KQ_THR_WARM_BR_MPKI:
		return p->warm_br_mpki_milli;
	case KQ_THR_FLUSH_LLC_MPKI:
		return p->flush_llc_mpki_milli;
	default:
		return KQ_NONE32;
	}
}
