// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_quanta: the exit path.  Probes on KVM's kvm_exit and kvm_entry
 * tracepoints, run by the vCPU's own thread for every exit and entry on
 * the host.  O(1), lock-free, no allocation: a per-CPU cache hit (a hash
 * lookup when the vCPU is new to the CPU), a clock read each and a few
 * counter updates; everything that can wait for a window does (the exits
 * and their kinds are KVM's counters, read by the sampler).  make bench
 * counts these instructions (Documentation/bench.rst).  The thread that
 * runs a vCPU is followed by the sampler (kq_vcpu_follow()), not here.
 */
#include <linux/clocksource.h>
#include <linux/jump_label.h>
#include <linux/kvm_host.h>
#include <linux/math64.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/tracepoint.h>
#include <asm/cpufeature.h>
#include <asm/tsc.h>

#include "compat.h"
#include "kvm_quanta.h"

/*
 * The probes' clock.  local_clock() is some 40 instructions a read
 * (sched_clock(), its per-CPU scale, and more where the kernel does not
 * trust the TSC); rdtsc is one.  Entry and exit of one run are read on one
 * CPU (a run the thread was switched out in is bounded by its runtime,
 * below), so TSCs that differ between CPUs do not matter; a TSC whose rate
 * changes with the CPU's frequency would.  So the raw TSC where its rate is
 * constant (kq_clock_init()), else local_clock().  Sums in these units are
 * converted to ns by the sampler, once per window (kq_clock_to_ns()).
 */
DEFINE_STATIC_KEY_FALSE(kq_clock_tsc);
u32 kq_clock_mult __ro_after_init = 1;
u32 kq_clock_shift __ro_after_init;
u32 kq_clock_inv_mult __ro_after_init = 1;
u32 kq_clock_inv_shift __ro_after_init;
u64 kq_clock_alone __ro_after_init = KQ_ALONE_NS;

/*
 * The probes come in two builds, one per clock, and registration picks one
 * (kq_hooks_register()): a TSC read is then one instruction in line, with
 * no branch and no call that would make the probes save registers.
 */
static __always_inline u64 kq_clock(bool tsc)
{
	return tsc ? rdtsc() : local_clock();
}

/*
 * Context: init, before the probes are registered.  A TSC that keeps its
 * rate through P-states and C-states (constant_tsc and nonstop_tsc: any
 * x86 host of the last 15 years), or a hypervisor's virtual TSC, which it
 * scales to a constant rate: the rig's, and a nested host's.  One caveat
 * there: a VM live-migrated to a host of another TSC rate without TSC
 * scaling keeps counting at the new rate, and its guest times are off by
 * the ratio.
 */
static void __init kq_clock_init(void)
{
	unsigned int khz = READ_ONCE(tsc_khz);

	if (!boot_cpu_has(X86_FEATURE_TSC) || !khz ||
	    !((boot_cpu_has(X86_FEATURE_CONSTANT_TSC) &&
	       boot_cpu_has(X86_FEATURE_NONSTOP_TSC)) ||
	      boot_cpu_has(X86_FEATURE_HYPERVISOR)))
		return;
	/*
	 * Best precision: the products are 96-bit (mul_u64_u32_shr()), and
	 * shifted, never divided: no input can trap.
	 */
	clocks_calc_mult_shift(&kq_clock_mult, &kq_clock_shift, khz,
			       NSEC_PER_MSEC, 0);
	clocks_calc_mult_shift(&kq_clock_inv_mult, &kq_clock_inv_shift,
			       NSEC_PER_MSEC, khz, 0);
	kq_clock_alone = mul_u64_u32_shr(KQ_ALONE_NS, kq_clock_inv_mult,
					 kq_clock_inv_shift);
	static_branch_enable(&kq_clock_tsc);
}

/* The vCPU's side of an exit: its guest time, and where it was spent. */
static __always_inline void kq_exit_vcpu(struct kq_vcpu *v, u64 dt)
{
	write_seqcount_begin(&v->seq);
	v->guest_t += dt;
	/*
	 * Exact and where it happened: the ledger's split by CPU.  Through a
	 * pointer, not a subscript, which a UBSAN_BOUNDS kernel (Debian's
	 * 7.x) would check at every exit.
	 */
	v->ran_cur->ns += dt;
	write_seqcount_end(&v->seq);
	v->entry_sw = ULONG_MAX;	/* out of the guest */
}

/*
 * The CPU's side: its profile, where the guest ran up to now (the VM it
 * ran is written when the vCPU came to the CPU: kq_vcpu_miss()).
 */
static __always_inline void kq_exit_cpu(u64 dt)
{
	this_cpu_add(kq_pcpu_now.guest_ns, dt);
	this_cpu_inc(kq_pcpu_now.exits);
	this_cpu_write(kq_cpu_hungry, 0);
}

/*
 * Observe has nothing to do here but a PAUSE exit to consume.  Enforce
 * has nothing to do either while the vCPU's CPU had nobody else to run a
 * moment ago in this turn (kq_enforce_cut() sets @alone_t): the exits of
 * an exit-heavy vCPU alone on its CPU, past its target, come microseconds
 * apart, and would each ask again.  At most KQ_ALONE_NS ahead: a clock
 * that went back does not stretch it.
 */
static __always_inline void kq_exit_act(struct kq_vcpu *v, u64 now)
{
	unsigned long f = READ_ONCE(v->flags);

	if (likely(!(f & (BIT(KQ_V_ENFORCE) | BIT(KQ_V_SPINNING)))))
		return;
	if (!(f & BIT(KQ_V_SPINNING)) && v->alone_t - now <= kq_clock_alone &&
	    kq_turn_same(v))
		return;
	kq_enforce_exit(v, now);
}

/*
 * The exit of a run that did not go the common way: one with no entry
 * stamped (a vCPU registered by a VM scan while it was in the guest), or
 * one the thread was switched out in since its entry (kvm_exit fires with
 * preemption enabled on SVM up to 6.x, in svm_handle_exit(), and KVM may
 * sleep there, e.g. reading the guest's PV EOI word), or whose TSC went
 * back (a broken or migrated TSC).  Then the clock's difference may span
 * other tasks' time, or two CPUs' TSCs: the guest ran at most what the
 * thread ran since the entry, all of it if it now runs on another CPU, on
 * the entry's CPU.
 */
static noinline void kq_exit_odd(struct kq_vcpu *v, u64 now)
{
	bool entered = v->entry_sw != ULONG_MAX;
	bool here = v->entry_cpu == smp_processor_id();
	u64 dt = 0, ran = 0, exec;

	if (entered) {
		dt = now - v->entry_t;
		/* Only another thread's stamp could be ahead: never wrap. */
		exec = current->se.sum_exec_runtime;
		if (exec > v->entry_exec)
			ran = kq_clock_from_ns(exec - v->entry_exec);
		dt = !here || (s64)dt < 0 ? ran : min(dt, ran);
	}
	kq_exit_vcpu(v, dt);
	if (likely(here || !entered))
		kq_exit_cpu(dt);
	else
		/* Its entry CPU's guest is gone from there too. */
		WRITE_ONCE(per_cpu(kq_cpu_hungry, v->entry_cpu), 0);
	kq_exit_act(v, now);
}

/*
 * Both probes disable preemption themselves: the per-CPU pool (one taker
 * per CPU) and the per-CPU profile rely on it, and since 7.x tracepoints
 * call probes under SRCU with preemption enabled; only KVM's call sites
 * happen to run with it off today.  notrace: one instruction less each
 * (their out-of-line slow paths stay traceable, but kq_enforce_exit(),
 * which an enforced vCPU's exits call).
 */
static __always_inline void kq_on_exit(struct kvm_vcpu *vcpu, bool tsc)
{
	struct kq_vcpu *v;
	u64 now;

	preempt_disable_notrace();
	if (unlikely(!kq_vcpu_find(vcpu, &v, true)))
		goto out;
	now = kq_clock(tsc);
	/*
	 * Entered, and not switched out since: on this CPU, whose clock only
	 * goes forward, unless broken.
	 */
	if (likely(kq_switches(current) == v->entry_sw &&
		   (s64)(now - v->entry_t) >= 0)) {
		u64 dt = now - v->entry_t;

		kq_exit_vcpu(v, dt);
		kq_exit_cpu(dt);
		/* Last: nothing is kept across a call, no register saved. */
		kq_exit_act(v, now);
	} else {
		kq_exit_odd(v, now);
	}
out:
	preempt_enable_notrace();
}

/* A vCPU enters on another CPU than last time: its slot there. */
static noinline void kq_entry_moved(struct kq_vcpu *v, int cpu)
{
	write_seqcount_begin(&v->seq);
	v->ran_cur = &v->ran_on[kq_ran_take(v->ran_on, &v->ran_next, cpu)];
	write_seqcount_end(&v->seq);
	v->entry_cpu = cpu;
}

/* The start of a run in guest mode: its time and place. */
static __always_inline void kq_on_entry(struct kvm_vcpu *vcpu, bool tsc)
{
	struct kq_vcpu *v;
	int cpu;

	preempt_disable_notrace();
	if (unlikely(!kq_vcpu_find(vcpu, &v, false)))
		goto out;
	cpu = smp_processor_id();
	if (unlikely(cpu != v->entry_cpu))
		kq_entry_moved(v, cpu);
	v->entry_exec = current->se.sum_exec_runtime;
	v->entry_sw = kq_switches(current);
	v->entry_t = kq_clock(tsc);
	/*
	 * Exits clear the mark.  Stamped: where kvm_exit fires with
	 * preemption enabled (SVM on 6.x), a vCPU preempted between its VM
	 * exit and the exit probe leaves the mark set while others run here;
	 * a mark older than a tick is not believed (a vCPU in guest mode
	 * exits at least once a tick).
	 */
	if (unlikely(READ_ONCE(v->smt_hungry)))
		this_cpu_write(kq_cpu_hungry, jiffies | 1);
out:
	preempt_enable_notrace();
}

static notrace KQ_PROBE_KVM_EXIT(kq_probe_exit_tsc)
{
	kq_on_exit(vcpu, true);
}

static notrace KQ_PROBE_KVM_EXIT(kq_probe_exit_lc)
{
	kq_on_exit(vcpu, false);
}

static notrace KQ_PROBE_KVM_ENTRY(kq_probe_entry_tsc)
{
	kq_on_entry(vcpu, true);
}

static notrace KQ_PROBE_KVM_ENTRY(kq_probe_entry_lc)
{
	kq_on_entry(vcpu, false);
}

/* The pair registered, for unregistering it. */
static KQ_PROBE_KVM_EXIT((*kq_probe_exit_fn)) __ro_after_init;
static KQ_PROBE_KVM_ENTRY((*kq_probe_entry_fn)) __ro_after_init;

/**
 * kq_hooks_register() - attach to KVM's vCPU entry and exit
 *
 * Return: 0 or the error from tracepoint_probe_register().
 */
int __init kq_hooks_register(void)
{
	bool tsc;
	int ret;

	kq_clock_init();
	tsc = static_branch_likely(&kq_clock_tsc);
	kq_probe_exit_fn = tsc ? kq_probe_exit_tsc : kq_probe_exit_lc;
	kq_probe_entry_fn = tsc ? kq_probe_entry_tsc : kq_probe_entry_lc;
	kq_spin_register();
	ret = tracepoint_probe_register(&__tracepoint_kvm_entry,
					kq_probe_entry_fn, NULL);
	if (ret) {
		kq_spin_unregister();
		return ret;
	}
	ret = tracepoint_probe_register(&__tracepoint_kvm_exit,
					kq_probe_exit_fn, NULL);
	if (ret) {
		tracepoint_probe_unregister(&__tracepoint_kvm_entry,
					    kq_probe_entry_fn, NULL);
		tracepoint_synchronize_unregister();
		kq_spin_unregister();
	}
	return ret;
}

/**
 * kq_hooks_unregister() - detach, and wait until no probe is running
 */
void kq_hooks_unregister(void)
{
	tracepoint_probe_unregister(&__tracepoint_kvm_exit, kq_probe_exit_fn,
				    NULL);
	tracepoint_probe_unregister(&__tracepoint_kvm_entry, kq_probe_entry_fn,
				    NULL);
	tracepoint_synchronize_unregister();
	kq_spin_unregister();
}
