// SPDX-License-Identifier: GPL-2.0
/*
 * The quantum policy.
 *
 * Once per window, each vCPU's state picks its next target quantum within
 * its VM's [min, max]: a cache-warm steady phase is extended toward max so
 * warm caches and predictors are used, not thrown away; a vCPU that just
 * flushed its cache, whose phase ended, or that is exit-heavy gets short
 * slices (for the exit-heavy: shorter but more frequent, as vSlicer does).
 * Time granted beyond the base quantum is debt in a per-vCPU ledger,
 * repaid by shorter quanta once it passes a bound, so no vCPU keeps more
 * than the base for long.  A slow, bounded adjustment of the base follows
 * the VM's long-term profile: a VM that spends its life in warm phases
 * keeps a little more time for them.  Without a PMU the same rules run on
 * software signals (exit rate, guest run length, halt time).
 */
#include "policy.h"

#define S64_MAX_KQ ((s64)(~(u64)0 >> 1))

static const char *const kq_reason_names[KVM_QUANTA_R_NR] = {
	[KVM_QUANTA_R_BASE] = "base",
	[KVM_QUANTA_R_WARM] = "warm",
	[KVM_QUANTA_R_EXIT_HEAVY] = "exit_heavy",
	[KVM_QUANTA_R_FLUSH] = "flush",
	[KVM_QUANTA_R_SPIN] = "spin",
	[KVM_QUANTA_R_PHASE_END] = "phase_end",
	[KVM_QUANTA_R_PAYBACK] = "payback",
	[KVM_QUANTA_R_IDLE] = "idle",
};

/**
 * kq_reason_name() - sysfs and tracepoint name of a reason
 * @reason: an enum kvm_quanta_reason value
 *
 * Return: the name, or NULL when out of range.
 */
const char *kq_reason_name(unsigned int reason)
{
	return reason < KVM_QUANTA_R_NR ? kq_reason_names[reason] : NULL;
}

/**
 * kq_policy_defaults() - host-wide defaults
 * @p: output
 *
 * Warm: IPC >= 1.0, LLC MPKI <= 1, branch MPKI <= 5, fewer than 1 exit
 * per guest ms.  Exit-heavy: 10 or more exits per guest ms (a guest doing
 * I/O or spinning through the hypervisor).  Flush: 20 or more LLC misses
 * per 1000 instructions.  Phase end: IPC 30% under its recent average.
 */
void kq_policy_defaults(struct kq_policy_params *p)
{
	p->warm_ipc_milli = 1000;
	p->warm_llc_mpki_milli = 1000;
	p->warm_br_mpki_milli = 5000;
	p->warm_exit_rate_milli = 1000;
	p->heavy_exit_rate_milli = 10000;
	p->flush_llc_mpki_milli = 20000;
	p->phase_drop_pct = 30;
	p->idle_halt_pct = 50;
	p->history_max_pct = 20;
	p->debt_max_us = 20000;
}

/**
 * kq_vm_policy_defaults() - per-VM defaults: 1 ms, 4 ms, 8 ms, weight 100
 * @vp: output
 */
void kq_vm_policy_defaults(struct kq_vm_policy *vp)
{
	vp->enabled = true;
	vp->min_us = 1000;
	vp->base_us = 4000;
	vp->max_us = 8000;
	vp->weight = 100;
}

/**
 * kq_vm_policy_validate() - check a VM's knobs as a whole
 * @vp: the knobs
 *
 * Return: 0, -ERANGE for a value outside its range, -EINVAL when
 * min <= base <= max does not hold.
 */
int kq_vm_policy_validate(const struct kq_vm_policy *vp)
{
	if (vp->min_us < KQ_QUANTUM_MIN_US || vp->max_us > KQ_QUANTUM_MAX_US ||
	    vp->base_us < KQ_QUANTUM_MIN_US || vp->base_us > KQ_QUANTUM_MAX_US ||
	    vp->min_us > KQ_QUANTUM_MAX_US || vp->max_us < KQ_QUANTUM_MIN_US ||
	    vp->weight < KQ_WEIGHT_MIN || vp->weight > KQ_WEIGHT_MAX)
		return -ERANGE;
	if (vp->min_us > vp->base_us || vp->base_us > vp->max_us)
		return -EINVAL;
	return 0;
}

/**
 * kq_vcpu_policy_init() - a new vCPU starts at its VM's base
 * @st: output
 * @vp: its VM's knobs
 */
void kq_vcpu_policy_init(struct kq_vcpu_policy *st,
			 const struct kq_vm_policy *vp)
{
	unsigned int i;

	st->debt_ns = 0;
	st->history_pct = 0;
	st->target_ns = (u64)vp->base_us * 1000;
	st->reason = KVM_QUANTA_R_BASE;
	for (i = 0; i < KVM_QUANTA_R_NR; i++)
		st->decisions[i] = 0;
}

static u64 kq_clamp64(u64 v, u64 lo, u64 hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Warm: few exits, and when a PMU counts, high IPC and few misses. */
static bool kq_is_warm(const struct kq_policy_params *p,
		       const struct kq_window *w)
{
	if (w->exit_rate_milli == KQ_NONE64 ||
	    w->exit_rate_milli > p->warm_exit_rate_milli)
		return false;
	if (w->ipc_milli != KQ_NONE32 && w->ipc_milli < p->warm_ipc_milli)
		return false;
	if (w->llc_mpki_milli != KQ_NONE32 &&
	    w->llc_mpki_milli > p->warm_llc_mpki_milli)
		return false;
	if (w->br_mpki_milli != KQ_NONE32 &&
	    w->br_mpki_milli > p->warm_br_mpki_milli)
		return false;
	return true;
}

static u32 kq_classify(const struct kq_policy_params *p,
		       const struct kq_window *w, const struct kq_history *h)
{
	u32 recent_ipc = h->recent.ipc_milli;

	if (w->window_ns && w->halt_ns * 100 >= w->window_ns * p->idle_halt_pct)
		return KVM_QUANTA_R_IDLE;
	if (w->llc_mpki_milli != KQ_NONE32 &&
	    w->llc_mpki_milli >= p->flush_llc_mpki_milli)
		return KVM_QUANTA_R_FLUSH;
	if (w->ipc_milli != KQ_NONE32 && recent_ipc != KQ_NONE32 &&
	    (u64)w->ipc_milli * 100 < (u64)recent_ipc * (100 - p->phase_drop_pct))
		return KVM_QUANTA_R_PHASE_END;
	if (w->exit_rate_milli != KQ_NONE64 &&
	    w->exit_rate_milli >= p->heavy_exit_rate_milli)
		return KVM_QUANTA_R_EXIT_HEAVY;
	if (!w->slices && !w->guest_ns)
		return KVM_QUANTA_R_IDLE;	/* did not run: nothing to say */
	if (kq_is_warm(p, w))
		return KVM_QUANTA_R_WARM;
	return KVM_QUANTA_R_BASE;
}

/*
 * One percent per window toward +max for a VM whose life is mostly warm,
 * toward -max for one mostly exit-heavy, back toward 0 otherwise: slow,
 * bounded, and it follows the long-term profile, not one window.
 */
static s32 kq_history_step(const struct kq_policy_params *p, s32 pct,
			   const struct kq_history *h)
{
	s32 goal = 0, max = (s32)p->history_max_pct;
	const struct kq_window *t = &h->total;

	/* The bound holds at once when it is lowered. */
	if (pct > max)
		pct = max;
	if (pct < -max)
		pct = -max;

	if (kq_is_warm(p, t))
		goal = max;
	else if (t->exit_rate_milli != KQ_NONE64 &&
		 t->exit_rate_milli >= p->heavy_exit_rate_milli)
		goal = -max;
	if (pct < goal)
		return pct + 1;
	if (pct > goal)
		return pct - 1;
	return pct;
}

/**
 * kq_policy_window() - the target quantum for a vCPU's next window
 * @p: host-wide knobs
 * @vp: its VM's knobs
 * @st: its policy state; target, reason, ledger and counts are updated
 * @w: the window that just ended, derived
 * @h: its history up to the window before @w, so that @w is compared with
 *	what came before it
 *
 * The ledger (st->debt_ns, kept by kq_ledger_update()) decides payback:
 * above debt_max_us the vCPU gets no extension and a lower weight until it
 * is back to zero.
 */
void kq_policy_window(const struct kq_policy_params *p,
		      const struct kq_vm_policy *vp, struct kq_vcpu_policy *st,
		      const struct kq_window *w, const struct kq_history *h)
{
	u64 min = (u64)vp->min_us * 1000, max = (u64)vp->max_us * 1000;
	u64 base, target;
	u32 reason;

	base = (u64)vp->base_us * 1000;
	if (vp->enabled) {
		st->history_pct = kq_history_step(p, st->history_pct, h);
		base = kq_clamp64(base + (s64)base * st->history_pct / 100,
				  min, max);
	}

	reason = vp->enabled ? kq_classify(p, w, h) : KVM_QUANTA_R_BASE;
	if (vp->enabled && st->debt_ns > (s64)p->debt_max_us * 1000 &&
	    (reason == KVM_QUANTA_R_WARM || reason == KVM_QUANTA_R_BASE))
		reason = KVM_QUANTA_R_PAYBACK;
	else if (vp->enabled && st->reason == KVM_QUANTA_R_PAYBACK &&
		 st->debt_ns > 0 &&
		 (reason == KVM_QUANTA_R_WARM || reason == KVM_QUANTA_R_BASE))
		reason = KVM_QUANTA_R_PAYBACK;	/* until repaid */

	switch (reason) {
	case KVM_QUANTA_R_WARM:
		target = max;
		break;
	case KVM_QUANTA_R_EXIT_HEAVY:
	case KVM_QUANTA_R_FLUSH:
	case KVM_QUANTA_R_PHASE_END:
	case KVM_QUANTA_R_SPIN:
		target = min;
		break;
	case KVM_QUANTA_R_PAYBACK:
		target = base;
		break;
	default:
		target = base;
		break;
	}
	st->target_ns = target;
	st->reason = reason;
	st->decisions[reason]++;
}

/**
 * kq_policy_cut_now() - switch the vCPU out at this exit?
 * @st: its policy state
 * @ran_ns: time on the CPU since it was last scheduled in
 * @spinning: its last exit was a spin (PAUSE, directed-yield attempt)
 *
 * Return: true to yield the CPU before re-entering the guest.
 */
bool kq_policy_cut_now(const struct kq_vcpu_policy *st, u64 ran_ns,
		       bool spinning)
{
	if (spinning)
		return true;
	switch (st->reason) {
	case KVM_QUANTA_R_FLUSH:
	case KVM_QUANTA_R_PHASE_END:
	case KVM_QUANTA_R_EXIT_HEAVY:
		/*
		 * Even with a per-task slice: the tick (4 ms at HZ=250) ends a
		 * slice, so a 1 ms slice alone still runs 4 ms (measured).
		 */
		return ran_ns >= st->target_ns;
	default:
		return false;
	}
}

/*
 * CFS/EEVDF load weight of nice -20..19 (kernel/sched/core.c,
 * sched_prio_to_weight): each step is about 1.25x.
 */
static const u32 kq_nice_weight[40] = {
	88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916,
	9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991, 1586, 1277,
	1024, 820, 655, 526, 423, 335, 272, 215, 172, 137,
	110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
};

/**
 * kq_weight_to_nice() - the nice value whose load weight is closest
 * @weight: a VM weight, 1 to 10000, 100 being a normal thread (nice 0)
 *
 * Return: nice, -20 to 19.
 */
int kq_weight_to_nice(u32 weight)
{
	u64 want = (u64)weight * 1024 / 100, d, best_d = ~(u64)0;
	int i, best = 20;

	for (i = 0; i < 40; i++) {
		d = want > kq_nice_weight[i] ? want - kq_nice_weight[i] :
					       kq_nice_weight[i] - want;
		if (d < best_d) {
			best_d = d;
			best = i;
		}
	}
	return best - 20;
}

/**
 * kq_ledger_update() - charge each vCPU what it ran beyond its fair share
 * @e: one entry per vCPU: the CPU it ran on, its window's run and wait
 *	time, its weight, and its ledger, updated
 * @n: number of entries
 * @bound_ns: the ledger is kept within +-2 x @bound_ns
 *
 * vCPUs on one CPU share it: the time they ran in the window is divided
 * among them in proportion to weight x time runnable (run + wait), which
 * is what the unmodified scheduler would give them.  Running more than
 * that is debt; less is credit.  Longer slices and early yields change
 * who runs when, this makes sure they do not change who runs how much.
 */
void kq_ledger_update(struct kq_ledger_entry *e, unsigned int n, s64 bound_ns)
{
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		u64 run = 0, mine, all = 0;
		s64 fair;

		mine = (u64)e[i].weight * (e[i].run_ns + e[i].wait_ns);
		for (j = 0; j < n; j++) {
			if (e[j].cpu != e[i].cpu)
				continue;
			run += e[j].run_ns;
			all += (u64)e[j].weight * (e[j].run_ns + e[j].wait_ns);
		}
		if (!all)
			continue;
		fair = (s64)kq_mul_div(run, mine, all, (u64)S64_MAX_KQ);
		e[i].debt_ns += (s64)e[i].run_ns - fair;
		if (e[i].debt_ns > 2 * bound_ns)
			e[i].debt_ns = 2 * bound_ns;
		if (e[i].debt_ns < -2 * bound_ns)
			e[i].debt_ns = -2 * bound_ns;
	}
}
