/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm_quanta: objects shared by the module's files.
 *
 * A vCPU is first seen at its first VM exit after the module loaded.  The
 * exit hook then takes a kq_vcpu from a per-CPU pool filled in advance (the
 * exit path never allocates), inserts it into an RCU hash keyed by the
 * struct kvm_vcpu, and queues the rest of the bookkeeping (the VM object,
 * sysfs) to process context.  When the pool is empty (a burst of new
 * vCPUs), the hook parks a reference on the VM instead, and process
 * context registers every vCPU of that VM.  Each kq_vcpu holds a reference
 * on its struct kvm, so the vCPU and VM it points to stay valid until the
 * reaper sees that only our references are left, and no yield task_work
 * is queued on them, and lets go.  registry.c owns these objects and their
 * lifetime; window.c is the per-window pipeline that reads them.
 */
#ifndef _KVM_QUANTA_H
#define _KVM_QUANTA_H

#include <linux/jiffies.h>
#include <linux/jump_label.h>
#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/list_bl.h>
#include <linux/llist.h>
#include <linux/math64.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/seqlock.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>

#include "core/events.h"
#include "core/exit_kind.h"
#include "core/group.h"
#include "core/pcpu.h"
#include "core/smt.h"
#include "core/state.h"
#include "core/thresholds.h"
#include "telemetry.h"

struct kvm;
struct kvm_vcpu;
struct task_struct;

/* What the module does with its decisions: enum kvm_quanta_mode. */
#define KQ_MODE_OBSERVE KVM_QUANTA_MODE_OBSERVE
#define KQ_MODE_ENFORCE KVM_QUANTA_MODE_ENFORCE

extern int kq_mode;

/**
 * struct kq_vm - one VM (one struct kvm) with at least one vCPU seen
 * @kobj: /sys/kernel/kvm_quanta/vms/<pid>-<id>
 * @vcpus_kobj: its vcpus/ directory
 * @kvm: the VM; kept alive by the references of its kq_vcpus
 * @pid: the VMM process (tgid) that ran its first vCPU
 * @id: module-wide unique number, tells apart VMs of one process
 * @node: entry in the VM list, under kq_registry_lock
 * @vcpus: its kq_vcpus, under kq_registry_lock
 * @nr_vcpus: length of @vcpus
 * @state_lock: guards @last and @hist for sysfs readers
 * @last: the last window, summed over the VM's vCPUs
 * @hist: history of the VM's windows
 * @pol: its policy knobs, under @state_lock
 */
struct kq_vm {
	struct kobject kobj;
	struct kobject *vcpus_kobj;
	struct kvm *kvm;
	pid_t pid;
	u64 id;
	struct list_head node;
	struct list_head vcpus;
	unsigned int nr_vcpus;
	spinlock_t state_lock;	/* @last, @hist */
	struct kq_window last;
	struct kq_history hist;
	struct kq_vm_policy pol;
};

/**
 * struct kq_sched_params - what kvm_quanta may change on a vCPU thread
 * @policy: its scheduling policy; only SCHED_NORMAL and SCHED_BATCH are
 *	touched
 * @reset_on_fork: its SCHED_RESET_ON_FORK flag, kept as it is
 * @nice: its nice value
 * @slice_ns: its own slice, 0 for the scheduler's default (EEVDF only)
 * @eff_slice_ns: the slice in effect, its own or the scheduler's default
 *	(EEVDF only; not something we set)
 */
struct kq_sched_params {
	int policy;
	bool reset_on_fork;
	int nice;
	u64 slice_ns;
	u64 eff_slice_ns;
};

/* kq_vcpu.flags bits */
#define KQ_V_YIELD_PENDING 0	/* yield_work is queued on the vCPU's thread */
#define KQ_V_SPINNING 1		/* it made a PAUSE-loop exit (spin.c) */
#define KQ_V_ENFORCE 2		/* the exit path may act (enforce.c) */

/**
 * struct kq_vcpu - state kept per vCPU
 * @hnode: entry in the vCPU hash, RCU
 * @vcpu: the KVM vCPU
 * @kvm: its VM; this object holds one reference on it
 * @vm: our VM object, set once registered, under kq_registry_lock
 * @vm_node: entry in @vm's list
 * @pend: entry in the pool, then in the list awaiting registration
 * @kobj: /sys/kernel/kvm_quanta/vms/<vm>/vcpus/<idx>
 * @idx: the vCPU's index in its VM (vcpu_idx)
 * @pid: VMM process id (tgid of the thread that runs the vCPU)
 * @tid: the thread that runs the vCPU, 0 before it ran
 * @task: that thread, referenced, or NULL; KVM records it at each KVM_RUN
 *	(vcpu->pid) and the sampler follows it (kq_vcpu_follow()); its
 *	scheduler statistics and perf counters are the vCPU's.  Sampling
 *	context only.
 * @seq: guards @guest_t and @ran_on for readers; written only by the
 *	vCPU's thread once published
 * @acct: exits and their kinds as of the last window, folded from KVM's
 *	counters by the sampler (kq_exit_fold()), under @state_lock
 * @entry_t: kq_clock() at the last entry
 * @entry_exec: the thread's sum_exec_runtime at the last entry
 * @entry_sw: the thread's context switches (kq_switches()) at the last
 *	entry; ULONG_MAX when not in the guest (a count no thread reaches)
 * @entry_cpu: the CPU of the last entry, -1 before the first
 * @ran_cur: the slot of @ran_on that keeps @entry_cpu's time
 * @guest_t: time spent in guest mode, in kq_clock() units
 *	(kq_clock_to_ns())
 * @ran_on: @guest_t by the CPU it was spent on, in up to KQ_RAN_SLOTS
 *	CPUs (kq_ran_add()), for the ledger of an unpinned vCPU; in
 *	kq_clock() units like @guest_t
 * @ran_next: the slot of @ran_on to take next when all are in use
 * @counters: its perf counters, sampling context only
 * @counters_gen: event set generation @counters were opened for
 * @pmu_epoch: bumped at every (re)opening of @counters; a window whose two
 *	readings come from different openings has no PMU counts
 * @prev: the reading that ended the last window, sampling context only
 * @prev_guest_t: @prev's guest time in kq_clock() units
 * @state_lock: guards @acct, @last and @hist for sysfs readers
 * @last: the last window
 * @hist: history of its windows
 * @pol: policy state: target, reason, ledger; written by the sampler under
 *	@state_lock, target and reason read locklessly by the exit path
 * @early: early switches by reason, written by the vCPU's thread only
 * @flags: KQ_V_* bits; KQ_V_ENFORCE: the exit path may act (mode
 *	enforce, VM policy enabled)
 * @turn: the thread's context switches (kq_switches()) during the turn on
 *	its CPU that @turn_t is for; exit path (enforce) only
 * @turn_task: the thread @turn counts for (a VMM may move a vCPU to
 *	another thread); compared, never dereferenced: a new thread at a
 *	freed one's address with the same switch count would reuse its
 *	turn, until its next switch
 * @turn_t: that turn's start (sched_info.last_arrival) in kq_clock()
 *	units (kq_turn_start())
 * @alone_t: no cut is tried in that turn until this kq_clock() time, at
 *	most KQ_ALONE_NS ahead: the CPU had nobody else to run a moment ago
 *	(kq_enforce_cut())
 * @pause_exits: PAUSE-loop exits (kvm_vcpu_on_spin() calls), written by
 *	the vCPU's thread only (spin.c)
 * @yield_work: task_work that yields the CPU before the next entry; while
 *	queued (KQ_V_YIELD_PENDING) it holds a module reference
 * @smt_hungry: its last window was cache-hungry (kq_smt_hungry()): set by
 *	the sampler, read at each entry for kq_cpu_hungry
 * @applied: @orig holds the thread's own parameters and we have set @set;
 *	@v owns the thread then (one vCPU acts on a thread, enforce.c)
 * @owner_node: entry in enforce.c's thread owners while @applied
 * @orig: the thread's own parameters, which ours are relative to: taken
 *	when we start acting, and again whenever someone else changed the
 *	thread (the admin's renice/chrt wins); restored when we stop
 * @set: what we last set
 */
struct kq_vcpu {
	struct hlist_bl_node hnode;
	struct kvm_vcpu *vcpu;
	struct kvm *kvm;
	struct kq_vm *vm;
	struct list_head vm_node;
	struct llist_node pend;
	struct kobject kobj;
	int idx;
	pid_t pid;
	pid_t tid;
	struct task_struct *task;
	seqcount_t seq;
	struct kq_exit_acct acct;
	u64 entry_t;
	u64 entry_exec;
	unsigned long entry_sw;
	int entry_cpu;
	struct kq_ran_on *ran_cur;
	u64 guest_t;
	struct kq_ran_on ran_on[KQ_RAN_SLOTS];
	u32 ran_next;
	struct kq_counters counters;
	unsigned int counters_gen;
	u32 pmu_epoch;
	struct kq_reading prev;
	u64 prev_guest_t;
	spinlock_t state_lock;	/* @acct, @last, @hist */
	struct kq_window last;
	struct kq_history hist;
	struct kq_vcpu_policy pol;
	u64 early[KVM_QUANTA_R_NR];
	unsigned long flags;
	unsigned long turn;
	const struct task_struct *turn_task;
	u64 turn_t;
	u64 alone_t;
	u64 pause_exits;
	struct callback_head yield_work;
	u8 smt_hungry;
	bool applied;
	struct hlist_node owner_node;
	struct kq_sched_params orig;
	struct kq_sched_params set;
};

/* registry.c */
extern struct workqueue_struct *kq_wq;
struct kq_vcpu *kq_vcpu_lookup(const struct kvm_vcpu *vcpu);

/**
 * struct kq_vcpu_cache - the vCPU a CPU's probes found last
 * @vcpu: the KVM vCPU, NULL for none
 * @v: its state; meaningful only while @vcpu is set
 *
 * Written by the probes of its CPU, with preemption disabled; they do not
 * nest (none runs from interrupt context), so a probe never sees a half
 * written pair.  The reaper clears @vcpu (kq_vcpu_uncache()) before it
 * drops the last reference that keeps the KVM vCPU's memory, so a vCPU
 * allocated later at the same address never meets a stale entry; linking
 * a vCPU to its VM clears it too, so that the CPU's profile names the VM.
 */
struct kq_vcpu_cache {
	const struct kvm_vcpu *vcpu;
	struct kq_vcpu *v;
};
DECLARE_PER_CPU_ALIGNED(struct kq_vcpu_cache, kq_vcpu_cache);

struct kq_vcpu *kq_vcpu_miss(struct kvm_vcpu *vcpu, bool sight);

/**
 * kq_vcpu_find() - state of a vCPU, for the probes
 * @vcpu: the KVM vCPU; current runs it
 * @vp: output, the state, or NULL for a vCPU not seen yet
 * @sight: start tracking a vCPU not seen yet (kq_vcpu_sight()): the exit
 *	probe
 *
 * While a vCPU stays on its CPU, entry and exit find it in the CPU's
 * cache: no hash walk, no RCU read-side section of our own, and no test
 * of the result (a cached vCPU has its state).  The state is freed only
 * once its VM is dead (no thread can run the vCPU, so none is in this
 * probe), and a grace period after its entries were cleared (see
 * kq_vcpu_uncache()), or after the probes are unregistered.
 *
 * Context: the vCPU's thread, preemption disabled (an RCU reader).
 * Return: true if the vCPU is tracked (*@vp is its state; NULL otherwise).
 */
static __always_inline bool kq_vcpu_find(struct kvm_vcpu *vcpu,
					 struct kq_vcpu **vp, bool sight)
{
	lockdep_assert_preemption_disabled();
	if (likely(this_cpu_read(kq_vcpu_cache.vcpu) == vcpu)) {
		*vp = this_cpu_read(kq_vcpu_cache.v);
		return true;
	}
	*vp = kq_vcpu_miss(vcpu, sight);
	return *vp;
}

void kq_vcpu_sight(struct kvm_vcpu *vcpu);
void kq_vcpu_read_kinds(struct kq_vcpu *v, u64 *exits,
			u64 kinds[KVM_QUANTA_EXIT_NR]);
bool kq_vcpu_follow(struct kq_vcpu *v);
u64 kq_lost_exits(void);
void kq_registry_counts(unsigned int *vms, unsigned int *vcpus,
			unsigned int *pooled);
int kq_registry_init(void);
void kq_registry_stop(void);
void kq_registry_exit(void);
void kq_registry_lock(void);
void kq_registry_unlock(void);
struct list_head *kq_vm_list(void);
unsigned int kq_registry_nr_vcpus(void);
void kq_vcpu_decisions(struct kq_vcpu *v, u64 out[KVM_QUANTA_R_NR]);

/*
 * kq_for_each_vm() - iterate the registered VMs
 * Context: between kq_registry_lock() and kq_registry_unlock().
 */
#define kq_for_each_vm(vm) list_for_each_entry(vm, kq_vm_list(), node)
#define kq_for_each_vcpu(v, vm) list_for_each_entry((v), &(vm)->vcpus, vm_node)

/* window.c */
int kq_window_pipeline(u64 now);
void kq_window_exit(void);

/* window.c: host-wide policy knobs, and the PMU thresholds in use */
extern struct kq_policy_params kq_params;
extern spinlock_t kq_params_lock;
bool kq_window_thresholds_in_use(u32 val[KQ_THR_NR], unsigned int *from_host);

/* enforce.c */
void kq_enforce_exit(struct kq_vcpu *v, u64 now);

/*
 * How long a vCPU that found its CPU without other work is not asked to
 * yield again in the same turn: the exits of an exit-heavy vCPU alone on
 * its CPU come microseconds apart; a task that wakes up meanwhile waits
 * this much longer for a cut at most (the ratelimit is 200 us by default).
 * kq_clock_alone is it in kq_clock() units.
 */
#define KQ_ALONE_NS (50 * NSEC_PER_USEC)

/**
 * kq_switches() - how many times a thread was switched out
 * @t: the thread
 *
 * Voluntary and involuntary: every switch bumps one of the two.  Read by
 * its own thread, so no tearing.
 */
static __always_inline unsigned long kq_switches(const struct task_struct *t)
{
	return t->nvcsw + t->nivcsw;
}

/**
 * kq_turn_same() - is @v's mapped turn current's turn on its CPU now?
 * @v: the vCPU, current is its thread
 *
 * One definition for the exit probe's gate and enforce.c: the thread has
 * not been switched out since its turn was mapped (kq_turn_start()).
 */
static __always_inline bool kq_turn_same(const struct kq_vcpu *v)
{
	return kq_switches(current) == v->turn && current == v->turn_task &&
	       v->turn_t;
}

void kq_enforce_window(struct kq_vcpu *v, const struct kq_vm_policy *vp,
		       u32 weight, bool latency_here);
void kq_enforce_restore(struct kq_vcpu *v);
void kq_enforce_drain(void);
unsigned int kq_enforce_pending(void);

/* sample.c */
void kq_vcpu_reading(struct kq_vcpu *v, u64 now, struct kq_reading *r,
		     u64 *guest_t);
void kq_sample_start(void);
void kq_sample_kick(void);
void kq_sample_now(void);
void kq_sample_stop(void);

/* pmu.c */
void kq_pmu_init(void);
u32 kq_pmu_read(struct kq_vcpu *v, struct kq_pmu_value pmu[KVM_QUANTA_EV_NR]);
void kq_pmu_release(struct kq_vcpu *v);
ssize_t kq_pmu_events_show(char *buf);
int kq_pmu_events_store(const char *buf, size_t count);
ssize_t kq_pmu_status_show(char *buf);
unsigned int kq_pmu_events_gen(void);

/* pcpu.c */
DECLARE_PER_CPU(struct kq_pcpu_reading, kq_pcpu_now);
DECLARE_PER_CPU(unsigned long, kq_cpu_hungry);
DECLARE_PER_CPU(s32, kq_cpu_sibling);

/*
 * A CPU's kq_cpu_hungry mark says a cache-hungry vCPU is in guest mode
 * there: set, and stamped at most a tick or two ago (jiffies | 1).
 */
static inline bool kq_cpu_runs_hungry(unsigned long mark)
{
	return mark && jiffies - (mark & ~1UL) <= 1;
}

void kq_pcpu_sample(u64 now);
s32 kq_pcpu_sibling_of(unsigned int cpu);
int kq_pcpu_init(struct kobject *parent);
void kq_pcpu_exit(void);

/* hooks.c */
int kq_hooks_register(void);
void kq_hooks_unregister(void);
/* hooks.c: the probes' clock, the TSC or local_clock() (kq_clock()) */
DECLARE_STATIC_KEY_FALSE(kq_clock_tsc);
extern u32 kq_clock_mult, kq_clock_shift;
extern u32 kq_clock_inv_mult, kq_clock_inv_shift;
extern u64 kq_clock_alone;

/**
 * kq_clock_to_ns() - a time in the probes' clock units, in ns
 * @t: a time or a sum of times from kq_clock()
 */
static inline u64 kq_clock_to_ns(u64 t)
{
	if (static_branch_likely(&kq_clock_tsc))
		return mul_u64_u32_shr(t, kq_clock_mult, kq_clock_shift);
	return t;
}

/**
 * kq_clock_from_ns() - ns in the probes' clock units
 * @ns: a time in ns
 */
static inline u64 kq_clock_from_ns(u64 ns)
{
	if (static_branch_likely(&kq_clock_tsc))
		return mul_u64_u32_shr(ns, kq_clock_inv_mult,
				       kq_clock_inv_shift);
	return ns;
}

/* spin.c */
void kq_spin_register(void);
void kq_spin_unregister(void);
int kq_spin_attached(void);

/* sysfs.c */
extern kgid_t kq_reader_gid;
int kq_sysfs_init(void);
void kq_sysfs_exit(void);
int kq_sysfs_add_vm(struct kq_vm *vm);
int kq_sysfs_add_vcpu(struct kq_vm *vm, struct kq_vcpu *v);
void kq_sysfs_vcpu_init(struct kq_vcpu *v);
void kq_sysfs_vm_init(struct kq_vm *vm);

#endif /* _KVM_QUANTA_H */
