/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Processor state of a vCPU: windows of deltas between two cumulative
 * readings, the values derived from them, and short- and long-term
 * history.  Pure code: integer arithmetic, bounded memory, no kernel
 * dependency beyond types.
 */
#ifndef _KQ_CORE_STATE_H
#define _KQ_CORE_STATE_H

#include "kq_math.h"
#include "kq_types.h"
#include <linux/kvm_quanta.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "No value": the input it needs was not there. */
#define KQ_NONE64 (~(u64)0)
#define KQ_NONE32 (~(u32)0)

/**
 * struct kq_pmu_value - a perf counter as read: value and multiplexing times
 * @value: count
 * @enabled: time the event was enabled
 * @running: time it was actually on the PMU
 * @valid: the counter exists and was read
 */
struct kq_pmu_value {
	u64 value;
	u64 enabled;
	u64 running;
	bool valid;
};

/* CPUs a vCPU's guest time is kept by at once (kq_ran_take()). */
#define KQ_RAN_SLOTS 4

/**
 * struct kq_ran_on - a vCPU's guest time on one CPU
 * @cpu: the CPU; -1 for a slot not in use
 * @gen: bumped each time the slot takes a CPU, so that a reader tells a
 *	slot taken again by the same CPU from one that kept it
 * @ns: cumulative, since the slot took this CPU
 */
struct kq_ran_on {
	s32 cpu;
	u32 gen;
	u64 ns;
};

/**
 * struct kq_reading - cumulative counters of one vCPU at one instant
 * @t_ns: when, monotonic
 * @guest_ns: time in guest mode
 * @exits: VM exits
 * @kinds: exits by kind
 * @run_ns: time the vCPU thread ran (task clock)
 * @wait_ns: time it waited runnable
 * @slices: times it was scheduled in
 * @halt_ns: time blocked in guest HLT
 * @ple_exits: PAUSE-loop exits (calls of kvm_vcpu_on_spin() for this vCPU)
 * @pv_yields: PV yield hypercalls (KVM's directed_yield_attempted:
 *	KVM_HC_SCHED_YIELD, KVM_HC_KICK_CPU)
 * @pmu: guest-only perf counters by role
 * @pmu_epoch: which opening of the counters @pmu was read from; counts of
 *	two openings cannot be subtracted
 * @ran_on: its guest time by CPU (kq_ran_add())
 */
struct kq_reading {
	u64 t_ns;
	u64 guest_ns;
	u64 exits;
	u64 kinds[KVM_QUANTA_EXIT_NR];
	u64 run_ns;
	u64 wait_ns;
	u64 slices;
	u64 halt_ns;
	u64 ple_exits;
	u64 pv_yields;
	struct kq_pmu_value pmu[KVM_QUANTA_EV_NR];
	u32 pmu_epoch;
	struct kq_ran_on ran_on[KQ_RAN_SLOTS];
};

/**
 * struct kq_window - what a vCPU did between two readings
 * @window_ns: length
 * @guest_ns: time in guest mode
 * @exits: VM exits
 * @kinds: exits by kind
 * @run_ns: time on a CPU
 * @wait_ns: time waiting runnable
 * @slices: times scheduled in
 * @halt_ns: time blocked in guest HLT
 * @ple_exits: PAUSE-loop exits: the guest spun on a lock (waiter's side)
 * @pv_yields: PV yield hypercalls: the guest asked KVM to run another of
 *	its vCPUs, or kicked a halted one (a lock releaser's side)
 * @pmu: counts by role, scaled for multiplexing; KQ_NONE64 if not counted
 * @ipc_milli: instructions per cycle x 1000
 * @llc_mpki_milli: LLC misses per 1000 instructions x 1000
 * @br_mpki_milli: branch misses per 1000 instructions x 1000
 * @exit_rate_milli: exits per ms of guest time x 1000
 * @mean_run_ns: mean guest time between exits
 * @quantum_ns: mean time on a CPU per scheduling
 *
 * Derived values are KQ_NONE32/KQ_NONE64 when their inputs are missing or
 * zero.
 */
struct kq_window {
	u64 window_ns;
	u64 guest_ns;
	u64 exits;
	u64 kinds[KVM_QUANTA_EXIT_NR];
	u64 run_ns;
	u64 wait_ns;
	u64 slices;
	u64 halt_ns;
	u64 ple_exits;
	u64 pv_yields;
	u64 pmu[KVM_QUANTA_EV_NR];
	u32 ipc_milli;
	u32 llc_mpki_milli;
	u32 br_mpki_milli;
	u64 exit_rate_milli;
	u64 mean_run_ns;
	u64 quantum_ns;
};

/**
 * struct kq_history - short- and long-term profile
 * @recent: exponentially weighted moving average of the derived values
 *	(weight 1/4 per window); only the derived fields are meaningful
 * @total: sums of every window's deltas since the vCPU or VM was first
 *	seen, with derived values computed from the sums
 * @windows: windows added
 */
struct kq_history {
	struct kq_window recent;
	struct kq_window total;
	u64 windows;
};

u64 kq_pmu_scaled_delta(const struct kq_pmu_value *prev,
			const struct kq_pmu_value *cur);
void kq_window_init(struct kq_window *w);
void kq_window_derive(struct kq_window *w);
void kq_window_from(struct kq_window *w, const struct kq_reading *prev,
		    const struct kq_reading *cur);
void kq_window_add(struct kq_window *sum, const struct kq_window *w);
void kq_ran_init(struct kq_ran_on ran[KQ_RAN_SLOTS]);
unsigned int kq_ran_window(const struct kq_ran_on prev[KQ_RAN_SLOTS],
			   const struct kq_ran_on cur[KQ_RAN_SLOTS],
			   s32 cpus[KQ_RAN_SLOTS], u64 ns[KQ_RAN_SLOTS]);
void kq_history_init(struct kq_history *h);
void kq_history_add(struct kq_history *h, const struct kq_window *w);

/**
 * kq_ran_take() - the slot that keeps a vCPU's guest time on a CPU
 * @ran: its slots
 * @next: the slot to take next when all are in use (round robin)
 * @cpu: the CPU
 *
 * O(KQ_RAN_SLOTS): the entry probe calls it when the vCPU enters on
 * another CPU than last time, and the exit adds to the slot.  When a vCPU
 * meets a fifth CPU, the round robin's slot takes it; what that slot had
 * gathered since the last window drops out of the split
 * (kq_ran_window()), not out of the ledger, which takes run and wait time
 * from the scheduler and only their split from here.
 *
 * Return: the slot's index, below KQ_RAN_SLOTS.
 */
static inline unsigned int kq_ran_take(struct kq_ran_on ran[KQ_RAN_SLOTS],
				       u32 *next, s32 cpu)
{
	unsigned int i, slot = KQ_RAN_SLOTS;

	for (i = 0; i < KQ_RAN_SLOTS; i++) {
		if (ran[i].cpu == cpu)
			return i;
		if (ran[i].cpu < 0 && slot == KQ_RAN_SLOTS)
			slot = i;
	}
	if (slot == KQ_RAN_SLOTS) {
		slot = *next % KQ_RAN_SLOTS;
		*next = (slot + 1) % KQ_RAN_SLOTS;
	}
	ran[slot].cpu = cpu;
	ran[slot].gen++;
	ran[slot].ns = 0;
	return slot;
}

/**
 * kq_ran_add() - charge a vCPU's guest time to the CPU it ran on
 * @ran: its slots
 * @next: the slot to take next when all are in use (kq_ran_take())
 * @cpu: the CPU
 * @ns: guest time there
 */
static inline void kq_ran_add(struct kq_ran_on ran[KQ_RAN_SLOTS], u32 *next,
			      s32 cpu, u64 ns)
{
	ran[kq_ran_take(ran, next, cpu)].ns += ns;
}

#ifdef __cplusplus
}
#endif

#endif /* _KQ_CORE_STATE_H */
