// SPDX-License-Identifier: GPL-2.0
/*
 * Exit kinds from KVM's per-vCPU counters, folded per window.
 *
 * KVM counts every exit of a vCPU (stat.exits) and, in the exit handlers,
 * exits of some kinds (io_exits, halt_exits, ...).  Read at each window,
 * the counters that moved since the last window name the kinds of the
 * exits in it: the exit path itself does nothing for them.  What a window
 * cannot tell is which exit moved which counter: one exit that moves two
 * counters (an MMIO exit also takes a page fault and emulates) is counted
 * once, under the first in priority order, and its other counts take the
 * place of exits that moved no counter ("other"), which then read as the
 * lower kind.  Where every exit moves at most one counter, the kinds are
 * exact.
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
 * kq_exit_fold() - add the exits since the last fold, by kind
 * @a: the vCPU's accounting
 * @now: KVM's per-kind counters now, read after @exits
 * @exits: KVM's count of the vCPU's exits now (stat.exits)
 * @settled: every exit in @exits was handled before @now was read (the
 *	vCPU was back in guest mode in between)
 * @late: exits KVM counted while @now was read (stat.exits read again
 *	after @now, less @exits)
 *
 * Each kind in priority order takes as many of the new exits as its
 * counter moved, up to the exits left; exits no counter names are
 * "other".  So the kinds add up to the exits, and none goes back.
 *
 * KVM counts an exit before its handler moves the counters.  Unless
 * @settled, the vCPU's last exit may be in flight: it waits for the next
 * fold.  And a counter may have moved for an exit counted after @exits
 * was read: moves no exit took are kept for the next fold, as many per
 * counter as exits could be behind (1 + @late), so that the extra moves
 * of exits that move two counters (an MMIO exit also takes a page fault
 * and emulates) do not pile up.  A counter that went back was cleared
 * (root can write 0 to KVM's debugfs stats): it names no exit this time,
 * and counts from its new value; stat.exits too, and only then does the
 * count of exits folded go back (a clear that the count has grown past
 * again by the next fold goes unseen: those exits are not counted).
 */
void kq_exit_fold(struct kq_exit_acct *a, const struct kq_exit_stat *now,
		  u64 exits, bool settled, u64 late)
{
	u64 target = !settled && exits ? exits - 1 : exits;
	u64 left = target > a->snap_exits ? target - a->snap_exits : 0;
	u64 carry = late + 1;
	unsigned int i;

	a->exits += left;
	for (i = 0; i < KQ_EXIT_STAT_NR; i++) {
		u64 c = now->c[i], moved, take;

		if (c < a->snap.c[i]) {
			a->snap.c[i] = c;
			continue;
		}
		moved = c - a->snap.c[i];
		take = moved < left ? moved : left;
		a->kinds[i] += take;
		left -= take;
		a->snap.c[i] = moved - take > carry ? c - carry :
			       a->snap.c[i] + take;
	}
	a->kinds[KVM_QUANTA_EXIT_OTHER] += left;
	/* Held back while an exit was in flight, not counted twice later. */
	if (exits < a->snap_exits || target > a->snap_exits)
		a->snap_exits = target;
}

/**
 * kq_exit_acct_init_since() - start accounting from KVM's totals
 * @a: the accounting to reset
 * @now: KVM's per-kind counters at this moment, read after @exits
 * @exits: KVM's count of every exit of the vCPU at this moment
 * @settled: as for kq_exit_fold()
 * @late: as for kq_exit_fold()
 *
 * For a vCPU first seen after it already ran: its exits since creation
 * are folded in one go, so none is lost (kq_exit_fold()).
 */
void kq_exit_acct_init_since(struct kq_exit_acct *a,
			     const struct kq_exit_stat *now, u64 exits,
			     bool settled, u64 late)
{
	*a = (struct kq_exit_acct){};
	kq_exit_fold(a, now, exits, settled, late);
}
