/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The quantum policy: from a vCPU's processor state and history, its
 * target quantum for the next window and whether to switch it out early,
 * each with a reason; and the fairness ledger that keeps who runs how much
 * where the unmodified scheduler would have it.  Pure code, shared by the
 * module, KUnit and userspace (quantactl replay, the simulator).
 */
#ifndef _KQ_CORE_POLICY_H
#define _KQ_CORE_POLICY_H

#include "kq_types.h"
#include "state.h"
#include <linux/kvm_quanta.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct kq_policy_params - host-wide policy knobs
 * @warm_ipc_milli: IPC at least this is "high" (with a PMU)
 * @warm_llc_mpki_milli: LLC MPKI at most this is "cache warm"
 * @warm_br_mpki_milli: branch MPKI at most this is "predictors warm"
 * @warm_exit_rate_milli: exits per guest ms at most this is "few exits"
 * @heavy_exit_rate_milli: exits per guest ms at least this is exit-heavy
 * @flush_llc_mpki_milli: a window's LLC MPKI at least this is a flush
 * @phase_drop_pct: IPC this many percent below its recent average ends
 *	a phase
 * @idle_halt_pct: halted this share of the window or more is idle
 * @history_max_pct: bound of the slow per-VM history adjustment, percent
 *	of the base quantum, either way
 * @debt_max_us: ledger deadband: CPU time run beyond (or short of) the
 *	fair share before a correction; each further multiple is one more
 *	nice level of correction, up to KQ_PAYBACK_MAX
 * @spin_ple_rate_milli: PAUSE-loop exits per guest ms x 1000 at least this
 *	is spinning
 * @latency_burst_us: a vCPU that halted at least as long as it ran and ran
 *	at most this per scheduling on average is latency-sensitive; 0 turns
 *	the class off
 * @latency_boost: nice levels of more weight for a latency-sensitive vCPU
 *	the ledger does not hold in debt (EEVDF only: see kq_policy_window())
 * @flush_burst_pct: a flush is also this many percent above the vCPU's own
 *	recent LLC MPKI: a burst, not a level (a streaming vCPU misses at a
 *	high rate every window and is not flushing every window)
 * @ratelimit_us: no early switch (kq_policy_cut()) before a vCPU has
 *	run this long since it was scheduled in, a spinning one included, so
 *	that yields cannot thrash (Xen credit2's ratelimit_us)
 * @host_thresholds: 1: the PMU thresholds (warm IPC, LLC and branch MPKI,
 *	flush LLC MPKI) are read from the host's own distribution once it has
 *	enough windows, the constants above being the cold-start default
 *	(kq_thresholds_apply()); 0: the constants always
 * @warm_pct: with @host_thresholds, the best this many percent of the
 *	host's windows are warm on each PMU metric
 * @flush_pct: with @host_thresholds, LLC MPKI at this percentile of the
 *	host's windows or more is a flush (with @flush_burst_pct), never
 *	less than @flush_llc_mpki_milli
 * @group_shift_pct: how far a grouped VM's weight may move toward (or
 *	away from) it doing the current phase better than the rest of its
 *	group on the CPU, percent either way; half of it for the window at
 *	hand, half lasting (kq_group_window()); 0 turns phase placement off
 * @smt_hungry_pct: a window with LLC MPKI at least this percent of the
 *	flush threshold in use is cache-hungry; such a vCPU whose core's
 *	other thread runs cache-hungry work is not extended, and cut short
 *	if it misses the most (kq_smt_window()); 0 turns that off
 */
struct kq_policy_params {
	u32 warm_ipc_milli;
	u32 warm_llc_mpki_milli;
	u32 warm_br_mpki_milli;
	u64 warm_exit_rate_milli;
	u64 heavy_exit_rate_milli;
	u32 flush_llc_mpki_milli;
	u32 phase_drop_pct;
	u32 idle_halt_pct;
	u32 history_max_pct;
	u32 debt_max_us;
	u64 spin_ple_rate_milli;
	u32 latency_burst_us;
	u32 latency_boost;
	u32 ratelimit_us;
	u32 flush_burst_pct;
	u32 host_thresholds;
	u32 warm_pct;
	u32 flush_pct;
	u32 group_shift_pct;
	u32 smt_hungry_pct;
};

/**
 * struct kq_vm_policy - per-VM knobs
 * @enabled: the policy acts on this VM's vCPUs
 * @min_us: shortest quantum
 * @base_us: quantum with nothing notable
 * @max_us: longest quantum
 * @weight: the VM's CPU weight, 1 to 10000, 100 normal: split among its
 *	runnable vCPUs as libvirt's cpu shares are (kq_ledger_weight()), so
 *	a VM with more vCPUs does not get more of a contended CPU
 * @group: 0, or the group of interchangeable VMs (replicas of one
 *	service) the operator put it in, 1 to KQ_GROUP_MAX: within a group,
 *	CPU time moves toward the VM that does the current phase better
 *	(kq_group_window()); never across groups nor to ungrouped VMs
 */
struct kq_vm_policy {
	bool enabled;
	u32 min_us;
	u32 base_us;
	u32 max_us;
	u32 weight;
	u32 group;
};

#define KQ_QUANTUM_MIN_US 100
#define KQ_QUANTUM_MAX_US 100000
#define KQ_WEIGHT_MIN 1
#define KQ_WEIGHT_MAX 10000
#define KQ_GROUP_MAX 65535

/*
 * Largest values of the host-wide knobs (struct kq_policy_params), by unit;
 * each knob's smallest is 0 but for warm_pct's and flush_pct's.  The module refuses
 * others in policy/, and userspace checks against the same.  An IPC of 100,
 * a miss on every instruction (1000 MPKI), 10^6 exits per guest ms, 10 s of
 * ledger deadband, a burst or a rate limit as long as the longest quantum, a
 * boost of 3 nice levels (the ledger's largest correction: see
 * kq_policy_window()), a flush ten times its recent level; a switch is 0 or
 * 1.  Warm is at most the better half of the host's windows and at least
 * one percent of them, a flush at least at the median and short of the
 * largest.  A grouped VM's weight moves at most by half.
 */
#define KQ_PARAM_IPC_MILLI_MAX 100000
#define KQ_PARAM_MPKI_MILLI_MAX 1000000
#define KQ_PARAM_RATE_MILLI_MAX 1000000000
#define KQ_PARAM_PCT_MAX 100
#define KQ_PARAM_DEBT_US_MAX 10000000
#define KQ_PARAM_BURST_US_MAX KQ_QUANTUM_MAX_US
#define KQ_PARAM_BOOST_MAX 3
#define KQ_PARAM_RATELIMIT_US_MAX KQ_QUANTUM_MAX_US
#define KQ_PARAM_BURST_PCT_MAX 1000
#define KQ_PARAM_SWITCH_MAX 1
#define KQ_PARAM_WARM_PCT_MIN 1
#define KQ_PARAM_WARM_PCT_MAX 50
#define KQ_PARAM_FLUSH_PCT_MIN 50
#define KQ_PARAM_FLUSH_PCT_MAX 99
#define KQ_PARAM_GROUP_SHIFT_PCT_MAX 50
/* Largest payback correction, nice levels (1.25^3: about 0.5x or 2x). */
#define KQ_PAYBACK_MAX 3

/**
 * enum kq_smt_press - what a cache-hungry vCPU's SMT sibling ran
 * @KQ_SMT_NONE: nothing that matters (or the vCPU is not cache-hungry)
 * @KQ_SMT_PRESSED: cache-hungry work, most of the window: no extension
 * @KQ_SMT_THRASHER: that, and the vCPU misses at least as much as the
 *	worst of it: cut short
 */
enum kq_smt_press { KQ_SMT_NONE, KQ_SMT_PRESSED, KQ_SMT_THRASHER };

/**
 * struct kq_vcpu_policy - what the policy remembers per vCPU
 * @debt_ns: CPU time it ran beyond what the unmodified scheduler would
 *	have given it, since it joined the ledger (negative: owed to it); see
 *	kq_ledger_window().  Never clamped.
 * @payback: correction in nice levels relative to the weight it is due,
 *	-KQ_PAYBACK_MAX to KQ_PAYBACK_MAX: positive slows a debtor, negative
 *	helps a creditor; see kq_ledger_correction()
 * @boost: latency-sensitive vCPUs not in debt: -latency_boost nice levels,
 *	added to @payback where the ledger acts (EEVDF); else 0
 * @history_pct: slow, bounded adjustment of the base from this vCPU's
 *	long-term profile, percent
 * @target_ns: the current target quantum
 * @min_run_ns: the host's ratelimit_us when the target was set: no early
 *	switch before the vCPU has run this long
 * @group_pct: lasting part of its group shift, percent (kq_group_window());
 *	0 while its VM is in no group
 * @group: the group @group_pct was learnt in: in another, it starts at 0
 * @group_shift_pct: the shift of its weight in the last window, percent
 * @smt: input, set by the caller before each kq_policy_window(): enum
 *	kq_smt_press from kq_smt_window(); KQ_SMT_NONE when not known
 * @reason: why
 * @decisions: decisions taken, by reason
 */
struct kq_vcpu_policy {
	s64 debt_ns;
	s32 payback;
	s32 boost;
	s32 history_pct;
	u64 target_ns;
	u64 min_run_ns;
	s32 group_pct;
	s32 group_shift_pct;
	u32 group;
	u32 smt;
	u32 reason;
	u64 decisions[KVM_QUANTA_R_NR];
};

/**
 * struct kq_ledger_entry - a vCPU's window on one CPU, for the ledger
 * @cpu: the CPU; a vCPU that ran on several CPUs in the window gets one
 *	entry per CPU (see kq_ledger_window())
 * @run_ns: time it ran there (its sum_exec_runtime delta, or the share
 *	of it kq_ledger_split() gives this CPU)
 * @wait_ns: time it waited runnable there (run_delay delta, or its share)
 * @weight: its weight, kq_ledger_weight(); any unit, the same for all
 * @debt_ns: in: its ledger; out: plus what it ran beyond @fair_ns
 * @fair_ns: out: what the unmodified scheduler would have given it
 * @served: it halted at least as long as it ran: it had no more work, and
 *	what it ran is owed to it up to its weighted share of the CPU
 *	(kq_ledger_served())
 * @order: scratch, the ledger's own
 */
struct kq_ledger_entry {
	int cpu;
	u64 run_ns;
	u64 wait_ns;
	u32 weight;
	bool served;
	s64 debt_ns;
	u64 fair_ns;
	u32 order;
};

const char *kq_reason_name(unsigned int reason);
void kq_ledger_window(struct kq_ledger_entry *e, unsigned int n);
unsigned int kq_ledger_split(struct kq_ledger_entry *e, s32 cpu, u64 run_ns,
			     u64 wait_ns, u64 halt_ns, u32 weight, s64 debt_ns,
			     bool joined,
			     const s32 *cpus, const u64 *ns, unsigned int n);
s64 kq_ledger_join(const struct kq_ledger_entry *e, unsigned int n);
u32 kq_ledger_weight(u32 vm_weight, u64 runnable_ns, u64 vm_runnable_ns,
		     u64 window_ns);
s32 kq_ledger_correction(s64 debt_ns, s64 bound_ns, s32 prev);
int kq_policy_nice(u32 weight, s32 payback);
void kq_policy_defaults(struct kq_policy_params *p);
void kq_vm_policy_defaults(struct kq_vm_policy *vp);
int kq_vm_policy_validate(const struct kq_vm_policy *vp);
void kq_vcpu_policy_init(struct kq_vcpu_policy *st,
			 const struct kq_vm_policy *vp);
void kq_policy_window(const struct kq_policy_params *p,
		      const struct kq_vm_policy *vp, struct kq_vcpu_policy *st,
		      const struct kq_window *w, const struct kq_history *h);
u64 kq_policy_slice(const struct kq_vcpu_policy *st, u64 own_ns,
		    bool latency_here);
int kq_weight_to_nice(u32 weight);
bool kq_policy_uses_pmu(const struct kq_policy_params *p,
			const struct kq_window *w);
/*
 * What kq_policy_cut() knows of the exit, bits of its @at: a PAUSE-loop
 * exit since the last call; a cache-hungry vCPU in guest mode on the CPU's
 * SMT sibling.
 */
#define KQ_AT_PAUSE_SPIN 1U
#define KQ_AT_SIBLING_HUNGRY 2U

/**
 * struct kq_cut - what kq_policy_cut() reads of a vCPU's policy state
 * @target_ns: its target quantum
 * @min_run_ns: no cut before it ran this long
 * @payback: the ledger's correction; a creditor (< 0) is not cut
 * @reason: its reason code
 * @smt: its SMT role, for reason smt
 *
 * The exit path's copy: small, so that it costs a few loads, not a copy
 * of the whole state (struct kq_vcpu_policy, with its counters).
 */
struct kq_cut {
	u64 target_ns;
	u64 min_run_ns;
	s32 payback;
	u32 reason;
	u32 smt;
};

/**
 * kq_policy_cut() - switch the vCPU out at this exit?
 * @c: its policy state, what of it this reads; inline, so the caller's
 *	copy can stay in registers
 * @ran_ns: time on the CPU since it was last scheduled in
 * @at: KQ_AT_* bits: KQ_AT_PAUSE_SPIN, a PAUSE-loop exit
 *	(kvm_vcpu_on_spin()) since the last call, never a PV yield hypercall,
 *	which is the lock releaser's side; KQ_AT_SIBLING_HUNGRY, a
 *	cache-hungry vCPU is in guest mode on the SMT sibling now
 *
 * A PAUSE-loop spinner is cut at once; a vCPU decided flush, phase_end,
 * exit_heavy or spin once it has run its target; one decided smt, the
 * worse thrasher of an SMT pair (target: the minimum), once it has run its
 * target and only while its sibling runs cache-hungry work, so that it
 * runs beside the sibling's cold work instead (a pressed one, decided smt
 * at the base, is only not extended); never one the ledger owes
 * time (c.payback < 0).  None before it has run c.min_run_ns: two
 * spinners sharing a CPU would otherwise hand it back and forth at every
 * PAUSE-loop exit.
 *
 * Inline: the exit path runs it at every exit in enforce.
 *
 * Return: true to yield the CPU before re-entering the guest.
 */
static inline bool kq_policy_cut(const struct kq_cut c, u64 ran_ns, u32 at)
{
	if (ran_ns < c.min_run_ns)
		return false;
	if (at & KQ_AT_PAUSE_SPIN)
		return true;
	/*
	 * A creditor is not cut: early yields are what cost a vCPU its share
	 * (measured on EEVDF), and the ledger owes it time.
	 */
	if (c.payback < 0)
		return false;
	switch (c.reason) {
	case KVM_QUANTA_R_SMT:
		/* Pressed: only not extended.  The thrasher: see above. */
		return c.smt == KQ_SMT_THRASHER &&
		       (at & KQ_AT_SIBLING_HUNGRY) && ran_ns >= c.target_ns;
	case KVM_QUANTA_R_FLUSH:
	case KVM_QUANTA_R_PHASE_END:
	case KVM_QUANTA_R_EXIT_HEAVY:
	case KVM_QUANTA_R_SPIN:
		/*
		 * Even with a per-task slice: the tick (4 ms at HZ=250) ends a
		 * slice, so a 1 ms slice alone still runs 4 ms (measured).
		 */
		return ran_ns >= c.target_ns;
	default:
		return false;
	}
}

/**
 * kq_policy_cut_now() - kq_policy_cut() on a vCPU's whole policy state
 * @st: its policy state
 * @ran_ns: as for kq_policy_cut()
 * @at: as for kq_policy_cut()
 *
 * The rule on a whole state, for the tests; the module builds only the
 * struct kq_cut it needs (enforce.c).
 *
 * Return: as kq_policy_cut().
 */
static inline bool kq_policy_cut_now(const struct kq_vcpu_policy *st,
				     u64 ran_ns, u32 at)
{
	const struct kq_cut c = {
		.target_ns = st->target_ns,
		.min_run_ns = st->min_run_ns,
		.payback = st->payback,
		.reason = st->reason,
		.smt = st->smt,
	};

	return kq_policy_cut(c, ran_ns, at);
}

#ifdef __cplusplus
}
#endif

#endif /* _KQ_CORE_POLICY_H */
