/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm_quanta: objects shared by the module's files.
 *
 * A vCPU is first seen at its first VM exit after the module loaded.  The
 * exit hook then takes a kq_vcpu from a per-CPU pool filled in advance (the
 * exit path never allocates), inserts it into an RCU hash keyed by the
 * struct kvm_vcpu, and queues the rest of the bookkeeping (the VM object,
 * sysfs) to process context.  Each kq_vcpu holds a reference on its struct
 * kvm, so the vCPU and VM it points to stay valid until the reaper sees
 * that only our references are left and lets go.
 */
#ifndef _KVM_QUANTA_H
#define _KVM_QUANTA_H

#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/list_bl.h>
#include <linux/llist.h>
#include <linux/percpu.h>
#include <linux/seqlock.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "core/events.h"
#include "core/exit_kind.h"
#include "core/pcpu.h"
#include "core/state.h"
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
 * @nice: its nice value
 * @slice_ns: its own slice, 0 for the scheduler's default (EEVDF only)
 */
struct kq_sched_params {
	int nice;
	u64 slice_ns;
};

/* kq_vcpu.flags bits */
#define KQ_V_YIELD_PENDING 0	/* yield_work is queued on the thread */
#define KQ_V_SPINNING 1		/* its last exit was a directed-yield try */

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
 * @pid: VMM process id seen at the first exit
 * @tid: thread that last exited from this vCPU
 * @task: the thread that first ran the vCPU, referenced; its scheduler
 *	statistics and perf counters are the vCPU's
 * @seq: guards @acct and @guest_ns for readers; written only by the vCPU's
 *	thread
 * @acct: exits and their kinds
 * @entry_ns: local_clock() at the last entry, 0 when not in the guest
 * @guest_ns: time spent in guest mode
 * @counters: its perf counters, sampling context only
 * @counters_gen: event set generation @counters were opened for
 * @prev: the reading that ended the last window, sampling context only
 * @state_lock: guards @last and @hist for sysfs readers
 * @last: the last window
 * @hist: history of its windows
 * @pol: policy state: target, reason, ledger; written by the sampler under
 *	@state_lock, target and reason read locklessly by the exit path
 * @early: early switches by reason, written by the vCPU's thread only
 * @flags: KQ_V_* bits
 * @spin_snap: KVM's directed-yield count at the last entry
 * @yield_work: task_work that yields the CPU before the next entry
 * @enforce: the exit path may act (mode enforce, VM policy enabled)
 * @applied: @orig holds the thread's parameters before we changed them
 * @orig: those parameters, restored when we stop acting
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
	u64 entry_ns;
	u64 guest_ns;
	struct kq_counters counters;
	unsigned int counters_gen;
	struct kq_reading prev;
	spinlock_t state_lock;	/* @last, @hist */
	struct kq_window last;
	struct kq_history hist;
	struct kq_vcpu_policy pol;
	u64 early[KVM_QUANTA_R_NR];
	unsigned long flags;
	u64 spin_snap;
	struct callback_head yield_work;
	bool enforce;
	bool applied;
	struct kq_sched_params orig;
	struct kq_sched_params set;
};

/* registry.c */
struct kq_vcpu *kq_vcpu_lookup(const struct kvm_vcpu *vcpu);
void kq_vcpu_sight(struct kvm_vcpu *vcpu);
void kq_vcpu_read_kinds(struct kq_vcpu *v, u64 *exits,
			u64 kinds[KVM_QUANTA_EXIT_NR]);
u64 kq_lost_exits(void);
int kq_registry_init(void);
void kq_registry_stop(void);
void kq_registry_exit(void);

struct kq_sample *kq_registry_sample(u64 now, unsigned int *n);
void kq_registry_kick_yields(void);
void kq_vcpu_decisions(struct kq_vcpu *v, u64 out[KVM_QUANTA_R_NR]);

/* enforce.c */
extern struct kq_policy_params kq_params;
extern spinlock_t kq_params_lock;
void kq_enforce_exit(struct kq_vcpu *v, u64 now);
void kq_enforce_window(struct kq_vcpu *v, const struct kq_vm_policy *vp);
void kq_enforce_restore(struct kq_vcpu *v);
void kq_enforce_drain(void);
void kq_enforce_kick(struct task_struct *t);

/* sample.c */
void kq_vcpu_reading(struct kq_vcpu *v, u64 now, struct kq_reading *r);
void kq_sample_kick(void);
void kq_sample_now(void);
void kq_sample_exit(void);

/* pmu.c */
void kq_pmu_init(void);
void kq_pmu_read(struct kq_vcpu *v, struct kq_pmu_value pmu[KVM_QUANTA_EV_NR]);
void kq_pmu_release(struct kq_vcpu *v);
ssize_t kq_pmu_events_show(char *buf);
int kq_pmu_events_store(const char *buf, size_t count);
ssize_t kq_pmu_status_show(char *buf);

/* pcpu.c */
DECLARE_PER_CPU(struct kq_pcpu_reading, kq_pcpu_now);
void kq_pcpu_sample(u64 now);
int kq_pcpu_init(struct kobject *parent);
void kq_pcpu_exit(void);

/* hooks.c */
int kq_hooks_register(void);
void kq_hooks_unregister(void);

/* sysfs.c */
int kq_sysfs_init(void);
void kq_sysfs_exit(void);
int kq_sysfs_add_vm(struct kq_vm *vm);
int kq_sysfs_add_vcpu(struct kq_vm *vm, struct kq_vcpu *v);
void kq_sysfs_vcpu_init(struct kq_vcpu *v);
void kq_sysfs_vm_init(struct kq_vm *vm);

#endif /* _KVM_QUANTA_H */
