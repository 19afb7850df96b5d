/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kvm_quanta: userspace ABI shared by the kernel module, quantad and
 * quantactl.
 */
#ifndef _UAPI_LINUX_KVM_QUANTA_H
#define _UAPI_LINUX_KVM_QUANTA_H

/**
 * enum kvm_quanta_exit_kind - vendor-neutral kind of a VM exit
 * @KVM_QUANTA_EXIT_IO: port I/O
 * @KVM_QUANTA_EXIT_MMIO: MMIO access completed by the VMM in userspace
 * @KVM_QUANTA_EXIT_HLT: HLT
 * @KVM_QUANTA_EXIT_INTR: external interrupt arrived while in the guest
 * @KVM_QUANTA_EXIT_NPF: nested/extended page fault (NPF, EPT violation)
 * @KVM_QUANTA_EXIT_HYPERCALL: VMCALL/VMMCALL
 * @KVM_QUANTA_EXIT_IRQ_WINDOW: interrupt window opened
 * @KVM_QUANTA_EXIT_NMI_WINDOW: NMI window opened
 * @KVM_QUANTA_EXIT_EMULATION: any other exit KVM handled by emulating an
 *	instruction
 * @KVM_QUANTA_EXIT_OTHER: everything else (CPUID, MSR, ...)
 * @KVM_QUANTA_EXIT_NR: number of kinds
 *
 * The order is the classification priority: when one exit moved several of
 * KVM's per-vCPU counters (an MMIO exit also counts a page fault and an
 * emulated instruction), the first kind in this order wins.  New kinds are
 * only ever added before KVM_QUANTA_EXIT_OTHER's name in the sysfs listing,
 * so parse exit_reasons by name, not by line number.
 */
enum kvm_quanta_exit_kind {
	KVM_QUANTA_EXIT_IO,
	KVM_QUANTA_EXIT_MMIO,
	KVM_QUANTA_EXIT_HLT,
	KVM_QUANTA_EXIT_INTR,
	KVM_QUANTA_EXIT_NPF,
	KVM_QUANTA_EXIT_HYPERCALL,
	KVM_QUANTA_EXIT_IRQ_WINDOW,
	KVM_QUANTA_EXIT_NMI_WINDOW,
	KVM_QUANTA_EXIT_EMULATION,
	KVM_QUANTA_EXIT_OTHER,
	KVM_QUANTA_EXIT_NR,
};

#endif /* _UAPI_LINUX_KVM_QUANTA_H */
