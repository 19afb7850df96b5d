/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Phase placement within a group: VMs an operator declares interchangeable
 * (replicas of one service) that share a CPU split their weight toward the
 * one that does the current phase better.  Pure code: integer arithmetic,
 * no allocation.
 */
#ifndef _KQ_CORE_GROUP_H
#define _KQ_CORE_GROUP_H

#include "kq_types.h"
#include "policy.h"
#include "state.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Efficiencies within this many percent of their set's mean are even: the
 * lasting shift moves back toward 0 instead of toward either bound.
 */
#define KQ_GROUP_EVEN_PCT 5

/*
 * A member competes only when runnable this share of the window or more:
 * weight counts only while runnable, so a favoured member alone beside
 * others would take their time (see kq_group_member_init()).  Not more:
 * the scheduler adds a wait to run_delay when it ends, so a vCPU waiting
 * at the window's end shows a slice or more less (three CPU-bound vCPUs
 * with 8 ms slices: down to 84%).
 */
#define KQ_GROUP_RUNNABLE_PCT 75

/**
 * struct kq_group_member - one vCPU of a grouped VM, for one window
 * @group: its VM's group (struct kq_vm_policy), never 0 here
 * @vm: its VM: a set needs members of two VMs at least
 * @cpu: the one CPU it ran on in the window, -1 when it ran on several
 * @competes: on one CPU, runnable KQ_GROUP_RUNNABLE_PCT of the window or
 *	more, and ran in the guest
 * @ipc_milli: its window's IPC x 1000, KQ_NONE32 without a PMU
 * @per_exit_ns: guest time per VM exit in its window (all of it when it
 *	made no exit)
 * @weight: in: its ledger weight, kq_ledger_weight(); out: shifted
 * @lasting_pct: in/out: its lasting shift, percent (st->group_pct)
 * @shift_pct: out: the shift of @weight applied in this window, percent
 * @idx: scratch, kq_group_window()'s own
 */
struct kq_group_member {
	u32 group;
	u64 vm;
	s32 cpu;
	bool competes;
	u32 ipc_milli;
	u64 per_exit_ns;
	u32 weight;
	s32 lasting_pct;
	s32 shift_pct;
	u32 idx;
};

void kq_group_member_init(struct kq_group_member *m, u32 group, u64 vm,
			  s32 cpu, const struct kq_window *w, u32 weight,
			  s32 lasting_pct);
void kq_group_window(const struct kq_policy_params *p,
		     struct kq_group_member *m, unsigned int n);

#ifdef __cplusplus
}
#endif

#endif /* _KQ_CORE_GROUP_H */
