/* SPDX-License-Identifier: GPL-2.0 */
/*
 * 64-bit arithmetic for the pure core, the same results in the module,
 * KUnit and userspace.  The kernel has no 128-bit division and 32-bit
 * builds no plain 64-bit one: there these go through div64_u64(),
 * div64_s64() and mul_u64_u64_div_u64(); userspace uses plain C.
 */
#ifndef _KQ_CORE_MATH_H
#define _KQ_CORE_MATH_H

#include "kq_types.h"

#ifdef __KERNEL__
#include <linux/math64.h>
#endif

/* a / b, b non-zero */
static inline u64 kq_div64(u64 a, u64 b)
{
#ifdef __KERNEL__
	return div64_u64(a, b);
#else
	return a / b;
#endif
}

/* a / b rounded toward zero, b non-zero */
static inline s64 kq_sdiv64(s64 a, s64 b)
{
#ifdef __KERNEL__
	return div64_s64(a, b);
#else
	return a / b;
#endif
}

/* The high 64 bits of a * b, from 32-bit halves (no 128-bit type). */
static inline u64 kq_mul_hi(u64 a, u64 b)
{
	u64 al = (u32)a, ah = a >> 32, bl = (u32)b, bh = b >> 32;
	u64 ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
	u64 mid = (ll >> 32) + (u32)lh + (u32)hl;

	return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

/**
 * kq_mul_div() - a * b / c with the full 128-bit product
 * @a: factor
 * @b: factor
 * @c: divisor, non-zero
 * @limit: saturate the quotient at this
 *
 * The quotient fits in 64 bits exactly when the product's high half is
 * below @c; otherwise (where x86's divq would fault) it saturates.
 *
 * Return: the quotient rounded down, at most @limit.
 */
static inline u64 kq_mul_div(u64 a, u64 b, u64 c, u64 limit)
{
	u64 q;

	if (kq_mul_hi(a, b) >= c)
		return limit;
#ifdef __KERNEL__
	q = mul_u64_u64_div_u64(a, b, c);
#else
	q = (u64)(((__uint128_t)a * b) / c);
#endif
	return q > limit ? limit : q;
}

#endif /* _KQ_CORE_MATH_H */
