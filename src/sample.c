// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_quanta: the sampler.  Every interval (100 ms by default) it ends the
 * current window of every vCPU: reads its cumulative counters (exits and
 * their kinds and guest time from the exit path, scheduler statistics of
 * its thread, KVM's halt time, guest-only perf counters), derives the
 * window's state, updates history, publishes the samples on netlink and
 * the kvm_quanta:sample tracepoint.  Runs in process context, off the exit
 * path, and only while there are vCPUs.
 */
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "kvm_quanta.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

static u32 kq_interval_ms = KQ_INTERVAL_DEFAULT_MS;
static bool kq_sample_stopping;
static u64 kq_seq;

/* The latest window's samples, for netlink dumps. */
static DEFINE_MUTEX(kq_latest_lock);
static struct kq_sample *kq_latest;
static unsigned int kq_latest_n;

static void kq_sample_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(kq_sample_work, kq_sample_fn);

/**
 * kq_vcpu_reading() - a vCPU's cumulative counters, now
 * @v: the vCPU, registered
 * @now: the time to stamp the reading with
 * @r: output
 *
 * Context: process (reads perf counters, which may sleep).
 */
void kq_vcpu_reading(struct kq_vcpu *v, u64 now, struct kq_reading *r)
{
	u64 exits, guest_ns;
	unsigned int seq;

	do {
		seq = read_seqcount_begin(&v->seq);
		guest_ns = v->guest_ns;
	} while (read_seqcount_retry(&v->seq, seq));
	kq_vcpu_read_kinds(v, &exits, r->kinds);
	r->t_ns = now;
	r->exits = exits;
	r->guest_ns = guest_ns;
	kq_task_sched(v->task, &r->run_ns, &r->wait_ns, &r->slices);
	r->halt_ns = kq_read_halt_ns(v->vcpu);
	kq_pmu_read(v, r->pmu);
}

static void kq_sample_fn(struct work_struct *work)
{
	struct kq_sample *samples, *old;
	u64 now = ktime_get_ns();
	unsigned int i, n;

	samples = kq_registry_sample(now, &n);
	kq_pcpu_sample(now);
	if (samples) {
		kq_seq++;
		kq_nl_publish(kq_seq, now, samples, n);
		for (i = 0; i < n; i++)
			trace_sample(&samples[i]);
	}

	mutex_lock(&kq_latest_lock);
	old = kq_latest;
	kq_latest = samples;
	kq_latest_n = n;
	mutex_unlock(&kq_latest_lock);
	kvfree(old);

	/* Registration kicks the sampler again when vCPUs appear. */
	if (n && !READ_ONCE(kq_sample_stopping))
		schedule_delayed_work(&kq_sample_work,
				      msecs_to_jiffies(READ_ONCE(kq_interval_ms)));
}

/**
 * kq_sample_kick() - make sure the sampler runs
 */
void kq_sample_kick(void)
{
	if (!READ_ONCE(kq_sample_stopping))
		schedule_delayed_work(&kq_sample_work,
				      msecs_to_jiffies(READ_ONCE(kq_interval_ms)));
}

/**
 * kq_sample_now() - end the current window as soon as possible
 */
void kq_sample_now(void)
{
	if (!READ_ONCE(kq_sample_stopping))
		mod_delayed_work(system_wq, &kq_sample_work, 0);
}

u32 kq_sample_interval_ms(void)
{
	return READ_ONCE(kq_interval_ms);
}

/**
 * kq_sample_set_interval_ms() - change the window length
 * @ms: KQ_INTERVAL_MIN_MS to KQ_INTERVAL_MAX_MS
 *
 * Return: 0, or -ERANGE and no change.
 */
int kq_sample_set_interval_ms(u32 ms)
{
	if (ms < KQ_INTERVAL_MIN_MS || ms > KQ_INTERVAL_MAX_MS)
		return -ERANGE;
	WRITE_ONCE(kq_interval_ms, ms);
	return 0;
}

/**
 * kq_sample_snapshot() - a copy of the latest window's samples
 * @out: output, an array to kvfree(), NULL when there are none
 * @n: output, its length
 *
 * Return: 0 or -ENOMEM.
 */
int kq_sample_snapshot(struct kq_sample **out, unsigned int *n)
{
	int ret = 0;

	*out = NULL;
	*n = 0;
	mutex_lock(&kq_latest_lock);
	if (kq_latest_n) {
		*out = kvmalloc_array(kq_latest_n, sizeof(**out), GFP_KERNEL);
		if (*out) {
			memcpy(*out, kq_latest, kq_latest_n * sizeof(**out));
			*n = kq_latest_n;
		} else {
			ret = -ENOMEM;
		}
	}
	mutex_unlock(&kq_latest_lock);
	return ret;
}

/* Context: process; registration is stopped, so nothing kicks us again. */
void kq_sample_exit(void)
{
	WRITE_ONCE(kq_sample_stopping, true);
	cancel_delayed_work_sync(&kq_sample_work);
	kvfree(kq_latest);
	kq_latest = NULL;
	kq_latest_n = 0;
}
