// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_quanta: processor-state-aware vCPU quanta for KVM.
 *
 * Load order: sysfs, counters, the registry, telemetry, then the hooks, so
 * a vCPU seen by the hooks always has somewhere to go.  Unload stops the
 * hooks, then each producer before what it feeds, and frees last; VMs keep
 * running, they just stop being watched.
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

static int __init kq_init(void)
{
	int ret;

	ret = kq_sysfs_init();
	if (ret)
		return ret;
	kq_pmu_init();
	kq_policy_defaults(&kq_params);
	ret = kq_registry_init();
	if (ret)
		goto err_sysfs;
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
	kq_registry_stop();
	kq_sample_exit();
	kq_registry_exit();
err_sysfs:
	kq_sysfs_exit();
	return ret;
}

static void __exit kq_exit(void)
{
	kq_hooks_unregister();
	kq_enforce_drain();
	kq_registry_stop();
	kq_sample_exit();
	kq_nl_exit();
	kq_registry_exit();
	kq_sysfs_exit();
	pr_info("kvm_quanta: unloaded\n");
}

module_init(kq_init);
module_exit(kq_exit);

MODULE_DESCRIPTION("Processor-state-aware vCPU quanta for KVM");
MODULE_AUTHOR("kvm-quanta developers");
MODULE_LICENSE("GPL");
