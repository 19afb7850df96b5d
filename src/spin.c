// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_quanta: PAUSE-loop exits.
 *
 * A guest spinning on a lock with PAUSE makes the CPU exit (pause-loop
 * exiting, PLE), and KVM's handler calls kvm_vcpu_on_spin() on the vCPU's
 * own thread.  KVM keeps no counter of these exits, and since 6.18 the
 * function is exported for kvm-intel/kvm-amd only, so we attach a kprobe
 * to it by name: the probe counts PAUSE-loop exits per vCPU, exactly, and
 * flags the vCPU so that the next exit can switch it out.
 *
 * Not to be confused with directed_yield_attempted, which counts the PV
 * hypercalls KVM_HC_SCHED_YIELD and KVM_HC_KICK_CPU: the vCPU that makes a
 * KICK_CPU is the one releasing a PV spinlock, not a spinner.  That count
 * is read per window from KVM's statistics.
 *
 * Without kprobes, or where the function cannot be probed, the module
 * runs without this signal and says so in /sys/kernel/kvm_quanta/hooks.
 */
#include <linux/kprobes.h>
#include <linux/kvm_host.h>
#include <linux/ptrace.h>

#include "kvm_quanta.h"

static int kq_spin_status = -ENOENT;

/* Context: kprobe, the vCPU's thread, preemption disabled. */
static int kq_spin_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu;
	struct kq_vcpu *v;

	vcpu = (struct kvm_vcpu *)regs_get_kernel_argument(regs, 0);
	if (likely(kq_vcpu_find(vcpu, &v, false))) {
		/* Only this thread writes it. */
		WRITE_ONCE(v->pause_exits, v->pause_exits + 1);
		set_bit(KQ_V_SPINNING, &v->flags);
	}
	return 0;
}

static struct kprobe kq_spin_kp = {
	.symbol_name = "kvm_vcpu_on_spin",
	.pre_handler = kq_spin_pre,
};

/**
 * kq_spin_register() - count PAUSE-loop exits, if this kernel lets us
 *
 * A failure is not fatal: the status is kept for the hooks file.
 */
void kq_spin_register(void)
{
#ifdef CONFIG_KPROBES
	kq_spin_status = register_kprobe(&kq_spin_kp);
	if (kq_spin_status)
		pr_info("kvm_quanta: no PAUSE-loop exit counts (kprobe on kvm_vcpu_on_spin: %d)\n",
			kq_spin_status);
#else
	kq_spin_status = -EOPNOTSUPP;
#endif
}

/**
 * kq_spin_unregister() - detach; returns once no handler runs
 */
void kq_spin_unregister(void)
{
#ifdef CONFIG_KPROBES
	if (!kq_spin_status)
		unregister_kprobe(&kq_spin_kp);
#endif
	kq_spin_status = -ENOENT;
}

/**
 * kq_spin_attached() - whether PAUSE-loop exits are being counted
 *
 * Return: 0 when attached, else the error that kept us from it.
 */
int kq_spin_attached(void)
{
	return kq_spin_status;
}
