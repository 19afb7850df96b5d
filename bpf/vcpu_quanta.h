/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared between bpf/vcpu_quanta.bpf.c and its userspace loader
 * (userspace/bpf/): the per-tid statistics kept in the "quanta" hash map.
 */
#ifndef _KQ_BPF_VCPU_QUANTA_H
#define _KQ_BPF_VCPU_QUANTA_H

/* log2 buckets of a quantum in ns: bucket b holds [2^b, 2^(b+1)). */
#define KQ_QUANTA_BUCKETS 64
/* Most tids the map holds. */
#define KQ_QUANTA_MAX_TIDS 4096

/**
 * struct kq_quanta_stats - one thread's achieved quanta
 * @start_ns: when it was last switched in (0: not running or not yet seen
 *	switching in since it was added)
 * @count: quanta measured (switch-in to switch-out)
 * @total_ns: their sum
 * @max_ns: the longest
 * @hist: quanta by log2 bucket of their length in ns
 */
struct kq_quanta_stats {
	__u64 start_ns;
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
	__u64 hist[KQ_QUANTA_BUCKETS];
};

#endif /* _KQ_BPF_VCPU_QUANTA_H */
