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
 *
 * A queued yield holds a reference on the module: its callback is our
 * text, it cannot be taken back (task_work_cancel() is not exported), and
 * a thread may hold it back indefinitely (an exit handler that sleeps
 * killably before the thread runs its task_works, such as a fault on guest
 * memory that a userfaultfd never resolves).  rmmod then says "in use"
 * instead of waiting forever; with mode observe no yield is queued.  The
 * reference is dropped before the yield itself (see kq_yield_fn()).
 */
#include <linux/delay.h>
#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/spinlock.h>
#include <linux/task_work.h>

#include "compat.h"
#include "kvm_quanta.h"
#include "trace.h"

/* Queued and not yet run yields. */
static atomic_t kq_works_pending = ATOMIC_INIT(0);
/* Callbacks past their module_put(), in yield(): unload waits for them. */
static atomic_t kq_yielding = ATOMIC_INIT(0);
/* A task_work was queued since load: unload must wait for RCU-tasks. */
static bool kq_works_queued;

static void kq_yield_fn(struct callback_head *cb)
{
	struct kq_vcpu *v = container_of(cb, struct kq_vcpu, yield_work);
	/*
	 * A vCPU that halted (HLT with an in-kernel LAPIC) is about to block
	 * and give the CPU up anyway: a yield first would only add a switch.
	 */
	bool halted = READ_ONCE(v->vcpu->arch.mp_state) != KVM_MP_STATE_RUNNABLE;

	/*
	 * The last access to @v: the reaper frees a VM only when none of its
	 * vCPUs has this bit set.
	 */
	clear_bit(KQ_V_YIELD_PENDING, &v->flags);
	/*
	 * The reference covers the wait for this callback, which a thread can
	 * make indefinite; not the yield itself, during which a vCPU thread
	 * waits for its CPU while others run, most of the time in enforce
	 * (rmmod would almost never find the module free).  A yielding thread
	 * is runnable and gets back here soon: unload waits for
	 * kq_yielding, and the RCU-tasks grace period covers the return.
	 * Fully ordered: unload that saw the reference gone sees the count.
	 */
	atomic_inc_return(&kq_yielding);
	atomic_dec(&kq_works_pending);
	module_put(THIS_MODULE);
	if (!halted && !(current->flags & PF_EXITING))
		yield();
	atomic_dec(&kq_yielding);
}

/*
 * Map current's turn on its CPU into the probes' clock.  The turn began at
 * sched_info.last_arrival, in the scheduler's clock; one local_clock()
 * read (a moment after @now: early by the probe's few ns) maps it, and
 * every other exit of the turn subtracts and scales (kq_enforce_exit()).
 * A turn is told by the thread's context switches, which every switch-out
 * bumps (kq_turn_same()).  Context: the vCPU's thread, the exit probe,
 * which alone writes @v's turn.
 *
 * Return: false without schedstats (no arrival to map).
 */
static noinline bool kq_turn_start(struct kq_vcpu *v, u64 now)
{
	u64 arrived = kq_sched_arrival(), ns;

	if (!arrived)
		return false;
	ns = local_clock();
	v->turn = kq_switches(current);
	v->turn_task = current;
	v->turn_t = now - kq_clock_from_ns(ns > arrived ? ns - arrived : 0);
	v->alone_t = 0;
	return true;
}

/*
 * The cut itself: queue a yield, unless the CPU has nobody else to run.
 * Then no cut is tried again in this turn for KQ_ALONE_NS (the exit probe
 * checks, kq_exit_act()): a vCPU alone on its CPU past its target would
 * otherwise ask at every exit.
 */
static noinline void kq_enforce_cut(struct kq_vcpu *v, u64 now, u32 reason,
				    u64 target_ns, u64 ran)
{
	/* Nobody waits for this CPU: a yield would only cost time. */
	if (single_task_running()) {
		v->alone_t = now + kq_clock_alone;
		return;
	}
	if (test_and_set_bit(KQ_V_YIELD_PENDING, &v->flags))
		return;
	/* Fails once rmmod has begun: then nothing more is queued. */
	if (!try_module_get(THIS_MODULE)) {
		clear_bit(KQ_V_YIELD_PENDING, &v->flags);
		return;
	}
	if (unlikely(!READ_ONCE(kq_works_queued)))
		WRITE_ONCE(kq_works_queued, true);
	atomic_inc(&kq_works_pending);
	init_task_work(&v->yield_work, kq_yield_fn);
	if (task_work_add(current, &v->yield_work, TWA_RESUME)) {
		/* Only a task past exit_task_work() refuses; not a vCPU. */
		clear_bit(KQ_V_YIELD_PENDING, &v->flags);
		atomic_dec(&kq_works_pending);
		module_put(THIS_MODULE);
		return;
	}
	WRITE_ONCE(v->early[reason], v->early[reason] + 1);
	trace_decision(v, reason, target_ns, ran, true);
}

/*
 * What kq_policy_cut() reads of @v's policy, initialised whole (a copy
 * filled field by field would be zeroed first: auto-var-init).
 */
static __always_inline struct kq_cut kq_cut_of(const struct kq_vcpu *v,
					       u64 target, u32 reason, u32 smt)
{
	const struct kq_cut c = {
		.target_ns = target,
		.min_run_ns = READ_ONCE(v->pol.min_run_ns),
		.payback = READ_ONCE(v->pol.payback),
		.reason = reason,
		.smt = smt,
	};

	return c;
}

/**
 * kq_enforce_exit() - at an exit: switch the vCPU out early?
 * @v: the vCPU, current is its thread
 * @now: kq_clock() at this exit
 *
 * In line to the decision (the turn's mapping and the cut are out of
 * line): it runs at every exit of an enforced vCPU (make bench counts it).
 * notrace like the probes that call it.
 *
 * Context: the kvm_exit hook, preemption disabled.  No allocation: the
 * task_work is embedded in @v, and at most one is queued per vCPU.
 */
notrace void kq_enforce_exit(struct kq_vcpu *v, u64 now)
{
	u32 at, reason, smt;
	u64 ran, target;
	bool spinning;
	s32 sib;

	/*
	 * Consumed at every exit, acting or not, so that a PAUSE-loop exit
	 * seen in observe does not cut the vCPU when enforce begins.  Set in
	 * KVM's PAUSE handler, after its kvm_exit: it acts at the next exit.
	 */
	spinning = test_bit(KQ_V_SPINNING, &v->flags) &&
		   test_and_clear_bit(KQ_V_SPINNING, &v->flags);
	if (!test_bit(KQ_V_ENFORCE, &v->flags) ||
	    READ_ONCE(kq_mode) != KQ_MODE_ENFORCE)
		return;
	/*
	 * (A vCPU alone on its CPU a moment ago is not asked: hooks.c.)
	 * Without schedstats no turn is known: then it has run 0, which only
	 * a spinner is cut at, with no ratelimit.
	 */
	ran = 0;
	if (likely(kq_turn_same(v)) || kq_turn_start(v, now))
		ran = now > v->turn_t ? kq_clock_to_ns(now - v->turn_t) : 0;
	reason = READ_ONCE(v->pol.reason);
	target = READ_ONCE(v->pol.target_ns);
	smt = 0;
	at = spinning ? KQ_AT_PAUSE_SPIN : 0;
	/* An SMT thrasher yields while its sibling runs cache-hungry work. */
	if (unlikely(reason == KVM_QUANTA_R_SMT)) {
		smt = READ_ONCE(v->pol.smt);
		sib = this_cpu_read(kq_cpu_sibling);
		if (sib >= 0 && sib < nr_cpu_ids &&
		    kq_cpu_runs_hungry(READ_ONCE(per_cpu(kq_cpu_hungry, sib))))
			at |= KQ_AT_SIBLING_HUNGRY;
	}
	if (kq_policy_cut(kq_cut_of(v, target, reason, smt), ran, at))
		kq_enforce_cut(v, now, spinning ? KVM_QUANTA_R_SPIN : reason,
			       target, ran);
}

/*
 * One vCPU acts on a thread.  KVM lets a thread run several vCPUs (in
 * turn); each would take the others' nice as an admin's change and add its
 * own offset on top, every window, and restore would give back another
 * vCPU's idea of the original.  The first vCPU to act owns the thread;
 * the others leave it alone until it is released.
 */
static DEFINE_HASHTABLE(kq_owners, 8);
static DEFINE_SPINLOCK(kq_owners_lock);

/* Make @v the one vCPU that acts on its thread; false if another is. */
static bool kq_thread_claim(struct kq_vcpu *v)
{
	struct kq_vcpu *o;
	bool ok = true;

	spin_lock(&kq_owners_lock);
	hash_for_each_possible(kq_owners, o, owner_node, (unsigned long)v->task)
		if (o->task == v->task) {
			ok = o == v;
			goto out;
		}
	hash_add(kq_owners, &v->owner_node, (unsigned long)v->task);
out:
	spin_unlock(&kq_owners_lock);
	return ok;
}

static void kq_thread_release(struct kq_vcpu *v)
{
	spin_lock(&kq_owners_lock);
	hash_del(&v->owner_node);
	spin_unlock(&kq_owners_lock);
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

	clear_bit(KQ_V_ENFORCE, &v->flags);
	if (!v->applied)
		return;
	v->applied = false;
	kq_thread_release(v);
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
 * @latency_here: a latency-sensitive vCPU ran on this vCPU's CPU in the
 *	window: its slice is not extended beyond its own (kq_policy_slice())
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
		       u32 weight, bool latency_here)
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
		/* Another vCPU of this thread acts on it: this one does not. */
		if (!kq_thread_claim(v)) {
			clear_bit(KQ_V_ENFORCE, &v->flags);
			return;
		}
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
		clear_bit(KQ_V_ENFORCE, &v->flags);
		return;
	}
	/*
	 * The ledger's correction and the latency boost act through weight on
	 * EEVDF only: CFS credits a waking sleeper, which the ledger's
	 * reference does not model, and correcting there moved shares away
	 * from the stock scheduler's (Documentation/design.rst, the ledger).
	 */
	nice = v->orig.nice +
	       kq_policy_nice(weight, KQ_HAVE_TASK_SLICE ?
			      v->pol.payback + v->pol.boost : 0);
	want = cur;
	want.nice = clamp(nice, MIN_NICE, MAX_NICE);
	/*
	 * Its own slice: an admin's, or the scheduler's default in effect when
	 * we first acted (a thread without one reads 0, and 0 would reset it
	 * to the default, whatever that is then).
	 */
	want.slice_ns = KQ_HAVE_TASK_SLICE ?
			kq_policy_slice(&v->pol, v->orig.slice_ns ?:
					v->orig.eff_slice_ns, latency_here) :
			v->orig.slice_ns;
	if (!kq_sched_same(&want, &cur)) {
		if (kq_task_sched_set(v->task, &want))
			pr_warn_ratelimited("kvm_quanta: could not set thread %d\n",
					    v->tid);
		else
			v->set = want;
	}
	set_bit(KQ_V_ENFORCE, &v->flags);
}

/**
 * kq_enforce_drain() - make sure no thread still runs our callbacks
 *
 * Context: unload, after the hooks are gone.  Every queued yield held a
 * module reference, so rmmod got here only once all of them had run to
 * their module_put(); those still in yield() are runnable and come back
 * within a scheduling round.  If any was ever queued, an RCU-tasks grace
 * period covers the return from the callbacks before the module text goes.
 */
void kq_enforce_drain(void)
{
	WARN_ON_ONCE(atomic_read(&kq_works_pending));
	while (atomic_read(&kq_yielding))
		usleep_range(500, 1000);
	/*
	 * A CPU-bound vCPU thread ends an RCU-tasks grace period only when it
	 * next sleeps or returns to its VMM, which may take seconds: wait
	 * only when some callback of ours may still be returning.
	 */
	if (READ_ONCE(kq_works_queued))
		synchronize_rcu_tasks();
}

/**
 * kq_enforce_pending() - task_works of ours queued and not yet run
 */
unsigned int kq_enforce_pending(void)
{
	return atomic_read(&kq_works_pending);
}
