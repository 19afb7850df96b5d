// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_quanta: the sysfs interface, /sys/kernel/kvm_quanta.  The ABI is
 * documented in Documentation/ABI/testing/sysfs-kernel-kvm_quanta.
 *
 * Show functions never take kq_registry_lock: removing a directory waits
 * for its readers, and removal runs under that lock.
 */
#include <linux/kobject.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "kvm_quanta.h"

static struct kobject *kq_root_kobj;
static struct kobject *kq_vms_kobj;

static const char *const kq_mode_names[] = {
	[KQ_MODE_OBSERVE] = "observe",
	[KQ_MODE_ENFORCE] = "enforce",
};

static ssize_t mode_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", kq_mode_names[READ_ONCE(kq_mode)]);
}

static ssize_t mode_store(struct kobject *kobj, struct kobj_attribute *attr,
			  const char *buf, size_t count)
{
	int i;

	/* sysfs_streq() would stop at an embedded NUL and accept the rest. */
	if (strnlen(buf, count) != count)
		return -EINVAL;
	i = sysfs_match_string(kq_mode_names, buf);
	if (i < 0)
		return -EINVAL;
	WRITE_ONCE(kq_mode, i);
	return count;
}

static ssize_t lost_exits_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", kq_lost_exits());
}

static struct kobj_attribute kq_attr_mode = __ATTR_RW(mode);
static struct kobj_attribute kq_attr_lost_exits = __ATTR_RO(lost_exits);

static struct attribute *kq_root_attrs[] = {
	&kq_attr_mode.attr,
	&kq_attr_lost_exits.attr,
	NULL,
};

static const struct attribute_group kq_root_group = {
	.attrs = kq_root_attrs,
};

/* vms/<vm>/ */

#define to_kq_vm(k) container_of(k, struct kq_vm, kobj)

static ssize_t pid_show(struct kobject *kobj, struct kobj_attribute *attr,
			char *buf)
{
	return sysfs_emit(buf, "%d\n", to_kq_vm(kobj)->pid);
}

static struct kobj_attribute kq_attr_pid = __ATTR_RO(pid);

static struct attribute *kq_vm_attrs[] = {
	&kq_attr_pid.attr,
	NULL,
};
ATTRIBUTE_GROUPS(kq_vm);

static void kq_vm_release(struct kobject *kobj)
{
	kfree(to_kq_vm(kobj));
}

static const struct kobj_type kq_vm_ktype = {
	.release = kq_vm_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = kq_vm_groups,
};

/* vms/<vm>/vcpus/<idx>/ */

#define to_kq_vcpu(k) container_of(k, struct kq_vcpu, kobj)

static ssize_t tid_show(struct kobject *kobj, struct kobj_attribute *attr,
			char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(to_kq_vcpu(kobj)->tid));
}

static ssize_t exits_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	u64 kinds[KVM_QUANTA_EXIT_NR];
	u64 exits;

	kq_vcpu_read_kinds(to_kq_vcpu(kobj), &exits, kinds);
	return sysfs_emit(buf, "%llu\n", exits);
}

static ssize_t exit_reasons_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	u64 kinds[KVM_QUANTA_EXIT_NR];
	unsigned int i;
	ssize_t len = 0;
	u64 exits;

	kq_vcpu_read_kinds(to_kq_vcpu(kobj), &exits, kinds);
	for (i = 0; i < KVM_QUANTA_EXIT_NR; i++)
		len += sysfs_emit_at(buf, len, "%s %llu\n",
				     kq_exit_kind_name(i), kinds[i]);
	return len;
}

static struct kobj_attribute kq_attr_tid = __ATTR_RO(tid);
static struct kobj_attribute kq_attr_exits = __ATTR_RO(exits);
static struct kobj_attribute kq_attr_exit_reasons = __ATTR_RO(exit_reasons);

static struct attribute *kq_vcpu_attrs[] = {
	&kq_attr_tid.attr,
	&kq_attr_exits.attr,
	&kq_attr_exit_reasons.attr,
	NULL,
};
ATTRIBUTE_GROUPS(kq_vcpu);

static void kq_vcpu_release(struct kobject *kobj)
{
	kfree(to_kq_vcpu(kobj));
}

static const struct kobj_type kq_vcpu_ktype = {
	.release = kq_vcpu_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = kq_vcpu_groups,
};

void kq_sysfs_vm_init(struct kq_vm *vm)
{
	kobject_init(&vm->kobj, &kq_vm_ktype);
}

void kq_sysfs_vcpu_init(struct kq_vcpu *v)
{
	kobject_init(&v->kobj, &kq_vcpu_ktype);
}

/**
 * kq_sysfs_add_vm() - publish a VM as vms/<pid>-<id>
 * @vm: the VM, initialised with kq_sysfs_vm_init()
 *
 * Return: 0 or a negative errno; on error the caller puts @vm->kobj.
 */
int kq_sysfs_add_vm(struct kq_vm *vm)
{
	int ret;

	ret = kobject_add(&vm->kobj, kq_vms_kobj, "%d-%llu", vm->pid, vm->id);
	if (ret)
		return ret;
	vm->vcpus_kobj = kobject_create_and_add("vcpus", &vm->kobj);
	if (!vm->vcpus_kobj) {
		kobject_del(&vm->kobj);
		return -ENOMEM;
	}
	return 0;
}

/**
 * kq_sysfs_add_vcpu() - publish a vCPU as vms/<vm>/vcpus/<idx>
 * @vm: its VM, already published
 * @v: the vCPU
 *
 * Return: 0 or a negative errno.
 */
int kq_sysfs_add_vcpu(struct kq_vm *vm, struct kq_vcpu *v)
{
	return kobject_add(&v->kobj, vm->vcpus_kobj, "%d", v->idx);
}

int kq_sysfs_init(void)
{
	int ret;

	kq_root_kobj = kobject_create_and_add("kvm_quanta", kernel_kobj);
	if (!kq_root_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(kq_root_kobj, &kq_root_group);
	if (ret)
		goto err_root;
	kq_vms_kobj = kobject_create_and_add("vms", kq_root_kobj);
	if (!kq_vms_kobj) {
		ret = -ENOMEM;
		goto err_root;
	}
	return 0;

err_root:
	kobject_put(kq_root_kobj);
	return ret;
}

void kq_sysfs_exit(void)
{
	kobject_put(kq_vms_kobj);
	kobject_put(kq_root_kobj);
}
