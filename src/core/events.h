/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The set of perf events counted per vCPU: parsing and printing the
 * "events" knob, and opening and reading the counters through a backend
 * (perf in the module, a fake one in KUnit and userspace tests).  Pure
 * code: no kernel dependency beyond types.
 */
#ifndef _KQ_CORE_EVENTS_H
#define _KQ_CORE_EVENTS_H

#include "kq_types.h"
#include "state.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KQ_EVENTS_MAX 8
#define KQ_EVENT_NAME_LEN 32
/* No role: a raw event, counted and reported but not used in derivations. */
#define KQ_ROLE_NONE (-1)

/* perf_event_attr.type values (include/uapi/linux/perf_event.h, ABI). */
#define KQ_PERF_TYPE_HARDWARE 0
#define KQ_PERF_TYPE_HW_CACHE 3

/**
 * struct kq_event_spec - one event of the set
 * @name: as written by the user (generic name or "type:config")
 * @type: perf_event_attr.type
 * @config: perf_event_attr.config
 * @role: enum kvm_quanta_event, or KQ_ROLE_NONE
 */
struct kq_event_spec {
	char name[KQ_EVENT_NAME_LEN];
	u32 type;
	u64 config;
	int role;
};

/**
 * struct kq_event_set - the events counted on every vCPU
 * @nr: number of events, 0 to KQ_EVENTS_MAX
 * @ev: the events
 */
struct kq_event_set {
	unsigned int nr;
	struct kq_event_spec ev[KQ_EVENTS_MAX];
};

/**
 * struct kq_counter_ops - a counter backend
 * @open: open @spec's counter on the thread @ctx; 0 and a handle, or a
 *	negative errno (-ENOENT and friends when there is no PMU)
 * @read: read a counter; 0 or a negative errno
 * @close: release a counter
 */
struct kq_counter_ops {
	int (*open)(void *ctx, const struct kq_event_spec *spec, void **handle);
	int (*read)(void *handle, struct kq_pmu_value *out);
	void (*close)(void *handle);
};

/**
 * struct kq_counters - one vCPU's open counters, one per event of a set
 * @handle: backend handles, NULL where opening failed
 * @err: the error opening gave, 0 where it worked
 * @nr: events in the set these were opened for
 */
struct kq_counters {
	void *handle[KQ_EVENTS_MAX];
	int err[KQ_EVENTS_MAX];
	unsigned int nr;
};

void kq_event_set_default(struct kq_event_set *set);
int kq_event_set_parse(const char *buf, size_t len, struct kq_event_set *set);
bool kq_event_set_equal(const struct kq_event_set *a,
			const struct kq_event_set *b);
int kq_event_set_format(const struct kq_event_set *set, char *buf,
			size_t size);
void kq_counters_open(struct kq_counters *c, const struct kq_event_set *set,
		      const struct kq_counter_ops *ops, void *ctx);
void kq_counters_read(const struct kq_counters *c,
		      const struct kq_event_set *set,
		      const struct kq_counter_ops *ops,
		      struct kq_pmu_value pmu[KVM_QUANTA_EV_NR]);
void kq_counters_close(struct kq_counters *c, const struct kq_counter_ops *ops);

#ifdef __cplusplus
}
#endif

#endif /* _KQ_CORE_EVENTS_H */
