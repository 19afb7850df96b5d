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
 * struct kq_exit_acct - exits of one vCPU, by kind
 * @exits: exits seen at the exit hook
 * @attributed: how many of @exits have been given a kind
 * @snap_sum: the sum of @snap's counters (kq_exit_stat_sum()); next to
 *	what the entry path's fast case reads and writes
 * @kinds: exits by kind; sums to @attributed
 * @snap: KVM's counters when the last exit was attributed
 */
struct kq_exit_acct {
	u64 exits;
	u64 attributed;
	u64 snap_sum;
	u64 kinds[KVM_QUANTA_EXIT_NR];
	struct kq_exit_stat snap;
};

const char *kq_exit_kind_name(unsigned int kind);
enum kvm_quanta_exit_kind kq_exit_classify(const struct kq_exit_stat *before,
					   const struct kq_exit_stat *after);
void kq_exit_acct_init(struct kq_exit_acct *a, const struct kq_exit_stat *now);
void kq_exit_acct_init_since(struct kq_exit_acct *a,
			     const struct kq_exit_stat *now, u64 exits);
void kq_exit_attribute(struct kq_exit_acct *a, const struct kq_exit_stat *now);
void kq_exit_acct_view(const struct kq_exit_acct *a,
		       const struct kq_exit_stat *now,
		       u64 kinds[KVM_QUANTA_EXIT_NR]);

u64 kq_exit_stat_sum(const struct kq_exit_stat *s);

/**
 * kq_exit_attribute_unmoved() - attribute, if no counter moved
 * @a: the vCPU's accounting
 * @sum: the sum of KVM's counters now (what kq_exit_stat_sum() would give
 *	for them), after the exits' handlers ran
 *
 * The entry path's fast case: KVM's counters only grow, so an unchanged
 * sum means none moved, and every exit since the last call is "other", as
 * kq_exit_attribute() would find.  Inline, with the caller summing KVM's
 * counters in place: no snapshot copied, none compared.  The one way it
 * can differ: root clears one of the counters through KVM's debugfs while
 * the exit moves others by exactly as much; then that exit reads "other".
 *
 * Return: true if it attributed them; false if a counter moved, and the
 * caller must call kq_exit_attribute().
 */
static inline bool kq_exit_attribute_unmoved(struct kq_exit_acct *a, u64 sum)
{
	if (sum != a->snap_sum)
		return false;
	a->kinds[KVM_QUANTA_EXIT_OTHER] += a->exits - a->attributed;
	a->attributed = a->exits;
	return true;
}

#ifdef __cplusplus
}
#endif

#endif /* _KQ_CORE_EXIT_KIND_H */
