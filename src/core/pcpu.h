/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per physical CPU profile: how much of a window a CPU spent in guest
 * mode, how often it exited, which VM it ran last, and the same for its
 * SMT sibling, whose caches and pipelines it shares.  Pure code.
 */
#ifndef _KQ_CORE_PCPU_H
#define _KQ_CORE_PCPU_H

#include "kq_types.h"
#include "state.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KQ_NO_SIBLING (-1)

/**
 * struct kq_pcpu_reading - cumulative counters of one CPU
 * @guest_ns: time its vCPUs spent in guest mode on it
 * @exits: VM exits taken on it
 * @vm_id: VM of the vCPU that came to it last (its first probe there), 0
 *	for none yet
 */
struct kq_pcpu_reading {
	u64 guest_ns;
	u64 exits;
	u64 vm_id;
};

/**
 * struct kq_pcpu_profile - one CPU over one window
 * @guest_permille: share of the window in guest mode, x 1000
 * @exit_rate_milli: exits per ms of guest time x 1000, KQ_NONE64 if none
 * @vm_id: VM it ran last
 * @sibling: its SMT sibling, KQ_NO_SIBLING if none
 * @sibling_guest_permille: the sibling's share in guest mode
 * @sibling_vm_id: the VM the sibling ran last
 */
struct kq_pcpu_profile {
	u32 guest_permille;
	u64 exit_rate_milli;
	u64 vm_id;
	int sibling;
	u32 sibling_guest_permille;
	u64 sibling_vm_id;
};

void kq_pcpu_profiles(const struct kq_pcpu_reading *prev,
		      const struct kq_pcpu_reading *cur, const int *sibling,
		      unsigned int nr, u64 window_ns,
		      struct kq_pcpu_profile *out);

#ifdef __cplusplus
}
#endif

#endif /* _KQ_CORE_PCPU_H */
