// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_quanta: which VMs and vCPUs exist, and for how long.
 *
 * The exit hook finds a vCPU's state by an RCU hash lookup.  A vCPU not in
 * the hash is new: it gets an object from a per-CPU pool that process
 * context keeps filled, so the exit path neither allocates nor takes a
 * global lock.  Registration (VM object, sysfs) and the reaper, which
 * notices VMs whose file descriptors are all closed, run from a workqueue
 * under kq_registry_lock.
 */
#include <linux/hash.h>
#include <linux/sched/task.h>
#include <linux/timekeeping.h>
#include <linux/kvm_host.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rculist_bl.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "kvm_quanta.h"
#include "trace.h"

#define KQ_HASH_BITS 10
#define KQ_POOL_PER_CPU 8
#define KQ_REAP_INTERVAL (HZ / 5)

/**
 * struct kq_pool - per-CPU reserve of vCPU objects for the exit path
 * @free: objects ready to use; the exit hook on this CPU is the only taker
 * @nr: objects in @free
 */
struct kq_pool {
	struct llist_head free;
	atomic_t nr;
};

static DEFINE_PER_CPU(struct kq_pool, kq_pools);
static struct hlist_bl_head kq_vcpu_hash[1 << KQ_HASH_BITS];
static LLIST_HEAD(kq_pending);
static atomic64_t kq_lost;
static atomic64_t kq_vm_seq;
/* Set on unload: the work items stop queueing each other. */
static bool kq_stopping;

/* Serializes the VM list, VM objects' vCPU lists and sysfs changes. */
static DEFINE_MUTEX(kq_registry_lock);
static LIST_HEAD(kq_vms);

static void kq_register_fn(struct work_struct *work);
static void kq_reap_fn(struct work_struct *work);
static DECLARE_WORK(kq_register_work, kq_register_fn);
static DECLARE_DELAYED_WORK(kq_reap_work, kq_reap_fn);

static struct hlist_bl_head *kq_bucket(const struct kvm_vcpu *vcpu)
{
	return &kq_vcpu_hash[hash_ptr(vcpu, KQ_HASH_BITS)];
}

/**
 * kq_vcpu_lookup() - state of a vCPU, if it has been seen
 * @vcpu: the KVM vCPU
 *
 * Context: RCU read side (the tracepoint hooks run with preemption off).
 * Return: the state, or NULL for a vCPU not seen yet.
 */
struct kq_vcpu *kq_vcpu_lookup(const struct kvm_vcpu *vcpu)
{
	struct hlist_bl_node *pos;
	struct kq_vcpu *v;

	hlist_bl_for_each_entry_rcu(v, pos, kq_bucket(vcpu), hnode)
		if (v->vcpu == vcpu)
			return v;
	return NULL;
}

u64 kq_lost_exits(void)
{
	return atomic64_read(&kq_lost);
}

/**
 * kq_vcpu_sight() - start tracking a vCPU at its first exit
 * @vcpu: the vCPU that just exited; current is its thread
 *
 * Context: the kvm_exit hook.  Takes a preallocated object, pins the VM and
 * publishes the object in the hash; the rest happens in process context.
 * Counts this exit, so exits are exact from the first one seen.  Only the
 * vCPU's own thread calls this, and KVM runs a vCPU on one thread at a
 * time, so no two callers race for one vCPU.
 */
void kq_vcpu_sight(struct kvm_vcpu *vcpu)
{
	struct kq_pool *pool = this_cpu_ptr(&kq_pools);
	struct hlist_bl_head *b = kq_bucket(vcpu);
	struct kq_exit_stat now;
	struct llist_node *n;
	struct kq_vcpu *v;

	n = llist_del_first(&pool->free);
	if (unlikely(!n)) {
		atomic64_inc(&kq_lost);
		queue_work(system_unbound_wq, &kq_register_work);
		return;
	}
	atomic_dec(&pool->nr);
	v = llist_entry(n, struct kq_vcpu, pend);

	if (unlikely(!kvm_get_kvm_safe(vcpu->kvm))) {
		/* Only while the VM is being destroyed: nothing to track. */
		llist_add(&v->pend, &pool->free);
		atomic_inc(&pool->nr);
		return;
	}
	v->vcpu = vcpu;
	v->kvm = vcpu->kvm;
	v->idx = vcpu->vcpu_idx;
	v->pid = task_tgid_nr(current);
	v->tid = task_pid_nr(current);
	v->task = current;
	get_task_struct(current);
	kq_read_exit_stat(vcpu, &now);
	kq_exit_acct_init(&v->acct, &now);
	v->acct.exits = 1;

	hlist_bl_lock(b);
	hlist_bl_add_head_rcu(&v->hnode, b);
	hlist_bl_unlock(b);

	llist_add(&v->pend, &kq_pending);
	queue_work(system_unbound_wq, &kq_register_work);
}

/**
 * kq_vcpu_read_kinds() - a vCPU's exits and their kinds, as of now
 * @v: the vCPU; its VM is pinned by @v
 * @exits: output, all exits seen
 * @kinds: output, exits by kind, summing to @exits
 */
void kq_vcpu_read_kinds(struct kq_vcpu *v, u64 *exits,
			u64 kinds[KVM_QUANTA_EXIT_NR])
{
	struct kq_exit_acct a;
	struct kq_exit_stat now;
	unsigned int seq;

	do {
		seq = read_seqcount_begin(&v->seq);
		a = v->acct;
	} while (read_seqcount_retry(&v->seq, seq));
	kq_read_exit_stat(v->vcpu, &now);
	kq_exit_acct_view(&a, &now, kinds);
	*exits = a.exits;
}

/**
 * kq_vcpu_decisions() - decisions taken for a vCPU, by reason
 * @v: the vCPU
 * @out: output; window decisions plus early switches
 *
 * Context: under @v->state_lock.
 */
void kq_vcpu_decisions(struct kq_vcpu *v, u64 out[KVM_QUANTA_R_NR])
{
	unsigned int i;

	for (i = 0; i < KVM_QUANTA_R_NR; i++)
		out[i] = v->pol.decisions[i] + READ_ONCE(v->early[i]);
}

/**
 * kq_registry_kick_yields() - kick every thread with a yield queued
 *
 * Context: unload, hooks gone.
 */
void kq_registry_kick_yields(void)
{
	struct hlist_bl_node *pos;
	struct kq_vcpu *v;
	int i;

	mutex_lock(&kq_registry_lock);
	for (i = 0; i < ARRAY_SIZE(kq_vcpu_hash); i++) {
		rcu_read_lock();
		hlist_bl_for_each_entry_rcu(v, pos, &kq_vcpu_hash[i], hnode)
			if (test_bit(KQ_V_YIELD_PENDING, &v->flags))
				kq_enforce_kick(v->task);
		rcu_read_unlock();
	}
	mutex_unlock(&kq_registry_lock);
}

/* Context: process; releasing perf counters may sleep. */
static void kq_vcpu_free(struct kq_vcpu *v)
{
	if (v->task) {
		kq_enforce_restore(v);
		kq_pmu_release(v);
		put_task_struct(v->task);
	}
	kobject_put(&v->kobj);	/* kq_sysfs' release frees it */
}

static struct kq_vcpu *kq_vcpu_alloc(void)
{
	struct kq_vcpu *v = kzalloc(sizeof(*v), GFP_KERNEL);

	if (!v)
		return NULL;
	seqcount_init(&v->seq);
	spin_lock_init(&v->state_lock);
	INIT_LIST_HEAD(&v->vm_node);
	kq_history_init(&v->hist);
	kq_sysfs_vcpu_init(v);
	return v;
}

static void kq_pools_fill(void)
{
	struct kq_vcpu *v;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct kq_pool *pool = per_cpu_ptr(&kq_pools, cpu);

		while (atomic_read(&pool->nr) < KQ_POOL_PER_CPU) {
			v = kq_vcpu_alloc();
			if (!v)
				return;
			llist_add(&v->pend, &pool->free);
			atomic_inc(&pool->nr);
		}
	}
}

static void kq_pools_drain(void)
{
	struct kq_vcpu *v, *tmp;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct kq_pool *pool = per_cpu_ptr(&kq_pools, cpu);

		llist_for_each_entry_safe(v, tmp, llist_del_all(&pool->free), pend)
			kq_vcpu_free(v);
		atomic_set(&pool->nr, 0);
	}
}

static struct kq_vm *kq_vm_get(struct kq_vcpu *v)
{
	struct kq_vm *vm;

	lockdep_assert_held(&kq_registry_lock);
	list_for_each_entry(vm, &kq_vms, node)
		if (vm->kvm == v->kvm)
			return vm;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL);
	if (!vm)
		return NULL;
	vm->kvm = v->kvm;
	vm->pid = v->pid;
	vm->id = atomic64_inc_return(&kq_vm_seq);
	INIT_LIST_HEAD(&vm->vcpus);
	spin_lock_init(&vm->state_lock);
	kq_history_init(&vm->hist);
	kq_vm_policy_defaults(&vm->pol);
	kq_sysfs_vm_init(vm);
	if (kq_sysfs_add_vm(vm)) {
		kobject_put(&vm->kobj);
		return NULL;
	}
	list_add_tail(&vm->node, &kq_vms);
	return vm;
}

/* Link newly seen vCPUs to their VMs and give them sysfs entries. */
static void kq_register_fn(struct work_struct *work)
{
	struct llist_node *list = llist_del_all(&kq_pending);
	struct kq_vcpu *v, *tmp;
	struct kq_vm *vm;

	/* Oldest first, so vCPU directories appear in the order seen. */
	list = llist_reverse_order(list);
	mutex_lock(&kq_registry_lock);
	llist_for_each_entry_safe(v, tmp, list, pend) {
		vm = kq_vm_get(v);
		if (!vm) {
			/* Keep counting; try again on the next registration. */
			llist_add(&v->pend, &kq_pending);
			continue;
		}
		v->vm = vm;
		list_add_tail(&v->vm_node, &vm->vcpus);
		vm->nr_vcpus++;
		/* The first window starts now. */
		kq_vcpu_reading(v, ktime_get_ns(), &v->prev);
		v->spin_snap = kq_read_spin(v->vcpu);
		spin_lock(&vm->state_lock);
		kq_vcpu_policy_init(&v->pol, &vm->pol);
		spin_unlock(&vm->state_lock);
		if (kq_sysfs_add_vcpu(vm, v))
			pr_warn_ratelimited("kvm_quanta: no sysfs entry for a vCPU of VM %d-%llu\n",
					    vm->pid, vm->id);
	}
	mutex_unlock(&kq_registry_lock);
	kq_pools_fill();
	if (!READ_ONCE(kq_stopping)) {
		schedule_delayed_work(&kq_reap_work, KQ_REAP_INTERVAL);
		kq_sample_kick();
	}
}

/* Each vCPU's policy for its window, fed by the ledger; then act on it. */
static void kq_registry_decide(struct kq_vcpu **vs, struct kq_sample *out,
			       unsigned int n)
{
	struct kq_ledger_entry *e;
	struct kq_policy_params params;
	struct kq_vm_policy vp;
	unsigned int i;

	spin_lock(&kq_params_lock);
	params = kq_params;
	spin_unlock(&kq_params_lock);

	e = kvmalloc_array(n, sizeof(*e), GFP_KERNEL);
	if (e) {
		for (i = 0; i < n; i++) {
			e[i].cpu = out[i].cpu;
			/*
			 * A vCPU's first window starts at its registration,
			 * not with its CPU-mates': it would be charged for
			 * time before they were seen.  It joins from its
			 * second window.
			 */
			if (vs[i]->hist.windows) {
				e[i].run_ns = out[i].w.run_ns;
				e[i].wait_ns = out[i].w.wait_ns;
			} else {
				e[i].run_ns = 0;
				e[i].wait_ns = 0;
			}
			e[i].weight = vs[i]->vm->pol.weight;
			e[i].debt_ns = vs[i]->pol.debt_ns;
		}
		kq_ledger_update(e, n, (s64)params.debt_max_us * 1000);
	}
	for (i = 0; i < n; i++) {
		struct kq_vcpu *v = vs[i];
		struct kq_sample *s = &out[i];

		spin_lock(&v->vm->state_lock);
		vp = v->vm->pol;
		spin_unlock(&v->vm->state_lock);

		spin_lock(&v->state_lock);
		if (e)
			v->pol.debt_ns = e[i].debt_ns;
		/* The policy compares the window with the history before it. */
		kq_policy_window(&params, &vp, &v->pol, &s->w, &v->hist);
		kq_history_add(&v->hist, &s->w);
		s->target_ns = v->pol.target_ns;
		s->reason = v->pol.reason;
		s->debt_ns = v->pol.debt_ns;
		kq_vcpu_decisions(v, s->decisions);
		spin_unlock(&v->state_lock);
		trace_decision(v, s->reason, s->target_ns, 0, false);
		kq_enforce_window(v, &vp);
	}
	kvfree(e);
}

/**
 * kq_registry_sample() - end the current window of every registered vCPU
 * @now: the window's end, ktime_get_ns()
 * @n: output, number of samples
 *
 * Context: process (reads perf counters, sets scheduler parameters).
 * Updates each vCPU's and VM's last window and history, the fairness
 * ledger, and each vCPU's policy decision, and applies it.
 *
 * Return: an array of @n samples to kvfree(), or NULL when there are no
 * vCPUs or no memory.
 */
struct kq_sample *kq_registry_sample(u64 now, unsigned int *n)
{
	struct kq_sample *out = NULL, *s;
	struct kq_vcpu **vs = NULL;
	struct kq_window w, vmw;
	struct kq_reading r;
	unsigned int nr = 0;
	struct kq_vcpu *v;
	struct kq_vm *vm;

	*n = 0;
	mutex_lock(&kq_registry_lock);
	list_for_each_entry(vm, &kq_vms, node)
		nr += vm->nr_vcpus;
	if (!nr)
		goto unlock;
	out = kvmalloc_array(nr, sizeof(*out), GFP_KERNEL);
	vs = kvmalloc_array(nr, sizeof(*vs), GFP_KERNEL);
	if (!out || !vs) {
		kvfree(out);
		out = NULL;
		goto unlock;
	}
	s = out;
	list_for_each_entry(vm, &kq_vms, node) {
		kq_window_init(&vmw);
		list_for_each_entry(v, &vm->vcpus, vm_node) {
			kq_vcpu_reading(v, now, &r);
			kq_window_from(&w, &v->prev, &r);
			v->prev = r;
			spin_lock(&v->state_lock);
			v->last = w;
			spin_unlock(&v->state_lock);

			kq_window_add(&vmw, &w);
			s->vm_id = vm->id;
			s->pid = vm->pid;
			s->vcpu_idx = v->idx;
			s->tid = READ_ONCE(v->tid);
			s->cpu = task_cpu(v->task);
			s->w = w;
			vs[s - out] = v;
			s++;
		}
		/* The VM's window is as long as its vCPUs', not their sum. */
		vmw.window_ns = s > out ? s[-1].w.window_ns : 0;
		kq_window_derive(&vmw);
		spin_lock(&vm->state_lock);
		vm->last = vmw;
		kq_history_add(&vm->hist, &vmw);
		spin_unlock(&vm->state_lock);
	}
	*n = s - out;
	kq_registry_decide(vs, out, *n);
unlock:
	mutex_unlock(&kq_registry_lock);
	kvfree(vs);
	return out;
}

/* Unpublish a vCPU from the hash; the caller waits for RCU readers. */
static void kq_vcpu_unhash(struct kq_vcpu *v)
{
	struct hlist_bl_head *b = kq_bucket(v->vcpu);

	hlist_bl_lock(b);
	hlist_bl_del_rcu(&v->hnode);
	hlist_bl_unlock(b);
}

/* Take a VM and its vCPUs out of every index, onto @dead. */
static void kq_vm_unlink(struct kq_vm *vm, struct list_head *dead)
{
	struct kq_vcpu *v;

	lockdep_assert_held(&kq_registry_lock);
	list_for_each_entry(v, &vm->vcpus, vm_node) {
		kq_vcpu_unhash(v);
		if (v->kobj.state_in_sysfs)
			kobject_del(&v->kobj);
	}
	kobject_del(vm->vcpus_kobj);
	kobject_del(&vm->kobj);
	list_move_tail(&vm->node, dead);
}

/* After an RCU grace period: drop our VM references and free. */
static void kq_vms_free(struct list_head *dead)
{
	struct kq_vcpu *v, *vtmp;
	struct kq_vm *vm, *tmp;

	list_for_each_entry_safe(vm, tmp, dead, node) {
		list_for_each_entry_safe(v, vtmp, &vm->vcpus, vm_node) {
			list_del(&v->vm_node);
			/* May be the last reference: KVM destroys the VM here. */
			kvm_put_kvm(v->kvm);
			kq_vcpu_free(v);
		}
		list_del(&vm->node);
		kobject_put(vm->vcpus_kobj);
		kobject_put(&vm->kobj);
	}
}

/*
 * A VM is gone for its users when every reference left on it is ours: its
 * VM and vCPU file descriptors are closed, so no thread can run it again.
 * References are only taken from existing ones, so the count cannot rise
 * again once it is down to ours (a vCPU seen but not yet registered holds
 * one more, which keeps the VM here until it is registered).
 */
static bool kq_vm_dead(const struct kq_vm *vm)
{
	return refcount_read(&vm->kvm->users_count) <= vm->nr_vcpus;
}

static void kq_reap_fn(struct work_struct *work)
{
	struct kq_vm *vm, *tmp;
	LIST_HEAD(dead);

	mutex_lock(&kq_registry_lock);
	list_for_each_entry_safe(vm, tmp, &kq_vms, node)
		if (kq_vm_dead(vm))
			kq_vm_unlink(vm, &dead);
	mutex_unlock(&kq_registry_lock);

	if (!list_empty(&dead)) {
		synchronize_rcu();
		kq_vms_free(&dead);
	}
	if (READ_ONCE(kq_stopping))
		return;
	/* Registration that failed for lack of memory is retried from here. */
	if (!llist_empty(&kq_pending))
		queue_work(system_unbound_wq, &kq_register_work);
	/* Registration re-arms the reaper; an idle host has no timer. */
	mutex_lock(&kq_registry_lock);
	if (!list_empty(&kq_vms) || !llist_empty(&kq_pending))
		schedule_delayed_work(&kq_reap_work, KQ_REAP_INTERVAL);
	mutex_unlock(&kq_registry_lock);
}

int kq_registry_init(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(kq_vcpu_hash); i++)
		INIT_HLIST_BL_HEAD(&kq_vcpu_hash[i]);
	kq_pools_fill();
	return 0;
}

/**
 * kq_registry_stop() - stop registering and reaping
 *
 * Context: process; the hooks are unregistered and their callers are done.
 */
void kq_registry_stop(void)
{
	/*
	 * Each work item can queue the other; once they see kq_stopping they
	 * stop, and the last cancel catches an arming made before that.
	 */
	WRITE_ONCE(kq_stopping, true);
	cancel_delayed_work_sync(&kq_reap_work);
	cancel_work_sync(&kq_register_work);
	cancel_delayed_work_sync(&kq_reap_work);
}

/**
 * kq_registry_exit() - forget every VM, leaving the VMs themselves running
 *
 * Context: process; after kq_registry_stop() and with nothing sampling.
 */
void kq_registry_exit(void)
{
	struct hlist_bl_node *pos, *n;
	struct kq_vcpu *v;
	struct kq_vm *vm, *tmp;
	LIST_HEAD(dead);
	int i;

	/* Seen but never registered: the hash still has them. */
	llist_del_all(&kq_pending);

	mutex_lock(&kq_registry_lock);
	list_for_each_entry_safe(vm, tmp, &kq_vms, node)
		kq_vm_unlink(vm, &dead);
	mutex_unlock(&kq_registry_lock);
	synchronize_rcu();
	kq_vms_free(&dead);

	for (i = 0; i < ARRAY_SIZE(kq_vcpu_hash); i++) {
		hlist_bl_for_each_entry_safe(v, pos, n, &kq_vcpu_hash[i], hnode) {
			hlist_bl_del(&v->hnode);
			kvm_put_kvm(v->kvm);
			kq_vcpu_free(v);
		}
	}
	kq_pools_drain();
}
