/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kvm_quanta: userspace ABI shared by the kernel module, quantad and
 * quantactl.
 */
#ifndef _UAPI_LINUX_KVM_QUANTA_H
#define _UAPI_LINUX_KVM_QUANTA_H

#include <linux/types.h>

/**
 * enum kvm_quanta_exit_kind - vendor-neutral kind of a VM exit
 * @KVM_QUANTA_EXIT_IO: port I/O
 * @KVM_QUANTA_EXIT_MMIO: MMIO access completed by the VMM in userspace
 * @KVM_QUANTA_EXIT_HLT: HLT
 * @KVM_QUANTA_EXIT_INTR: external interrupt arrived while in the guest
 * @KVM_QUANTA_EXIT_NPF: nested/extended page fault (NPF, EPT violation)
 * @KVM_QUANTA_EXIT_HYPERCALL: VMCALL/VMMCALL
 * @KVM_QUANTA_EXIT_IRQ_WINDOW: interrupt window opened
 * @KVM_QUANTA_EXIT_NMI_WINDOW: NMI window opened
 * @KVM_QUANTA_EXIT_EMULATION: any other exit KVM handled by emulating an
 *	instruction
 * @KVM_QUANTA_EXIT_OTHER: everything else (CPUID, MSR, ...)
 * @KVM_QUANTA_EXIT_NR: number of kinds
 *
 * The order is the classification priority: when one exit moved several of
 * KVM's per-vCPU counters (an MMIO exit also counts a page fault and an
 * emulated instruction), the first kind in this order wins.  The values are
 * ABI (netlink's KVM_QUANTA_V_EXIT_KINDS is an array indexed by them): a
 * new kind would get a new value before KVM_QUANTA_EXIT_NR, never shift
 * these.  Parse sysfs exit_reasons by name.
 */
enum kvm_quanta_exit_kind {
	KVM_QUANTA_EXIT_IO,
	KVM_QUANTA_EXIT_MMIO,
	KVM_QUANTA_EXIT_HLT,
	KVM_QUANTA_EXIT_INTR,
	KVM_QUANTA_EXIT_NPF,
	KVM_QUANTA_EXIT_HYPERCALL,
	KVM_QUANTA_EXIT_IRQ_WINDOW,
	KVM_QUANTA_EXIT_NMI_WINDOW,
	KVM_QUANTA_EXIT_EMULATION,
	KVM_QUANTA_EXIT_OTHER,
	KVM_QUANTA_EXIT_NR,
};

/**
 * enum kvm_quanta_mode - /sys/kernel/kvm_quanta/mode, netlink KVM_QUANTA_A_MODE
 * @KVM_QUANTA_MODE_OBSERVE: watch and report only
 * @KVM_QUANTA_MODE_ENFORCE: act on the vCPU threads
 * @KVM_QUANTA_MODE_NR: number of modes
 */
enum kvm_quanta_mode {
	KVM_QUANTA_MODE_OBSERVE,
	KVM_QUANTA_MODE_ENFORCE,
	KVM_QUANTA_MODE_NR,
};

/**
 * enum kvm_quanta_reason - why the policy chose a vCPU's quantum
 * @KVM_QUANTA_R_BASE: nothing notable: the VM's base quantum
 * @KVM_QUANTA_R_WARM: cache-warm steady phase (stable high IPC, few cache
 *	and branch misses, few exits): extended toward the VM's maximum
 * @KVM_QUANTA_R_EXIT_HEAVY: exit-heavy, latency-sensitive: shorter, more
 *	frequent slices
 * @KVM_QUANTA_R_FLUSH: just flushed its cache (LLC miss burst): cut short
 * @KVM_QUANTA_R_SPIN: spinning on a lock (PAUSE-loop exits; not PV yield
 *	hypercalls, which the lock releaser makes too): cut
 * @KVM_QUANTA_R_PHASE_END: its phase ended (IPC dropped): cut short
 * @KVM_QUANTA_R_PAYBACK: ran beyond its fair share of the CPU: no
 *	extension and a lower weight until the ledger is even
 * @KVM_QUANTA_R_IDLE: mostly halted: base quantum, nothing to keep warm
 * @KVM_QUANTA_R_LATENCY: latency-sensitive: wakes, runs a short burst and
 *	halts again; the VM's minimum as its slice, never cut, and on EEVDF
 *	a few nice levels more weight while the ledger does not hold it in
 *	payback
 * @KVM_QUANTA_R_SMT: cache-hungry while its core's other SMT thread runs
 *	cache-hungry work: not extended, and cut short if it misses the most
 * @KVM_QUANTA_R_NR: number of reasons
 *
 * Values are ABI (netlink arrays are indexed by them; new ones are added
 * before KVM_QUANTA_R_NR, which grows: 10 since smt); names are the
 * sysfs and tracepoint spellings: base, warm, exit_heavy, flush, spin,
 * phase_end, payback, idle, latency, smt.
 */
enum kvm_quanta_reason {
	KVM_QUANTA_R_BASE,
	KVM_QUANTA_R_WARM,
	KVM_QUANTA_R_EXIT_HEAVY,
	KVM_QUANTA_R_FLUSH,
	KVM_QUANTA_R_SPIN,
	KVM_QUANTA_R_PHASE_END,
	KVM_QUANTA_R_PAYBACK,
	KVM_QUANTA_R_IDLE,
	KVM_QUANTA_R_LATENCY,
	KVM_QUANTA_R_SMT,
	KVM_QUANTA_R_NR,
};

/**
 * enum kvm_quanta_event - roles of the perf events counted per vCPU
 * @KVM_QUANTA_EV_CYCLES: guest CPU cycles
 * @KVM_QUANTA_EV_INSTRUCTIONS: guest instructions retired
 * @KVM_QUANTA_EV_LLC_MISSES: last-level cache misses in the guest
 * @KVM_QUANTA_EV_BRANCH_MISSES: mispredicted branches in the guest
 * @KVM_QUANTA_EV_NR: number of roles
 *
 * The default event set counts these four; derived values (IPC, MPKI) are
 * reported only for the roles whose event is counted and available.
 */
enum kvm_quanta_event {
	KVM_QUANTA_EV_CYCLES,
	KVM_QUANTA_EV_INSTRUCTIONS,
	KVM_QUANTA_EV_LLC_MISSES,
	KVM_QUANTA_EV_BRANCH_MISSES,
	KVM_QUANTA_EV_NR,
};

/* Generic netlink: family, version, multicast group. */
#define KVM_QUANTA_GENL_NAME		"kvm_quanta"
#define KVM_QUANTA_GENL_VERSION		1
#define KVM_QUANTA_MCGRP_SAMPLES	"samples"

/**
 * enum kvm_quanta_cmd - generic netlink commands
 * @KVM_QUANTA_CMD_UNSPEC: unused
 * @KVM_QUANTA_CMD_SAMPLES: notification on the "samples" group: one batch
 *	of per-vCPU samples for one window (a window with many vCPUs may take
 *	several messages, all with the same KVM_QUANTA_A_SEQ)
 * @KVM_QUANTA_CMD_GET_STATE: dump: the latest sample of every vCPU
 * @KVM_QUANTA_CMD_GET_CONFIG: do: the telemetry configuration and counters
 * @KVM_QUANTA_CMD_SET_CONFIG: do, CAP_NET_ADMIN: change the configuration
 * @__KVM_QUANTA_CMD_MAX: number of commands
 */
enum kvm_quanta_cmd {
	KVM_QUANTA_CMD_UNSPEC,
	KVM_QUANTA_CMD_SAMPLES,
	KVM_QUANTA_CMD_GET_STATE,
	KVM_QUANTA_CMD_GET_CONFIG,
	KVM_QUANTA_CMD_SET_CONFIG,
	__KVM_QUANTA_CMD_MAX,
};

#define KVM_QUANTA_CMD_MAX (__KVM_QUANTA_CMD_MAX - 1)

/**
 * enum kvm_quanta_attr - top-level attributes
 * @KVM_QUANTA_A_UNSPEC: unused
 * @KVM_QUANTA_A_PAD: padding for 64-bit attributes
 * @KVM_QUANTA_A_SEQ: u64, window sequence number, from 1
 * @KVM_QUANTA_A_TIME_NS: u64, end of the window, CLOCK_MONOTONIC ns
 * @KVM_QUANTA_A_DROPS: u64, sample messages that could not be delivered
 *	to a listener (its socket buffer was full) or not be allocated, since
 *	the module was loaded
 * @KVM_QUANTA_A_INTERVAL_MS: u32, sampling window length in ms (10-10000)
 * @KVM_QUANTA_A_MODE: u32, enum kvm_quanta_mode
 * @KVM_QUANTA_A_VCPU: nested, enum kvm_quanta_vcpu_attr; repeated
 * @KVM_QUANTA_A_NR_VCPUS: u32, vCPUs in this window (in each of its
 *	messages), or in the snapshot a GET_STATE dump sends
 * @__KVM_QUANTA_A_MAX: number of attributes
 */
enum kvm_quanta_attr {
	KVM_QUANTA_A_UNSPEC,
	KVM_QUANTA_A_PAD,
	KVM_QUANTA_A_SEQ,
	KVM_QUANTA_A_TIME_NS,
	KVM_QUANTA_A_DROPS,
	KVM_QUANTA_A_INTERVAL_MS,
	KVM_QUANTA_A_MODE,
	KVM_QUANTA_A_VCPU,
	KVM_QUANTA_A_NR_VCPUS,
	__KVM_QUANTA_A_MAX,
};

#define KVM_QUANTA_A_MAX (__KVM_QUANTA_A_MAX - 1)

/**
 * enum kvm_quanta_vcpu_attr - one vCPU's sample, nested in KVM_QUANTA_A_VCPU
 * @KVM_QUANTA_V_UNSPEC: unused
 * @KVM_QUANTA_V_PAD: padding for 64-bit attributes
 * @KVM_QUANTA_V_VM_ID: u64, the VM's module-wide id (as in sysfs <pid>-<id>)
 * @KVM_QUANTA_V_PID: u32, the VMM process id
 * @KVM_QUANTA_V_VCPU_IDX: u32, the vCPU's index in its VM
 * @KVM_QUANTA_V_TID: u32, the vCPU thread
 * @KVM_QUANTA_V_WINDOW_NS: u64, length of the window the deltas cover
 * @KVM_QUANTA_V_GUEST_NS: u64, time spent in guest mode in the window
 * @KVM_QUANTA_V_EXITS: u64, VM exits in the window
 * @KVM_QUANTA_V_EXIT_KINDS: binary, u64[KVM_QUANTA_EXIT_NR], exits in the
 *	window by enum kvm_quanta_exit_kind
 * @KVM_QUANTA_V_RUN_NS: u64, time the thread ran on a CPU (task clock)
 * @KVM_QUANTA_V_WAIT_NS: u64, time the thread waited runnable
 * @KVM_QUANTA_V_SLICES: u64, times the thread was scheduled in
 * @KVM_QUANTA_V_HALT_NS: u64, time blocked in guest HLT
 * @KVM_QUANTA_V_CPU: u32, the CPU the thread last ran on
 * @KVM_QUANTA_V_PMU: binary, u64[KVM_QUANTA_EV_NR], guest-only counts by
 *	enum kvm_quanta_event, scaled for multiplexing; present when at least
 *	one event counts; a role not counted is U64_MAX
 * @KVM_QUANTA_V_IPC_MILLI: u32, instructions per cycle x 1000
 * @KVM_QUANTA_V_LLC_MPKI_MILLI: u32, LLC misses per 1000 instructions x 1000
 * @KVM_QUANTA_V_BR_MPKI_MILLI: u32, branch misses per 1000 instructions x 1000
 * @KVM_QUANTA_V_EXIT_RATE_MILLI: u64, exits per ms of guest time x 1000
 * @KVM_QUANTA_V_MEAN_RUN_NS: u64, mean guest time between exits
 * @KVM_QUANTA_V_QUANTUM_NS: u64, mean time on CPU per scheduling
 * @KVM_QUANTA_V_TARGET_NS: u64, the policy's target quantum for the next
 *	window
 * @KVM_QUANTA_V_REASON: u32, enum kvm_quanta_reason of that target
 * @KVM_QUANTA_V_DEBT_NS: s64, ledger: time granted beyond the base not yet
 *	paid back (negative: owed to the vCPU)
 * @KVM_QUANTA_V_DECISIONS: binary, u64[KVM_QUANTA_R_NR], decisions since
 *	the vCPU was seen, by enum kvm_quanta_reason.  Reasons may be added:
 *	a reader takes the ones it knows (fewer from an older module are
 *	zero), and a REASON beyond them is one it does not know
 * @KVM_QUANTA_V_GUEST_NS_BY_CPU: binary, a whole number (at least 1) of
 *	struct kvm_quanta_cpu_ns: the window's guest time by the CPU it ran
 *	on; the ledger splits the vCPU's run and wait time over these CPUs in
 *	proportion.  Absent when no guest time was measured in the window.
 *	Readers must accept any number of elements (today's module sends at
 *	most 4: time on CPUs whose place was reused within the window is
 *	missing from them)
 * @__KVM_QUANTA_V_MAX: number of attributes
 *
 * Derived values are present only when their inputs are: no IPC without
 * cycles and instructions, no quantum without a slice in the window.
 */
enum kvm_quanta_vcpu_attr {
	KVM_QUANTA_V_UNSPEC,
	KVM_QUANTA_V_PAD,
	KVM_QUANTA_V_VM_ID,
	KVM_QUANTA_V_PID,
	KVM_QUANTA_V_VCPU_IDX,
	KVM_QUANTA_V_TID,
	KVM_QUANTA_V_WINDOW_NS,
	KVM_QUANTA_V_GUEST_NS,
	KVM_QUANTA_V_EXITS,
	KVM_QUANTA_V_EXIT_KINDS,
	KVM_QUANTA_V_RUN_NS,
	KVM_QUANTA_V_WAIT_NS,
	KVM_QUANTA_V_SLICES,
	KVM_QUANTA_V_HALT_NS,
	KVM_QUANTA_V_CPU,
	KVM_QUANTA_V_PMU,
	KVM_QUANTA_V_IPC_MILLI,
	KVM_QUANTA_V_LLC_MPKI_MILLI,
	KVM_QUANTA_V_BR_MPKI_MILLI,
	KVM_QUANTA_V_EXIT_RATE_MILLI,
	KVM_QUANTA_V_MEAN_RUN_NS,
	KVM_QUANTA_V_QUANTUM_NS,
	KVM_QUANTA_V_TARGET_NS,
	KVM_QUANTA_V_REASON,
	KVM_QUANTA_V_DEBT_NS,
	KVM_QUANTA_V_DECISIONS,
	KVM_QUANTA_V_GUEST_NS_BY_CPU,
	__KVM_QUANTA_V_MAX,
};

#define KVM_QUANTA_V_MAX (__KVM_QUANTA_V_MAX - 1)

/**
 * struct kvm_quanta_cpu_ns - guest time on one CPU
 * @cpu: the CPU
 * @pad: zero
 * @ns: guest time there in the window
 */
struct kvm_quanta_cpu_ns {
	__u32 cpu;
	__u32 pad;
	__u64 ns;
};

#endif /* _UAPI_LINUX_KVM_QUANTA_H */
