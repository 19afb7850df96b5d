/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm_quanta's own tracepoints: bpftrace -l 'tracepoint:kvm_quanta:*'.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kvm_quanta

#if !defined(_KQ_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KQ_TRACE_H

#include <linux/tracepoint.h>

#include "kvm_quanta.h"
#include "telemetry.h"

/*
 * One vCPU's window, as published on netlink.  Derived values that have
 * no inputs are -1 (KQ_NONE32/KQ_NONE64).
 */
TRACE_EVENT(sample,
	    TP_PROTO(const struct kq_sample *s),
	    TP_ARGS(s),
	    TP_STRUCT__entry(__field(u64, vm_id)
			     __field(u32, pid)
			     __field(u32, vcpu_idx)
			     __field(u32, tid)
			     __field(u32, cpu)
			     __field(u64, window_ns)
			     __field(u64, guest_ns)
			     __field(u64, exits)
			     __field(u64, run_ns)
			     __field(u64, wait_ns)
			     __field(u64, slices)
			     __field(u32, ipc_milli)
			     __field(u32, llc_mpki_milli)
			     __field(u64, exit_rate_milli)
			     __field(u64, mean_run_ns)
			     __field(u64, quantum_ns)),
	    TP_fast_assign(__entry->vm_id = s->vm_id;
			   __entry->pid = s->pid;
			   __entry->vcpu_idx = s->vcpu_idx;
			   __entry->tid = s->tid;
			   __entry->cpu = s->cpu;
			   __entry->window_ns = s->w.window_ns;
			   __entry->guest_ns = s->w.guest_ns;
			   __entry->exits = s->w.exits;
			   __entry->run_ns = s->w.run_ns;
			   __entry->wait_ns = s->w.wait_ns;
			   __entry->slices = s->w.slices;
			   __entry->ipc_milli = s->w.ipc_milli;
			   __entry->llc_mpki_milli = s->w.llc_mpki_milli;
			   __entry->exit_rate_milli = s->w.exit_rate_milli;
			   __entry->mean_run_ns = s->w.mean_run_ns;
			   __entry->quantum_ns = s->w.quantum_ns;),
	    TP_printk("vm %u-%llu vcpu %u tid %u cpu %u window %llu guest %llu exits %llu run %llu wait %llu slices %llu ipc_milli %d llc_mpki_milli %d exit_rate_milli %lld mean_run_ns %lld quantum_ns %lld",
		      __entry->pid, __entry->vm_id, __entry->vcpu_idx,
		      __entry->tid, __entry->cpu, __entry->window_ns,
		      __entry->guest_ns, __entry->exits, __entry->run_ns,
		      __entry->wait_ns, __entry->slices,
		      (int)__entry->ipc_milli, (int)__entry->llc_mpki_milli,
		      (s64)__entry->exit_rate_milli, (s64)__entry->mean_run_ns,
		      (s64)__entry->quantum_ns)
);

/*
 * A policy decision: the per-window target (early 0) or an early switch at
 * an exit (early 1, with the time the vCPU had run in its slice).
 */
TRACE_EVENT(decision,
	    TP_PROTO(const struct kq_vcpu *v, u32 reason, u64 target_ns,
		     u64 ran_ns, bool early),
	    TP_ARGS(v, reason, target_ns, ran_ns, early),
	    TP_STRUCT__entry(__field(u64, vm_id)
			     __field(u32, pid)
			     __field(u32, vcpu_idx)
			     __field(u32, tid)
			     __field(u32, reason)
			     __field(u64, target_ns)
			     __field(u64, ran_ns)
			     __field(u8, early)),
	    TP_fast_assign(__entry->vm_id = v->vm ? v->vm->id : 0;
			   __entry->pid = v->pid;
			   __entry->vcpu_idx = v->idx;
			   __entry->tid = v->tid;
			   __entry->reason = reason;
			   __entry->target_ns = target_ns;
			   __entry->ran_ns = ran_ns;
			   __entry->early = early),
	    TP_printk("vm %u-%llu vcpu %u tid %u reason=%s target_ns %llu ran_ns %llu early %u",
		      __entry->pid, __entry->vm_id, __entry->vcpu_idx,
		      __entry->tid,
		      __print_symbolic(__entry->reason,
				       { KVM_QUANTA_R_BASE, "base" },
				       { KVM_QUANTA_R_WARM, "warm" },
				       { KVM_QUANTA_R_EXIT_HEAVY, "exit_heavy" },
				       { KVM_QUANTA_R_FLUSH, "flush" },
				       { KVM_QUANTA_R_SPIN, "spin" },
				       { KVM_QUANTA_R_PHASE_END, "phase_end" },
				       { KVM_QUANTA_R_PAYBACK, "payback" },
				       { KVM_QUANTA_R_IDLE, "idle" },
				       { KVM_QUANTA_R_LATENCY, "latency" },
				       { KVM_QUANTA_R_SMT, "smt" }),
		      __entry->target_ns, __entry->ran_ns, __entry->early)
);

#endif /* _KQ_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
