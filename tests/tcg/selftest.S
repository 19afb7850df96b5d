/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A complete guest for kq_insn's self-test (a multiboot kernel): marker,
 * a loop of KQ_LOOPS iterations of two instructions, marker, power off
 * through isa-debug-exit.  Built twice with two loop counts: the counts
 * between the markers must differ by exactly 2 x the difference.
 */
	.section .text
	.code32
	.align 4
	.long 0x1badb002		/* multiboot magic */
	.long 0				/* flags */
	.long -0x1badb002		/* checksum */
	.globl _start
_start:
	out %al, $0x9a			/* marker */
	mov $KQ_LOOPS, %ecx
1:	dec %ecx
	jnz 1b
	out %al, $0x9a			/* marker */
	mov $0, %al
	out %al, $0xf4			/* isa-debug-exit */
2:	hlt
	jmp 2b
