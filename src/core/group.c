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
 * Each window, the grouped vCPUs that compete for one CPU (they ran, and did
 * not halt as long as they ran) form a set.  Each one's efficiency is its
 * IPC when a PMU counts every member's, else its guest time per VM exit:
 * the time the guest ran between two trips into the hypervisor, longer for
 * a vCPU whose work costs fewer exits.  Against the set's mean, a member's
 * shift is:
 *
 *   the regimen:  its relative efficiency in this window, in percent,
 *                 bounded by half of group_shift_pct (the rest rounded to
 *                 it): the phase at hand goes to who does it better;
 *   the lasting:  one percent per window toward +half when it was better
 *                 than the mean by more than KQ_GROUP_EVEN_PCT, toward
 *                 -half when worse, back toward 0 when even: a parameter
 *                 that stays while the set's members stay what they are.
 *
 * The shifts are made zero-sum over the set's weights and scaled down so
 * that none exceeds group_shift_pct; each member's ledger weight moves by
 * its shift.  The set's weight is unchanged (to rounding, one unit in
 * 10^5 of a normal vCPU's), so a vCPU outside it on the same CPU keeps its
 * share; the ledger then charges each member against its shifted weight,
 * so the shift is a change of due share, not a debt the ledger pays back.
 */
#include "group.h"

#include "kq_math.h"

/**
 * kq_group_member_init() - a grouped vCPU's entry for kq_group_window()
 * @m: output
 * @group: its VM's group, not 0
 * @cpu: the CPU it ran on, as the ledger counts it
 * @w: its window, derived
 * @weight: its ledger weight, kq_ledger_weight()
 * @lasting_pct: its lasting shift so far
 */
void kq_group_member_init(struct kq_group_member *m, u32 group, s32 cpu,
			  const struct kq_window *w, u32 weight,
			  s32 lasting_pct)
{
	m->group = group;
	m->cpu = cpu;
	m->competes = w->run_ns && w->guest_ns && w->halt_ns < w->run_ns;
	m->ipc_milli = w->ipc_milli;
	m->per_exit_ns = w->exits ? kq_div64(w->guest_ns, w->exits) :
				    w->guest_ns;
	m->weight = weight;
	m->lasting_pct = lasting_pct;
	m->shift_pct = 0;
	m->done = false;
}

static s32 kq_group_clamp(s32 v, s32 bound)
{
	return v > bound ? bound : v < -bound ? -bound : v;
}

/* Is @m[@i] in the set that starts at @m[@first]? */
static bool kq_group_in(const struct kq_group_member *m, unsigned int first,
			unsigned int i)
{
	return m[i].competes && m[i].group == m[first].group &&
	       m[i].cpu == m[first].cpu;
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

/* The set of competing members that starts at @first, with its @k members. */
static void kq_group_set(const struct kq_policy_params *p,
			 struct kq_group_member *m, unsigned int n,
			 unsigned int first, unsigned int k)
{
	s32 bound = (s32)p->group_shift_pct, lb = bound / 2, eb = bound - lb;
	u64 sum = 0, mean, wsum = 0, mag, max = 0, limit, delta;
	bool ipc = true;
	s64 wshift = 0, d;
	unsigned int i;

	for (i = first; i < n; i++)
		if (kq_group_in(m, first, i))
			ipc = ipc && m[i].ipc_milli != KQ_NONE32;
	for (i = first; i < n; i++)
		if (kq_group_in(m, first, i))
			sum += kq_group_eff(&m[i], ipc);
	mean = kq_div64(sum, k);
	for (i = first; i < n; i++) {
		if (!kq_group_in(m, first, i))
			continue;
		m[i].done = true;
		/* All zero says nothing: nobody's regimen, lasting holds. */
		m[i].shift_pct = mean ? kq_group_step(&m[i],
						      kq_group_eff(&m[i], ipc),
						      mean, lb, eb) :
					m[i].lasting_pct;
		wsum += m[i].weight;
		wshift += (s64)m[i].weight * m[i].shift_pct;
	}
	/*
	 * Zero-sum: member i's shift becomes d_i / wsum percent with
	 * d_i = shift_i * wsum - sum_j(weight_j * shift_j), so that
	 * sum_i(weight_i * d_i) = 0; scaled so none exceeds the bound.
	 */
	for (i = first; i < n; i++) {
		if (!kq_group_in(m, first, i))
			continue;
		d = (s64)m[i].shift_pct * (s64)wsum - wshift;
		mag = d < 0 ? -(u64)d : (u64)d;
		if (mag > max)
			max = mag;
	}
	limit = (u64)bound * wsum;
	for (i = first; i < n; i++) {
		if (!kq_group_in(m, first, i))
			continue;
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

/**
 * kq_group_window() - shift grouped vCPUs' weights toward the efficient
 * @p: host-wide knobs; group_shift_pct bounds every shift, 0 turns
 *	placement off (and clears the lasting shifts)
 * @m: the grouped vCPUs of the window, any order (kq_group_member_init())
 * @n: how many
 *
 * See the top of this file.  A member that does not compete, or whose set
 * has no other member, keeps its weight; its lasting shift holds.  The
 * result does not depend on the order of @m.  O(n x sets): the sampler
 * passes only grouped vCPUs.
 */
void kq_group_window(const struct kq_policy_params *p,
		     struct kq_group_member *m, unsigned int n)
{
	s32 lb = (s32)p->group_shift_pct / 2;
	unsigned int i, j, k;

	for (i = 0; i < n; i++) {
		/* A lowered bound holds at once. */
		m[i].lasting_pct = kq_group_clamp(m[i].lasting_pct, lb);
		m[i].shift_pct = 0;
		m[i].done = !m[i].competes;
	}
	for (i = 0; i < n; i++) {
		if (m[i].done)
			continue;
		for (j = i, k = 0; j < n; j++)
			k += kq_group_in(m, i, j);
		if (k < 2) {
			m[i].done = true;
			continue;
		}
		kq_group_set(p, m, n, i, k);
	}
}
