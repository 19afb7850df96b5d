/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SMT siblings in the decision: a cache-hungry vCPU whose CPU's SMT
 * sibling runs cache-hungry work too is not extended, and the one of the
 * pair that misses more is cut short.  Pure code: integer arithmetic, no
 * allocation (the caller gives the per-CPU scratch).
 */
#ifndef _KQ_CORE_SMT_H
#define _KQ_CORE_SMT_H

#include "kq_types.h"
#include "pcpu.h"
#include "policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Cache-hungry vCPUs ran on the sibling this share of the window or more:
 * a quarter, so that a sibling that shares its CPU with cold work counts.
 */
#define KQ_SMT_BUSY_PCT 25

/**
 * struct kq_smt_vcpu - one vCPU's window, for kq_smt_window()
 * @cpu: the CPU it ran on most in the window, -1 when not known
 * @run_ns: its run time in the window
 * @llc_mpki_milli: its window's LLC MPKI x 1000, KQ_NONE32 without a PMU
 * @press: out: enum kq_smt_press
 */
struct kq_smt_vcpu {
	s32 cpu;
	u64 run_ns;
	u32 llc_mpki_milli;
	u32 press;
};

bool kq_smt_hungry(const struct kq_policy_params *p, u32 llc_mpki_milli);
void kq_smt_window(const struct kq_policy_params *p, struct kq_smt_vcpu *v,
		   unsigned int n, const s32 *sibling, unsigned int nr_cpus,
		   u64 window_ns, u64 *hungry_ns, u32 *hungry_max);

#ifdef __cplusplus
}
#endif

#endif /* _KQ_CORE_SMT_H */
