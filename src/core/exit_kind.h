/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Classifying VM exits into vendor-neutral kinds from KVM's per-vCPU
 * counters.  Pure code: no kernel dependency beyond types.
 */
#ifndef _KQ_CORE_EXIT_KIND_H
#define _KQ_CORE_EXIT_KIND_H

#include "kq_types.h"
#include <linux/kvm_quanta.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * One KVM per-vCPU counter (struct kvm_vcpu_stat) per exit kind except
 * KVM_QUANTA_EXIT_OTHER, at the kind's index: c[KVM_QUANTA_EXIT_IO] is
 * io_exits, c[KVM_QUANTA_EXIT_NPF] is pf_taken, and so on.
 */
#define KQ_EXIT_STAT_NR KVM_QUANTA_EXIT_OTHER

/**
 * struct kq_exit_stat - snapshot of the KVM counters that tell exit kinds
 * @c: counter values, indexed by enum kvm_quanta_exit_kind
 */
struct kq_exit_stat {
	u64 c[KQ_EXIT_STAT_NR];
};

/**
 * struct kq_exit_acct - exits of one vCPU, by kind, as of the last fold
 * @exits: exits counted; the sum of @kinds, never going back
 * @kinds: exits by kind
 * @snap_exits: KVM's count of the vCPU's exits (stat.exits) folded so far
 * @snap: KVM's per-kind counters at the last fold, less the moves no exit
 *	took yet (kq_exit_fold())
 *
 * Folded from KVM's counters at every window (kq_exit_fold()): nothing on
 * the exit path.
 */
struct kq_exit_acct {
	u64 exits;
	u64 kinds[KVM_QUANTA_EXIT_NR];
	u64 snap_exits;
	struct kq_exit_stat snap;
};

const char *kq_exit_kind_name(unsigned int kind);
void kq_exit_acct_init_since(struct kq_exit_acct *a,
			     const struct kq_exit_stat *now, u64 exits,
			     bool settled, u64 late);
void kq_exit_fold(struct kq_exit_acct *a, const struct kq_exit_stat *now,
		  u64 exits, bool settled, u64 late);

#ifdef __cplusplus
}
#endif

#endif /* _KQ_CORE_EXIT_KIND_H */
