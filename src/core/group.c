// SPDX-License-Identifier: GPL-2.0
/*
 * Phase placement within a group.
 *
 * The design gives more time to the VM that does the current task better
 * and less to the other, both for the event at hand and as a lasting
 * change of parameters.  Across tenants that would let one tenant's VM take
 * another's time, so it acts only within a group an operator declares (the
 * VM knob "group": replicas of one service, whose work can go to either).
 *
 * Each window, the grouped vCPUs that compete for one CPU form a set: of
 * one group, on that CPU alone for the window (a vCPU's weight is its
 * thread's on every CPU it runs on), runnable at least
 * KQ_GROUP_RUNNABLE_PCT of the window (weight counts only while runnable:
 * a favoured member beside others while its partner sleeps would take
 * their time), from two VMs at least.  Each one's efficiency is its IPC
 * when a PMU counts every member's, else its guest time per VM exit: the
 * time the guest ran between two trips into the hypervisor, longer for a
 * vCPU whose work costs fewer exits.  Against the set's mean, a member's
 * shift is:
 *
 *   the regimen:  its relative efficiency in this window, in percent,
 *                 bounded by half of group_shift_pct (the rest rounded to
 *                 it): the phase at hand goes to who does it better;
 *   the lasting:  one percent per window toward +half when it was better
 *                 than the mean by more than KQ_GROUP_EVEN_PCT, toward
 *                 -half when worse, back toward 0 when even: a parameter
 *                 that stays while the vCPU stays in its group.
 *
 * The shifts are made zero-sum over the set's weights and scaled down so
 * that none exceeds group_shift_pct; each member's ledger weight moves by
 * its shift.  The set's weight is unchanged to rounding (each member's
 * change is rounded toward zero: at most one unit each, 10^-5 of a normal
 * vCPU's weight), so a vCPU outside it on the same CPU keeps its share
 * while the members are runnable; the ledger then charges each member
 * against its shifted weight, so the shift is a change of due share, not
 * a debt paid back later.
 */
#include "group.h"

#include "kq_math.h"
#include "kq_sort.h"

/**
 * kq_group_member_init() - a grouped vCPU's entry for kq_group_window()
 * @m: output
 * @group: its VM's group, not 0
 * @vm: its VM
 * @cpu: the one CPU it ran on in the window, -1 when it ran on several
 * @w: its window, derived
 * @weight: its ledger weight, kq_ledger_weight()
 * @lasting_pct: its lasting shift so far
 */
void kq_group_member_init(struct kq_group_member *m, u32 group, u64 vm,
			  s32 cpu, const struct kq_window *w, u32 weight,
			  s32 lasting_pct)
{
	m->group = group;
	m->vm = vm;
	m->cpu = cpu;
	m->competes = cpu >= 0 && w->guest_ns &&
		      (w->run_ns + w->wait_ns) * 100 >=
		      w->window_ns * KQ_GROUP_RUNNABLE_PCT;
	m->ipc_milli = w->ipc_milli;
	m->per_exit_ns = w->exits ? kq_div64(w->guest_ns, w->exits) :
				    w->guest_ns;
	m->weight = weight;
	m->lasting_pct = lasting_pct;
	/* shift_pct and idx are kq_group_window()'s to set. */
}

static s32 kq_group_clamp(s32 v, s32 bound)
{
	return v > bound ? bound : v < -bound ? -bound : v;
}

static u64 kq_group_eff(const struct kq_group_member *m, bool ipc)
{
	return ipc ? m->ipc_milli : m->per_exit_ns;
}

/*
 * A member's regimen and lasting step from its efficiency against the
 * set's mean; returns its shift before the set's balance, percent.
 */
static s32 kq_group_step(struct kq_group_member *m, u64 eff, u64 mean,
			 s32 lb, s32 eb)
{
	u64 diff = eff > mean ? eff - mean : mean - eff;
	s32 rel, goal = 0;

	/* Percent of the mean, saturated above any bound that matters. */
	rel = (s32)kq_mul_div(diff, 100, mean, KQ_PARAM_PCT_MAX);
	if (eff < mean)
		rel = -rel;
	if (rel > KQ_GROUP_EVEN_PCT)
		goal = lb;
	else if (rel < -KQ_GROUP_EVEN_PCT)
		goal = -lb;
	if (m->lasting_pct < goal)
		m->lasting_pct++;
	else if (m->lasting_pct > goal)
		m->lasting_pct--;
	return kq_group_clamp(rel, eb) + m->lasting_pct;
}

/* The set m[0..k-1], k >= 2, of at least two VMs. */
static void kq_group_set(const struct kq_policy_params *p,
			 struct kq_group_member *m, unsigned int k)
{
	s32 bound = (s32)p->group_shift_pct, lb = bound / 2, eb = bound - lb;
	u64 sum = 0, mean, wsum = 0, mag, max = 0, limit, delta;
	bool ipc = true;
	s64 wshift = 0, d;
	unsigned int i;

	for (i = 0; i < k; i++) {
		ipc = ipc && m[i].ipc_milli != KQ_NONE32;
		wsum += m[i].weight;
	}
	if (!wsum)
		return;	/* the ledger's weights are at least 1 */
	for (i = 0; i < k; i++)
		sum += kq_group_eff(&m[i], ipc);
	mean = kq_div64(sum, k);
	for (i = 0; i < k; i++) {
		/* All zero says nothing: nobody's regimen, lasting holds. */
		m[i].shift_pct = mean ? kq_group_step(&m[i],
						      kq_group_eff(&m[i], ipc),
						      mean, lb, eb) :
					m[i].lasting_pct;
		wshift += (s64)m[i].weight * m[i].shift_pct;
	}
	/*
	 * Zero-sum: member i's shift becomes d_i / wsum percent with
	 * d_i = shift_i * wsum - sum_j(weight_j * shift_j), so that
	 * sum_i(weight_i * d_i) = 0; scaled so none exceeds the bound.
	 */
	for (i = 0; i < k; i++) {
		d = (s64)m[i].shift_pct * (s64)wsum - wshift;
		mag = d < 0 ? -(u64)d : (u64)d;
		if (mag > max)
			max = mag;
	}
	limit = (u64)bound * wsum;
	for (i = 0; i < k; i++) {
		d = (s64)m[i].shift_pct * (s64)wsum - wshift;
		mag = d < 0 ? -(u64)d : (u64)d;
		if (max > limit)
			mag = kq_mul_div(mag, limit, max, limit);
		delta = kq_mul_div(m[i].weight, mag, 100 * wsum, m[i].weight);
		m[i].shift_pct = (s32)kq_div64(mag, wsum);
		if (d < 0) {
			m[i].shift_pct = -m[i].shift_pct;
			m[i].weight -= (u32)delta;
		} else {
			delta += m[i].weight;
			m[i].weight = delta > 0xffffffffULL ? 0xffffffffU :
							     (u32)delta;
		}
		if (!m[i].weight)
			m[i].weight = 1;
	}
}

/*
 * by_set: competing members first, by group, CPU, then input order;
 * otherwise input order.  A strict total order either way.
 */
static bool kq_group_before(const struct kq_group_member *a,
			    const struct kq_group_member *b, bool by_set)
{
	if (by_set) {
		if (a->competes != b->competes)
			return a->competes;
		if (a->group != b->group)
			return a->group < b->group;
		if (a->cpu != b->cpu)
			return a->cpu < b->cpu;
	}
	return a->idx < b->idx;
}

static bool kq_group_before_at(const void *base, unsigned int i,
			       unsigned int j, bool by_set)
{
	const struct kq_group_member *m = base;

	return kq_group_before(&m[i], &m[j], by_set);
}

static void kq_group_swap(void *base, unsigned int i, unsigned int j)
{
	struct kq_group_member *m = base, t = m[i];

	m[i] = m[j];
	m[j] = t;
}

static void kq_group_sort(struct kq_group_member *m, unsigned int n,
			  bool by_set)
{
	kq_heapsort(m, n, kq_group_before_at, kq_group_swap, by_set);
}

/**
 * kq_group_window() - shift grouped vCPUs' weights toward the efficient
 * @p: host-wide knobs; group_shift_pct bounds every shift, 0 turns
 *	placement off (and clears the lasting shifts)
 * @m: the grouped vCPUs of the window, any order (kq_group_member_init());
 *	the same order on return
 * @n: how many
 *
 * See the top of this file.  A member that does not compete, or whose set
 * has no member of another VM, keeps its weight; its lasting shift holds.
 * The result does not depend on the order of @m.  O(n log n).
 *
 * Context: any; no allocation.
 */
void kq_group_window(const struct kq_policy_params *p,
		     struct kq_group_member *m, unsigned int n)
{
	s32 lb = (s32)p->group_shift_pct / 2;
	unsigned int i, j, k;
	bool vms;

	for (i = 0; i < n; i++) {
		/* A lowered bound holds at once. */
		m[i].lasting_pct = kq_group_clamp(m[i].lasting_pct, lb);
		m[i].shift_pct = 0;
		m[i].idx = i;
	}
	if (!p->group_shift_pct)
		return;
	kq_group_sort(m, n, true);
	for (i = 0; i < n && m[i].competes; i = j) {
		vms = false;
		for (j = i + 1; j < n && m[j].competes &&
		     m[j].group == m[i].group && m[j].cpu == m[i].cpu; j++)
			vms = vms || m[j].vm != m[i].vm;
		k = j - i;
		if (vms)
			kq_group_set(p, &m[i], k);
	}
	kq_group_sort(m, n, false);
}
