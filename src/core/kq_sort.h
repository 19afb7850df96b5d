/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A heapsort for the pure core (the ledger's entries, the group members):
 * in place, O(n log n), no allocation, no recursion, the same in the
 * module, KUnit and userspace.  The callbacks are constant at each call
 * site, so the compiler inlines them.
 */
#ifndef _KQ_CORE_SORT_H
#define _KQ_CORE_SORT_H

#include "kq_types.h"

/**
 * kq_heapsort() - sort @n items of @base in place
 * @base: the items
 * @n: how many
 * @before: a strict total order: item @i goes before item @j, by @key
 * @swap: exchange items @i and @j
 * @key: passed to @before, which order to sort by
 */
static inline void kq_heapsort(void *base, unsigned int n,
			       bool (*before)(const void *base, unsigned int i,
					      unsigned int j, bool key),
			       void (*swap)(void *base, unsigned int i,
					    unsigned int j),
			       bool key)
{
	unsigned int i, end, root, child;

	for (i = n / 2; i-- > 0;) {
		for (root = i; (child = 2 * root + 1) < n; root = child) {
			if (child + 1 < n && before(base, child, child + 1, key))
				child++;
			if (!before(base, root, child, key))
				break;
			swap(base, root, child);
		}
	}
	for (end = n; end-- > 1;) {
		swap(base, 0, end);
		for (root = 0; (child = 2 * root + 1) < end; root = child) {
			if (child + 1 < end &&
			    before(base, child, child + 1, key))
				child++;
			if (!before(base, root, child, key))
				break;
			swap(base, root, child);
		}
	}
}

#endif /* _KQ_CORE_SORT_H */
