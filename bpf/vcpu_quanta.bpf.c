// SPDX-License-Identifier: GPL-2.0
/*
 * vcpu_quanta: achieved quanta of a set of threads (the vCPU threads), from
 * sched_switch.  A quantum is the time from a thread's switch-in to its next
 * switch-out.  Userspace adds a tid by inserting a zeroed entry into the
 * "quanta" map; only tids in the map are measured.  A thread that was
 * already running when it was added is measured from its next switch-in.
 *
 * CO-RE: built against vmlinux.h of the build host, relocated by libbpf
 * against the running kernel's BTF.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "vcpu_quanta.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KQ_QUANTA_MAX_TIDS);
	__type(key, __u32);
	__type(value, struct kq_quanta_stats);
} quanta SEC(".maps");

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xffffffffULL) << 5;
	v >>= shift;
	r |= shift;
	shift = (v > 0xffff) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xff) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xf) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(kq_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 prev_tid = BPF_CORE_READ(prev, pid);
	__u32 next_tid = BPF_CORE_READ(next, pid);
	struct kq_quanta_stats *s;

	s = bpf_map_lookup_elem(&quanta, &prev_tid);
	if (s && s->start_ns && now > s->start_ns) {
		__u64 d = now - s->start_ns;
		__u32 b = log2_u64(d);

		s->count++;
		s->total_ns += d;
		if (d > s->max_ns)
			s->max_ns = d;
		if (b < KQ_QUANTA_BUCKETS)
			s->hist[b]++;
		s->start_ns = 0;
	}
	if (next_tid) {
		s = bpf_map_lookup_elem(&quanta, &next_tid);
		if (s)
			s->start_ns = now;
	}
	return 0;
}
