// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_quanta: per physical CPU profiles, /sys/kernel/kvm_quanta/cpus/.
 *
 * The exit path adds guest time and exits to per-CPU counters (no lock,
 * no shared cache line); the sampler turns them into a profile per CPU,
 * with its SMT sibling's beside it.
 */
#include <linux/cpumask.h>
#include <linux/kobject.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/topology.h>

#include "compat.h"
#include "kvm_quanta.h"

/* Counted by the probes (hooks.c): guest_ns in kq_clock() units. */
DEFINE_PER_CPU(struct kq_pcpu_reading, kq_pcpu_now);
/*
 * A cache-hungry vCPU is in guest mode on this CPU: jiffies | 1 at its
 * entry, 0 at its exit (hooks.c); what the SMT sibling's thrasher checks
 * at its exits (kq_cpu_runs_hungry()).
 */
DEFINE_PER_CPU(unsigned long, kq_cpu_hungry);
/* This CPU's SMT sibling, KQ_NO_SIBLING if none: kept by the sampler. */
DEFINE_PER_CPU(s32, kq_cpu_sibling) = KQ_NO_SIBLING;

static DEFINE_MUTEX(kq_pcpu_lock);	/* the arrays below */
static struct kq_pcpu_reading *kq_pcpu_prev;
static struct kq_pcpu_profile *kq_pcpu_prof;
static int *kq_pcpu_sibling;
static u64 kq_pcpu_t;
static struct kobject *kq_cpus_kobj;
static struct kobject **kq_cpu_kobjs;

/**
 * kq_pcpu_sibling_of() - a CPU's SMT sibling
 * @cpu: the CPU
 *
 * Return: another CPU of its core, or KQ_NO_SIBLING.
 */
s32 kq_pcpu_sibling_of(unsigned int cpu)
{
	unsigned int s;

	for_each_cpu(s, topology_sibling_cpumask(cpu))
		if (s != cpu)
			return s;
	return KQ_NO_SIBLING;
}

/**
 * kq_pcpu_sample() - end the per-CPU window
 * @now: ktime_get_ns() at the window's end
 *
 * Context: process (the sampler).
 */
void kq_pcpu_sample(u64 now)
{
	struct kq_pcpu_reading *cur;
	unsigned int c;

	cur = kcalloc(nr_cpu_ids, sizeof(*cur), GFP_KERNEL);
	if (!cur)
		return;
	for_each_possible_cpu(c) {
		const struct kq_pcpu_reading *r = per_cpu_ptr(&kq_pcpu_now, c);

		cur[c].guest_ns = kq_clock_to_ns(READ_ONCE(r->guest_ns));
		cur[c].exits = READ_ONCE(r->exits);
		cur[c].vm_id = READ_ONCE(r->vm_id);
	}
	mutex_lock(&kq_pcpu_lock);
	for_each_possible_cpu(c) {
		kq_pcpu_sibling[c] = kq_pcpu_sibling_of(c);
		WRITE_ONCE(per_cpu(kq_cpu_sibling, c), kq_pcpu_sibling[c]);
	}
	if (kq_pcpu_t)
		kq_pcpu_profiles(kq_pcpu_prev, cur, kq_pcpu_sibling,
				 nr_cpu_ids, now - kq_pcpu_t, kq_pcpu_prof);
	memcpy(kq_pcpu_prev, cur, nr_cpu_ids * sizeof(*cur));
	kq_pcpu_t = now;
	mutex_unlock(&kq_pcpu_lock);
	kfree(cur);
}

enum kq_pcpu_field {
	KQ_PF_GUEST_PERMILLE,
	KQ_PF_EXIT_RATE_MILLI,
	KQ_PF_VM,
	KQ_PF_SIBLING,
	KQ_PF_SIBLING_GUEST_PERMILLE,
	KQ_PF_SIBLING_VM,
};

struct kq_pcpu_attr {
	struct kobj_attribute attr;
	enum kq_pcpu_field field;
};

static ssize_t kq_pcpu_show(struct kobject *kobj, struct kobj_attribute *a,
			    char *buf)
{
	struct kq_pcpu_attr *pa = container_of(a, struct kq_pcpu_attr, attr);
	unsigned int cpu;
	struct kq_pcpu_profile p;

	if (kstrtouint(kobject_name(kobj) + 3, 10, &cpu) || cpu >= nr_cpu_ids)
		return -EINVAL;
	mutex_lock(&kq_pcpu_lock);
	p = kq_pcpu_prof[cpu];
	mutex_unlock(&kq_pcpu_lock);
	switch (pa->field) {
	case KQ_PF_GUEST_PERMILLE:
		return sysfs_emit(buf, "%u\n", p.guest_permille);
	case KQ_PF_EXIT_RATE_MILLI:
		if (p.exit_rate_milli == KQ_NONE64)
			return sysfs_emit(buf, "none\n");
		return sysfs_emit(buf, "%llu\n", p.exit_rate_milli);
	case KQ_PF_VM:
		return sysfs_emit(buf, "%llu\n", p.vm_id);
	case KQ_PF_SIBLING:
		return sysfs_emit(buf, "%d\n", p.sibling);
	case KQ_PF_SIBLING_GUEST_PERMILLE:
		return sysfs_emit(buf, "%u\n", p.sibling_guest_permille);
	case KQ_PF_SIBLING_VM:
		return sysfs_emit(buf, "%llu\n", p.sibling_vm_id);
	}
	return -EINVAL;
}

#define KQ_PCPU_ATTR(f, name)						\
	static struct kq_pcpu_attr kq_pa_##name = {			\
		.attr = __ATTR(name, 0440, kq_pcpu_show, NULL),		\
		.field = KQ_PF_##f,					\
	}

KQ_PCPU_ATTR(GUEST_PERMILLE, guest_permille);
KQ_PCPU_ATTR(EXIT_RATE_MILLI, exit_rate_milli);
KQ_PCPU_ATTR(VM, vm);
KQ_PCPU_ATTR(SIBLING, sibling);
KQ_PCPU_ATTR(SIBLING_GUEST_PERMILLE, sibling_guest_permille);
KQ_PCPU_ATTR(SIBLING_VM, sibling_vm);

static struct attribute *kq_pcpu_attrs[] = {
	&kq_pa_guest_permille.attr.attr,
	&kq_pa_exit_rate_milli.attr.attr,
	&kq_pa_vm.attr.attr,
	&kq_pa_sibling.attr.attr,
	&kq_pa_sibling_guest_permille.attr.attr,
	&kq_pa_sibling_vm.attr.attr,
	NULL,
};

static const struct attribute_group kq_pcpu_group = {
	.attrs = kq_pcpu_attrs,
};

static void kq_cpu_release(struct kobject *kobj)
{
	kfree(kobj);
}

/* Which VM runs where is tenant data: root and the reader group only. */
static const struct kobj_type kq_cpu_ktype = {
	.release = kq_cpu_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.get_ownership = kq_sysfs_ownership,
};

/**
 * kq_pcpu_init() - per-CPU arrays and cpus/cpu<N> directories
 * @parent: /sys/kernel/kvm_quanta
 *
 * Return: 0 or -ENOMEM.
 */
int kq_pcpu_init(struct kobject *parent)
{
	unsigned int c;
	int i;

	kq_pcpu_prev = kcalloc(nr_cpu_ids, sizeof(*kq_pcpu_prev), GFP_KERNEL);
	kq_pcpu_prof = kcalloc(nr_cpu_ids, sizeof(*kq_pcpu_prof), GFP_KERNEL);
	kq_pcpu_sibling = kcalloc(nr_cpu_ids, sizeof(int), GFP_KERNEL);
	kq_cpu_kobjs = kcalloc(nr_cpu_ids, sizeof(*kq_cpu_kobjs), GFP_KERNEL);
	if (!kq_pcpu_prev || !kq_pcpu_prof || !kq_pcpu_sibling ||
	    !kq_cpu_kobjs)
		goto err;
	for (i = 0; i < nr_cpu_ids; i++) {
		kq_pcpu_sibling[i] = KQ_NO_SIBLING;
		kq_pcpu_prof[i].sibling = KQ_NO_SIBLING;
		kq_pcpu_prof[i].exit_rate_milli = KQ_NONE64;
	}
	kq_cpus_kobj = kobject_create_and_add("cpus", parent);
	if (!kq_cpus_kobj)
		goto err;
	for_each_possible_cpu(c) {
		char name[16];

		snprintf(name, sizeof(name), "cpu%u", c);
		kq_cpu_kobjs[c] = kzalloc(sizeof(*kq_cpu_kobjs[c]), GFP_KERNEL);
		if (!kq_cpu_kobjs[c])
			goto err;
		if (kobject_init_and_add(kq_cpu_kobjs[c], &kq_cpu_ktype,
					 kq_cpus_kobj, "%s", name) ||
		    sysfs_create_group(kq_cpu_kobjs[c], &kq_pcpu_group))
			goto err;
	}
	return 0;
err:
	kq_pcpu_exit();
	return -ENOMEM;
}

void kq_pcpu_exit(void)
{
	unsigned int c;

	if (kq_cpu_kobjs) {
		for_each_possible_cpu(c)
			kobject_put(kq_cpu_kobjs[c]);
	}
	kobject_put(kq_cpus_kobj);
	kq_cpus_kobj = NULL;
	kfree(kq_cpu_kobjs);
	kfree(kq_pcpu_sibling);
	kfree(kq_pcpu_prof);
	kfree(kq_pcpu_prev);
	kq_cpu_kobjs = NULL;
	kq_pcpu_sibling = NULL;
	kq_pcpu_prof = NULL;
	kq_pcpu_prev = NULL;
}
