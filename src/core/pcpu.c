// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU profiles with the SMT sibling's view beside each CPU's own, so a
 * policy can tell a vCPU whose sibling thread runs another VM's cache-heavy
 * code from one whose sibling is idle.
 */
#include "pcpu.h"

static u32 kq_permille(u64 part, u64 whole)
{
	if (!whole)
		return 0;
	if (part >= whole)
		return 1000;
	return (u32)(part * 1000 / whole);
}

/**
 * kq_pcpu_profiles() - every CPU's profile over a window
 * @prev: readings at the window's start, @nr entries
 * @cur: readings at its end
 * @sibling: each CPU's SMT sibling, KQ_NO_SIBLING for none
 * @nr: number of CPUs
 * @window_ns: the window's length
 * @out: output, @nr entries
 */
void kq_pcpu_profiles(const struct kq_pcpu_reading *prev,
		      const struct kq_pcpu_reading *cur, const int *sibling,
		      unsigned int nr, u64 window_ns,
		      struct kq_pcpu_profile *out)
{
	unsigned int c;
	u64 guest, exits;

	for (c = 0; c < nr; c++) {
		guest = cur[c].guest_ns - prev[c].guest_ns;
		exits = cur[c].exits - prev[c].exits;
		out[c].guest_permille = kq_permille(guest, window_ns);
		/* Same unit as a vCPU's exit rate; small numbers, no overflow. */
		out[c].exit_rate_milli = guest && exits <= KQ_NONE64 / 1000000000 ?
					 exits * 1000000000 / guest : KQ_NONE64;
		out[c].vm_id = cur[c].vm_id;
	}
	for (c = 0; c < nr; c++) {
		int s = sibling[c];

		if (s < 0 || (unsigned int)s >= nr || (unsigned int)s == c) {
			out[c].sibling = KQ_NO_SIBLING;
			out[c].sibling_guest_permille = 0;
			out[c].sibling_vm_id = 0;
			continue;
		}
		out[c].sibling = s;
		out[c].sibling_guest_permille = out[s].guest_permille;
		out[c].sibling_vm_id = out[s].vm_id;
	}
}
