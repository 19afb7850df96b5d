/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixed-width types for the pure policy code, which is compiled into the
 * module, into KUnit and into userspace tools and tests.
 */
#ifndef _KQ_CORE_TYPES_H
#define _KQ_CORE_TYPES_H

#ifdef __KERNEL__
#include <linux/build_bug.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/types.h>
/* A store that a lockless reader loads with READ_ONCE() (the exit path). */
#define kq_publish(x, val) WRITE_ONCE(x, val)
#else
#include <assert.h>	/* static_assert */
#include <errno.h>
#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
typedef __u8 u8;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
#define kq_publish(x, val) ((x) = (val))
#ifndef __cplusplus	/* CLI11 has a member named so */
#define fallthrough __attribute__((__fallthrough__))
#endif
#endif

#endif /* _KQ_CORE_TYPES_H */
