// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_quanta: guest-only perf counters on vCPU threads, and the "events"
 * knob that chooses them.
 *
 * Counters are created, read and released only from process context (the
 * sampling work item): perf_event_read_value() sleeps.  A host without a
 * PMU (or with its PMU taken) is a supported case: opening fails with
 * -ENOENT or the like, the failure is reported in /sys/kernel/kvm_quanta/pmu
 * and everything else runs on software signals.
 */
#include <linux/mutex.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <linux/sysfs.h>

#include "kvm_quanta.h"

static DEFINE_MUTEX(kq_events_lock);
static struct kq_event_set kq_events;
static unsigned int kq_events_gen = 1;
/* Per event of the set: 1 available, 0 not tried, < 0 the last error. */
static int kq_events_status[KQ_EVENTS_MAX];

static int kq_perf_open(void *ctx, const struct kq_event_spec *spec,
			void **handle)
{
	struct perf_event_attr attr = {
		.type = spec->type,
		.size = sizeof(attr),
		.config = spec->config,
		/* Count the guest only: KVM switches the PMU at entry/exit. */
		.exclude_host = 1,
	};
	struct perf_event *ev;

	ev = perf_event_create_kernel_counter(&attr, -1, ctx, NULL, NULL);
	if (IS_ERR(ev))
		return PTR_ERR(ev);
	*handle = ev;
	return 0;
}

static int kq_perf_read(void *handle, struct kq_pmu_value *out)
{
	out->value = perf_event_read_value(handle, &out->enabled,
					   &out->running);
	return 0;
}

static void kq_perf_close(void *handle)
{
	perf_event_release_kernel(handle);
}

static const struct kq_counter_ops kq_perf_ops = {
	.open = kq_perf_open,
	.read = kq_perf_read,
	.close = kq_perf_close,
};

static void kq_pmu_note(const struct kq_counters *c)
{
	unsigned int i;

	for (i = 0; i < c->nr; i++)
		kq_events_status[i] = c->err[i] ? c->err[i] : 1;
}

/**
 * kq_pmu_read() - read a vCPU's counters, (re)opening them as needed
 * @v: the vCPU
 * @pmu: output by role; none valid while the vCPU's thread is unknown
 *
 * Context: process, may sleep.  Opens the counters on the vCPU's thread
 * the first time, after the event set changed and after the vCPU moved to
 * another thread (kq_pmu_release() was called).
 *
 * Return: the epoch of the counters read: it changes at every opening, so
 * that no window subtracts counts of two different openings.
 */
u32 kq_pmu_read(struct kq_vcpu *v, struct kq_pmu_value pmu[KVM_QUANTA_EV_NR])
{
	unsigned int i;

	if (!v->task) {
		for (i = 0; i < KVM_QUANTA_EV_NR; i++)
			pmu[i] = (struct kq_pmu_value){ 0 };
		return v->pmu_epoch;
	}
	mutex_lock(&kq_events_lock);
	if (v->counters_gen != kq_events_gen) {
		kq_counters_close(&v->counters, &kq_perf_ops);
		kq_counters_open(&v->counters, &kq_events, &kq_perf_ops,
				 v->task);
		v->counters_gen = kq_events_gen;
		v->pmu_epoch++;
		kq_pmu_note(&v->counters);
	}
	kq_counters_read(&v->counters, &kq_events, &kq_perf_ops, pmu);
	mutex_unlock(&kq_events_lock);
	return v->pmu_epoch;
}

/**
 * kq_pmu_release() - release a vCPU's counters
 * @v: the vCPU
 *
 * Context: process, may sleep.
 */
void kq_pmu_release(struct kq_vcpu *v)
{
	mutex_lock(&kq_events_lock);
	kq_counters_close(&v->counters, &kq_perf_ops);
	v->counters_gen = 0;
	mutex_unlock(&kq_events_lock);
}

/* Try every event on the current task, to report availability at once. */
static void kq_pmu_probe(void)
{
	struct kq_counters c;

	kq_counters_open(&c, &kq_events, &kq_perf_ops, current);
	kq_pmu_note(&c);
	kq_counters_close(&c, &kq_perf_ops);
}

ssize_t kq_pmu_events_show(char *buf)
{
	ssize_t len;

	mutex_lock(&kq_events_lock);
	len = kq_event_set_format(&kq_events, buf, PAGE_SIZE);
	mutex_unlock(&kq_events_lock);
	return len;
}

/**
 * kq_pmu_events_gen() - which event set the counters are opened for
 *
 * Bumped by every change of the "events" knob: PMU values of two
 * generations do not measure the same things.
 */
unsigned int kq_pmu_events_gen(void)
{
	unsigned int gen;

	mutex_lock(&kq_events_lock);
	gen = kq_events_gen;
	mutex_unlock(&kq_events_lock);
	return gen;
}

/**
 * kq_pmu_events_store() - a write to the "events" knob
 * @buf: the text
 * @count: its length
 *
 * Return: 0, or the parse error; a bad set changes nothing.
 */
int kq_pmu_events_store(const char *buf, size_t count)
{
	struct kq_event_set set;
	int ret;

	ret = kq_event_set_parse(buf, count, &set);
	if (ret)
		return ret;
	mutex_lock(&kq_events_lock);
	/* The same events again: keep the counters and their history. */
	if (kq_event_set_equal(&set, &kq_events)) {
		mutex_unlock(&kq_events_lock);
		return 0;
	}
	kq_events = set;
	kq_events_gen++;
	memset(kq_events_status, 0, sizeof(kq_events_status));
	kq_pmu_probe();
	mutex_unlock(&kq_events_lock);
	return 0;
}

ssize_t kq_pmu_status_show(char *buf)
{
	ssize_t len = 0;
	unsigned int i;
	int st;

	mutex_lock(&kq_events_lock);
	for (i = 0; i < kq_events.nr; i++) {
		st = kq_events_status[i];
		len += sysfs_emit_at(buf, len, "%s %s %d\n",
				     kq_events.ev[i].name,
				     st > 0 ? "available" : "unavailable",
				     st > 0 ? 0 : st);
	}
	mutex_unlock(&kq_events_lock);
	return len;
}

void kq_pmu_init(void)
{
	mutex_lock(&kq_events_lock);
	kq_event_set_default(&kq_events);
	kq_pmu_probe();
	mutex_unlock(&kq_events_lock);
}
