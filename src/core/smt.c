// SPDX-License-Identifier: GPL-2.0
/*
 * SMT siblings in the decision.
 *
 * Two hardware threads of one core share its caches.  A vCPU that misses
 * the LLC a lot (cache-hungry) gains little from a longer slice while the
 * other thread runs cache-hungry work too: each evicts what the other
 * warmed.  So, per window, for each cache-hungry vCPU whose CPU's sibling
 * ran cache-hungry vCPUs at least KQ_SMT_BUSY_PCT of the window:
 *
 *   pressed:   it is not extended (a warm window stays at the base);
 *   thrasher:  it misses at least as much as the worst on the sibling: it
 *              is cut short, so that its CPU's other work, if any, runs
 *              beside the sibling's instead.
 *
 * Cache-hungry: LLC MPKI at least smt_hungry_pct percent of the flush
 * threshold in use, which follows the processor where the thresholds are
 * the host's (kq_thresholds_apply()).  Without a PMU nothing is hungry.
 * The decision itself is kq_policy_window()'s (reason smt).
 */
#include "smt.h"

#include "kq_math.h"

/**
 * kq_smt_hungry() - is a window's LLC miss rate cache-hungry?
 * @p: host-wide knobs, with the thresholds in use
 * @llc_mpki_milli: the window's LLC MPKI x 1000, KQ_NONE32 if not counted
 *
 * Return: true when smt_hungry_pct is on and the rate is at least that
 * percent of flush_llc_mpki_milli.
 */
bool kq_smt_hungry(const struct kq_policy_params *p, u32 llc_mpki_milli)
{
	/* No misses is never hungry, whatever the flush threshold. */
	if (!p->smt_hungry_pct || llc_mpki_milli == KQ_NONE32 || !llc_mpki_milli)
		return false;
	return (u64)llc_mpki_milli * 100 >=
	       (u64)p->flush_llc_mpki_milli * p->smt_hungry_pct;
}

/**
 * kq_smt_window() - which vCPUs share a core with cache-hungry work
 * @p: host-wide knobs, with the thresholds in use
 * @v: the window's vCPUs; press is set for each (enum kq_smt_press)
 * @n: how many
 * @sibling: for each CPU, its SMT sibling or KQ_NO_SIBLING (-1)
 * @nr_cpus: CPUs in @sibling and the scratch arrays
 * @window_ns: the window's length
 * @hungry_ns: scratch, @nr_cpus entries: hungry run time per CPU
 * @hungry_max: scratch, @nr_cpus entries: the worst LLC MPKI per CPU
 *
 * See the top of this file.  A vCPU counts on the CPU it ran on most, so
 * it is never its own sibling's work.  O(n + nr_cpus).
 */
void kq_smt_window(const struct kq_policy_params *p, struct kq_smt_vcpu *v,
		   unsigned int n, const s32 *sibling, unsigned int nr_cpus,
		   u64 window_ns, u64 *hungry_ns, u32 *hungry_max)
{
	unsigned int i, c;
	s32 s;

	for (c = 0; c < nr_cpus; c++) {
		hungry_ns[c] = 0;
		hungry_max[c] = 0;
	}
	for (i = 0; i < n; i++) {
		v[i].press = KQ_SMT_NONE;
		if (v[i].cpu < 0 || (u32)v[i].cpu >= nr_cpus ||
		    !kq_smt_hungry(p, v[i].llc_mpki_milli))
			continue;
		c = (u32)v[i].cpu;
		hungry_ns[c] += v[i].run_ns;
		if (v[i].llc_mpki_milli > hungry_max[c])
			hungry_max[c] = v[i].llc_mpki_milli;
	}
	for (i = 0; i < n; i++) {
		if (v[i].cpu < 0 || (u32)v[i].cpu >= nr_cpus ||
		    !kq_smt_hungry(p, v[i].llc_mpki_milli))
			continue;
		s = sibling[v[i].cpu];
		if (s < 0 || (u32)s >= nr_cpus || s == v[i].cpu ||
		    hungry_ns[s] * 100 < window_ns * KQ_SMT_BUSY_PCT)
			continue;
		v[i].press = v[i].llc_mpki_milli >= hungry_max[s] ?
			     KQ_SMT_THRASHER : KQ_SMT_PRESSED;
	}
}
