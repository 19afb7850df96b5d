// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_quanta: processor-state-aware vCPU quanta for KVM.
 *
 * Load order: sysfs, counters, the registry, telemetry, then the hooks, so
 * a vCPU seen by the hooks always has somewhere to go.  Unload undoes the
 * same steps in reverse (see below); VMs keep running, they just stop
 * being watched, and every vCPU thread gets back what it had.
 */
#include <linux/module.h>

#include "kvm_quanta.h"

int kq_mode = KQ_MODE_OBSERVE;

/**
 * kq_mode_set() - switch between observe and enforce
 * @mode: an enum kvm_quanta_mode value
 *
 * Return: 0, or -EINVAL and no change.
 */
int kq_mode_set(unsigned int mode)
{
	if (mode > KQ_MODE_ENFORCE)
		return -EINVAL;
	WRITE_ONCE(kq_mode, mode);
	/* The sampler applies or undoes at once, not a window later. */
	kq_sample_now();
	return 0;
}

/*
 * Init and exit mirror each other, so that teardown reads as the undo of
 * setup, step by step:
 *
 *   kq_init()                     kq_exit()
 *   event set, policy defaults    nothing to undo
 *   sysfs: root, vms/, cpus/      kq_sysfs_exit()                  (last)
 *   registry: workqueue, pools,   kq_registry_teardown():
 *   then the sampler may run
 *                                   kq_sample_stop(): no window, ever
 *                                   kq_registry_stop(): no registering
 *                                   kq_enforce_drain(): callbacks returned
 *                                   kq_registry_exit(): objects freed
 *                                   kq_window_exit(): last samples
 *   netlink family                kq_nl_exit(): no request, no publish
 *   hooks on kvm_exit/kvm_entry   kq_hooks_unregister(): no new vCPU,
 *                                 no new yield                     (first)
 *
 * Sysfs writes may arrive from the first step to the last; they only
 * change knobs, and kq_sample_now() does nothing before the sampler
 * started (no workqueue yet) or after it stopped.
 */

/* The registry and everything that uses it, in order. */
static void kq_registry_teardown(void)
{
	kq_sample_stop();
	kq_registry_stop();
	kq_enforce_drain();
	kq_registry_exit();
	kq_window_exit();
}

static int __init kq_init(void)
{
	int ret;

	/* Defaults first: a knob written as soon as sysfs shows it stays. */
	kq_pmu_init();
	kq_policy_defaults(&kq_params);
	ret = kq_sysfs_init();
	if (ret)
		return ret;
	ret = kq_registry_init();
	if (ret)
		goto err_sysfs;
	kq_sample_start();
	ret = kq_nl_init();
	if (ret)
		goto err_registry;
	ret = kq_hooks_register();
	if (ret)
		goto err_nl;
	pr_info("kvm_quanta: watching KVM vCPUs, mode %s\n",
		kq_mode == KQ_MODE_ENFORCE ? "enforce" : "observe");
	return 0;

err_nl:
	kq_nl_exit();
err_registry:
	kq_registry_teardown();
err_sysfs:
	kq_sysfs_exit();
	return ret;
}

static void __exit kq_exit(void)
{
	kq_hooks_unregister();
	kq_nl_exit();
	kq_registry_teardown();
	kq_sysfs_exit();
	pr_info("kvm_quanta: unloaded\n");
}

module_init(kq_init);
module_exit(kq_exit);

MODULE_DESCRIPTION("Processor-state-aware vCPU quanta for KVM");
MODULE_AUTHOR("kvm-quanta developers");
MODULE_LICENSE("GPL");
