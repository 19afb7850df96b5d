// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for processor-state windows, derived values and history
 * (src/core/state.c), on fake streams of cumulative readings.
 */
#include <kunit/test.h>

#include "state.h"

static void kq_test_pmu_set(struct kq_pmu_value *p, u64 value, u64 enabled,
			    u64 running)
{
	p->value = value;
	p->enabled = enabled;
	p->running = running;
	p->valid = true;
}

/* A window with only the fields the derivations read, then derived. */
static void kq_test_window(struct kq_window *w, u64 cycles, u64 insns,
			   u64 guest_ns, u64 exits, u64 run_ns, u64 slices)
{
	*w = (struct kq_window){ 0 };
	w->window_ns = 10000000;
	w->pmu[KVM_QUANTA_EV_CYCLES] = cycles;
	w->pmu[KVM_QUANTA_EV_INSTRUCTIONS] = insns;
	w->pmu[KVM_QUANTA_EV_LLC_MISSES] = KQ_NONE64;
	w->pmu[KVM_QUANTA_EV_BRANCH_MISSES] = KQ_NONE64;
	w->guest_ns = guest_ns;
	w->exits = exits;
	w->run_ns = run_ns;
	w->slices = slices;
	kq_window_derive(w);
}

/* Every cumulative counter wraps past U64_MAX between the two readings. */
static void kq_test_wraparound(struct kunit *test)
{
	struct kq_reading *a = kunit_kzalloc(test, sizeof(*a), GFP_KERNEL);
	struct kq_reading *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct kq_window w;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	a->t_ns = U64_MAX - 999;
	b->t_ns = 9000000;
	a->guest_ns = U64_MAX - 1;
	b->guest_ns = 1999998;
	a->exits = U64_MAX;
	b->exits = 999;
	a->run_ns = U64_MAX - 4;
	b->run_ns = 2999995;
	a->wait_ns = U64_MAX - 9;
	b->wait_ns = 90;
	a->slices = U64_MAX - 1;
	b->slices = 3;
	a->halt_ns = U64_MAX;
	b->halt_ns = 0;
	for (i = 0; i < KVM_QUANTA_EXIT_NR; i++) {
		a->kinds[i] = U64_MAX - i;
		b->kinds[i] = i;
	}
	kq_test_pmu_set(&a->pmu[KVM_QUANTA_EV_CYCLES], U64_MAX - 999,
			U64_MAX - 99, U64_MAX - 99);
	kq_test_pmu_set(&b->pmu[KVM_QUANTA_EV_CYCLES], 1000, 900, 900);
	kq_test_pmu_set(&a->pmu[KVM_QUANTA_EV_INSTRUCTIONS], U64_MAX, 0, 0);
	kq_test_pmu_set(&b->pmu[KVM_QUANTA_EV_INSTRUCTIONS], 2999, 1000, 1000);
	/* Multiplexed, and the times wrap too: 500 over 250 of 1000 ns. */
	kq_test_pmu_set(&a->pmu[KVM_QUANTA_EV_LLC_MISSES], U64_MAX - 99,
			U64_MAX - 499, U64_MAX - 49);
	kq_test_pmu_set(&b->pmu[KVM_QUANTA_EV_LLC_MISSES], 400, 500, 200);

	kq_window_from(&w, a, b);
	KUNIT_EXPECT_EQ(test, w.window_ns, 9001000);
	KUNIT_EXPECT_EQ(test, w.guest_ns, 2000000);
	KUNIT_EXPECT_EQ(test, w.exits, 1000);
	KUNIT_EXPECT_EQ(test, w.run_ns, 3000000);
	KUNIT_EXPECT_EQ(test, w.wait_ns, 100);
	KUNIT_EXPECT_EQ(test, w.slices, 5);
	KUNIT_EXPECT_EQ(test, w.halt_ns, 1);
	for (i = 0; i < KVM_QUANTA_EXIT_NR; i++)
		KUNIT_EXPECT_EQ_MSG(test, w.kinds[i], 2 * i + 1, "kind %u", i);
	KUNIT_EXPECT_EQ(test, w.pmu[KVM_QUANTA_EV_CYCLES], 2000);
	KUNIT_EXPECT_EQ(test, w.pmu[KVM_QUANTA_EV_INSTRUCTIONS], 3000);
	KUNIT_EXPECT_EQ(test, w.pmu[KVM_QUANTA_EV_LLC_MISSES], 2000);
	KUNIT_EXPECT_EQ(test, w.pmu[KVM_QUANTA_EV_BRANCH_MISSES], KQ_NONE64);
	KUNIT_EXPECT_EQ(test, w.ipc_milli, 1500);
	/* 2000 misses per 3000 instructions: 666.666 per 1000, x 1000 */
	KUNIT_EXPECT_EQ(test, w.llc_mpki_milli, 666666);
	KUNIT_EXPECT_EQ(test, w.br_mpki_milli, KQ_NONE32);
	KUNIT_EXPECT_EQ(test, w.mean_run_ns, 2000);
	KUNIT_EXPECT_EQ(test, w.quantum_ns, 600000);
}

/*
 * An exit read while KVM handles it is "other", then "io" at the next
 * reading: the kind steps back by one, and the window shows 0 for it, not
 * 2^64 - 1 (seen in the rig's telemetry before the fix).
 */
static void kq_test_kind_steps_back(struct kunit *test)
{
	struct kq_reading a = {}, b = {};
	struct kq_window w;

	a.exits = 15;
	a.kinds[KVM_QUANTA_EXIT_IO] = 10;
	a.kinds[KVM_QUANTA_EXIT_OTHER] = 5;
	b.exits = 16;
	b.kinds[KVM_QUANTA_EXIT_IO] = 12;
	b.kinds[KVM_QUANTA_EXIT_OTHER] = 4;
	kq_window_from(&w, &a, &b);
	KUNIT_EXPECT_EQ(test, w.exits, 1);
	KUNIT_EXPECT_EQ(test, w.kinds[KVM_QUANTA_EXIT_IO], 2);
	KUNIT_EXPECT_EQ(test, w.kinds[KVM_QUANTA_EXIT_OTHER], 0);
}

static void kq_test_zero_instructions(struct kunit *test)
{
	struct kq_window w;

	kq_test_window(&w, 1000000, 0, 0, 0, 0, 0);
	w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 10;
	w.pmu[KVM_QUANTA_EV_BRANCH_MISSES] = 0;
	kq_window_derive(&w);
	KUNIT_EXPECT_EQ(test, w.ipc_milli, 0);
	KUNIT_EXPECT_EQ(test, w.llc_mpki_milli, KQ_NONE32);
	KUNIT_EXPECT_EQ(test, w.br_mpki_milli, KQ_NONE32);
}

static void kq_test_zero_cycles(struct kunit *test)
{
	struct kq_window w;

	kq_test_window(&w, 0, 500, 0, 0, 0, 0);
	w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 5;
	w.pmu[KVM_QUANTA_EV_BRANCH_MISSES] = 0;
	kq_window_derive(&w);
	KUNIT_EXPECT_EQ(test, w.ipc_milli, KQ_NONE32);
	/* MPKI needs instructions only: 5 per 500 = 10 per 1000 */
	KUNIT_EXPECT_EQ(test, w.llc_mpki_milli, 10000);
	KUNIT_EXPECT_EQ(test, w.br_mpki_milli, 0);

	/* Missing rather than zero: no IPC, no MPKI. */
	kq_test_window(&w, KQ_NONE64, 500, 0, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, w.ipc_milli, KQ_NONE32);
	kq_test_window(&w, 500, KQ_NONE64, 0, 0, 0, 0);
	w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 5;
	kq_window_derive(&w);
	KUNIT_EXPECT_EQ(test, w.ipc_milli, KQ_NONE32);
	KUNIT_EXPECT_EQ(test, w.llc_mpki_milli, KQ_NONE32);
}

/* A counter that stops counting while the event stays scheduled. */
static void kq_test_counter_stops(struct kunit *test)
{
	struct kq_reading *a = kunit_kzalloc(test, sizeof(*a), GFP_KERNEL);
	struct kq_reading *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	struct kq_window w;

	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	kq_test_pmu_set(&a->pmu[KVM_QUANTA_EV_CYCLES], 123456, 1000, 1000);
	kq_test_pmu_set(&b->pmu[KVM_QUANTA_EV_CYCLES], 123456, 5000, 5000);
	kq_test_pmu_set(&a->pmu[KVM_QUANTA_EV_INSTRUCTIONS], 777, 1000, 500);
	kq_test_pmu_set(&b->pmu[KVM_QUANTA_EV_INSTRUCTIONS], 777, 5000, 2500);
	kq_window_from(&w, a, b);
	KUNIT_EXPECT_EQ(test, w.pmu[KVM_QUANTA_EV_CYCLES], 0);
	KUNIT_EXPECT_EQ(test, w.pmu[KVM_QUANTA_EV_INSTRUCTIONS], 0);
	KUNIT_EXPECT_EQ(test, w.ipc_milli, KQ_NONE32);
	KUNIT_EXPECT_EQ(test, w.llc_mpki_milli, KQ_NONE32);
}

static void kq_test_multiplexed(struct kunit *test)
{
	struct kq_pmu_value a, b;

	/* On the PMU half the time it was enabled: doubled. */
	kq_test_pmu_set(&a, 1000, 100, 100);
	kq_test_pmu_set(&b, 2000, 300, 200);
	KUNIT_EXPECT_EQ(test, kq_pmu_scaled_delta(&a, &b), 2000);
	/* Not a whole ratio: 7 * 3 / 2 = 10.5, truncated. */
	kq_test_pmu_set(&b, 1007, 103, 102);
	KUNIT_EXPECT_EQ(test, kq_pmu_scaled_delta(&a, &b), 10);
	/* Running the whole time: the raw delta. */
	kq_test_pmu_set(&b, 1500, 400, 400);
	KUNIT_EXPECT_EQ(test, kq_pmu_scaled_delta(&a, &b), 500);
	/* Enabled but never on the PMU: nothing known. */
	kq_test_pmu_set(&b, 1000, 400, 100);
	KUNIT_EXPECT_EQ(test, kq_pmu_scaled_delta(&a, &b), KQ_NONE64);
	/* Not enabled at all (the thread did not run): counted nothing. */
	kq_test_pmu_set(&b, 1000, 100, 100);
	KUNIT_EXPECT_EQ(test, kq_pmu_scaled_delta(&a, &b), 0);
	/* A scaled count that does not fit saturates below KQ_NONE64. */
	kq_test_pmu_set(&a, 0, 0, 0);
	kq_test_pmu_set(&b, 1ULL << 62, 1ULL << 40, 1ULL << 38);
	KUNIT_EXPECT_EQ(test, kq_pmu_scaled_delta(&a, &b), KQ_NONE64 - 1);
	/* ... and one that fits only with a 128-bit product does not. */
	kq_test_pmu_set(&b, 3ULL << 60, 1ULL << 40, 1ULL << 39);
	KUNIT_EXPECT_EQ(test, kq_pmu_scaled_delta(&a, &b), 6ULL << 60);
	/* Either read missing: nothing known. */
	kq_test_pmu_set(&b, 1, 1, 1);
	b.valid = false;
	KUNIT_EXPECT_EQ(test, kq_pmu_scaled_delta(&a, &b), KQ_NONE64);
	KUNIT_EXPECT_EQ(test, kq_pmu_scaled_delta(&b, &a), KQ_NONE64);
}

/*
 * A vCPU thread that migrates: readings are per task, so t_ns, guest_ns and
 * the perf counters keep increasing across the move while the CPU changes.
 * The CPU is not an input of state.c at all; windows over the migration
 * must add up to the single window covering it.
 */
static void kq_test_migration(struct kunit *test)
{
	/* cpu:                  0        0        (moving)  3        3 */
	static const u64 t[] = { 1000000, 2000000, 2500000, 3500000, 4500000 };
	static const u64 g[] = { 100000, 900000, 900000, 1700000, 2600000 };
	static const u64 cyc[] = { 10, 2000010, 2000010, 4000010, 6500010 };
	static const u64 ins[] = { 5, 1000005, 1000005, 3000005, 3500005 };
	static const u64 en[] = { 100, 900100, 900100, 1700100, 2600100 };
	struct kq_reading *r = kunit_kcalloc(test, ARRAY_SIZE(t), sizeof(*r),
					     GFP_KERNEL);
	struct kq_history *h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	struct kq_window *w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	struct kq_window *all = kunit_kzalloc(test, sizeof(*all), GFP_KERNEL);
	unsigned int i, k;

	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_ASSERT_NOT_NULL(test, h);
	KUNIT_ASSERT_NOT_NULL(test, w);
	KUNIT_ASSERT_NOT_NULL(test, all);
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		r[i].t_ns = t[i];
		r[i].guest_ns = g[i];
		r[i].run_ns = g[i] + 1000 * i;
		r[i].wait_ns = t[i] - r[i].run_ns;
		r[i].exits = 10 * i * i;
		r[i].kinds[KVM_QUANTA_EXIT_HLT] = r[i].exits;
		r[i].slices = 2 * i;
		kq_test_pmu_set(&r[i].pmu[KVM_QUANTA_EV_CYCLES], cyc[i], en[i],
				en[i]);
		kq_test_pmu_set(&r[i].pmu[KVM_QUANTA_EV_INSTRUCTIONS], ins[i],
				en[i], en[i]);
	}
	kq_history_init(h);
	for (i = 1; i < ARRAY_SIZE(t); i++) {
		kq_window_from(w, &r[i - 1], &r[i]);
		kq_history_add(h, w);
		/* No jump at the migration: every delta is small. */
		KUNIT_EXPECT_LE(test, w->window_ns, 1000000);
		KUNIT_EXPECT_LE(test, w->guest_ns, w->window_ns);
		KUNIT_EXPECT_LE(test, w->pmu[KVM_QUANTA_EV_CYCLES], 2500000);
	}
	/* The window while moving: nothing ran, nothing counted. */
	kq_window_from(w, &r[1], &r[2]);
	KUNIT_EXPECT_EQ(test, w->pmu[KVM_QUANTA_EV_CYCLES], 0);
	KUNIT_EXPECT_EQ(test, w->guest_ns, 0);
	KUNIT_EXPECT_EQ(test, w->ipc_milli, KQ_NONE32);

	kq_window_from(all, &r[0], &r[ARRAY_SIZE(t) - 1]);
	KUNIT_EXPECT_EQ(test, h->windows, ARRAY_SIZE(t) - 1);
	KUNIT_EXPECT_EQ(test, h->total.window_ns, all->window_ns);
	KUNIT_EXPECT_EQ(test, h->total.guest_ns, all->guest_ns);
	KUNIT_EXPECT_EQ(test, h->total.exits, all->exits);
	KUNIT_EXPECT_EQ(test, h->total.run_ns, all->run_ns);
	KUNIT_EXPECT_EQ(test, h->total.wait_ns, all->wait_ns);
	KUNIT_EXPECT_EQ(test, h->total.slices, all->slices);
	for (k = 0; k < KVM_QUANTA_EXIT_NR; k++)
		KUNIT_EXPECT_EQ(test, h->total.kinds[k], all->kinds[k]);
	for (k = 0; k < KVM_QUANTA_EV_NR; k++)
		KUNIT_EXPECT_EQ(test, h->total.pmu[k], all->pmu[k]);
	KUNIT_EXPECT_EQ(test, h->total.ipc_milli, all->ipc_milli);
	KUNIT_EXPECT_EQ(test, h->total.mean_run_ns, all->mean_run_ns);
	KUNIT_EXPECT_EQ(test, h->total.quantum_ns, all->quantum_ns);
	KUNIT_EXPECT_EQ(test, h->total.exit_rate_milli, all->exit_rate_milli);
	/* 6500000 cycles, 3500000 instructions over the whole stream */
	KUNIT_EXPECT_EQ(test, all->ipc_milli, 538);
}

/* Exit rate x 1000 per ms of guest time, and mean guest time per exit. */
static void kq_test_exit_rate(struct kunit *test)
{
	struct kq_window w;

	/* 1000 exits in 2 ms of guest time: 500 per ms, one per 2 us. */
	kq_test_window(&w, KQ_NONE64, KQ_NONE64, 2000000, 1000, 0, 0);
	KUNIT_EXPECT_EQ(test, w.exit_rate_milli, 500000);
	KUNIT_EXPECT_EQ(test, w.mean_run_ns, 2000);
	/* 3 exits in 1 s: 0.003 per ms */
	kq_test_window(&w, KQ_NONE64, KQ_NONE64, 1000000000, 3, 0, 0);
	KUNIT_EXPECT_EQ(test, w.exit_rate_milli, 3);
	KUNIT_EXPECT_EQ(test, w.mean_run_ns, 333333333);
	/* No exits while in the guest: rate 0, no mean run. */
	kq_test_window(&w, KQ_NONE64, KQ_NONE64, 5000000, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, w.exit_rate_milli, 0);
	KUNIT_EXPECT_EQ(test, w.mean_run_ns, KQ_NONE64);
	/* Never in the guest: neither. */
	kq_test_window(&w, KQ_NONE64, KQ_NONE64, 0, 7, 0, 0);
	KUNIT_EXPECT_EQ(test, w.exit_rate_milli, KQ_NONE64);
	KUNIT_EXPECT_EQ(test, w.mean_run_ns, KQ_NONE64);
}

static void kq_test_quantum(struct kunit *test)
{
	struct kq_window w;

	kq_test_window(&w, KQ_NONE64, KQ_NONE64, 0, 0, 10000000, 4);
	KUNIT_EXPECT_EQ(test, w.quantum_ns, 2500000);
	kq_test_window(&w, KQ_NONE64, KQ_NONE64, 0, 0, 10, 3);
	KUNIT_EXPECT_EQ(test, w.quantum_ns, 3);
	kq_test_window(&w, KQ_NONE64, KQ_NONE64, 0, 0, 10000000, 0);
	KUNIT_EXPECT_EQ(test, w.quantum_ns, KQ_NONE64);
}

/* Products that need more than 64 bits. */
static void kq_test_128bit(struct kunit *test)
{
	/* value, enabled, running: value * enabled / running, exact */
	static const u64 scaled[][4] = {
		{ 0x7fffffffffffffffULL, 3, 2, 0xbffffffffffffffeULL },
		/* a quotient of exactly U64_MAX saturates below KQ_NONE64 */
		{ 0x5555555555555555ULL, 3, 1, KQ_NONE64 - 1 },
		/* the high half of the product equals the divisor: 2^64 */
		{ 1ULL << 63, 2, 1, KQ_NONE64 - 1 },
		{ 1ULL << 62, 6, 3, 1ULL << 63 },
		{ U64_MAX, U64_MAX, U64_MAX - 1, KQ_NONE64 - 1 },
		/* divisors above 2^63 */
		{ 1ULL << 63, U64_MAX, (1ULL << 63) + 1,
		  0xfffffffffffffffdULL },
		{ 12345678901234567ULL, U64_MAX, U64_MAX - 2,
		  12345678901234567ULL },
		{ 0xfedcba9876543210ULL, 0x123456789abcdf0ULL,
		  0x123456789abcdefULL, 0xfedcba98765432f0ULL },
	};
	struct kq_pmu_value a = { .valid = true }, b;
	struct kq_window w;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(scaled); i++) {
		kq_test_pmu_set(&b, scaled[i][0], scaled[i][1], scaled[i][2]);
		KUNIT_EXPECT_EQ_MSG(test, kq_pmu_scaled_delta(&a, &b),
				    scaled[i][3], "case %u", i);
	}

	/* 2^60 instructions over 2^40 cycles: IPC 2^20 */
	kq_test_window(&w, 1ULL << 40, 1ULL << 60, 0, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, w.ipc_milli, 1048576000U);
	/* 2^50 misses per 2^60 instructions: 1000 / 1024 per 1000 */
	w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 1ULL << 50;
	w.pmu[KVM_QUANTA_EV_BRANCH_MISSES] = (1ULL << 60) - 1;
	kq_window_derive(&w);
	KUNIT_EXPECT_EQ(test, w.llc_mpki_milli, 976);
	KUNIT_EXPECT_EQ(test, w.br_mpki_milli, 999999);
	/* An IPC that does not fit in u32 saturates below KQ_NONE32. */
	kq_test_window(&w, 1, 1ULL << 62, 0, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, w.ipc_milli, KQ_NONE32 - 1);
	/* 2^50 exits in 2^40 ns of guest time: 2^10 per ns */
	kq_test_window(&w, KQ_NONE64, KQ_NONE64, 1ULL << 40, 1ULL << 50, 0, 0);
	KUNIT_EXPECT_EQ(test, w.exit_rate_milli, 1024ULL * 1000000000ULL);
	KUNIT_EXPECT_EQ(test, w.mean_run_ns, 0);
}

static void kq_test_history_init(struct kunit *test)
{
	struct kq_history *h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	unsigned int k;

	KUNIT_ASSERT_NOT_NULL(test, h);
	memset(h, 0x5a, sizeof(*h));
	kq_window_init(&h->recent);
	KUNIT_EXPECT_EQ(test, h->recent.window_ns, 0);
	KUNIT_EXPECT_EQ(test, h->recent.slices, 0);
	KUNIT_EXPECT_EQ(test, h->recent.kinds[KVM_QUANTA_EXIT_NR - 1], 0);
	for (k = 0; k < KVM_QUANTA_EV_NR; k++)
		KUNIT_EXPECT_EQ(test, h->recent.pmu[k], KQ_NONE64);
	KUNIT_EXPECT_EQ(test, h->recent.ipc_milli, KQ_NONE32);
	KUNIT_EXPECT_EQ(test, h->recent.exit_rate_milli, KQ_NONE64);

	memset(h, 0x5a, sizeof(*h));
	kq_history_init(h);
	KUNIT_EXPECT_EQ(test, h->windows, 0);
	KUNIT_EXPECT_EQ(test, h->recent.ipc_milli, KQ_NONE32);
	KUNIT_EXPECT_EQ(test, h->recent.llc_mpki_milli, KQ_NONE32);
	KUNIT_EXPECT_EQ(test, h->recent.br_mpki_milli, KQ_NONE32);
	KUNIT_EXPECT_EQ(test, h->recent.exit_rate_milli, KQ_NONE64);
	KUNIT_EXPECT_EQ(test, h->recent.mean_run_ns, KQ_NONE64);
	KUNIT_EXPECT_EQ(test, h->recent.quantum_ns, KQ_NONE64);
	KUNIT_EXPECT_EQ(test, h->total.window_ns, 0);
	KUNIT_EXPECT_EQ(test, h->total.guest_ns, 0);
	KUNIT_EXPECT_EQ(test, h->total.exits, 0);
	for (k = 0; k < KVM_QUANTA_EXIT_NR; k++)
		KUNIT_EXPECT_EQ(test, h->total.kinds[k], 0);
	for (k = 0; k < KVM_QUANTA_EV_NR; k++)
		KUNIT_EXPECT_EQ(test, h->total.pmu[k], KQ_NONE64);
	KUNIT_EXPECT_EQ(test, h->total.ipc_milli, KQ_NONE32);
	KUNIT_EXPECT_EQ(test, h->total.quantum_ns, KQ_NONE64);
}

/* The first valid value seeds the average; later ones move it by 1/4. */
static void kq_test_history_seed_and_step(struct kunit *test)
{
	struct kq_history *h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	struct kq_window w;

	KUNIT_ASSERT_NOT_NULL(test, h);
	kq_history_init(h);
	/* IPC 2.000, 400 exits/ms, mean run 2500 ns, quantum 1 ms */
	kq_test_window(&w, 1000, 2000, 1000000, 400, 4000000, 4);
	kq_history_add(h, &w);
	KUNIT_EXPECT_EQ(test, h->recent.ipc_milli, 2000);
	KUNIT_EXPECT_EQ(test, h->recent.mean_run_ns, 2500);
	KUNIT_EXPECT_EQ(test, h->recent.quantum_ns, 1000000);
	KUNIT_EXPECT_EQ(test, h->recent.exit_rate_milli, w.exit_rate_milli);

	/* Up: IPC 3.000 -> 2000 + 1000 / 4 */
	kq_test_window(&w, 1000, 3000, 1000000, 200, 8000000, 4);
	kq_history_add(h, &w);
	KUNIT_EXPECT_EQ(test, h->recent.ipc_milli, 2250);
	KUNIT_EXPECT_EQ(test, h->recent.mean_run_ns, 2500 + 2500 / 4);
	KUNIT_EXPECT_EQ(test, h->recent.quantum_ns, 1250000);
	/* Down: IPC 1.000 -> 2250 - 1250 / 4 (312.5, truncated) */
	kq_test_window(&w, 1000, 1000, 1000000, 1000, 0, 4);
	kq_history_add(h, &w);
	KUNIT_EXPECT_EQ(test, h->recent.ipc_milli, 1938);
	KUNIT_EXPECT_EQ(test, h->recent.mean_run_ns, 3125 - (3125 - 1000) / 4);
	KUNIT_EXPECT_EQ(test, h->recent.quantum_ns, 1250000 - 1250000 / 4);
	KUNIT_EXPECT_EQ(test, h->windows, 3);

	/* 32-bit extremes move without overflowing. */
	kq_test_window(&w, 1, 1ULL << 40, 0, 0, 0, 0);
	kq_history_add(h, &w);
	KUNIT_EXPECT_EQ(test, h->recent.ipc_milli,
			1938 + (KQ_NONE32 - 1 - 1938) / 4);
}

/* Windows without a value leave the average as it was. */
static void kq_test_history_none(struct kunit *test)
{
	struct kq_history *h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	struct kq_window w;

	KUNIT_ASSERT_NOT_NULL(test, h);
	kq_history_init(h);
	/* Nothing derivable: the averages are not seeded with anything. */
	kq_test_window(&w, KQ_NONE64, KQ_NONE64, 0, 0, 0, 0);
	kq_history_add(h, &w);
	KUNIT_EXPECT_EQ(test, h->recent.ipc_milli, KQ_NONE32);
	KUNIT_EXPECT_EQ(test, h->recent.quantum_ns, KQ_NONE64);
	KUNIT_EXPECT_EQ(test, h->recent.mean_run_ns, KQ_NONE64);

	kq_test_window(&w, 1000, 500, 1000000, 100, 3000000, 3);
	w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 5;
	kq_window_derive(&w);
	kq_history_add(h, &w);
	KUNIT_EXPECT_EQ(test, h->recent.ipc_milli, 500);
	KUNIT_EXPECT_EQ(test, h->recent.llc_mpki_milli, 10000);
	KUNIT_EXPECT_EQ(test, h->recent.br_mpki_milli, KQ_NONE32);
	KUNIT_EXPECT_EQ(test, h->recent.mean_run_ns, 10000);
	KUNIT_EXPECT_EQ(test, h->recent.quantum_ns, 1000000);

	/* An idle window (zero cycles, no guest time, no slice) ... */
	kq_test_window(&w, 0, 0, 0, 0, 0, 0);
	w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 0;
	kq_window_derive(&w);
	kq_history_add(h, &w);
	/* ... and one with the counters gone: neither moves anything. */
	kq_test_window(&w, KQ_NONE64, KQ_NONE64, 0, 0, 0, 0);
	kq_history_add(h, &w);
	KUNIT_EXPECT_EQ(test, h->recent.ipc_milli, 500);
	KUNIT_EXPECT_EQ(test, h->recent.llc_mpki_milli, 10000);
	KUNIT_EXPECT_EQ(test, h->recent.br_mpki_milli, KQ_NONE32);
	KUNIT_EXPECT_EQ(test, h->recent.mean_run_ns, 10000);
	KUNIT_EXPECT_EQ(test, h->recent.quantum_ns, 1000000);
	KUNIT_EXPECT_EQ(test, h->recent.exit_rate_milli,
			h->total.exit_rate_milli);
	KUNIT_EXPECT_EQ(test, h->windows, 4);
}

/* A constant input pulls the average to it, monotonically, from both sides. */
static void kq_test_history_converges(struct kunit *test)
{
	struct kq_history *h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	struct kq_window w;
	u32 prev;
	u64 prevq;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, h);
	kq_history_init(h);
	kq_test_window(&w, 1000, 1000, 0, 0, 1000, 1);	/* IPC 1.000 */
	kq_history_add(h, &w);
	kq_test_window(&w, 1000, 5000, 0, 0, 9000000, 1);	/* IPC 5.000 */
	prev = h->recent.ipc_milli;
	prevq = h->recent.quantum_ns;
	for (i = 0; i < 64; i++) {
		kq_history_add(h, &w);
		KUNIT_EXPECT_GE(test, h->recent.ipc_milli, prev);
		KUNIT_EXPECT_LE(test, h->recent.ipc_milli, 5000);
		KUNIT_EXPECT_GE(test, h->recent.quantum_ns, prevq);
		KUNIT_EXPECT_LE(test, h->recent.quantum_ns, 9000000);
		prev = h->recent.ipc_milli;
		prevq = h->recent.quantum_ns;
	}
	/* Integer steps of 1/4 stop within 3 of the target. */
	KUNIT_EXPECT_GE(test, h->recent.ipc_milli, 4997);
	KUNIT_EXPECT_GE(test, h->recent.quantum_ns, 8999997);

	kq_test_window(&w, 4000, 1000, 0, 0, 10, 1);	/* IPC 0.250 */
	for (i = 0; i < 64; i++) {
		kq_history_add(h, &w);
		KUNIT_EXPECT_LE(test, h->recent.ipc_milli, prev);
		KUNIT_EXPECT_GE(test, h->recent.ipc_milli, 250);
		prev = h->recent.ipc_milli;
	}
	KUNIT_EXPECT_LE(test, h->recent.ipc_milli, 253);
	KUNIT_EXPECT_LE(test, h->recent.quantum_ns, 13);
	KUNIT_EXPECT_EQ(test, h->windows, 129);
}

/* The long-term total is the sum of the windows, derived from the sums. */
static void kq_test_history_totals(struct kunit *test)
{
	struct kq_history *h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	struct kq_window w;

	KUNIT_ASSERT_NOT_NULL(test, h);
	kq_history_init(h);

	kq_test_window(&w, 1000, 3000, 1000000, 10, 2000000, 2);
	w.window_ns = 10000000;
	w.wait_ns = 5;
	w.halt_ns = 7;
	w.kinds[KVM_QUANTA_EXIT_IO] = 6;
	w.kinds[KVM_QUANTA_EXIT_OTHER] = 4;
	kq_history_add(h, &w);

	/* No counters in this one (PMU gone): the counts keep their sums. */
	kq_test_window(&w, KQ_NONE64, KQ_NONE64, 3000000, 20, 1000000, 1);
	w.window_ns = 20000000;
	w.wait_ns = 10;
	w.kinds[KVM_QUANTA_EXIT_HLT] = 20;
	kq_history_add(h, &w);

	kq_test_window(&w, 3000, 1000, 0, 0, 0, 0);
	w.window_ns = 5000000;
	w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 40;
	kq_window_derive(&w);
	kq_history_add(h, &w);

	KUNIT_EXPECT_EQ(test, h->windows, 3);
	KUNIT_EXPECT_EQ(test, h->total.window_ns, 35000000);
	KUNIT_EXPECT_EQ(test, h->total.guest_ns, 4000000);
	KUNIT_EXPECT_EQ(test, h->total.exits, 30);
	KUNIT_EXPECT_EQ(test, h->total.kinds[KVM_QUANTA_EXIT_IO], 6);
	KUNIT_EXPECT_EQ(test, h->total.kinds[KVM_QUANTA_EXIT_HLT], 20);
	KUNIT_EXPECT_EQ(test, h->total.kinds[KVM_QUANTA_EXIT_OTHER], 4);
	KUNIT_EXPECT_EQ(test, h->total.run_ns, 3000000);
	KUNIT_EXPECT_EQ(test, h->total.wait_ns, 15);
	KUNIT_EXPECT_EQ(test, h->total.slices, 3);
	KUNIT_EXPECT_EQ(test, h->total.halt_ns, 7);
	KUNIT_EXPECT_EQ(test, h->total.pmu[KVM_QUANTA_EV_CYCLES], 4000);
	KUNIT_EXPECT_EQ(test, h->total.pmu[KVM_QUANTA_EV_INSTRUCTIONS], 4000);
	KUNIT_EXPECT_EQ(test, h->total.pmu[KVM_QUANTA_EV_LLC_MISSES], 40);
	KUNIT_EXPECT_EQ(test, h->total.pmu[KVM_QUANTA_EV_BRANCH_MISSES],
			KQ_NONE64);
	/* From the sums, not an average of the windows' ratios */
	KUNIT_EXPECT_EQ(test, h->total.ipc_milli, 1000);
	KUNIT_EXPECT_EQ(test, h->total.llc_mpki_milli, 10000);
	KUNIT_EXPECT_EQ(test, h->total.br_mpki_milli, KQ_NONE32);
	KUNIT_EXPECT_EQ(test, h->total.mean_run_ns, 133333);
	KUNIT_EXPECT_EQ(test, h->total.quantum_ns, 1000000);
	/* 30 exits in 4 ms: 7.5 per ms */
	KUNIT_EXPECT_EQ(test, h->total.exit_rate_milli, 7500);
}

static struct kunit_case kq_state_cases[] = {
	KUNIT_CASE(kq_test_wraparound),
	KUNIT_CASE(kq_test_kind_steps_back),
	KUNIT_CASE(kq_test_zero_instructions),
	KUNIT_CASE(kq_test_zero_cycles),
	KUNIT_CASE(kq_test_counter_stops),
	KUNIT_CASE(kq_test_multiplexed),
	KUNIT_CASE(kq_test_migration),
	KUNIT_CASE(kq_test_exit_rate),
	KUNIT_CASE(kq_test_quantum),
	KUNIT_CASE(kq_test_128bit),
	KUNIT_CASE(kq_test_history_init),
	KUNIT_CASE(kq_test_history_seed_and_step),
	KUNIT_CASE(kq_test_history_none),
	KUNIT_CASE(kq_test_history_converges),
	KUNIT_CASE(kq_test_history_totals),
	{}
};

static struct kunit_suite kq_state_suite = {
	.name = "kvm_quanta_state",
	.test_cases = kq_state_cases,
};

kunit_test_suites(&kq_state_suite);

MODULE_LICENSE("GPL");
