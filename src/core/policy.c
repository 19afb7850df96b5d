// SPDX-License-Identifier: GPL-2.0
/*
 * The quantum policy.
 *
 * Once per window, each vCPU's state picks its next target quantum within
 * its VM's [min, max]: a cache-warm steady phase is extended toward max so
 * warm caches and predictors are used, not thrown away; a vCPU that just
 * flushed its cache, whose phase ended, or that is exit-heavy gets short
 * slices (for the exit-heavy: shorter but more frequent, as vSlicer does);
 * a vCPU that spins in PAUSE loops is cut at once.  Longer and shorter
 * slices move who runs when; the fairness ledger keeps them from moving
 * who runs how much: it compares what each vCPU ran with what the
 * unmodified scheduler would have given it, and corrects its weight both
 * ways until the difference is paid back.  A slow, bounded adjustment of
 * the base follows the vCPU's long-term profile.  Without a PMU the same
 * rules run on software signals (exit rate, halt time).
 */
#include "policy.h"

#include "kq_sort.h"

static const char *const kq_reason_names[KVM_QUANTA_R_NR] = {
	[KVM_QUANTA_R_BASE] = "base",
	[KVM_QUANTA_R_WARM] = "warm",
	[KVM_QUANTA_R_EXIT_HEAVY] = "exit_heavy",
	[KVM_QUANTA_R_FLUSH] = "flush",
	[KVM_QUANTA_R_SPIN] = "spin",
	[KVM_QUANTA_R_PHASE_END] = "phase_end",
	[KVM_QUANTA_R_PAYBACK] = "payback",
	[KVM_QUANTA_R_IDLE] = "idle",
	[KVM_QUANTA_R_LATENCY] = "latency",
	[KVM_QUANTA_R_SMT] = "smt",
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
 * per 1000 instructions, and twice its own recent level.  Phase end: IPC
 * 30% under its recent average.  Spinning: a PAUSE-loop exit per guest ms
 * or more.  Latency-sensitive: bursts of 1 ms or less on average between
 * halts, boosted 3 nice levels.  No early switch before 200 us of run.
 * The PMU thresholds are the host's own once it has the windows
 * (kq_thresholds_apply()): the best quarter of its windows warm on each
 * metric, its worst tenth of LLC MPKI a flush.  A grouped VM's weight
 * moves by 20% at most toward its doing the phase better.  Cache-hungry
 * beside cache-hungry work on the other SMT thread: half the flush rate.
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
	p->spin_ple_rate_milli = 1000;
	p->latency_burst_us = 1000;
	p->latency_boost = 3;
	p->ratelimit_us = 200;
	p->flush_burst_pct = 100;
	p->host_thresholds = 1;
	p->warm_pct = 25;
	p->flush_pct = 90;
	p->group_shift_pct = 20;
	p->smt_hungry_pct = 50;
}

/**
 * kq_vm_policy_defaults() - per-VM defaults: 1 ms, 4 ms, 8 ms, weight 100,
 *	in no group
 * @vp: output
 */
void kq_vm_policy_defaults(struct kq_vm_policy *vp)
{
	vp->enabled = true;
	vp->min_us = 1000;
	vp->base_us = 4000;
	vp->max_us = 8000;
	vp->weight = 100;
	vp->group = 0;
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
	    vp->weight < KQ_WEIGHT_MIN || vp->weight > KQ_WEIGHT_MAX ||
	    vp->group > KQ_GROUP_MAX)
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
	st->payback = 0;
	st->boost = 0;
	st->history_pct = 0;
	st->target_ns = (u64)vp->base_us * 1000;
	st->min_run_ns = 0;
	st->group_pct = 0;
	st->group_shift_pct = 0;
	st->group = 0;
	st->smt = KQ_SMT_NONE;
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

/*
 * Latency-sensitive (vSlicer's class): it wakes, runs a short burst and
 * halts again.  Time halted against time run, not against the window, so
 * that the class holds when the vCPU waits long for its CPU behind CPU
 * hogs, which is when it needs it.  A hog preempted often has short
 * quanta too, but never halts.  A vCPU already latency-sensitive (@prev)
 * stays so up to twice the burst bound: bursts near the bound flipped the
 * class, and with it its slice, its boost and its neighbours' slices, in
 * about one window in eight of the rig's latency scenario.
 */
static bool kq_is_latency(const struct kq_policy_params *p,
			  const struct kq_window *w, u32 prev)
{
	u64 bound = (u64)p->latency_burst_us * 1000;

	if (prev == KVM_QUANTA_R_LATENCY)
		bound *= 2;
	/* No slice in the window: quantum_ns is KQ_NONE64, over any bound. */
	return bound && w->halt_ns && w->halt_ns >= w->run_ns &&
	       w->quantum_ns <= bound;
}

/*
 * A flush: an LLC miss burst, at least flush_llc_mpki_milli and, once the
 * vCPU has a recent level, flush_burst_pct above it.  A streaming vCPU
 * misses at a high rate every window: that is its level, not a flush, and
 * cutting it every window would only add switches.
 */
static bool kq_is_flush(const struct kq_policy_params *p,
			const struct kq_window *w, const struct kq_history *h)
{
	u32 recent = h->recent.llc_mpki_milli;

	/* No misses is never a flush, whatever the threshold. */
	if (w->llc_mpki_milli == KQ_NONE32 || !w->llc_mpki_milli ||
	    w->llc_mpki_milli < p->flush_llc_mpki_milli)
		return false;
	return recent == KQ_NONE32 ||
	       (u64)w->llc_mpki_milli * 100 >=
	       (u64)recent * (100 + p->flush_burst_pct);
}

/*
 * The classes decided before any PMU threshold is looked at: latency,
 * idle, spin.  KVM_QUANTA_R_NR when none of them.  @prev: the vCPU's
 * reason in the window before, KVM_QUANTA_R_NR when not known.
 */
static u32 kq_classify_early(const struct kq_policy_params *p,
			     const struct kq_window *w, u32 prev)
{
	if (kq_is_latency(p, w, prev))
		return KVM_QUANTA_R_LATENCY;
	if (w->window_ns && w->halt_ns * 100 >= w->window_ns * p->idle_halt_pct)
		return KVM_QUANTA_R_IDLE;
	/*
	 * PAUSE-loop exits are the waiter spinning.  PV yields are not: KVM
	 * already hands the CPU on for KVM_HC_SCHED_YIELD, and KVM_HC_KICK_CPU
	 * is the lock holder releasing, which is to run on, not be cut.
	 */
	if (w->ple_exits && w->guest_ns &&
	    kq_mul_div(w->ple_exits, 1000000000, w->guest_ns, KQ_NONE64) >=
	    p->spin_ple_rate_milli)
		return KVM_QUANTA_R_SPIN;
	return KVM_QUANTA_R_NR;
}

/**
 * kq_policy_uses_pmu() - would the policy compare this window's PMU values?
 * @p: host-wide knobs
 * @w: the window, derived
 *
 * The windows the host's PMU thresholds are for (src/core/thresholds.c):
 * the vCPU ran, and its window is not latency-sensitive, idle or spinning,
 * which are decided first.  Judged by the window alone: a vCPU kept in the
 * latency class by its previous window (kq_is_latency()) may still count.
 *
 * Return: true if kq_policy_window() would reach the PMU thresholds for a
 * vCPU not latency-sensitive before.
 */
bool kq_policy_uses_pmu(const struct kq_policy_params *p,
			const struct kq_window *w)
{
	return w->guest_ns &&
	       kq_classify_early(p, w, KVM_QUANTA_R_NR) == KVM_QUANTA_R_NR;
}

static u32 kq_classify(const struct kq_policy_params *p,
		       const struct kq_window *w, const struct kq_history *h,
		       u32 prev)
{
	u32 recent_ipc = h->recent.ipc_milli;
	u32 early = kq_classify_early(p, w, prev);

	if (early != KVM_QUANTA_R_NR)
		return early;
	if (kq_is_flush(p, w, h))
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
 * One percent per window toward +max for a vCPU whose life is mostly warm,
 * toward -max for one mostly exit-heavy, back toward 0 otherwise: slow,
 * bounded, and it follows the long-term totals, not one window nor the
 * recent average.  The module is this adjustment's only owner: quantad
 * writes the operator's base_quantum_us unchanged.
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
 * @st: its policy state; target, reason, payback and counts are updated
 * @w: the window that just ended, derived
 * @h: its history up to the window before @w, so that @w is compared with
 *	what came before it
 *
 * Call after kq_ledger_window() has charged @w to st->debt_ns.  A debtor
 * in payback gets no extension (warm and base become payback, at the
 * base); its lower weight and a creditor's higher one are st->payback,
 * applied through kq_policy_nice().
 */
void kq_policy_window(const struct kq_policy_params *p,
		      const struct kq_vm_policy *vp, struct kq_vcpu_policy *st,
		      const struct kq_window *w, const struct kq_history *h)
{
	u64 min = (u64)vp->min_us * 1000, max = (u64)vp->max_us * 1000;
	u64 base = (u64)vp->base_us * 1000, target;
	u32 reason = KVM_QUANTA_R_BASE;
	s32 payback = 0, boost = 0;

	if (vp->enabled) {
		st->history_pct = kq_history_step(p, st->history_pct, h);
		base = kq_clamp64(base + kq_sdiv64((s64)base * st->history_pct,
						   100), min, max);
		reason = kq_classify(p, w, h, st->reason);
		payback = kq_ledger_correction(st->debt_ns,
					       (s64)p->debt_max_us * 1000,
					       st->payback);
	}
	/*
	 * A waking latency-sensitive vCPU that ran a burst just before is
	 * often behind the virtual time on EEVDF (negative lag): not eligible,
	 * it waits for the next tick whatever its slice.  More weight makes
	 * the same burst cost less virtual time.  Its share stays the
	 * ledger's: a vCPU that runs beyond it is in debt and loses the boost.
	 * At most 3 levels (about 2x weight), the ledger's own largest
	 * correction: a guest that turns CPU-bound keeps it until the next
	 * window, and the ledger sees only vCPUs, not the host threads it
	 * could take the time from.  An operator who wants more for a VM
	 * raises that VM's weight, which the ledger then charges as its due.
	 */
	if (reason == KVM_QUANTA_R_LATENCY && payback <= 0)
		boost = -(s32)p->latency_boost;
	/* One store each: the exit path reads them without the lock. */
	kq_publish(st->payback, payback);
	kq_publish(st->boost, boost);
	if (payback > 0 &&
	    (reason == KVM_QUANTA_R_WARM || reason == KVM_QUANTA_R_BASE))
		reason = KVM_QUANTA_R_PAYBACK;
	/*
	 * Cache-hungry beside cache-hungry work on the core's other thread
	 * (kq_smt_window()): a longer slice keeps nothing warm there, so no
	 * extension; the one that misses the most is cut short.  Shorter
	 * decisions stand.
	 */
	if (vp->enabled &&
	    ((st->smt == KQ_SMT_PRESSED && reason == KVM_QUANTA_R_WARM) ||
	     (st->smt == KQ_SMT_THRASHER &&
	      (reason == KVM_QUANTA_R_WARM || reason == KVM_QUANTA_R_BASE ||
	       reason == KVM_QUANTA_R_PAYBACK))))
		reason = KVM_QUANTA_R_SMT;

	switch (reason) {
	case KVM_QUANTA_R_WARM:
		target = max;
		break;
	case KVM_QUANTA_R_EXIT_HEAVY:
	case KVM_QUANTA_R_FLUSH:
	case KVM_QUANTA_R_PHASE_END:
	case KVM_QUANTA_R_SPIN:
	case KVM_QUANTA_R_LATENCY:
		target = min;
		break;
	case KVM_QUANTA_R_SMT:
		target = st->smt == KQ_SMT_THRASHER ? min : base;
		break;
	default:
		target = base;
		break;
	}
	kq_publish(st->target_ns, target);
	kq_publish(st->min_run_ns, (u64)p->ratelimit_us * 1000);
	kq_publish(st->reason, reason);
	st->decisions[reason]++;
}

/**
 * kq_policy_slice() - the slice to set for a vCPU's thread (EEVDF)
 * @st: its policy state, after kq_policy_window()
 * @own_ns: its thread's own slice, as it was before kvm_quanta set one; 0
 *	when not known, and then no bound
 * @latency_here: a latency-sensitive vCPU ran on its CPU in the window
 *
 * Its target, but not longer than its own slice where it shares the CPU
 * with a latency-sensitive vCPU: a waking vCPU that the scheduler does not
 * pick at once waits for the running one's slice to end, and an extended
 * neighbour made that a whole extended slice (7.2: a fifth of the
 * answers waited more than 2 ms, against 3% with the neighbours at their
 * own slices, which brought p99 from 2.6-3.1 ms down to 1.7).  The
 * latency-sensitive vCPU itself keeps its target.
 *
 * Return: the slice, ns.
 */
u64 kq_policy_slice(const struct kq_vcpu_policy *st, u64 own_ns,
		    bool latency_here)
{
	if (latency_here && own_ns && st->reason != KVM_QUANTA_R_LATENCY &&
	    st->target_ns > own_ns)
		return own_ns;
	return st->target_ns;
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

/* The nice whose load weight is closest to @load (1024 = nice 0). */
static int kq_load_to_nice(u64 load)
{
	u64 d, best_d = ~(u64)0;
	int i, best = 20;

	for (i = 0; i < 40; i++) {
		d = load > kq_nice_weight[i] ? load - kq_nice_weight[i] :
					       kq_nice_weight[i] - load;
		if (d < best_d) {
			best_d = d;
			best = i;
		}
	}
	return best - 20;
}

/**
 * kq_weight_to_nice() - the nice value whose load weight is closest
 * @weight: a VM weight, 1 to 10000, 100 being a normal thread (nice 0)
 *
 * Return: nice, -20 to 19.
 */
int kq_weight_to_nice(u32 weight)
{
	return kq_load_to_nice(kq_div64((u64)weight * 1024, 100));
}

/**
 * kq_policy_nice() - a vCPU thread's nice, relative to its own
 * @weight: its weight from kq_ledger_weight(): VM weight x 1000, split
 *	among the VM's runnable vCPUs
 * @payback: its ledger correction and boost, st->payback + st->boost
 *
 * The enforcement sets the thread's nice to its own (as it was before
 * kvm_quanta touched it) plus this, clamped to -20..19 there.
 *
 * Return: the offset, -20 to 19 (nice 0 is weight 100 on one vCPU).
 */
int kq_policy_nice(u32 weight, s32 payback)
{
	int nice = kq_load_to_nice(kq_div64((u64)weight * 1024, 100000));

	nice += payback;
	return nice < -20 ? -20 : nice > 19 ? 19 : nice;
}

/**
 * kq_ledger_weight() - a vCPU's share of its VM's weight for one window
 * @vm_weight: the VM's weight, 1 to 10000
 * @runnable_ns: this vCPU's run + wait time in the window
 * @vm_runnable_ns: the same summed over all the VM's vCPUs, this one too
 * @window_ns: the window's length
 *
 * libvirt's cpu shares are the VM's, not each thread's: while k of its
 * vCPUs are runnable, each has 1/k of the VM's weight, so a VM with N busy
 * vCPUs competes like a 1-vCPU VM of the same weight.  Over a window, the
 * vCPU's siblings are taken as runnable at random times in it: while it is
 * runnable, 1 + (vm_runnable_ns - runnable_ns) / window_ns of the VM's
 * vCPUs are, on average.
 *
 * Return: the vCPU's weight x 1000, at least 1.
 */
u32 kq_ledger_weight(u32 vm_weight, u64 runnable_ns, u64 vm_runnable_ns,
		     u64 window_ns)
{
	u64 w = (u64)vm_weight * 1000, others;

	if (window_ns && vm_runnable_ns > runnable_ns) {
		others = vm_runnable_ns - runnable_ns;
		w = kq_mul_div(w, window_ns, window_ns + others, w);
	}
	return w ? (u32)w : 1;
}

/**
 * kq_ledger_correction() - payback in nice levels, from a vCPU's debt
 * @debt_ns: its ledger
 * @bound_ns: the deadband, debt_max_us in ns
 * @prev: the correction of the window before
 *
 * Within the deadband (|debt| <= bound) nothing happens.  Beyond it, one
 * nice level per started multiple of the bound, up to KQ_PAYBACK_MAX: positive (less weight) for
 * a debtor, negative (more weight) for a creditor.  A correction holds at
 * one level until the debt crosses zero, so debt is paid back, not left
 * at the bound; nothing is ever forgiven.
 *
 * Return: the correction, -KQ_PAYBACK_MAX to KQ_PAYBACK_MAX.
 */
s32 kq_ledger_correction(s64 debt_ns, s64 bound_ns, s32 prev)
{
	u64 mag = debt_ns < 0 ? -(u64)debt_ns : (u64)debt_ns;
	u64 levels;

	if (bound_ns < 1)
		bound_ns = 1;
	levels = mag > (u64)bound_ns ? kq_div64(mag - 1, (u64)bound_ns) : 0;
	if (levels > KQ_PAYBACK_MAX)
		levels = KQ_PAYBACK_MAX;
	/* Hysteresis: keep paying until even. */
	if (!levels && ((prev > 0 && debt_ns > 0) || (prev < 0 && debt_ns < 0)))
		levels = 1;
	return debt_ns < 0 ? -(s32)levels : (s32)levels;
}

/* Runnable time of an entry, the ledger's sort key. */
static u64 kq_runnable(const struct kq_ledger_entry *e)
{
	return e->run_ns + e->wait_ns;
}

/*
 * by_cpu: CPU ascending, then runnable time descending, then run, weight,
 * served and debt, then input order; otherwise input order.  A strict total order either way.
 */
static bool kq_ledger_before(const struct kq_ledger_entry *a,
			     const struct kq_ledger_entry *b, bool by_cpu)
{
	if (by_cpu) {
		if (a->cpu != b->cpu)
			return a->cpu < b->cpu;
		if (kq_runnable(a) != kq_runnable(b))
			return kq_runnable(a) > kq_runnable(b);
		/*
		 * Then by run, weight, served and debt before input order, so
		 * that rounding lands on the same entry whatever order the
		 * entries came in.
		 */
		if (a->run_ns != b->run_ns)
			return a->run_ns > b->run_ns;
		if (a->weight != b->weight)
			return a->weight > b->weight;
		if (a->served != b->served)
			return a->served;
		if (a->debt_ns != b->debt_ns)
			return a->debt_ns > b->debt_ns;
	}
	return a->order < b->order;
}

static bool kq_ledger_before_at(const void *base, unsigned int i,
				unsigned int j, bool by_cpu)
{
	const struct kq_ledger_entry *e = base;

	return kq_ledger_before(&e[i], &e[j], by_cpu);
}

static void kq_ledger_swap(void *base, unsigned int i, unsigned int j)
{
	struct kq_ledger_entry *e = base, t = e[i];

	e[i] = e[j];
	e[j] = t;
}

static void kq_ledger_sort(struct kq_ledger_entry *e, unsigned int n,
			   bool by_cpu)
{
	kq_heapsort(e, n, kq_ledger_before_at, kq_ledger_swap, by_cpu);
}

/* A served entry's due: what it ran, up to its weighted share of @run. */
static u64 kq_served_due(const struct kq_ledger_entry *e, u64 run, u64 load)
{
	u64 share = load ? kq_mul_div(run, e->weight, load, run) : run;

	return e->run_ns < share ? e->run_ns : share;
}

/* Move @total from entries not served, in proportion to their fair shares. */
static void kq_served_take(struct kq_ledger_entry *e, unsigned int m,
			   u64 total, u64 rest)
{
	u64 done = 0, d;
	unsigned int k;

	for (k = 0; k < m; k++) {
		if (e[k].served)
			continue;
		d = kq_mul_div(e[k].fair_ns, total, rest, total);
		e[k].fair_ns -= d;
		done += d;
	}
	/* Rounding: fewer ns than entries are left, and they hold them. */
	for (k = 0; k < m && done < total; k++) {
		if (e[k].served)
			continue;
		d = e[k].fair_ns < total - done ? e[k].fair_ns : total - done;
		e[k].fair_ns -= d;
		done += d;
	}
}

/* Headroom of an entry not served: runnable time not yet in its share. */
static u64 kq_served_room(const struct kq_ledger_entry *e)
{
	u64 r = kq_runnable(e);

	return e->served || e->fair_ns >= r ? 0 : r - e->fair_ns;
}

/* Move @total to entries not served, in proportion to their headroom. */
static void kq_served_give(struct kq_ledger_entry *e, unsigned int m,
			   u64 total, u64 room)
{
	u64 done = 0, d;
	unsigned int k;

	for (k = 0; k < m; k++) {
		d = kq_served_room(&e[k]);
		if (!d)
			continue;
		d = kq_mul_div(d, total, room, total);
		e[k].fair_ns += d;
		done += d;
	}
	for (k = 0; k < m && done < total; k++) {
		d = kq_served_room(&e[k]);
		if (d > total - done)
			d = total - done;
		e[k].fair_ns += d;
		done += d;
	}
}

/*
 * Served entries: what they ran, up to their weighted share.  A vCPU that
 * halted at least as long as it was on the CPU ran all it had to; a fair
 * scheduler gives such a vCPU what it asks up to its weighted share of the
 * CPU, and when it is served is not a share.  The runnable-period model
 * charges it for being served on waking (it ran most of the short time it
 * was runnable) and pays it back in latency, or credits it for waiting,
 * which it could spend later.  So its fair share moves to its due: up,
 * taken from the entries not served in proportion to their fair shares, as
 * far as they hold; down, given to the entries not served that waited, in
 * proportion to the runnable time their shares leave out, as far as that
 * goes.  Where every vCPU that wanted the CPU was served, each is owed
 * what it ran.  The CPU's time is handed out exactly in every case; no
 * share of an entry not served exceeds its runnable time; what a served
 * vCPU ran beyond its weighted share is debt as far as somebody not served
 * waited for it.  Not max-min in full (no water-filling): a share one
 * served vCPU left unused is not handed on to another.
 */
static void kq_ledger_served(struct kq_ledger_entry *e, unsigned int m,
			     u64 run, u64 load)
{
	u64 up = 0, rest = 0, take, moved = 0, down = 0, room = 0, give, due, d;
	bool all_served = true;
	unsigned int k;

	for (k = 0; k < m; k++) {
		if (!e[k].served) {
			rest += e[k].fair_ns;
			if (kq_runnable(&e[k]))
				all_served = false;
			continue;
		}
		due = kq_served_due(&e[k], run, load);
		if (due > e[k].fair_ns)
			up += due - e[k].fair_ns;
	}
	/*
	 * Every vCPU that wanted this CPU ran out of work: each was given
	 * what it asked (the sum is the CPU's run), and what one waited for
	 * another is latency, not share.
	 */
	if (all_served) {
		for (k = 0; k < m; k++)
			e[k].fair_ns = e[k].run_ns;
		return;
	}
	take = up < rest ? up : rest;
	for (k = 0; take && k < m; k++) {
		if (!e[k].served)
			continue;
		due = kq_served_due(&e[k], run, load);
		if (due > e[k].fair_ns) {
			d = kq_mul_div(due - e[k].fair_ns, take, up, take);
			e[k].fair_ns += d;
			moved += d;
		}
	}
	if (moved)
		kq_served_take(e, m, moved, rest);

	for (k = 0; k < m; k++) {
		room += kq_served_room(&e[k]);
		if (!e[k].served)
			continue;
		due = kq_served_due(&e[k], run, load);
		if (due < e[k].fair_ns)
			down += e[k].fair_ns - due;
	}
	give = down < room ? down : room;
	moved = 0;
	for (k = 0; give && k < m; k++) {
		if (!e[k].served)
			continue;
		due = kq_served_due(&e[k], run, load);
		if (due < e[k].fair_ns) {
			d = kq_mul_div(e[k].fair_ns - due, give, down, give);
			e[k].fair_ns -= d;
			moved += d;
		}
	}
	if (moved)
		kq_served_give(e, m, moved, room);
}

/* Fixed point of the virtual time below: ns per unit of weight x 2^20. */
#define KQ_VT_SHIFT 20

/*
 * One CPU's entries, sorted by runnable time, longest first: the share
 * each would have had from the unmodified scheduler, a weighted fair one,
 * over the same runnable periods.
 *
 * A window gives totals, not when each vCPU was runnable, so the overlap
 * is modelled.  The total wait D is exactly the overlapped time (while
 * one runs the others present wait, whoever runs), so it does not depend
 * on the schedule.  Each vCPU's runnable time r is taken as a contended
 * part c = r x D / (sum r - max r), the parts nested (the shorter within
 * the longer), which overlap by exactly D, plus an uncontended rest that
 * it has alone.  The fair scheduler gives each stretch of the contended
 * parts to the vCPUs present by weight, and the rest whole.  This is exact
 * for two vCPUs on a CPU (any weights, any overlap), for vCPUs runnable
 * all the window (any weights) and for vCPUs that never overlap.  The
 * result is scaled so that the CPU's run time is handed out exactly: wait
 * for tasks outside the ledger does not move time between its vCPUs.
 */
static void kq_ledger_cpu(struct kq_ledger_entry *e, unsigned int m)
{
	u64 sum_r = 0, run = 0, wait = 0, load = 0, den, vt = 0, c_next = 0;
	u64 raw_sum = 0, given = 0, active_load = 0;
	unsigned int k;

	for (k = 0; k < m; k++) {
		sum_r += kq_runnable(&e[k]);
		run += e[k].run_ns;
		wait += e[k].wait_ns;
		load += e[k].weight;
		/* A served vCPU's share is of the vCPUs that wanted the CPU. */
		if (kq_runnable(&e[k]))
			active_load += e[k].weight;
	}
	den = sum_r - kq_runnable(&e[0]);

	/*
	 * From the shortest: the stretch where the k+1 longest are present
	 * is c_k - c_{k+1}; its virtual time (length per unit of weight
	 * present) accrues to each of them.
	 */
	for (k = m; k-- > 0;) {
		u64 r = kq_runnable(&e[k]), c;

		if (wait >= den)
			c = den ? r : 0;
		else
			c = kq_mul_div(r, wait, den, r);
		if (load)
			vt += kq_mul_div(c - c_next, 1ULL << KQ_VT_SHIFT, load,
					 KQ_NONE64);
		e[k].fair_ns = r - c + kq_mul_div(e[k].weight, vt,
						  1ULL << KQ_VT_SHIFT,
						  KQ_NONE64);
		raw_sum += e[k].fair_ns;
		c_next = c;
		load -= e[k].weight;
	}
	for (k = 0; k < m; k++) {
		e[k].fair_ns = raw_sum ? kq_mul_div(e[k].fair_ns, run, raw_sum,
						    run) : 0;
		given += e[k].fair_ns;
	}
	/* Rounding: what is left goes to the longest runnable. */
	e[0].fair_ns += run - given;
	kq_ledger_served(e, m, run, active_load);
}

/**
 * kq_ledger_window() - charge each vCPU what it ran beyond its fair share
 * @e: one entry per vCPU and CPU it ran on in the window, in any order
 * @n: number of entries
 *
 * For each CPU, each entry's fair_ns is what the unmodified scheduler
 * would have given it over the same runnable periods (see kq_ledger_cpu()
 * for the model and where it is exact), and debt_ns grows by run_ns -
 * fair_ns.  On each CPU the fair shares add up to the time its vCPUs ran,
 * so the debts of its entries change by a sum of zero.  A vCPU that ran
 * on several CPUs has an entry on each (kq_ledger_split()); its debt is
 * in one of them and 0 in the others, added up afterwards
 * (kq_ledger_join()).  A vCPU seen for the first time
 * joins from its second window (kq_ledger_split()).
 *
 * O(n log n), no allocation: the entries are sorted in place by CPU and
 * put back in their order.
 */
void kq_ledger_window(struct kq_ledger_entry *e, unsigned int n)
{
	unsigned int i, start;

	for (i = 0; i < n; i++)
		e[i].order = i;
	kq_ledger_sort(e, n, true);
	for (start = 0; start < n; start = i) {
		for (i = start + 1; i < n && e[i].cpu == e[start].cpu; i++)
			;
		kq_ledger_cpu(&e[start], i - start);
	}
	for (i = 0; i < n; i++)
		e[i].debt_ns += (s64)e[i].run_ns - (s64)e[i].fair_ns;
	kq_ledger_sort(e, n, false);
}

/**
 * kq_ledger_split() - a vCPU's window as ledger entries, one per CPU
 * @e: output, room for KQ_RAN_SLOTS entries
 * @cpu: the CPU its thread is on now, for a window with no split
 * @run_ns: its run time in the window (the scheduler's)
 * @wait_ns: its wait in the window
 * @halt_ns: its time halted in the window: halted at least as long as it
 *	ran, its entries are served (struct kq_ledger_entry)
 * @weight: its weight, kq_ledger_weight()
 * @debt_ns: its ledger
 * @joined: false in its first window, which starts when it was first seen,
 *	not with its CPU-mates': it joins the ledger from its second window
 *	(in the first, no run and no wait; its debt stands)
 * @cpus: the CPUs it ran on in the window, kq_ran_window()
 * @ns: its guest time on each
 * @n: how many, 0 to KQ_RAN_SLOTS
 *
 * @run_ns and @wait_ns are split in proportion to @ns (the scheduler keeps
 * a thread's run_delay in total only, so its wait goes where it ran); the
 * last entry takes what rounding leaves.  The debt is in the first entry;
 * after kq_ledger_window(), kq_ledger_join() gives the vCPU's ledger.
 *
 * Return: the number of entries, 1 to KQ_RAN_SLOTS.
 */
unsigned int kq_ledger_split(struct kq_ledger_entry *e, s32 cpu, u64 run_ns,
			     u64 wait_ns, u64 halt_ns, u32 weight, s64 debt_ns,
			     bool joined, const s32 *cpus, const u64 *ns,
			     unsigned int n)
{
	bool served = halt_ns && halt_ns >= run_ns;
	u64 total = 0, run_left, wait_left;
	unsigned int i;

	if (!joined) {
		run_ns = 0;
		wait_ns = 0;
	}
	run_left = run_ns;
	wait_left = wait_ns;
	for (i = 0; i < n; i++)
		total += ns[i];
	if (!n || !total) {
		n = 1;
		cpus = &cpu;
	}
	for (i = 0; i < n; i++) {
		e[i].cpu = cpus[i];
		if (i + 1 == n) {
			e[i].run_ns = run_left;
			e[i].wait_ns = wait_left;
		} else {
			e[i].run_ns = kq_mul_div(run_ns, ns[i], total, run_left);
			e[i].wait_ns = kq_mul_div(wait_ns, ns[i], total,
						  wait_left);
		}
		run_left -= e[i].run_ns;
		wait_left -= e[i].wait_ns;
		e[i].weight = weight;
		e[i].served = served;
		e[i].debt_ns = i ? 0 : debt_ns;
	}
	return n;
}

/**
 * kq_ledger_join() - a vCPU's ledger from its entries of a window
 * @e: the entries kq_ledger_split() made, after kq_ledger_window()
 * @n: how many
 *
 * Return: the sum of their debt_ns.
 */
s64 kq_ledger_join(const struct kq_ledger_entry *e, unsigned int n)
{
	s64 debt = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		debt += e[i].debt_ns;
	return debt;
}
