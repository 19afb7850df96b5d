// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_quanta: which VMs and vCPUs exist, and for how long.
 *
 * The exit hooks find a vCPU's state in a per-CPU cache of the last one
 * they found, else by an RCU hash lookup.  A vCPU not in the hash is new:
 * it gets an object from a per-CPU pool that process context keeps filled,
 * so the exit path neither allocates nor takes a global lock.  When a
 * burst of new vCPUs empties the pool, the hook parks a reference on the
 * vCPU's VM in a per-CPU slot instead, and process context registers
 * every vCPU of that VM, taking their exit counts since creation from
 * KVM's own counters: no vCPU is missed, no exit lost.
 *
 * Registration (VM object, sysfs) and the reaper, which notices VMs whose
 * file descriptors are all closed, run on the module's workqueue under
 * kq_registry_lock.  Lifetimes:
 *  - a kq_vcpu is owned by the hash from the moment it is published until
 *    the reaper (or unload) unhashes it, waits for RCU readers, clears it
 *    from the probes' per-CPU caches, waits again and frees it; it holds a
 *    reference on its struct kvm all that time, so no other vCPU can take
 *    its vCPU's address while a cache names it;
 *  - a VM is reaped only when no vCPU of it has a yield task_work queued
 *    (the work is embedded in the kq_vcpu, and task_work_cancel() is not
 *    exported): no new one can be queued once its fds are closed;
 *  - a parked struct kvm reference is dropped by the worker that takes it
 *    out of its slot, or on unload.
 */
#include <linux/hash.h>
#include <linux/kvm_host.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rculist_bl.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "kvm_quanta.h"

#define KQ_HASH_BITS 10
#define KQ_POOL_PER_CPU 16
#define KQ_PARK_SLOTS 16
#define KQ_REAP_INTERVAL (HZ / 5)

/**
 * struct kq_pool - per-CPU reserve of vCPU objects for the exit path
 * @free: objects ready to use; the exit hook on this CPU is the only taker
 * @nr: objects in @free
 * @parked: VMs with a vCPU that found @free empty, each referenced; only
 *	the exit hook on this CPU fills a slot, only the worker (or unload,
 *	after it) empties one
 * @parked_pid: for each slot, the process of the vCPU thread that parked
 *	the VM: the VMM, which its vCPU threads may not outlive
 */
struct kq_pool {
	struct llist_head free;
	atomic_t nr;
	struct kvm *parked[KQ_PARK_SLOTS];
	pid_t parked_pid[KQ_PARK_SLOTS];
};

struct workqueue_struct *kq_wq;

static DEFINE_PER_CPU(struct kq_pool, kq_pools);
static struct hlist_bl_head kq_vcpu_hash[1 << KQ_HASH_BITS];
static LLIST_HEAD(kq_pending);
static atomic64_t kq_lost;
static atomic64_t kq_vm_seq;
static atomic_t kq_nr_hashed;
/* Set on unload: the work items stop queueing each other. */
static bool kq_stopping;

/* Serializes the VM list, VM objects' vCPU lists and sysfs changes. */
static DEFINE_MUTEX(kq_registry_mutex);
static LIST_HEAD(kq_vms);
static unsigned int kq_nr_vms;
static unsigned int kq_nr_vcpus;

static void kq_register_fn(struct work_struct *work);
static void kq_reap_fn(struct work_struct *work);
static DECLARE_WORK(kq_register_work, kq_register_fn);
static DECLARE_DELAYED_WORK(kq_reap_work, kq_reap_fn);

/* Its own cache line: the reaper reads every CPU's. */
DEFINE_PER_CPU_ALIGNED(struct kq_vcpu_cache, kq_vcpu_cache);

/*
 * Forget @v in every CPU's probe cache (kq_vcpu_find()).  Context: either
 * @v is out of the hash and a grace period has passed, so no probe can put
 * it back, before the reference that keeps the KVM vCPU's memory is
 * dropped (the reaper); or @v was just linked to its VM, and its next
 * probe is to miss and name the VM (kq_vcpu_link()), whether or not a
 * probe caches it again meanwhile.  A probe on that CPU may be filling its
 * entry for another vCPU meanwhile: then the entry is not @v's and stays.
 * Only a matching entry is written.
 */
static void kq_vcpu_uncache(const struct kq_vcpu *v)
{
	struct kq_vcpu_cache *c;
	int cpu;

	for_each_possible_cpu(cpu) {
		c = per_cpu_ptr(&kq_vcpu_cache, cpu);
		if (READ_ONCE(c->vcpu) == v->vcpu)
			cmpxchg(&c->vcpu, v->vcpu, NULL);
	}
}

static struct hlist_bl_head *kq_bucket(const struct kvm_vcpu *vcpu)
{
	return &kq_vcpu_hash[hash_ptr(vcpu, KQ_HASH_BITS)];
}

/**
 * kq_vcpu_miss() - state of a vCPU not in its CPU's cache
 * @vcpu: the KVM vCPU; current runs it
 * @sight: if it is not tracked yet, start (kq_vcpu_sight())
 *
 * Looks it up and caches it.  A vCPU new to the CPU is also the one the
 * CPU's profile names (its VM, kq_pcpu_now.vm_id): written here, once,
 * rather than at every exit.  Linking a vCPU to its VM uncaches it, so
 * that its next probe writes its VM's id.
 *
 * Context: the vCPU's thread, preemption disabled (kq_vcpu_find()).
 * Return: the state, or NULL for a vCPU not seen yet.
 */
noinline struct kq_vcpu *kq_vcpu_miss(struct kvm_vcpu *vcpu, bool sight)
{
	struct kq_vcpu *v;
	struct kq_vm *vm;

	rcu_read_lock();
	v = kq_vcpu_lookup(vcpu);
	/* Still an RCU reader after this: preemption stays disabled. */
	rcu_read_unlock();
	if (v) {
		this_cpu_write(kq_vcpu_cache.v, v);
		this_cpu_write(kq_vcpu_cache.vcpu, vcpu);
		smp_mb();	/* pairs with kq_vcpu_link() */
		/* Published after the VM was set up; freed after RCU. */
		vm = smp_load_acquire(&v->vm);
		this_cpu_write(kq_pcpu_now.vm_id, vm ? vm->id : 0);
	} else if (sight) {
		kq_vcpu_sight(vcpu);
	}
	return v;
}

/**
 * kq_vcpu_lookup() - state of a vCPU, if it has been seen
 * @vcpu: the KVM vCPU
 *
 * Context: RCU read side.
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

/*
 * Publish @v for @vcpu unless the vCPU is there already (the exit hook and
 * a VM scan can meet), taking the reference on its VM that @v then holds.
 * Returns false, with nothing taken, when it was there or the VM is going.
 */
static bool kq_vcpu_publish(struct kq_vcpu *v, struct kvm_vcpu *vcpu)
{
	struct hlist_bl_head *b = kq_bucket(vcpu);
	struct hlist_bl_node *pos;
	struct kq_vcpu *old;
	bool ok = false;

	hlist_bl_lock(b);
	hlist_bl_for_each_entry(old, pos, b, hnode)
		if (old->vcpu == vcpu)
			goto out;
	if (!kvm_get_kvm_safe(vcpu->kvm))
		goto out;
	v->vcpu = vcpu;
	v->kvm = vcpu->kvm;
	v->idx = vcpu->vcpu_idx;
	hlist_bl_add_head_rcu(&v->hnode, b);
	atomic_inc(&kq_nr_hashed);
	ok = true;
out:
	hlist_bl_unlock(b);
	return ok;
}

/* Park @kvm for a scan by the worker.  Context: the exit hook. */
static void kq_vm_park(struct kq_pool *pool, struct kvm *kvm)
{
	int i, slot = -1;

	for (i = 0; i < KQ_PARK_SLOTS; i++) {
		struct kvm *p = READ_ONCE(pool->parked[i]);

		if (p == kvm)
			return;		/* parked already: the scan finds us */
		if (!p && slot < 0)
			slot = i;
	}
	/*
	 * Only this CPU's hook fills slots (preemption is off), so a slot
	 * seen empty stays empty until we fill it.
	 */
	if (slot < 0 || !kvm_get_kvm_safe(kvm)) {
		atomic64_inc(&kq_lost);
		return;
	}
	pool->parked_pid[slot] = task_tgid_nr(current);
	/* Pairs with kq_unpark_one(): it sees the reference and the pid. */
	smp_store_release(&pool->parked[slot], kvm);
}

/*
 * Start @v's exit accounting from KVM's totals: every exit since the
 * vCPU's creation.  @exiting: called in the vCPU's own exit, which may be
 * counted and not handled yet.  Context: any, before @v is published;
 * @vcpu's VM is pinned.
 */
static void kq_vcpu_acct_start(struct kq_vcpu *v, struct kvm_vcpu *vcpu,
			       bool exiting)
{
	struct kq_exit_read r;

	kq_read_exits(vcpu, &r);
	kq_exit_acct_init_since(&v->acct, &r.now, r.exits,
				r.settled && !exiting, r.late);
}

/**
 * kq_vcpu_sight() - start tracking a vCPU at its first exit
 * @vcpu: the vCPU that just exited; current is its thread
 *
 * Context: the kvm_exit hook, preemption disabled.  Takes a preallocated
 * object and publishes it in the hash; the rest happens in process
 * context.  Its exits are KVM's since the vCPU was created
 * (kq_vcpu_acct_start()); this one, in flight, is folded with the next
 * window, as is the one before where KVM fires kvm_exit before counting.
 * With the pool empty, parks the VM: the worker registers all its vCPUs
 * with their counts since creation.
 */
void kq_vcpu_sight(struct kvm_vcpu *vcpu)
{
	struct kq_pool *pool = this_cpu_ptr(&kq_pools);
	struct llist_node *n;
	struct kq_vcpu *v;

	n = llist_del_first(&pool->free);
	if (unlikely(!n)) {
		kq_vm_park(pool, vcpu->kvm);
		queue_work(kq_wq, &kq_register_work);
		return;
	}
	atomic_dec(&pool->nr);
	v = llist_entry(n, struct kq_vcpu, pend);

	v->pid = task_tgid_nr(current);
	v->tid = task_pid_nr(current);
	get_task_struct(current);
	v->task = current;
	kq_vcpu_acct_start(v, vcpu, true);
	if (unlikely(!kq_vcpu_publish(v, vcpu))) {
		/* A VM scan was faster; it counts from KVM's totals. */
		put_task_struct(current);	/* never the last: current */
		v->task = NULL;
		llist_add(&v->pend, &pool->free);
		atomic_inc(&pool->nr);
		return;
	}
	llist_add(&v->pend, &kq_pending);
	queue_work(kq_wq, &kq_register_work);
}

/*
 * @v's exits by kind as of now, folded from KVM's counters (exit_kind.c):
 * into @v's accounting when @keep (the sampler, once per window), into a
 * copy otherwise (a reader between windows), which also counts an exit
 * the sampler leaves for the next window because it may be in flight.  A
 * reader's view may put an exit that moved two counters under a
 * different kind than the window's fold will (kq_exit_fold() sees the
 * whole window); the counts it shows add up to the exits all the same.
 */
static void kq_vcpu_fold(struct kq_vcpu *v, bool keep, u64 *exits,
			 u64 kinds[KVM_QUANTA_EXIT_NR])
{
	struct kq_exit_acct a;
	struct kq_exit_read r;

	spin_lock(&v->state_lock);
	a = v->acct;
	kq_read_exits(v->vcpu, &r);
	/* A reader counts the last exit: its vCPU may never run again. */
	kq_exit_fold(&a, &r.now, r.exits, r.settled || !keep, r.late);
	if (keep)
		v->acct = a;
	spin_unlock(&v->state_lock);
	*exits = a.exits;
	memcpy(kinds, a.kinds, sizeof(a.kinds));
}

/**
 * kq_vcpu_read_kinds() - a vCPU's exits and their kinds, as of now
 * @v: the vCPU; its VM is pinned by @v
 * @exits: output, all exits seen
 * @kinds: output, exits by kind, summing to @exits
 *
 * Context: process.
 */
void kq_vcpu_read_kinds(struct kq_vcpu *v, u64 *exits,
			u64 kinds[KVM_QUANTA_EXIT_NR])
{
	kq_vcpu_fold(v, false, exits, kinds);
}

/**
 * kq_vcpu_reading() - a vCPU's cumulative counters, now
 * @v: the vCPU, registered
 * @now: the time to stamp the reading with
 * @r: output; its ran_on in kq_clock() units (kq_ran_to_ns() converts a
 *	window's split)
 * @guest_t: output, the guest time in kq_clock() units, of which
 *	@r->guest_ns is the conversion
 *
 * Context: process (reads perf counters, which may sleep), registry lock.
 * A vCPU whose thread is not known yet reads no scheduler statistics.
 */
void kq_vcpu_reading(struct kq_vcpu *v, u64 now, struct kq_reading *r,
		     u64 *guest_t)
{
	unsigned int seq;

	do {
		seq = read_seqcount_begin(&v->seq);
		*guest_t = v->guest_t;
		memcpy(r->ran_on, v->ran_on, sizeof(v->ran_on));
	} while (read_seqcount_retry(&v->seq, seq));
	r->guest_ns = kq_clock_to_ns(*guest_t);
	kq_vcpu_fold(v, true, &r->exits, r->kinds);
	r->t_ns = now;
	r->run_ns = 0;
	r->wait_ns = 0;
	r->slices = 0;
	if (v->task)
		kq_task_sched(v->task, &r->run_ns, &r->wait_ns, &r->slices);
	r->halt_ns = kq_read_halt_ns(v->vcpu);
	/* PAUSE-loop exits (spin.c) and PV yield hypercalls (KVM's count). */
	r->ple_exits = READ_ONCE(v->pause_exits);
	r->pv_yields = kq_read_spin(v->vcpu);
	r->pmu_epoch = kq_pmu_read(v, r->pmu);
}

/**
 * kq_vcpu_follow() - follow the thread that runs the vCPU
 * @v: the vCPU
 *
 * KVM records the thread of every KVM_RUN (vcpu->pid); a VMM may move a
 * vCPU to another thread at any time.  Scheduler statistics, perf counters,
 * nice and slice all belong to that thread, so when it changed, the old
 * thread gets back what we changed on it and its counters are released.
 *
 * Context: process, registry lock (the sampler).
 * Return: true when the vCPU has a new thread: the caller restarts its
 * scheduler statistics from it.
 */
bool kq_vcpu_follow(struct kq_vcpu *v)
{
	struct task_struct *t = kq_vcpu_task(v->vcpu);

	/*
	 * No thread: it exited (the vCPU is not running); keep the last one,
	 * whose statistics stay as they were, so windows read zero.
	 */
	if (!t)
		return false;
	if (t == v->task) {
		put_task_struct(t);
		return false;
	}
	if (v->task) {
		kq_enforce_restore(v);
		kq_pmu_release(v);
		put_task_struct(v->task);
	}
	v->task = t;
	WRITE_ONCE(v->tid, task_pid_nr(t));
	v->pid = task_tgid_nr(t);
	return true;
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
	v->entry_cpu = -1;
	v->ran_cur = &v->ran_on[0];	/* a run with no entry adds 0 there */
	v->entry_sw = ULONG_MAX;
	kq_ran_init(v->ran_on);
	kq_ran_init(v->prev.ran_on);
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

/*
 * Take a parked VM out of its slot, with its reference and the pid of the
 * process that parked it; NULL when none.  Context: the worker, or unload
 * after the worker was cancelled: the only ones that empty slots.
 */
static struct kvm *kq_unpark_one(pid_t *pid)
{
	struct kvm *kvm;
	int cpu, i;

	for_each_possible_cpu(cpu) {
		struct kq_pool *pool = per_cpu_ptr(&kq_pools, cpu);

		for (i = 0; i < KQ_PARK_SLOTS; i++) {
			/* Pairs with kq_vm_park(): the reference, the pid. */
			kvm = smp_load_acquire(&pool->parked[i]);
			if (!kvm)
				continue;
			*pid = pool->parked_pid[i];
			/* The pid is read before the hook may refill the slot. */
			smp_store_release(&pool->parked[i], NULL);
			return kvm;
		}
	}
	return NULL;
}

static struct kq_vm *kq_vm_find(struct kvm *kvm)
{
	struct kq_vm *vm;

	lockdep_assert_held(&kq_registry_mutex);
	list_for_each_entry(vm, &kq_vms, node)
		if (vm->kvm == kvm)
			return vm;
	return NULL;
}

/*
 * The VM object of @kvm, made if need be.  It holds a reference on @kvm of
 * its own: a parked VM whose scan registered no vCPU (no memory, or no
 * vCPU visible yet) must not be left pointing at a VM nobody pins.
 * Context: registry lock; the caller holds a reference on @kvm.
 */
static struct kq_vm *kq_vm_get(struct kvm *kvm, pid_t pid)
{
	struct kq_vm *vm = kq_vm_find(kvm);

	if (vm)
		return vm;
	vm = kzalloc(sizeof(*vm), GFP_KERNEL);
	if (!vm)
		return NULL;
	vm->kvm = kvm;
	vm->pid = pid;
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
	kvm_get_kvm(kvm);
	list_add_tail(&vm->node, &kq_vms);
	WRITE_ONCE(kq_nr_vms, kq_nr_vms + 1);
	return vm;
}

/* Give a published vCPU its VM, its first window and a sysfs entry. */
static void kq_vcpu_link(struct kq_vm *vm, struct kq_vcpu *v)
{
	lockdep_assert_held(&kq_registry_mutex);
	list_add_tail(&v->vm_node, &vm->vcpus);
	vm->nr_vcpus++;
	kq_nr_vcpus++;
	/* The first window starts now. */
	kq_vcpu_reading(v, ktime_get_ns(), &v->prev, &v->prev_guest_t);
	spin_lock(&vm->state_lock);
	kq_vcpu_policy_init(&v->pol, &vm->pol);
	spin_unlock(&vm->state_lock);
	/* Published last: the exit hook reads vm->id through it. */
	smp_store_release(&v->vm, vm);
	/*
	 * Its next probe misses the cache, and names the VM there.  Store
	 * then load, here and in kq_vcpu_miss(): either this sees the cached
	 * vCPU, or that probe sees the VM.
	 */
	smp_mb();
	kq_vcpu_uncache(v);
	if (kq_sysfs_add_vcpu(vm, v))
		pr_warn_ratelimited("kvm_quanta: no sysfs entry for a vCPU of VM %d-%llu\n",
				    vm->pid, vm->id);
}

/*
 * Register every vCPU of @kvm that is not tracked yet, counting its exits
 * since creation from KVM's counters.  Context: registry lock; @kvm is
 * referenced by the caller.
 */
static void kq_vm_scan(struct kvm *kvm, struct kq_vm *vm)
{
	struct kvm_vcpu *vcpu;
	struct kq_vcpu *v;
	unsigned long i;
	bool found;

	kvm_for_each_vcpu(i, vcpu, kvm) {
		rcu_read_lock();
		found = kq_vcpu_lookup(vcpu);
		rcu_read_unlock();
		if (found)
			continue;
		v = kq_vcpu_alloc();
		if (!v) {
			atomic64_inc(&kq_lost);
			return;
		}
		v->task = kq_vcpu_task(vcpu);
		v->pid = vm->pid;
		if (v->task) {
			v->pid = task_tgid_nr(v->task);
			v->tid = task_pid_nr(v->task);
		}
		kq_vcpu_acct_start(v, vcpu, false);
		if (!kq_vcpu_publish(v, vcpu)) {
			kq_vcpu_free(v);
			continue;
		}
		kq_vcpu_link(vm, v);
	}
}

/* Link newly seen vCPUs to their VMs, and register parked VMs whole. */
static void kq_register_fn(struct work_struct *work)
{
	struct llist_node *list = llist_del_all(&kq_pending);
	struct kq_vcpu *v, *tmp;
	struct kq_vm *vm;
	struct kvm *kvm;
	pid_t pid;

	/* Oldest first, so vCPU directories appear in the order seen. */
	list = llist_reverse_order(list);
	mutex_lock(&kq_registry_mutex);
	llist_for_each_entry_safe(v, tmp, list, pend) {
		vm = kq_vm_get(v->kvm, v->pid);
		if (!vm) {
			/* Keep counting; try again on the next registration. */
			llist_add(&v->pend, &kq_pending);
			continue;
		}
		kq_vcpu_link(vm, v);
	}
	while ((kvm = kq_unpark_one(&pid))) {
		/* The VMM whose vCPU thread parked it, even if that has ended. */
		vm = kq_vm_get(kvm, pid);
		if (vm)
			kq_vm_scan(kvm, vm);
		else
			atomic64_inc(&kq_lost);
		/* Not the last reference when a vCPU was registered. */
		kvm_put_kvm(kvm);
	}
	mutex_unlock(&kq_registry_mutex);
	kq_pools_fill();
	if (!READ_ONCE(kq_stopping)) {
		queue_delayed_work(kq_wq, &kq_reap_work, KQ_REAP_INTERVAL);
		kq_sample_kick();
	}
}

void kq_registry_lock(void)
{
	mutex_lock(&kq_registry_mutex);
}

void kq_registry_unlock(void)
{
	mutex_unlock(&kq_registry_mutex);
}

/* kq_for_each_vm(): the registered VMs, in the order they were seen. */
struct list_head *kq_vm_list(void)
{
	lockdep_assert_held(&kq_registry_mutex);
	return &kq_vms;
}

/* Registered vCPUs.  Context: registry lock. */
unsigned int kq_registry_nr_vcpus(void)
{
	lockdep_assert_held(&kq_registry_mutex);
	return kq_nr_vcpus;
}

/**
 * kq_registry_counts() - live objects, for the "objects" sysfs file
 * @vms: output, registered VMs
 * @vcpus: output, vCPUs in the hash (registered or about to be)
 * @pooled: output, preallocated objects in the per-CPU pools
 */
void kq_registry_counts(unsigned int *vms, unsigned int *vcpus,
			unsigned int *pooled)
{
	unsigned int sum = 0;
	int cpu;

	*vms = READ_ONCE(kq_nr_vms);
	*vcpus = atomic_read(&kq_nr_hashed);
	for_each_possible_cpu(cpu)
		sum += atomic_read(&per_cpu_ptr(&kq_pools, cpu)->nr);
	*pooled = sum;
}

/* Unpublish a vCPU from the hash; the caller waits for RCU readers. */
static void kq_vcpu_unhash(struct kq_vcpu *v)
{
	struct hlist_bl_head *b = kq_bucket(v->vcpu);

	hlist_bl_lock(b);
	hlist_bl_del_rcu(&v->hnode);
	hlist_bl_unlock(b);
	atomic_dec(&kq_nr_hashed);
}

/* Take a VM and its vCPUs out of every index, onto @dead. */
static void kq_vm_unlink(struct kq_vm *vm, struct list_head *dead)
{
	struct kq_vcpu *v;

	lockdep_assert_held(&kq_registry_mutex);
	list_for_each_entry(v, &vm->vcpus, vm_node) {
		kq_vcpu_unhash(v);
		if (v->kobj.state_in_sysfs)
			kobject_del(&v->kobj);
	}
	kobject_del(vm->vcpus_kobj);
	kobject_del(&vm->kobj);
	list_move_tail(&vm->node, dead);
	WRITE_ONCE(kq_nr_vms, kq_nr_vms - 1);
	kq_nr_vcpus -= vm->nr_vcpus;
}

/*
 * After an RCU grace period (no lookup can find them): out of the probes'
 * caches, another grace period (a probe that took one from a cache before
 * is done), then drop our VM references and free.  The second wait only
 * matters if a probe could still run for a dead VM, which KVM rules out:
 * it is cheap insurance against freeing under a probe.
 */
static void kq_vms_free(struct list_head *dead)
{
	struct kq_vcpu *v, *vtmp;
	struct kq_vm *vm, *tmp;

	list_for_each_entry(vm, dead, node)
		list_for_each_entry(v, &vm->vcpus, vm_node)
			kq_vcpu_uncache(v);
	synchronize_rcu();
	list_for_each_entry_safe(vm, tmp, dead, node) {
		list_for_each_entry_safe(v, vtmp, &vm->vcpus, vm_node) {
			list_del(&v->vm_node);
			kvm_put_kvm(v->kvm);
			kq_vcpu_free(v);
		}
		kvm_put_kvm(vm->kvm);
		list_del(&vm->node);
		kobject_put(vm->vcpus_kobj);
		kobject_put(&vm->kobj);
	}
}

/*
 * A VM is gone for its users when every reference left on it is ours: its
 * VM and vCPU file descriptors are closed, so no thread can run it again.
 * References are only taken from existing ones, so the count cannot rise
 * again once it is down to ours: one per registered vCPU and the VM
 * object's own (a vCPU seen but not yet registered, or a parked VM, holds
 * one more, which keeps the VM here until registered).
 *
 * It is freed only once no yield task_work is queued on any of its
 * vCPUs: a thread that was in KVM_RUN when its fds were closed runs the
 * file release (task_work, LIFO) before our yield, and may be preempted in
 * between.  Such a work only needs the thread to get back to user mode.
 */
static bool kq_vm_dead(const struct kq_vm *vm)
{
	const struct kq_vcpu *v;

	if (refcount_read(&vm->kvm->users_count) > vm->nr_vcpus + 1)
		return false;
	/*
	 * Pairs with the release ordering of the reference drop at the last
	 * fput: a yield queued before the fds were closed is seen here.
	 */
	smp_rmb();
	list_for_each_entry(v, &vm->vcpus, vm_node)
		if (test_bit(KQ_V_YIELD_PENDING, &v->flags))
			return false;
	return true;
}

static void kq_reap_fn(struct work_struct *work)
{
	struct kq_vm *vm, *tmp;
	LIST_HEAD(dead);

	mutex_lock(&kq_registry_mutex);
	list_for_each_entry_safe(vm, tmp, &kq_vms, node)
		if (kq_vm_dead(vm))
			kq_vm_unlink(vm, &dead);
	mutex_unlock(&kq_registry_mutex);

	if (!list_empty(&dead)) {
		synchronize_rcu();
		kq_vms_free(&dead);
	}
	if (READ_ONCE(kq_stopping))
		return;
	/* Registration that failed for lack of memory is retried from here. */
	if (!llist_empty(&kq_pending))
		queue_work(kq_wq, &kq_register_work);
	/* Registration re-arms the reaper; an idle host has no timer. */
	mutex_lock(&kq_registry_mutex);
	if (!list_empty(&kq_vms) || !llist_empty(&kq_pending))
		queue_delayed_work(kq_wq, &kq_reap_work, KQ_REAP_INTERVAL);
	mutex_unlock(&kq_registry_mutex);
}

/**
 * kq_registry_init() - the hash, the pools and the module's workqueue
 *
 * Return: 0 or -ENOMEM.
 */
int kq_registry_init(void)
{
	int i;

	/*
	 * Our own queue: unload flushes exactly our work, nobody else's.
	 * High priority: on a host full of busy vCPU threads a nice-0 worker
	 * got a share of the CPU like one more vCPU and windows stretched by
	 * half (rig, 32 busy vCPUs on 2 CPUs).  Its work is short and bounded:
	 * one pass over the vCPUs per window, registration and reaping.
	 */
	kq_wq = alloc_workqueue("kvm_quanta", WQ_UNBOUND | WQ_HIGHPRI, 0);
	if (!kq_wq)
		return -ENOMEM;
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
 * Context: process; after kq_registry_stop(), with nothing sampling and
 * no yield task_work queued (kq_enforce_drain()).
 */
void kq_registry_exit(void)
{
	struct hlist_bl_node *pos, *n;
	struct kq_vm *vm, *tmp;
	struct kq_vcpu *v;
	struct kvm *kvm;
	LIST_HEAD(dead);
	pid_t pid;
	int i;

	/* Seen but never registered: the hash still has them. */
	llist_del_all(&kq_pending);

	mutex_lock(&kq_registry_mutex);
	list_for_each_entry_safe(vm, tmp, &kq_vms, node)
		kq_vm_unlink(vm, &dead);
	mutex_unlock(&kq_registry_mutex);
	synchronize_rcu();
	kq_vms_free(&dead);

	for (i = 0; i < ARRAY_SIZE(kq_vcpu_hash); i++) {
		hlist_bl_for_each_entry_safe(v, pos, n, &kq_vcpu_hash[i], hnode) {
			hlist_bl_del(&v->hnode);
			atomic_dec(&kq_nr_hashed);
			kvm_put_kvm(v->kvm);
			kq_vcpu_free(v);
		}
	}
	while ((kvm = kq_unpark_one(&pid)))
		kvm_put_kvm(kvm);
	kq_pools_drain();
	destroy_workqueue(kq_wq);
}
