// SPDX-License-Identifier: GPL-2.0
/*
 * kq-mark: executes the instruction-count marker of kq_insn.c once
 * ("out %al, $0x9a", these two bytes), for a benchmark that brackets
 * something other than a vCPU's run (kq-testvmm --mark does that).
 * Needs ioperm(), so CAP_SYS_RAWIO.
 */
#include <stdio.h>
#include <sys/io.h>

int main(void)
{
	if (ioperm(0x9a, 1, 1)) {
		perror("kq-mark: ioperm(0x9a)");
		return 1;
	}
	asm volatile("outb %%al, $0x9a" : : "a"((unsigned char)0) : "memory");
	return 0;
}
