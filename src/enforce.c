// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_quanta: enforcement, everything done to a vCPU thread.
 *
 * Per window (process context): the thread's nice follows its VM's weight
 * and, where the scheduler has a per-task slice (EEVDF, 6.12+), its slice
 * follows the policy's target quantum (sched_setattr_nocheck()).  At an
 * exit: when the policy says to cut the vCPU short and it has had its
 * target, a task_work queued from the exit hook calls yield() before the
 * vCPU re-enters the guest.  yield() is the early switch that works on
 * CFS and under EEVDF's RUN_TO_PARITY, where a bare reschedule request
 * picks the same task again.
 *
 * Everything is undone when the mode goes back to observe, when a VM's
 * policy is disabled, when the VM goes away and on unload: the thread gets
 * back the nice and slice it had.
 */
#include <linux/delay.h>
#include <linux/sched.h>
#include <linux/task_work.h>

#include "compat.h"
#include "kvm_quanta.h"
#include "trace.h"

struct kq_policy_params kq_params;
DEFINE_SPINLOCK(kq_params_lock);	/* kq_params */

/* Queued and not yet run yield task_works, for unload. */
static atomic_t kq_yields_pending = ATOMIC_INIT(0);

static void kq_yield_fn(struct callback_head *cb)
{
	struct kq_vcpu *v = container_of(cb, struct kq_vcpu, yield_work);

	clear_bit(KQ_V_YIELD_PENDING, &v->flags);
	if (!(current->flags & PF_EXITING))
		yield();
	/*
	 * Unload waits for this count, then for an RCU-tasks grace period,
	 * which also covers the return from this function.
	 */
	atomic_dec(&kq_yields_pending);
}

/**
 * kq_enforce_exit() - at an exit: switch the vCPU out early?
 * @v: the vCPU, current is its thread
 * @now: local_clock()
 *
 * Context: the kvm_exit hook.  No allocation: the task_work is embedded in
 * @v, and at most one is queued per vCPU.
 */
void kq_enforce_exit(struct kq_vcpu *v, u64 now)
{
	struct kq_vcpu_policy pol;
	bool spinning;
	u32 reason;
	u64 ran;

	if (!READ_ONCE(v->enforce) || READ_ONCE(kq_mode) != KQ_MODE_ENFORCE)
		return;
	spinning = test_and_clear_bit(KQ_V_SPINNING, &v->flags);
	pol.target_ns = READ_ONCE(v->pol.target_ns);
	pol.reason = READ_ONCE(v->pol.reason);
	ran = kq_ran_ns(now);
	if (!kq_policy_cut_now(&pol, ran, spinning))
		return;
	/* Nobody waits for this CPU: a yield would only cost time. */
	if (single_task_running())
		return;
	if (test_and_set_bit(KQ_V_YIELD_PENDING, &v->flags))
		return;
	atomic_inc(&kq_yields_pending);
	init_task_work(&v->yield_work, kq_yield_fn);
	if (task_work_add(current, &v->yield_work, TWA_RESUME)) {
		/* Only a task past exit_task_work() refuses; not a vCPU. */
		clear_bit(KQ_V_YIELD_PENDING, &v->flags);
		atomic_dec(&kq_yields_pending);
		return;
	}
	reason = spinning ? KVM_QUANTA_R_SPIN : pol.reason;
	WRITE_ONCE(v->early[reason], v->early[reason] + 1);
	trace_decision(v, reason, pol.target_ns, ran, true);
}

/**
 * kq_enforce_restore() - give the thread back what it had
 * @v: the vCPU
 *
 * Context: process.  A thread that is exiting is left alone.
 */
void kq_enforce_restore(struct kq_vcpu *v)
{
	WRITE_ONCE(v->enforce, false);
	if (!v->applied)
		return;
	v->applied = false;
	if (v->task->flags & PF_EXITING)
		return;
	if (kq_task_sched_set(v->task, &v->orig))
		pr_warn_ratelimited("kvm_quanta: could not restore thread %d\n",
				    v->tid);
}

/**
 * kq_enforce_window() - apply a window's decision to the vCPU's thread
 * @v: the vCPU, whose policy state was just updated
 * @vp: its VM's knobs
 *
 * Context: process (the sampler), under the registry lock.
 */
void kq_enforce_window(struct kq_vcpu *v, const struct kq_vm_policy *vp)
{
	struct kq_sched_params want;

	if (READ_ONCE(kq_mode) != KQ_MODE_ENFORCE || !vp->enabled) {
		kq_enforce_restore(v);
		return;
	}
	if (v->task->flags & PF_EXITING)
		return;
	if (!v->applied) {
		kq_task_sched_get(v->task, &v->orig);
		v->set = v->orig;
		v->applied = true;
	}
	want.nice = kq_weight_to_nice(vp->weight);
	/* Payback: a lower weight (about 0.64x) until the ledger is even. */
	if (v->pol.reason == KVM_QUANTA_R_PAYBACK)
		want.nice = min(want.nice + 2, MAX_NICE);
	want.slice_ns = KQ_HAVE_TASK_SLICE ? v->pol.target_ns : 0;
	if (want.nice != v->set.nice || want.slice_ns != v->set.slice_ns) {
		if (kq_task_sched_set(v->task, &want))
			pr_warn_ratelimited("kvm_quanta: could not set thread %d\n",
					    v->tid);
		else
			v->set = want;
	}
	WRITE_ONCE(v->enforce, true);
}

/**
 * kq_enforce_drain() - wait until no yield task_work is queued anywhere
 *
 * Context: unload, after the hooks are gone (nothing queues any more).
 * A vCPU blocked in the kernel (HLT with an in-kernel LAPIC) runs its
 * task_work only when it wakes: after a second, such threads are kicked
 * with TIF_NOTIFY_SIGNAL, which makes KVM_RUN return -EINTR to the VMM
 * once (as a signal would; VMMs retry).  Then an RCU-tasks grace period
 * makes sure no thread is still returning from kq_yield_fn().
 */
void kq_enforce_drain(void)
{
	unsigned int i;

	for (i = 0; atomic_read(&kq_yields_pending); i++) {
		if (i >= 50 && i % 50 == 0)
			kq_registry_kick_yields();
		msleep(20);
	}
	synchronize_rcu_tasks();
}

/**
 * kq_enforce_kick() - make a vCPU thread run its task_work soon
 * @t: the thread
 */
void kq_enforce_kick(struct task_struct *t)
{
	set_tsk_thread_flag(t, TIF_NOTIFY_SIGNAL);
	wake_up_process(t);
	kick_process(t);
}
