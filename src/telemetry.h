/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm_quanta: what the sampler publishes and what the netlink family
 * serves, and the calls between them.
 */
#ifndef _KQ_TELEMETRY_H
#define _KQ_TELEMETRY_H

#include <linux/types.h>

#include "core/policy.h"
#include "core/state.h"

/**
 * struct kq_ran_split - where a vCPU ran in a window (kq_ran_window())
 * @cpus: the CPUs
 * @ns: its guest time on each
 * @n: how many, 0 to KQ_RAN_SLOTS
 */
struct kq_ran_split {
	s32 cpus[KQ_RAN_SLOTS];
	u64 ns[KQ_RAN_SLOTS];
	unsigned int n;
};

/**
 * struct kq_sample - one vCPU's state over one window, as published
 * @vm_id: the VM's module-wide id (sysfs <pid>-<id>)
 * @pid: the VMM process
 * @vcpu_idx: the vCPU's index in its VM
 * @tid: the vCPU thread
 * @cpu: the CPU the thread last ran on
 * @w: the window: deltas and derived values
 * @split: where it ran in the window: CPUs and its guest time on each
 * @target_ns: the policy's target quantum for the next window
 * @reason: its enum kvm_quanta_reason
 * @debt_ns: the vCPU's ledger
 * @decisions: decisions since first seen, by reason (window and early)
 */
struct kq_sample {
	u64 vm_id;
	u32 pid;
	u32 vcpu_idx;
	u32 tid;
	u32 cpu;
	struct kq_window w;
	struct kq_ran_split split;
	u64 target_ns;
	u32 reason;
	s64 debt_ns;
	u64 decisions[KVM_QUANTA_R_NR];
};

#define KQ_INTERVAL_MIN_MS 10
#define KQ_INTERVAL_MAX_MS 10000
#define KQ_INTERVAL_DEFAULT_MS 100

/* sample.c */
u32 kq_sample_interval_ms(void);
int kq_sample_set_interval_ms(u32 ms);
int kq_sample_snapshot(struct kq_sample **out, unsigned int *n);

/* main.c */
int kq_mode_set(unsigned int mode);

/* netlink.c */
int kq_nl_init(void);
void kq_nl_exit(void);
void kq_nl_publish(u64 seq, u64 time_ns, const struct kq_sample *s,
		   unsigned int n);
u64 kq_nl_drops(void);

#endif /* _KQ_TELEMETRY_H */
