// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_quanta: the sampler, a timer for the per-window pipeline (window.c).
 * Every interval (100 ms by default) it ends the current window of every
 * vCPU.  It runs on the module's workqueue, off the exit path, and only
 * while vCPUs are registered: registration kicks it.
 *
 * Knob writes (sysfs, netlink) ask for a window at once; unload stops the
 * sampler for good.  kq_sample_lock makes "running" and every arming one
 * step, so nothing arms it before kq_sample_start() (the workqueue may not
 * exist yet: sysfs comes first) or after kq_sample_stop() cancelled it.
 */
#include <linux/ktime.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>

#include "kvm_quanta.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

/* trace.h's decision event names every reason: add a new one there too. */
static_assert(KVM_QUANTA_R_NR == 10);

static u32 kq_interval_ms = KQ_INTERVAL_DEFAULT_MS;
static DEFINE_SPINLOCK(kq_sample_lock);	/* kq_sample_running, arming */
/*
 * Between kq_sample_start() and kq_sample_stop() only.  Sysfs knobs exist
 * before the workqueue does and after the sampler stopped; a write then
 * must not arm anything.
 */
static bool kq_sample_running;

static void kq_sample_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(kq_sample_work, kq_sample_fn);

/* Arm the sampler to run after @delay jiffies, unless it is stopping. */
static void kq_sample_arm(unsigned long delay, bool sooner)
{
	unsigned long flags;

	spin_lock_irqsave(&kq_sample_lock, flags);
	if (kq_sample_running) {
		if (sooner)
			mod_delayed_work(kq_wq, &kq_sample_work, delay);
		else
			queue_delayed_work(kq_wq, &kq_sample_work, delay);
	}
	spin_unlock_irqrestore(&kq_sample_lock, flags);
}

static unsigned long kq_interval_jiffies(void)
{
	return msecs_to_jiffies(READ_ONCE(kq_interval_ms));
}

/*
 * When the next window is due, in jiffies.  Only kq_sample_fn() touches it
 * (a work item never runs concurrently with itself).
 */
static unsigned long kq_sample_due;

/*
 * Delay to the next window on a fixed cadence: due + interval, not "now +
 * interval", so the time a window takes and the worker's wake-up latency
 * do not stretch every window.  Behind by a whole interval (a stall, a
 * window asked for early), the cadence restarts from now rather than
 * running windows back to back to catch up.
 */
static unsigned long kq_sample_next_delay(unsigned long now)
{
	unsigned long interval = kq_interval_jiffies();
	unsigned long next = kq_sample_due + interval;

	if (time_before_eq(next, now) || time_after(next, now + interval))
		next = now + interval;
	kq_sample_due = next;
	return next - now;
}

static void kq_sample_fn(struct work_struct *work)
{
	unsigned long delay;
	bool more;

	/* A window lost to memory pressure is covered by the next one. */
	if (kq_window_pipeline(ktime_get_ns()))
		pr_warn_ratelimited("kvm_quanta: no memory for a window\n");
	kq_registry_lock();
	more = kq_registry_nr_vcpus() != 0;
	kq_registry_unlock();
	delay = kq_sample_next_delay(jiffies);
	if (more)
		kq_sample_arm(delay, false);
}

/**
 * kq_sample_kick() - make sure the sampler runs
 */
void kq_sample_kick(void)
{
	kq_sample_arm(kq_interval_jiffies(), false);
}

/**
 * kq_sample_now() - end the current window as soon as possible
 */
void kq_sample_now(void)
{
	kq_sample_arm(0, true);
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
 * kq_sample_start() - let the sampler be armed
 *
 * Context: init, once the module's workqueue exists.
 */
void kq_sample_start(void)
{
	spin_lock_irq(&kq_sample_lock);
	kq_sample_running = true;
	spin_unlock_irq(&kq_sample_lock);
}

/**
 * kq_sample_stop() - stop the sampler for good
 *
 * Context: process.  After this returns the sampler is not running and
 * nothing (registration, knob writes, netlink) can arm it again.
 */
void kq_sample_stop(void)
{
	spin_lock_irq(&kq_sample_lock);
	kq_sample_running = false;
	spin_unlock_irq(&kq_sample_lock);
	cancel_delayed_work_sync(&kq_sample_work);
}
