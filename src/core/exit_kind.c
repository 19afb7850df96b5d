// SPDX-License-Identifier: GPL-2.0
/*
 * Exit kinds from KVM's per-vCPU counters.
 *
 * KVM bumps its per-kind counters (io_exits, halt_exits, ...) in the exit
 * handlers, which run after the kvm_exit tracepoint.  So an exit is counted
 * when it happens and given its kind later, from the counters that moved
 * between that exit and the next entry (or the moment someone looks).
 */
#include "exit_kind.h"

static const char *const kq_exit_kind_names[KVM_QUANTA_EXIT_NR] = {
	[KVM_QUANTA_EXIT_IO] = "io",
	[KVM_QUANTA_EXIT_MMIO] = "mmio",
	[KVM_QUANTA_EXIT_HLT] = "hlt",
	[KVM_QUANTA_EXIT_INTR] = "intr",
	[KVM_QUANTA_EXIT_NPF] = "npf",
	[KVM_QUANTA_EXIT_HYPERCALL] = "hypercall",
	[KVM_QUANTA_EXIT_IRQ_WINDOW] = "irq_window",
	[KVM_QUANTA_EXIT_NMI_WINDOW] = "nmi_window",
	[KVM_QUANTA_EXIT_EMULATION] = "emulation",
	[KVM_QUANTA_EXIT_OTHER] = "other",
};

/**
 * kq_exit_kind_name() - sysfs and telemetry name of an exit kind
 * @kind: an enum kvm_quanta_exit_kind value
 *
 * Return: the name, or NULL for a value out of range.
 */
const char *kq_exit_kind_name(unsigned int kind)
{
	return kind < KVM_QUANTA_EXIT_NR ? kq_exit_kind_names[kind] : NULL;
}

/**
 * kq_exit_classify() - kind of the exit handled between two snapshots
 * @before: KVM's counters before the exit was handled
 * @after: KVM's counters after it
 *
 * The first counter in priority order that grew names the kind.  A counter
 * that went back was cleared (root can write 0 to KVM's debugfs stats):
 * that is no exit.  A u64 counter does not wrap.
 *
 * Return: the exit's kind, KVM_QUANTA_EXIT_OTHER when no counter grew.
 */
enum kvm_quanta_exit_kind kq_exit_classify(const struct kq_exit_stat *before,
					   const struct kq_exit_stat *after)
{
	unsigned int i;

	for (i = 0; i < KQ_EXIT_STAT_NR; i++)
		if (after->c[i] > before->c[i])
			return (enum kvm_quanta_exit_kind)i;
	return KVM_QUANTA_EXIT_OTHER;
}

/**
 * kq_exit_stat_sum() - the sum of a snapshot's counters
 * @s: the snapshot
 *
 * Return: the sum, modulo 2^64.
 */
u64 kq_exit_stat_sum(const struct kq_exit_stat *s)
{
	unsigned int i;
	u64 sum = 0;

	for (i = 0; i < KQ_EXIT_STAT_NR; i++)
		sum += s->c[i];
	return sum;
}

/**
 * kq_exit_acct_init() - start accounting from a counter snapshot
 * @a: the accounting to reset
 * @now: KVM's counters at this moment
 */
void kq_exit_acct_init(struct kq_exit_acct *a, const struct kq_exit_stat *now)
{
	unsigned int i;

	a->exits = 0;
	a->attributed = 0;
	for (i = 0; i < KVM_QUANTA_EXIT_NR; i++)
		a->kinds[i] = 0;
	a->snap = *now;
	a->snap_sum = kq_exit_stat_sum(now);
}

/* Give @pending unattributed exits, the first of them of @kind, kinds. */
static void kq_exit_count(u64 kinds[KVM_QUANTA_EXIT_NR], u64 pending,
			  unsigned int kind)
{
	if (!pending)
		return;
	kinds[kind]++;
	/*
	 * More than one exit between two looks happens only when an exit
	 * bypassed the hook that attributes (a vendor fastpath re-entry):
	 * the counters cannot tell them apart, so they count as other.
	 */
	kinds[KVM_QUANTA_EXIT_OTHER] += pending - 1;
}

/**
 * kq_exit_attribute() - attribute the exits seen since the last call
 * @a: the vCPU's accounting
 * @now: KVM's counters now, after the exits' handlers ran
 *
 * Called before the vCPU re-enters the guest.  Counters that moved without
 * an exit (signal exits, requests) are absorbed into the snapshot so they
 * do not colour the next exit.
 */
void kq_exit_attribute(struct kq_exit_acct *a, const struct kq_exit_stat *now)
{
	unsigned int i, kind = KVM_QUANTA_EXIT_OTHER;
	u64 sum = 0;

	const u64 *c = now->c;
	u64 *snap = a->snap.c;

	/*
	 * kq_exit_classify(), the snapshot's update and its sum in one pass:
	 * the entry path's slow case.  Through pointers, not subscripts, which
	 * a UBSAN_BOUNDS kernel (Debian's 7.x) checks at every access.
	 */
	for (i = 0; i < KQ_EXIT_STAT_NR; i++, c++, snap++) {
		if (*c > *snap && kind == KVM_QUANTA_EXIT_OTHER)
			kind = i;
		*snap = *c;
		sum += *c;
	}
	kq_exit_count(a->kinds, a->exits - a->attributed, kind);
	a->attributed = a->exits;
	a->snap_sum = sum;
}

/**
 * kq_exit_acct_view() - exits by kind as of now, for a reader
 * @a: a consistent copy of the vCPU's accounting
 * @now: KVM's counters now
 * @kinds: output, exits by kind
 *
 * Includes the exits not attributed yet (the vCPU left the guest and has
 * not re-entered), so a reader sees every exit with its kind even when the
 * vCPU never runs again.
 */
void kq_exit_acct_view(const struct kq_exit_acct *a,
		       const struct kq_exit_stat *now,
		       u64 kinds[KVM_QUANTA_EXIT_NR])
{
	unsigned int i;

	for (i = 0; i < KVM_QUANTA_EXIT_NR; i++)
		kinds[i] = a->kinds[i];
	kq_exit_count(kinds, a->exits - a->attributed,
		      kq_exit_classify(&a->snap, now));
}

/**
 * kq_exit_acct_init_since() - start accounting from KVM's totals
 * @a: the accounting to reset
 * @now: KVM's per-kind counters at this moment
 * @exits: KVM's count of every exit of the vCPU at this moment
 *
 * For a vCPU first seen after it already ran (registered in process
 * context, see registry.c): its exits since creation are taken from KVM's
 * counters, so none is lost.  Per-kind counters that together exceed
 * @exits (one exit can move two) are capped in priority order; exits no
 * counter explains are "other".
 */
void kq_exit_acct_init_since(struct kq_exit_acct *a,
			     const struct kq_exit_stat *now, u64 exits)
{
	u64 left = exits;
	unsigned int i;

	/* Every kind is written: those with a counter here, "other" below. */
	for (i = 0; i < KQ_EXIT_STAT_NR; i++) {
		a->kinds[i] = now->c[i] < left ? now->c[i] : left;
		left -= a->kinds[i];
	}
	a->kinds[KVM_QUANTA_EXIT_OTHER] = left;
	a->exits = exits;
	a->attributed = exits;
	a->snap = *now;
	a->snap_sum = kq_exit_stat_sum(now);
}
