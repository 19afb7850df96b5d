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
 * policy is disabled, when the VM goes away, when the vCPU moves to another
 * thread and on unload: the thread gets back the nice and slice it had,
 * unless somebody else changed them since (their change stands).
 */
#include <linux/delay.h>
#include <linux/sched.h>
#include <linux/task_work.h>

#include "compat.h"
#include "kvm_quanta.h"
#include "trace.h"

/* Queued and not yet run task_works (yields and unload kicks). */
static atomic_t kq_works_pending = ATOMIC_INIT(0);
/* A task_work was queued since load: unload must wait for RCU-tasks. */
static bool kq_works_queued;

static void kq_yield_fn(struct callback_head *cb)
{
	struct kq_vcpu *v = container_of(cb, struct kq_vcpu, yield_work);

	/*
	 * The last access to @v: the reaper frees a VM only when none of its
	 * vCPUs has this bit set.
	 */
	clear_bit(KQ_V_YIELD_PENDING, &v->flags);
	if (!(current->flags & PF_EXITING))
		yield();
	/*
	 * Unload waits for this count, then for an RCU-tasks grace period,
	 * which also covers the return from this function.
	 */
	atomic_dec(&kq_works_pending);
}

/* Runs only to make a blocked thread leave the kernel; see the drain. */
static void kq_kick_fn(struct callback_head *cb)
{
	struct kq_vcpu *v = container_of(cb, struct kq_vcpu, kick_work);

	clear_bit(KQ_V_KICK_PENDING, &v->flags);
	atomic_dec(&kq_works_pending);
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
	if (unlikely(!READ_ONCE(kq_works_queued)))
		WRITE_ONCE(kq_works_queued, true);
	atomic_inc(&kq_works_pending);
	WRITE_ONCE(v->yield_task, current);
	init_task_work(&v->yield_work, kq_yield_fn);
	if (task_work_add(current, &v->yield_work, TWA_RESUME)) {
		/* Only a task past exit_task_work() refuses; not a vCPU. */
		clear_bit(KQ_V_YIELD_PENDING, &v->flags);
		atomic_dec(&kq_works_pending);
		return;
	}
	reason = spinning ? KVM_QUANTA_R_SPIN : pol.reason;
	WRITE_ONCE(v->early[reason], v->early[reason] + 1);
	trace_decision(v, reason, pol.target_ns, ran, true);
}

static bool kq_sched_same(const struct kq_sched_params *a,
			  const struct kq_sched_params *b)
{
	return a->policy == b->policy && a->reset_on_fork == b->reset_on_fork &&
	       a->nice == b->nice && a->slice_ns == b->slice_ns;
}

static bool kq_sched_ours(const struct kq_sched_params *sp)
{
	return sp->policy == SCHED_NORMAL || sp->policy == SCHED_BATCH;
}

/**
 * kq_enforce_restore() - give the thread back what it had
 * @v: the vCPU
 *
 * Only what we set is undone, field by field: a nice or slice that is no
 * longer the one we set was changed by somebody else (an admin's renice,
 * the VMM) after us, and theirs stays; the policy and its flags are never
 * ours.  A thread that is exiting or real-time is left alone.
 *
 * Context: process.
 */
void kq_enforce_restore(struct kq_vcpu *v)
{
	struct kq_sched_params cur, want;

	WRITE_ONCE(v->enforce, false);
	if (!v->applied)
		return;
	v->applied = false;
	if (!v->task || (v->task->flags & PF_EXITING))
		return;
	kq_task_sched_get(v->task, &cur);
	if (!kq_sched_ours(&cur))
		return;
	/* Field by field: what somebody else set since stays. */
	want = cur;
	if (cur.nice == v->set.nice)
		want.nice = v->orig.nice;
	if (cur.slice_ns == v->set.slice_ns)
		want.slice_ns = v->orig.slice_ns;
	if (!kq_sched_same(&want, &cur) && kq_task_sched_set(v->task, &want))
		pr_warn_ratelimited("kvm_quanta: could not restore thread %d\n",
				    v->tid);
}

/**
 * kq_enforce_window() - apply a window's decision to the vCPU's thread
 * @v: the vCPU, whose policy state was just updated
 * @vp: its VM's knobs
 * @weight: its share of the VM's weight, kq_ledger_weight()
 *
 * The thread's nice moves relative to its own: by its share of the VM's
 * weight (weight 100 on one busy vCPU: no change) and by the ledger's
 * correction; its slice (EEVDF) follows the target
 * quantum.  A change made by somebody else since our last one is noticed
 * and becomes the new base: never fought, never undone.  A thread made
 * real-time is not touched, and gets no early yields.
 *
 * Context: process (the sampler), under the registry lock.
 */
void kq_enforce_window(struct kq_vcpu *v, const struct kq_vm_policy *vp,
		       u32 weight)
{
	struct kq_sched_params cur, want;
	int nice;

	if (READ_ONCE(kq_mode) != KQ_MODE_ENFORCE || !vp->enabled) {
		kq_enforce_restore(v);
		return;
	}
	if (!v->task || (v->task->flags & PF_EXITING))
		return;
	kq_task_sched_get(v->task, &cur);
	if (!v->applied) {
		v->orig = cur;
		v->set = cur;
		v->applied = true;
	}
	/*
	 * Field by field, what differs from what we set was set by somebody
	 * else and becomes the base: a chrt changes the policy and keeps our
	 * nice, which stays ours to undo.  Policy and flags are never ours.
	 */
	if (cur.nice != v->set.nice)
		v->orig.nice = cur.nice;
	if (cur.slice_ns != v->set.slice_ns)
		v->orig.slice_ns = cur.slice_ns;
	v->orig.policy = cur.policy;
	v->orig.reset_on_fork = cur.reset_on_fork;
	v->set = cur;
	if (!kq_sched_ours(&cur)) {
		WRITE_ONCE(v->enforce, false);
		return;
	}
	/*
	 * The ledger's correction acts through weight on EEVDF only: CFS
	 * credits a waking sleeper, which the ledger's reference does not
	 * model, and correcting there moved shares away from the stock
	 * scheduler's (Documentation/design.rst, the ledger).
	 */
	nice = v->orig.nice +
	       kq_policy_nice(weight, KQ_HAVE_TASK_SLICE ? v->pol.payback : 0);
	want = cur;
	want.nice = clamp(nice, MIN_NICE, MAX_NICE);
	want.slice_ns = KQ_HAVE_TASK_SLICE ? v->pol.target_ns :
					     v->orig.slice_ns;
	if (!kq_sched_same(&want, &cur)) {
		if (kq_task_sched_set(v->task, &want))
			pr_warn_ratelimited("kvm_quanta: could not set thread %d\n",
					    v->tid);
		else
			v->set = want;
	}
	WRITE_ONCE(v->enforce, true);
}

/**
 * kq_enforce_drain() - wait until no task_work of ours is queued anywhere
 *
 * Context: unload, after the hooks are gone (nothing queues yields any
 * more).  A vCPU blocked in the kernel (HLT with an in-kernel LAPIC) runs
 * its task_work only when it wakes: after a second, such threads get a
 * second task_work queued with TWA_SIGNAL (the notify-signal path: only
 * interruptible sleeps are woken), which makes KVM_RUN return -EINTR to
 * the VMM once, as a signal would; VMMs retry.  Then, if any work was
 * ever queued, an RCU-tasks grace period makes sure no thread is still
 * returning from our callbacks.
 */
void kq_enforce_drain(void)
{
	unsigned int i;

	for (i = 0; atomic_read(&kq_works_pending); i++) {
		if (i >= 50 && i % 50 == 0)
			kq_registry_kick_yields();
		msleep(20);
	}
	/*
	 * A CPU-bound vCPU thread ends an RCU-tasks grace period only when it
	 * next sleeps or returns to its VMM, which may take seconds: wait
	 * only when some callback of ours may still be returning.
	 */
	if (READ_ONCE(kq_works_queued))
		synchronize_rcu_tasks();
}

/**
 * kq_enforce_kick() - make a vCPU thread with a yield queued run it soon
 * @v: the vCPU
 *
 * Context: unload, hooks gone (so @v->yield_task was written before the
 * bit was last set), RCU read side, with KQ_V_YIELD_PENDING seen set: the
 * thread has not run its task_works yet, so it is still there.
 */
void kq_enforce_kick(struct kq_vcpu *v)
{
	struct task_struct *t = READ_ONCE(v->yield_task);

	if (!t || test_and_set_bit(KQ_V_KICK_PENDING, &v->flags))
		return;
	atomic_inc(&kq_works_pending);
	init_task_work(&v->kick_work, kq_kick_fn);
	if (task_work_add(t, &v->kick_work, TWA_SIGNAL)) {
		/* Past exit_task_work(): it ran our yield already. */
		clear_bit(KQ_V_KICK_PENDING, &v->flags);
		atomic_dec(&kq_works_pending);
	}
}

/**
 * kq_enforce_pending() - task_works of ours queued and not yet run
 */
unsigned int kq_enforce_pending(void)
{
	return atomic_read(&kq_works_pending);
}
