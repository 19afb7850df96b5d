// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_quanta: the exit path.  Probes on KVM's kvm_exit and kvm_entry
 * tracepoints, run by the vCPU's own thread for every exit and entry on
 * the host.  O(1), lock-free, no allocation: a per-CPU cache hit (a hash
 * lookup when the vCPU is new to the CPU), two clock reads and a few
 * counter updates; nothing that can wait for a window (make bench counts
 * these instructions, Documentation/bench.rst).  The thread that runs a
 * vCPU is followed by the sampler (kq_vcpu_follow()), not here.
 */
#include <linux/kvm_host.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/tracepoint.h>

#include "compat.h"
#include "kvm_quanta.h"

/*
 * Both probes disable preemption themselves: the per-CPU pool (one taker
 * per CPU) and the per-CPU profile rely on it, and since 7.x tracepoints
 * call probes under SRCU with preemption enabled; only KVM's call sites
 * happen to run with it off today.
 */
static KQ_PROBE_KVM_EXIT(kq_probe_exit)
{
	struct kq_vcpu *v;

	preempt_disable_notrace();
	v = kq_vcpu_find(vcpu);
	if (likely(v)) {
		u64 now = local_clock(), dt = 0;
		bool moved = v->entry_cpu != smp_processor_id();
		bool entered = v->entry_ns;
		struct kq_vm *vm;

		write_seqcount_begin(&v->seq);
		v->acct.exits++;
		if (v->entry_ns && now > v->entry_ns) {
			dt = now - v->entry_ns;
			/*
			 * Where kvm_exit fires with preemption enabled (SVM up
			 * to 6.x, in svm_handle_exit()), the thread may have
			 * been switched out between the VM exit and here: the
			 * guest ran at most what the thread ran since entry.
			 */
			if (kq_sched_in_since(v->entry_ns))
				dt = min(dt, current->se.sum_exec_runtime -
					     v->entry_exec);
		}
		v->guest_ns += dt;
		/* Exact and where it happened: the ledger's split by CPU. */
		if (dt)
			kq_ran_add(v->ran_on, &v->ran_next, v->entry_cpu, dt);
		v->entry_ns = 0;
		write_seqcount_end(&v->seq);
		/* Published after the VM was set up; freed after RCU. */
		vm = smp_load_acquire(&v->vm);
		/* The guest ran on the entry CPU: charge no other. */
		if (likely(!moved)) {
			this_cpu_add(kq_pcpu_now.guest_ns, dt);
			this_cpu_inc(kq_pcpu_now.exits);
			this_cpu_write(kq_pcpu_now.vm_id, vm ? vm->id : 0);
			this_cpu_write(kq_cpu_hungry, 0);
		} else if (entered) {
			/* Its entry CPU's guest is gone from there too. */
			WRITE_ONCE(per_cpu(kq_cpu_hungry, v->entry_cpu), 0);
		}
		/* Observe has nothing to do here but a PAUSE exit to consume. */
		if (READ_ONCE(v->enforce) ||
		    unlikely(test_bit(KQ_V_SPINNING, &v->flags)))
			kq_enforce_exit(v, now);
	} else {
		kq_vcpu_sight(vcpu);
	}
	preempt_enable_notrace();
}

/*
 * A counter moved, or the accounting has no base yet: the snapshot, out of
 * line so that the common case keeps no copy of it on its stack.
 */
static noinline void kq_entry_attribute(struct kq_vcpu *v,
					struct kvm_vcpu *vcpu)
{
	struct kq_exit_stat now;

	kq_read_exit_stat(vcpu, &now);
	if (unlikely(v->acct_unbased)) {
		/*
		 * First entry since we registered it: every exit so far is in
		 * KVM's totals, handled, and none is in flight, so they are
		 * the exact base.
		 */
		kq_exit_acct_init_since(&v->acct, &now, kq_read_exits(vcpu));
		v->acct_unbased = false;
	} else {
		kq_exit_attribute(&v->acct, &now);
	}
}

/*
 * The exit's handler has run by the time the vCPU re-enters: KVM's per-kind
 * counters now say what the exit was.
 */
static KQ_PROBE_KVM_ENTRY(kq_probe_entry)
{
	struct kq_vcpu *v;

	preempt_disable_notrace();
	v = kq_vcpu_find(vcpu);
	if (likely(v)) {
		u64 sum = kq_read_exit_sum(vcpu);

		write_seqcount_begin(&v->seq);
		if (unlikely(v->acct_unbased) ||
		    !kq_exit_attribute_unmoved(&v->acct, sum))
			kq_entry_attribute(v, vcpu);
		write_seqcount_end(&v->seq);
		v->entry_cpu = smp_processor_id();
		v->entry_exec = current->se.sum_exec_runtime;
		v->entry_ns = local_clock();
		/*
		 * Stamped: where kvm_exit fires with preemption enabled (SVM
		 * on 6.x), a vCPU preempted between its VM exit and the exit
		 * probe leaves the mark set while others run here; a mark
		 * older than a tick is not believed (a vCPU in guest mode
		 * exits at least once a tick).
		 */
		this_cpu_write(kq_cpu_hungry,
			       READ_ONCE(v->smt_hungry) ? jiffies | 1 : 0);
	}
	preempt_enable_notrace();
}

/**
 * kq_hooks_register() - attach to KVM's vCPU entry and exit
 *
 * Return: 0 or the error from tracepoint_probe_register().
 */
int kq_hooks_register(void)
{
	int ret;

	kq_spin_register();
	ret = tracepoint_probe_register(&__tracepoint_kvm_entry,
					kq_probe_entry, NULL);
	if (ret) {
		kq_spin_unregister();
		return ret;
	}
	ret = tracepoint_probe_register(&__tracepoint_kvm_exit,
					kq_probe_exit, NULL);
	if (ret) {
		tracepoint_probe_unregister(&__tracepoint_kvm_entry,
					    kq_probe_entry, NULL);
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
	tracepoint_probe_unregister(&__tracepoint_kvm_exit, kq_probe_exit, NULL);
	tracepoint_probe_unregister(&__tracepoint_kvm_entry, kq_probe_entry,
				    NULL);
	tracepoint_synchronize_unregister();
	kq_spin_unregister();
}
