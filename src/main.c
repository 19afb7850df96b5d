// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_quanta: processor-state-aware vCPU quanta for KVM.
 *
 * Load order: sysfs, then the registry (pools, reaper), then the hooks, so
 * a vCPU seen by the hooks always has somewhere to go.  Unload runs it
 * backwards; VMs keep running, they just stop being watched.
 */
#include <linux/module.h>

#include "kvm_quanta.h"

int kq_mode = KQ_MODE_OBSERVE;

static int __init kq_init(void)
{
	int ret;

	ret = kq_sysfs_init();
	if (ret)
		return ret;
	ret = kq_registry_init();
	if (ret)
		goto err_sysfs;
	ret = kq_hooks_register();
	if (ret)
		goto err_registry;
	pr_info("kvm_quanta: watching KVM vCPUs, mode %s\n",
		kq_mode == KQ_MODE_ENFORCE ? "enforce" : "observe");
	return 0;

err_registry:
	kq_registry_exit();
err_sysfs:
	kq_sysfs_exit();
	return ret;
}

static void __exit kq_exit(void)
{
	kq_hooks_unregister();
	kq_registry_exit();
	kq_sysfs_exit();
	pr_info("kvm_quanta: unloaded\n");
}

module_init(kq_init);
module_exit(kq_exit);

MODULE_DESCRIPTION("Processor-state-aware vCPU quanta for KVM");
MODULE_AUTHOR("kvm-quanta developers");
MODULE_LICENSE("GPL");
