/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm_quanta: every difference between the kernels we build for, in one
 * place.  compat_config.h is written by scripts/configure.sh, which compiles
 * small probes against the target kernel's headers: signatures changed
 * inside stable series, so kernel versions do not tell.
 */
#ifndef _KQ_COMPAT_H
#define _KQ_COMPAT_H

#include <linux/kvm_host.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/sched/clock.h>
#include <uapi/linux/sched/types.h>
#include <linux/tracepoint.h>

#include "compat_config.h"
#include "core/exit_kind.h"
#include "kvm_quanta.h"

/*
 * KVM's tracepoints, exported by kvm.ko (EXPORT_TRACEPOINT_SYMBOL_GPL in
 * arch/x86/kvm/x86.c) on every kernel we support.  Using them makes
 * kvm_quanta depend on kvm, which keeps kvm loaded while we are.
 */
extern struct tracepoint __tracepoint_kvm_exit;
extern struct tracepoint __tracepoint_kvm_entry;

/*
 * kvm_entry gained a force_immediate_exit argument upstream in 6.9 and in
 * the 6.1 and 6.6 stable series (6.1.149).  Its header, arch/x86/kvm/
 * trace.h, is not shipped with kernel headers; the same commit gave the
 * vendor vcpu_run() hook in asm/kvm_host.h its second argument, and that is
 * what configure tests.
 */
#if defined(KQ_HAVE_KVM_ENTRY_IMMEDIATE_EXIT)
#define KQ_PROBE_KVM_ENTRY(fn) \
	void fn(void *data, struct kvm_vcpu *vcpu, bool force_immediate_exit)
#elif defined(KQ_HAVE_KVM_ENTRY_VCPU_ONLY)
#define KQ_PROBE_KVM_ENTRY(fn) void fn(void *data, struct kvm_vcpu *vcpu)
#else
#error "configure found neither form of kvm_entry"
#endif

/* kobj_type.get_ownership took a const kobject in 6.2. */
#ifdef KQ_HAVE_CONST_KOBJ_OWNERSHIP
#define KQ_GET_OWNERSHIP(fn) \
	void fn(const struct kobject *kobj, kuid_t *uid, kgid_t *gid)
#else
#define KQ_GET_OWNERSHIP(fn) \
	void fn(struct kobject *kobj, kuid_t *uid, kgid_t *gid)
#endif
KQ_GET_OWNERSHIP(kq_sysfs_ownership);	/* sysfs.c */

/*
 * Multicast groups only CAP_NET_ADMIN may join (6.7, and stable 6.1).
 * Without them per-vCPU samples are not multicast at all: any local user
 * could join the group (Documentation/security.rst).
 */
#ifdef KQ_HAVE_GENL_MCAST_CAP
#define KQ_NL_MCGRP_FLAGS GENL_MCAST_CAP_NET_ADMIN
#define KQ_NL_MCAST_PRIVATE true
#else
#define KQ_NL_MCGRP_FLAGS 0
#define KQ_NL_MCAST_PRIVATE false
#endif

/* kvm_exit(vcpu, isa) is the same on every kernel we support. */
#define KQ_PROBE_KVM_EXIT(fn) void fn(void *data, struct kvm_vcpu *vcpu, u32 isa)

/**
 * kq_exit_stat_at() - a KVM counter that tells an exit kind
 * @vcpu: the vCPU; its VM must be pinned
 * @kind: an exit kind below KQ_EXIT_STAT_NR
 *
 * struct kq_exit_stat's c[kind].  The counters are written by the vCPU's
 * thread only; a reader elsewhere may see them mid-update, which is fine
 * for monotonic counters.
 */
static inline u64 kq_exit_stat_at(const struct kvm_vcpu *vcpu,
				  unsigned int kind)
{
	static const u16 off[] = {
		[KVM_QUANTA_EXIT_IO] = offsetof(struct kvm_vcpu_stat, io_exits),
		[KVM_QUANTA_EXIT_MMIO] = offsetof(struct kvm_vcpu_stat,
						  mmio_exits),
		[KVM_QUANTA_EXIT_HLT] = offsetof(struct kvm_vcpu_stat,
						 halt_exits),
		[KVM_QUANTA_EXIT_INTR] = offsetof(struct kvm_vcpu_stat,
						  irq_exits),
		[KVM_QUANTA_EXIT_NPF] = offsetof(struct kvm_vcpu_stat, pf_taken),
		[KVM_QUANTA_EXIT_HYPERCALL] = offsetof(struct kvm_vcpu_stat,
						       hypercalls),
		[KVM_QUANTA_EXIT_IRQ_WINDOW] = offsetof(struct kvm_vcpu_stat,
							irq_window_exits),
		[KVM_QUANTA_EXIT_NMI_WINDOW] = offsetof(struct kvm_vcpu_stat,
							nmi_window_exits),
		[KVM_QUANTA_EXIT_EMULATION] = offsetof(struct kvm_vcpu_stat,
						       insn_emulation),
	};

	/* A kind added to the uAPI needs its counter here. */
	BUILD_BUG_ON(ARRAY_SIZE(off) != KQ_EXIT_STAT_NR);
	return READ_ONCE(*(const u64 *)((const char *)&vcpu->stat + off[kind]));
}

/**
 * kq_read_exit_stat() - snapshot the KVM counters that tell exit kinds
 * @vcpu: the vCPU; its VM must be pinned
 * @s: output
 */
static inline void kq_read_exit_stat(const struct kvm_vcpu *vcpu,
				     struct kq_exit_stat *s)
{
	unsigned int i;

	for (i = 0; i < KQ_EXIT_STAT_NR; i++)
		s->c[i] = kq_exit_stat_at(vcpu, i);
}

/**
 * struct kq_exit_read - KVM's exit counters of a vCPU at one moment
 * @exits: its count of the vCPU's exits since creation (stat.exits)
 * @settled: every exit in @exits was handled before @now was read
 * @late: exits counted while @now was read
 * @now: the per-kind counters
 *
 * What kq_exit_fold() takes, read in the order it needs (kq_read_exits()).
 */
struct kq_exit_read {
	u64 exits;
	bool settled;
	u64 late;
	struct kq_exit_stat now;
};

/**
 * kq_read_exits() - KVM's exit counters of a vCPU, for kq_exit_fold()
 * @vcpu: the vCPU; its VM must be pinned
 * @r: output
 *
 * KVM leaves guest mode (vcpu->mode = OUTSIDE_GUEST_MODE), counts the
 * exit, handles it, and enters again (IN_GUEST_MODE, later maybe
 * EXITING_GUEST_MODE from a kick).  Read in that order's reverse, the
 * count, the mode, the per-kind counters: a mode in the guest seen after
 * the count means the count's last exit was handled, its counters moved.
 * Then the count again: the exits whose moves the counters may hold
 * beyond @r->exits.  An exit handled in the vendor fastpath and re-entered
 * at once is counted after its handler with the mode still in the guest;
 * its stores are seen in order all the same because x86 keeps stores in
 * order (TSO), which smp_rmb() relies on here.
 */
static inline void kq_read_exits(const struct kvm_vcpu *vcpu,
				 struct kq_exit_read *r)
{
	int mode;
	u64 again;

	r->exits = READ_ONCE(vcpu->stat.exits);
	smp_rmb();	/* the count, then the mode (KVM: mode, then count) */
	mode = READ_ONCE(vcpu->mode);
	r->settled = mode == IN_GUEST_MODE || mode == EXITING_GUEST_MODE;
	smp_rmb();	/* the mode, then the per-kind counters */
	kq_read_exit_stat(vcpu, &r->now);
	smp_rmb();	/* the per-kind counters, then the count again */
	again = READ_ONCE(vcpu->stat.exits);
	r->late = again > r->exits ? again - r->exits : 0;	/* 0: cleared */
}

/**
 * kq_vcpu_task() - the thread that runs a vCPU, as KVM recorded it
 * @vcpu: the vCPU; its VM must be pinned
 *
 * KVM sets vcpu->pid at a KVM_RUN from a new thread.  It is RCU-protected
 * up to 6.x and guarded by vcpu->pid_lock since 7.0.
 *
 * Context: process or atomic.
 * Return: the thread, referenced, or NULL before the vCPU first ran.
 */
static inline struct task_struct *kq_vcpu_task(struct kvm_vcpu *vcpu)
{
	struct task_struct *t;

#ifdef KQ_HAVE_VCPU_PID_LOCK
	read_lock(&vcpu->pid_lock);
	t = get_pid_task(vcpu->pid, PIDTYPE_PID);
	read_unlock(&vcpu->pid_lock);
#else
	rcu_read_lock();
	t = get_pid_task(rcu_dereference(vcpu->pid), PIDTYPE_PID);
	rcu_read_unlock();
#endif
	return t;
}

/**
 * kq_read_halt_ns() - time the vCPU spent blocked in guest HLT
 * @vcpu: the vCPU; its VM must be pinned
 */
static inline u64 kq_read_halt_ns(const struct kvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->stat.generic.halt_wait_ns);
}

/**
 * kq_task_sched() - a thread's scheduler statistics, as /proc/<tid>/schedstat
 * @t: the thread, referenced
 * @run_ns: time on a CPU
 * @wait_ns: time waiting runnable
 * @slices: times scheduled in
 */
static inline void kq_task_sched(struct task_struct *t, u64 *run_ns,
				 u64 *wait_ns, u64 *slices)
{
	*run_ns = READ_ONCE(t->se.sum_exec_runtime);
#ifdef CONFIG_SCHED_INFO
	*wait_ns = READ_ONCE(t->sched_info.run_delay);
	*slices = READ_ONCE(t->sched_info.pcount);
#else
	*wait_ns = 0;
	*slices = 0;
#endif
}

/**
 * kq_read_spin() - KVM's count of PV yield hypercalls
 * @vcpu: the vCPU; its VM must be pinned
 *
 * directed_yield_attempted counts KVM_HC_SCHED_YIELD and KVM_HC_KICK_CPU,
 * made by a guest's PV spinlock code (a KICK_CPU by the lock's releaser),
 * not PAUSE-loop exits: those are counted by spin.c.
 */
static inline u64 kq_read_spin(const struct kvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->stat.directed_yield_attempted);
}

/**
 * kq_sched_arrival() - when current was last scheduled in on its CPU
 *
 * sched_info.last_arrival, stamped with the runqueue clock, which is
 * sched_clock_cpu() like local_clock().
 *
 * Return: that time, or 0 without schedstats (CONFIG_SCHED_INFO).
 */
static inline u64 kq_sched_arrival(void)
{
#ifdef CONFIG_SCHED_INFO
	return READ_ONCE(current->sched_info.last_arrival);
#else
	return 0;
#endif
}

/*
 * A per-task slice (EEVDF, 6.12+) ends exit-heavy and payback slices on
 * time by itself; CFS (6.1) has none, and those need an early yield.
 */
#ifdef KQ_HAVE_SCHED_CUSTOM_SLICE
#define KQ_HAVE_TASK_SLICE true
#else
#define KQ_HAVE_TASK_SLICE false
#endif

/**
 * kq_task_sched_get() - a thread's current parameters
 * @t: the thread
 * @sp: output
 */
static inline void kq_task_sched_get(struct task_struct *t,
				     struct kq_sched_params *sp)
{
	sp->policy = READ_ONCE(t->policy);
	sp->reset_on_fork = t->sched_reset_on_fork;
	sp->nice = task_nice(t);
#ifdef KQ_HAVE_SCHED_CUSTOM_SLICE
	sp->slice_ns = t->se.custom_slice ? t->se.slice : 0;
	sp->eff_slice_ns = READ_ONCE(t->se.slice);
#else
	sp->slice_ns = 0;
	sp->eff_slice_ns = 0;
#endif
}

/**
 * kq_task_sched_set() - set a thread's nice and (EEVDF) slice
 * @t: the thread, referenced
 * @sp: the parameters; the policy and SCHED_RESET_ON_FORK are kept as
 *	they are on the thread
 *
 * Context: process, may sleep.  Only SCHED_NORMAL and SCHED_BATCH threads
 * are touched: a VMM that made its vCPUs real-time knows better.  The
 * policy is passed as "keep the thread's" (the scheduler's SETPARAM_POLICY,
 * -1, resolved under the runqueue lock), so a chrt landing between our
 * check and our call is not undone: made real-time, the thread refuses
 * our priority 0 with -EINVAL.
 *
 * Return: 0, -EPERM for a thread of another policy, or the scheduler's
 * error.
 */
/* kernel/sched/sched.h's SETPARAM_POLICY: keep the policy and its flags. */
#define KQ_SETPARAM_POLICY (-1)

static inline int kq_task_sched_set(struct task_struct *t,
				    const struct kq_sched_params *sp)
{
	int policy = READ_ONCE(t->policy);

	if (policy != SCHED_NORMAL && policy != SCHED_BATCH)
		return -EPERM;
#ifdef KQ_HAVE_SCHED_CUSTOM_SLICE
	{
		struct sched_attr attr = {
			.size = sizeof(attr),
			.sched_policy = (u32)KQ_SETPARAM_POLICY,
			.sched_nice = sp->nice,
			.sched_runtime = sp->slice_ns,
		};

		return sched_setattr_nocheck(t, &attr);
	}
#else
	set_user_nice(t, sp->nice);
	return 0;
#endif
}

#endif /* _KQ_COMPAT_H */
