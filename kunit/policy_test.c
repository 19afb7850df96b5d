// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the quantum policy and the fairness ledger
 * (src/core/policy.c), on synthetic windows with and without a PMU.
 *
 * Defaults throughout: quanta 1 ms / 4 ms / 8 ms, warm at IPC >= 1.000,
 * LLC MPKI <= 1, branch MPKI <= 5, <= 1 exit per guest ms; exit-heavy at
 * >= 10 exits per guest ms; flush at LLC MPKI >= 20; phase end at an IPC
 * 30% under its recent average; idle at >= 50% halted; spinning at >= 1
 * PAUSE-loop exit per guest ms; payback above 20 ms of debt; history within
 * +-20%; latency-sensitive at bursts of <= 1 ms between halts.
 */
#include <kunit/test.h>
#include <linux/string.h>

#include "policy.h"

#define KQ_T_MIN 1000000ULL
#define KQ_T_BASE 4000000ULL
#define KQ_T_MAX 8000000ULL

/* Everything one vCPU's decisions need, on the heap (frame limit). */
struct kq_test_ctx {
	struct kq_policy_params p;
	struct kq_vm_policy vp;
	struct kq_vcpu_policy st;
	struct kq_history h;
	struct kq_window w;
};

static struct kq_test_ctx *kq_test_ctx_new(struct kunit *test)
{
	struct kq_test_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, c);
	kq_policy_defaults(&c->p);
	kq_vm_policy_defaults(&c->vp);
	kq_vcpu_policy_init(&c->st, &c->vp);
	kq_history_init(&c->h);
	return c;
}

/* The same, with no history adjustment: the base stays exactly 4 ms. */
static struct kq_test_ctx *kq_test_ctx_fixed(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_new(test);

	c->p.history_max_pct = 0;
	return c;
}

/*
 * A warm window: 10 ms, 8 ms in the guest with 4 exits (0.5 per ms), two
 * slices, no halt; with a PMU, IPC 2.000, LLC MPKI 0.5, branch MPKI 2.
 */
static void kq_test_warm(struct kq_window *w, bool pmu)
{
	*w = (struct kq_window){ 0 };
	w->window_ns = 10000000;
	w->guest_ns = 8000000;
	w->exits = 4;
	w->run_ns = 8000000;
	w->slices = 2;
	w->pmu[KVM_QUANTA_EV_CYCLES] = pmu ? 10000000 : KQ_NONE64;
	w->pmu[KVM_QUANTA_EV_INSTRUCTIONS] = pmu ? 20000000 : KQ_NONE64;
	w->pmu[KVM_QUANTA_EV_LLC_MISSES] = pmu ? 10000 : KQ_NONE64;
	w->pmu[KVM_QUANTA_EV_BRANCH_MISSES] = pmu ? 40000 : KQ_NONE64;
	kq_window_derive(w);
}

/* Add c->w (derived again) to the history and decide. */
/* As the sampler does: decide against the history before the window. */
static void kq_test_decide(struct kq_test_ctx *c)
{
	kq_window_derive(&c->w);
	kq_policy_window(&c->p, &c->vp, &c->st, &c->w, &c->h);
	kq_history_add(&c->h, &c->w);
}

/*
 * Decide on c->w with an empty history, after a base window (the latency
 * class's hysteresis looks at the reason before).
 */
static void kq_test_decide_fresh(struct kq_test_ctx *c)
{
	kq_history_init(&c->h);
	c->st.reason = KVM_QUANTA_R_BASE;
	kq_test_decide(c);
}

static void kq_test_expect(struct kunit *test, const struct kq_test_ctx *c,
			   u32 reason, u64 target, const char *what)
{
	KUNIT_EXPECT_EQ_MSG(test, c->st.reason, reason, "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, c->st.target_ns, target, "%s", what);
}

/* ---- defaults, init ------------------------------------------------- */

static void kq_test_defaults(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_new(test);
	unsigned int i;

	KUNIT_EXPECT_EQ(test, c->p.warm_ipc_milli, 1000);
	KUNIT_EXPECT_EQ(test, c->p.warm_llc_mpki_milli, 1000);
	KUNIT_EXPECT_EQ(test, c->p.warm_br_mpki_milli, 5000);
	KUNIT_EXPECT_EQ(test, c->p.warm_exit_rate_milli, 1000);
	KUNIT_EXPECT_EQ(test, c->p.heavy_exit_rate_milli, 10000);
	KUNIT_EXPECT_EQ(test, c->p.flush_llc_mpki_milli, 20000);
	KUNIT_EXPECT_EQ(test, c->p.phase_drop_pct, 30);
	KUNIT_EXPECT_EQ(test, c->p.idle_halt_pct, 50);
	KUNIT_EXPECT_EQ(test, c->p.history_max_pct, 20);
	KUNIT_EXPECT_EQ(test, c->p.debt_max_us, 20000);
	KUNIT_EXPECT_EQ(test, c->p.latency_burst_us, 1000);
	KUNIT_EXPECT_EQ(test, c->p.latency_boost, 3);
	KUNIT_EXPECT_EQ(test, c->p.ratelimit_us, 200);
	KUNIT_EXPECT_EQ(test, c->p.flush_burst_pct, 100);
	KUNIT_EXPECT_EQ(test, c->p.host_thresholds, 1);
	KUNIT_EXPECT_EQ(test, c->p.warm_pct, 25);
	KUNIT_EXPECT_EQ(test, c->p.flush_pct, 90);
	KUNIT_EXPECT_EQ(test, c->p.group_shift_pct, 20);
	KUNIT_EXPECT_EQ(test, c->p.smt_hungry_pct, 50);
	KUNIT_EXPECT_TRUE(test, c->vp.enabled);
	KUNIT_EXPECT_EQ(test, c->vp.min_us, 1000);
	KUNIT_EXPECT_EQ(test, c->vp.base_us, 4000);
	KUNIT_EXPECT_EQ(test, c->vp.max_us, 8000);
	KUNIT_EXPECT_EQ(test, c->vp.weight, 100);
	KUNIT_EXPECT_EQ(test, c->vp.group, 0);
	KUNIT_EXPECT_EQ(test, kq_vm_policy_validate(&c->vp), 0);

	memset(&c->st, 0x5a, sizeof(c->st));
	c->vp.base_us = 2500;
	kq_vcpu_policy_init(&c->st, &c->vp);
	KUNIT_EXPECT_EQ(test, c->st.debt_ns, 0);
	KUNIT_EXPECT_EQ(test, c->st.history_pct, 0);
	KUNIT_EXPECT_EQ(test, c->st.boost, 0);
	KUNIT_EXPECT_EQ(test, c->st.min_run_ns, 0);
	KUNIT_EXPECT_EQ(test, c->st.group_pct, 0);
	KUNIT_EXPECT_EQ(test, c->st.group_shift_pct, 0);
	KUNIT_EXPECT_EQ(test, c->st.smt, KQ_SMT_NONE);
	KUNIT_EXPECT_EQ(test, c->st.target_ns, 2500000);
	KUNIT_EXPECT_EQ(test, c->st.reason, KVM_QUANTA_R_BASE);
	for (i = 0; i < KVM_QUANTA_R_NR; i++)
		KUNIT_EXPECT_EQ_MSG(test, c->st.decisions[i], 0, "reason %u", i);
}

static void kq_test_reason_names(struct kunit *test)
{
	static const char *const names[KVM_QUANTA_R_NR] = {
		"base", "warm", "exit_heavy", "flush",
		"spin", "phase_end", "payback", "idle", "latency", "smt",
	};
	unsigned int i;

	for (i = 0; i < KVM_QUANTA_R_NR; i++) {
		KUNIT_ASSERT_NOT_NULL(test, kq_reason_name(i));
		KUNIT_EXPECT_STREQ(test, kq_reason_name(i), names[i]);
	}
	KUNIT_EXPECT_NULL(test, kq_reason_name(KVM_QUANTA_R_NR));
	KUNIT_EXPECT_NULL(test, kq_reason_name(~0U));
}

/* ---- classification, with and without a PMU ----------------------------- */

/* A warm loop is extended to the VM's max; each signal has its threshold. */
static void kq_test_warm_pmu(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_fixed(test);

	kq_test_warm(&c->w, true);
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_EQ(test, c->w.ipc_milli, 2000);
	KUNIT_EXPECT_EQ(test, c->w.llc_mpki_milli, 500);
	KUNIT_EXPECT_EQ(test, c->w.br_mpki_milli, 2000);
	KUNIT_EXPECT_EQ(test, c->w.exit_rate_milli, 500);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "warm");

	/* Another VM's max. */
	c->vp.max_us = 12345;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, 12345000, "max 12345 us");
	c->vp.max_us = 8000;

	/* IPC exactly 1.000 is high; 0.999 is not. */
	c->w.pmu[KVM_QUANTA_EV_CYCLES] = 20000000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "ipc 1000");
	c->w.pmu[KVM_QUANTA_EV_CYCLES] = 20000001;
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_EQ(test, c->w.ipc_milli, 999);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "ipc 999");
	kq_test_warm(&c->w, true);

	/* LLC MPKI exactly 1 is warm; 1.001 is not. */
	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 20000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "llc 1000");
	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 20020;
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_EQ(test, c->w.llc_mpki_milli, 1001);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "llc 1001");
	kq_test_warm(&c->w, true);

	/* Branch MPKI exactly 5 is warm; 5.001 is not. */
	c->w.pmu[KVM_QUANTA_EV_BRANCH_MISSES] = 100000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "br 5000");
	c->w.pmu[KVM_QUANTA_EV_BRANCH_MISSES] = 100020;
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_EQ(test, c->w.br_mpki_milli, 5001);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "br 5001");
	kq_test_warm(&c->w, true);

	/* 1 exit per guest ms is few; 1.125 is not, whatever the PMU says. */
	c->w.exits = 8;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "1 exit/ms");
	c->w.exits = 9;
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_EQ(test, c->w.exit_rate_milli, 1125);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "1.125 exits/ms");

	/* No guest time: no exit rate, so not warm (and not idle: it ran). */
	kq_test_warm(&c->w, true);
	c->w.guest_ns = 0;
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_EQ(test, c->w.exit_rate_milli, KQ_NONE64);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "no guest time");

	/* Only cycles and instructions counted: warm on IPC and exits. */
	kq_test_warm(&c->w, true);
	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = KQ_NONE64;
	c->w.pmu[KVM_QUANTA_EV_BRANCH_MISSES] = KQ_NONE64;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "ipc only");
	c->w.pmu[KVM_QUANTA_EV_CYCLES] = 40000000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "ipc only, 0.5");
}

/* An LLC miss burst is a flush: cut to min, before any other signal. */
static void kq_test_flush(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_fixed(test);

	kq_test_warm(&c->w, true);
	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 400000;
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_EQ(test, c->w.llc_mpki_milli, 20000);
	kq_test_expect(test, c, KVM_QUANTA_R_FLUSH, KQ_T_MIN, "mpki 20");

	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 399980;
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_EQ(test, c->w.llc_mpki_milli, 19999);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "mpki 19.999");

	/* A flush that is also exit-heavy is a flush. */
	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 2000000;
	c->w.exits = 800;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_FLUSH, KQ_T_MIN, "flush, heavy");

	/* Another VM's min. */
	c->vp.min_us = 250;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_FLUSH, 250000, "min 250 us");
}

/*
 * A flush is a burst against the vCPU's own recent level: a streaming
 * vCPU at 30 MPKI every window is not flushing every window.
 */
static void kq_test_flush_burst(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_fixed(test);
	int i;

	kq_test_warm(&c->w, true);
	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 600000;	/* 30 MPKI */
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_FLUSH, KQ_T_MIN, "first window");
	for (i = 0; i < 20; i++)
		kq_test_decide(c);
	KUNIT_EXPECT_EQ(test, c->h.recent.llc_mpki_milli, 30000);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "streaming");
	KUNIT_EXPECT_EQ(test, c->st.decisions[KVM_QUANTA_R_FLUSH], 1);

	/* Twice its level is a burst; a miss fewer is not. */
	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 1200000;
	kq_window_derive(&c->w);
	kq_policy_window(&c->p, &c->vp, &c->st, &c->w, &c->h);
	kq_test_expect(test, c, KVM_QUANTA_R_FLUSH, KQ_T_MIN, "60 MPKI");
	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 1199980;
	kq_window_derive(&c->w);
	kq_policy_window(&c->p, &c->vp, &c->st, &c->w, &c->h);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "59.999 MPKI");

	/* The knob: at 0, any window over the level and the floor is one. */
	c->p.flush_burst_pct = 0;
	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 600000;
	kq_window_derive(&c->w);
	kq_policy_window(&c->p, &c->vp, &c->st, &c->w, &c->h);
	kq_test_expect(test, c, KVM_QUANTA_R_FLUSH, KQ_T_MIN, "burst 0%");
	/* Still above the floor only. */
	c->p.flush_llc_mpki_milli = 40000;
	kq_window_derive(&c->w);
	kq_policy_window(&c->p, &c->vp, &c->st, &c->w, &c->h);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "under floor");
}

/* IPC well under its recent average ends a phase: cut to min. */
static void kq_test_phase_end(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_fixed(test);
	unsigned int i;

	kq_test_warm(&c->w, true);
	for (i = 0; i < 4; i++) {
		kq_test_decide(c);
		kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "steady");
	}
	KUNIT_EXPECT_EQ(test, c->h.recent.ipc_milli, 2000);

	/* IPC 2.000 -> 1.000, still "high", otherwise warm. */
	c->w.pmu[KVM_QUANTA_EV_INSTRUCTIONS] = 10000000;
	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 5000;
	c->w.pmu[KVM_QUANTA_EV_BRANCH_MISSES] = 20000;
	kq_test_decide(c);
	KUNIT_EXPECT_EQ(test, c->w.ipc_milli, 1000);
	kq_test_expect(test, c, KVM_QUANTA_R_PHASE_END, KQ_T_MIN, "drop 50%");

	/* The same window with no past is simply warm. */
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "no past");

	/* The next phase, steady at its own IPC, is warm again. */
	for (i = 0; i < 8; i++)
		kq_test_decide(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "new phase");

	/* Without a PMU there is no IPC: no phase end. */
	kq_history_init(&c->h);
	kq_test_warm(&c->w, false);
	c->w.exits = 40;	/* 5 per ms: base */
	for (i = 0; i < 4; i++)
		kq_test_decide(c);
	c->w.exits = 4;
	kq_test_decide(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "no pmu");
}

/*
 * The threshold is phase_drop_pct under the recent average, i.e. the
 * average of the windows before this one: 2.000 -> 1.300 is a 35% drop.
 */
static void kq_test_phase_end_threshold(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_fixed(test);
	unsigned int i;

	/* 29% under: not a phase end. */
	kq_test_warm(&c->w, true);
	for (i = 0; i < 4; i++)
		kq_test_decide(c);
	c->w.pmu[KVM_QUANTA_EV_INSTRUCTIONS] = 14200000;
	kq_test_decide(c);
	KUNIT_EXPECT_EQ(test, c->w.ipc_milli, 1420);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "drop 29%");

	/* 35% under: a phase end. */
	kq_history_init(&c->h);
	kq_test_warm(&c->w, true);
	for (i = 0; i < 4; i++)
		kq_test_decide(c);
	c->w.pmu[KVM_QUANTA_EV_INSTRUCTIONS] = 13000000;
	kq_test_decide(c);
	KUNIT_EXPECT_EQ(test, c->w.ipc_milli, 1300);
	kq_test_expect(test, c, KVM_QUANTA_R_PHASE_END, KQ_T_MIN, "drop 35%");
}

/* Exit-heavy: min, shorter and more frequent slices. */
static void kq_test_exit_heavy(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_fixed(test);

	/* 80 exits in 8 ms of guest time: 10 per ms, with a warm PMU. */
	kq_test_warm(&c->w, true);
	c->w.exits = 80;
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_EQ(test, c->w.exit_rate_milli, 10000);
	kq_test_expect(test, c, KVM_QUANTA_R_EXIT_HEAVY, KQ_T_MIN, "10/ms");

	c->w.exits = 79;
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_EQ(test, c->w.exit_rate_milli, 9875);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "9.875/ms");

	c->w.exits = 100000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_EXIT_HEAVY, KQ_T_MIN, "12500/ms");
}

/* Halted half the window or more: idle, base; before every other rule. */
static void kq_test_idle(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_fixed(test);

	kq_test_warm(&c->w, true);
	c->w.halt_ns = 5000000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_IDLE, KQ_T_BASE, "halt 50%");

	c->w.halt_ns = 4999999;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "halt 49.99%");

	/* Idle wins over a flush and over exit-heavy. */
	c->w.halt_ns = 6000000;
	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 2000000;
	c->w.exits = 800;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_IDLE, KQ_T_BASE, "idle, flush");

	/* Did not run at all: nothing to say, idle. */
	c->w.guest_ns = 0;
	c->w.run_ns = 0;
	c->w.slices = 0;
	c->w.exits = 0;
	c->w.halt_ns = 0;
	c->w.pmu[KVM_QUANTA_EV_CYCLES] = 0;
	c->w.pmu[KVM_QUANTA_EV_INSTRUCTIONS] = 0;
	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 0;
	c->w.pmu[KVM_QUANTA_EV_BRANCH_MISSES] = 0;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_IDLE, KQ_T_BASE, "did not run");

	/* Without a PMU, the same. */
	kq_test_warm(&c->w, false);
	c->w.halt_ns = 7000000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_IDLE, KQ_T_BASE, "no pmu");
}

/*
 * A request server: 10 ms, woken 4 times, 250 us on the CPU each time
 * (1 ms), 0.8 ms of it in the guest with 40 exits (50 per guest ms:
 * exit-heavy by rate), 3 ms waiting behind hogs, 6 ms halted.
 */
static void kq_test_server(struct kq_window *w)
{
	*w = (struct kq_window){ 0 };
	w->window_ns = 10000000;
	w->guest_ns = 800000;
	w->exits = 40;
	w->run_ns = 1000000;
	w->wait_ns = 3000000;
	w->slices = 4;
	w->halt_ns = 6000000;
	w->pmu[KVM_QUANTA_EV_CYCLES] = KQ_NONE64;
	w->pmu[KVM_QUANTA_EV_INSTRUCTIONS] = KQ_NONE64;
	w->pmu[KVM_QUANTA_EV_LLC_MISSES] = KQ_NONE64;
	w->pmu[KVM_QUANTA_EV_BRANCH_MISSES] = KQ_NONE64;
}

/*
 * Short bursts between halts: latency, the minimum, never cut; before
 * every other rule, and against time run, not the window.
 */
static void kq_test_latency(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_fixed(test);

	kq_test_server(&c->w);
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_LATENCY, KQ_T_MIN, "server");
	KUNIT_EXPECT_FALSE(test, kq_policy_cut_now(&c->st, U64_MAX, 0));
	KUNIT_EXPECT_EQ(test, c->st.decisions[KVM_QUANTA_R_LATENCY], 1);
	KUNIT_EXPECT_EQ(test, c->st.boost, -3);
	KUNIT_EXPECT_EQ(test, c->st.payback, 0);
	c->p.latency_boost = 1;
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_EQ(test, c->st.boost, -1);
	c->p.latency_boost = 0;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_LATENCY, KQ_T_MIN, "no boost");
	KUNIT_EXPECT_EQ(test, c->st.boost, 0);
	c->p.latency_boost = 3;

	/* Bursts of exactly 1 ms still are; 1 ns more on average is not. */
	c->w.run_ns = 4000000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_LATENCY, KQ_T_MIN, "1 ms bursts");
	c->w.run_ns = 4000004;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_IDLE, KQ_T_BASE, "1 ms + 1 ns");
	KUNIT_EXPECT_EQ(test, c->st.boost, 0);

	/* Latency-sensitive before: up to 2 ms bursts, while it halts enough. */
	kq_history_init(&c->h);
	c->st.reason = KVM_QUANTA_R_LATENCY;
	kq_test_decide(c);
	kq_test_expect(test, c, KVM_QUANTA_R_LATENCY, KQ_T_MIN, "stays");
	c->w.halt_ns = 8000000;
	c->w.run_ns = 8000000;
	kq_test_decide(c);
	kq_test_expect(test, c, KVM_QUANTA_R_LATENCY, KQ_T_MIN, "2 ms bursts");
	c->w.run_ns = 8000004;
	kq_test_decide(c);
	kq_test_expect(test, c, KVM_QUANTA_R_IDLE, KQ_T_BASE, "2 ms + 1 ns");
	c->w.run_ns = 8000000;
	kq_test_decide(c);
	kq_test_expect(test, c, KVM_QUANTA_R_IDLE, KQ_T_BASE, "not again");
	kq_test_server(&c->w);

	/* Halted as long as it ran still is; 1 ns less is not. */
	c->w.halt_ns = 600000;
	c->w.run_ns = 600000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_LATENCY, KQ_T_MIN, "halt = run");
	c->w.halt_ns = 599999;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_EXIT_HEAVY, KQ_T_MIN, "halt < run");

	/* Waiting most of the window behind hogs does not hide it. */
	kq_test_server(&c->w);
	c->w.wait_ns = 8500000;
	c->w.halt_ns = 1000000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_LATENCY, KQ_T_MIN, "waits");

	/* A hog preempted often has short quanta but never halts. */
	kq_test_warm(&c->w, false);
	c->w.slices = 80;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "preempted hog");

	/* Scheduled once for nothing, never halted: not a server. */
	kq_test_server(&c->w);
	c->w.run_ns = 0;
	c->w.guest_ns = 0;
	c->w.exits = 0;
	c->w.halt_ns = 0;
	c->w.slices = 1;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "no halt");

	/* Never scheduled: no quantum to judge. */
	kq_test_server(&c->w);
	c->w.run_ns = 0;
	c->w.slices = 0;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_IDLE, KQ_T_BASE, "no slice");

	/* Before a flush and a spin; the knob at 0 turns the class off. */
	kq_test_server(&c->w);
	c->w.ple_exits = 100;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_LATENCY, KQ_T_MIN, "spin");
	c->p.latency_burst_us = 0;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_IDLE, KQ_T_BASE, "off");

	/* A debtor keeps its short slice: payback lowers weight, not this. */
	c->p.latency_burst_us = 1000;
	c->st.debt_ns = 100000000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_LATENCY, KQ_T_MIN, "debtor");
	KUNIT_EXPECT_GT(test, c->st.payback, 0);
	KUNIT_EXPECT_EQ(test, c->st.boost, 0);
	/* Even, or owed time: boosted, on top of a creditor's correction. */
	c->st.debt_ns = 0;
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_EQ(test, c->st.payback, 0);
	KUNIT_EXPECT_EQ(test, c->st.boost, -3);
	c->st.debt_ns = -100000000;
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_EQ(test, c->st.payback, -3);
	KUNIT_EXPECT_EQ(test, c->st.boost, -3);
	KUNIT_EXPECT_EQ(test, kq_policy_nice(100000, c->st.payback + c->st.boost),
			-6);
	c->st.debt_ns = 0;

	/* Its own minimum, not another VM's. */
	c->vp.min_us = 300;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_LATENCY, 300000, "min 300 us");
}

/*
 * Beside a latency-sensitive vCPU, no slice longer than the thread's own;
 * the latency-sensitive one keeps its target; elsewhere, the target.
 */
static void kq_test_slice_beside_latency(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_fixed(test);

	kq_test_warm(&c->w, false);
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "warm");
	KUNIT_EXPECT_EQ(test, kq_policy_slice(&c->st, 1400000, false), KQ_T_MAX);
	KUNIT_EXPECT_EQ(test, kq_policy_slice(&c->st, 1400000, true), 1400000);
	/* Not lengthened either: a shorter target stays. */
	KUNIT_EXPECT_EQ(test, kq_policy_slice(&c->st, 9000000, true), KQ_T_MAX);
	KUNIT_EXPECT_EQ(test, kq_policy_slice(&c->st, KQ_T_MAX, true), KQ_T_MAX);
	KUNIT_EXPECT_EQ(test, kq_policy_slice(&c->st, KQ_T_MAX - 1, true),
			KQ_T_MAX - 1);
	/* Its own not known (0): no bound, never 0 (the default). */
	KUNIT_EXPECT_EQ(test, kq_policy_slice(&c->st, 0, true), KQ_T_MAX);

	kq_test_server(&c->w);
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_LATENCY, KQ_T_MIN, "server");
	c->st.target_ns = 2000000;	/* a VM whose minimum is 2 ms */
	KUNIT_EXPECT_EQ(test, kq_policy_slice(&c->st, 1400000, true), 2000000);
}

/* Without a PMU the rules run on the exit rate. */
/*
 * SMT (the input from kq_smt_window()): a warm vCPU beside cache-hungry
 * work is not extended; the worse thrasher is cut short from a warm, base
 * or payback window; shorter decisions and other VMs' choices stand.
 */
static void kq_test_smt(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_fixed(test);

	kq_test_warm(&c->w, true);
	c->st.smt = KQ_SMT_PRESSED;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_SMT, KQ_T_BASE, "warm, pressed");
	KUNIT_EXPECT_EQ(test, c->st.decisions[KVM_QUANTA_R_SMT], 1);
	KUNIT_EXPECT_EQ(test, c->st.decisions[KVM_QUANTA_R_WARM], 0);
	c->st.smt = KQ_SMT_THRASHER;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_SMT, KQ_T_MIN, "warm, thrasher");
	c->st.smt = KQ_SMT_NONE;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "warm, no press");

	/* Base: pressed changes nothing, the thrasher is cut. */
	c->w.exits = 40;
	c->st.smt = KQ_SMT_PRESSED;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "base, pressed");
	c->st.smt = KQ_SMT_THRASHER;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_SMT, KQ_T_MIN, "base, thrasher");
	/* Cut at its minimum only while the sibling runs hungry work. */
	KUNIT_EXPECT_FALSE(test, kq_policy_cut_now(&c->st, KQ_T_MIN - 1,
						   KQ_AT_SIBLING_HUNGRY));
	KUNIT_EXPECT_TRUE(test, kq_policy_cut_now(&c->st, KQ_T_MIN,
						  KQ_AT_SIBLING_HUNGRY));
	KUNIT_EXPECT_FALSE(test, kq_policy_cut_now(&c->st, KQ_T_MAX, 0));

	/* Payback: the thrasher is cut, a pressed one keeps paying back. */
	c->st.debt_ns = 100000000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_SMT, KQ_T_MIN, "payback, thrasher");
	c->st.smt = KQ_SMT_PRESSED;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_PAYBACK, KQ_T_BASE, "payback, pressed");
	c->st.debt_ns = 0;
	c->st.payback = 0;

	/* A flush stays a flush; exit-heavy stays exit-heavy. */
	c->st.smt = KQ_SMT_THRASHER;
	kq_test_warm(&c->w, true);
	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 400000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_FLUSH, KQ_T_MIN, "flush, thrasher");
	kq_test_warm(&c->w, true);
	c->w.exits = 800;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_EXIT_HEAVY, KQ_T_MIN, "heavy, thrasher");

	/* A VM whose policy is off is not touched. */
	kq_test_warm(&c->w, true);
	c->vp.enabled = false;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "disabled, thrasher");
}

static void kq_test_no_pmu(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_fixed(test);

	kq_test_warm(&c->w, false);
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_EQ(test, c->w.ipc_milli, KQ_NONE32);
	KUNIT_EXPECT_EQ(test, c->w.llc_mpki_milli, KQ_NONE32);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "few exits");

	c->w.exits = 8;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "1/ms");
	c->w.exits = 20;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "2.5/ms");
	c->w.exits = 79;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "9.875/ms");
	c->w.exits = 80;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_EXIT_HEAVY, KQ_T_MIN, "10/ms");
	c->w.exits = 4000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_EXIT_HEAVY, KQ_T_MIN, "500/ms");

	/* Enabled but not running on the PMU (KQ_NONE64 counts). */
	kq_test_warm(&c->w, true);
	c->w.pmu[KVM_QUANTA_EV_CYCLES] = KQ_NONE64;
	c->w.pmu[KVM_QUANTA_EV_INSTRUCTIONS] = KQ_NONE64;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "no insns");
}

/* ---- the fairness ledger ------------------------------------------------ */

static void kq_test_entry(struct kq_ledger_entry *e, int cpu, u64 run,
			  u64 wait, u32 weight, s64 debt)
{
	e->cpu = cpu;
	e->run_ns = run;
	e->wait_ns = wait;
	e->weight = weight;
	e->debt_ns = debt;
}

static void kq_test_ledger_share(struct kunit *test)
{
	struct kq_ledger_entry e[3];

	/* Equal weights, both runnable 10 ms, 10 ms run: 5 ms each. */
	kq_test_entry(&e[0], 0, 6000000, 4000000, 100, 0);
	kq_test_entry(&e[1], 0, 4000000, 6000000, 100, 0);
	kq_ledger_window(e, 2);
	KUNIT_EXPECT_EQ(test, e[0].debt_ns, 1000000);
	KUNIT_EXPECT_EQ(test, e[1].debt_ns, -1000000);
	/* It adds up. */
	kq_ledger_window(e, 2);
	KUNIT_EXPECT_EQ(test, e[0].debt_ns, 2000000);
	KUNIT_EXPECT_EQ(test, e[1].debt_ns, -2000000);

	/* Three: 10 ms / 3 = 3333333 each (truncated). */
	kq_test_entry(&e[0], 2, 4000000, 6000000, 100, 0);
	kq_test_entry(&e[1], 2, 3000000, 7000000, 100, 0);
	kq_test_entry(&e[2], 2, 3000000, 7000000, 100, 0);
	kq_ledger_window(e, 3);
	/* The 1 ns left over goes to the first of equal runnable times. */
	KUNIT_EXPECT_EQ(test, e[0].debt_ns, 666666);
	KUNIT_EXPECT_EQ(test, e[1].debt_ns, -333333);
	KUNIT_EXPECT_EQ(test, e[2].debt_ns, -333333);

	/*
	 * Runnable 6 ms within the other's 8 ms (6 ms of wait: all of the
	 * 6 ms overlap): 3 ms each there, the other alone 2 ms: 3 and 5.
	 */
	kq_test_entry(&e[0], 1, 5000000, 1000000, 100, 0);
	kq_test_entry(&e[1], 1, 3000000, 5000000, 100, 0);
	kq_ledger_window(e, 2);
	KUNIT_EXPECT_EQ(test, e[0].debt_ns, 2000000);
	KUNIT_EXPECT_EQ(test, e[1].debt_ns, -2000000);
	KUNIT_EXPECT_EQ(test, e[0].fair_ns, 3000000);
	KUNIT_EXPECT_EQ(test, e[1].fair_ns, 5000000);

	/* Exactly the fair share: nothing changes. */
	kq_test_entry(&e[0], 0, 2500000, 7500000, 100, 1234);
	kq_test_entry(&e[1], 0, 7500000, 2500000, 300, -5678);
	kq_ledger_window(e, 2);
	KUNIT_EXPECT_EQ(test, e[0].debt_ns, 1234);
	KUNIT_EXPECT_EQ(test, e[1].debt_ns, -5678);
}

static void kq_test_ledger_weights(struct kunit *test)
{
	struct kq_ledger_entry e[2];

	/* Weight 300 vs 100, both runnable 10 ms: 7.5 ms and 2.5 ms. */
	kq_test_entry(&e[0], 0, 6000000, 4000000, 300, 0);
	kq_test_entry(&e[1], 0, 4000000, 6000000, 100, 0);
	kq_ledger_window(e, 2);
	KUNIT_EXPECT_EQ(test, e[0].debt_ns, -1500000);
	KUNIT_EXPECT_EQ(test, e[1].debt_ns, 1500000);

	/* Weight 1 vs 10000. */
	kq_test_entry(&e[0], 0, 5000000, 5000000, 1, 0);
	kq_test_entry(&e[1], 0, 5000000, 5000000, 10000, 0);
	kq_ledger_window(e, 2);
	/*
	 * fair: 10 ms x 1 / 10001 = 999.9 ns, rounded down; the ns left goes
	 * to the first of the tie by content, the heavier.
	 */
	KUNIT_EXPECT_EQ(test, e[0].debt_ns, 5000000 - 999);
	KUNIT_EXPECT_EQ(test, e[1].debt_ns, 5000000 - 9999001);
}

/* vCPUs on different CPUs do not share. */
static void kq_test_ledger_cpus(struct kunit *test)
{
	struct kq_ledger_entry e[4];

	kq_test_entry(&e[0], 1, 2000000, 8000000, 100, 0);
	kq_test_entry(&e[1], 0, 8000000, 2000000, 100, 0);
	kq_test_entry(&e[2], 1, 6000000, 4000000, 100, 0);
	kq_test_entry(&e[3], 3, 0, 5000000, 100, 7);
	kq_ledger_window(e, 4);
	KUNIT_EXPECT_EQ(test, e[0].debt_ns, -2000000);
	KUNIT_EXPECT_EQ(test, e[1].debt_ns, 0);
	KUNIT_EXPECT_EQ(test, e[2].debt_ns, 2000000);
	KUNIT_EXPECT_EQ(test, e[3].debt_ns, 7);

	/* Alone on a CPU, whatever it ran, it ran its share. */
	kq_test_entry(&e[0], 5, 9000000, 0, 1, -3);
	kq_ledger_window(e, 1);
	KUNIT_EXPECT_EQ(test, e[0].debt_ns, -3);

	/* Nothing runnable: unchanged; no entries: nothing happens. */
	kq_test_entry(&e[0], 0, 0, 0, 100, 11);
	kq_test_entry(&e[1], 0, 0, 0, 100, -11);
	kq_ledger_window(e, 2);
	KUNIT_EXPECT_EQ(test, e[0].debt_ns, 11);
	KUNIT_EXPECT_EQ(test, e[1].debt_ns, -11);
	kq_ledger_window(e, 0);
	KUNIT_EXPECT_EQ(test, e[0].debt_ns, 11);
}

/*
 * An unpinned vCPU: its run time by CPU from the exit path's slots, its
 * window split over them, the ledger per CPU, and its debt joined again.
 * 50 ms; it ran 30 ms on CPU 0 and 20 on CPU 1 (wait 30: 18 and 12); one
 * always-runnable vCPU on each CPU.  Debts: +6 and +4, -6, -4.
 */
static void kq_test_ledger_split(struct kunit *test)
{
	struct kq_ran_on prev[KQ_RAN_SLOTS], cur[KQ_RAN_SLOTS];
	struct kq_ledger_entry e[KQ_RAN_SLOTS + 2];
	s32 cpus[KQ_RAN_SLOTS];
	u64 ns[KQ_RAN_SLOTS];
	unsigned int n, m;
	u32 next = 0;

	kq_ran_init(prev);
	kq_ran_init(cur);
	kq_ran_add(cur, &next, 0, 1000);
	prev[0] = cur[0];
	kq_ran_add(cur, &next, 0, 3000);
	kq_ran_add(cur, &next, 1, 2000);
	n = kq_ran_window(prev, cur, cpus, ns);
	KUNIT_ASSERT_EQ(test, n, 2U);
	KUNIT_EXPECT_EQ(test, ns[0], 3000ULL);
	KUNIT_EXPECT_EQ(test, cpus[1], 1);
	m = kq_ledger_split(e, 1, 50000000, 30000000, 0, 100, 3000000, true,
			    cpus, ns, n);
	KUNIT_ASSERT_EQ(test, m, 2U);
	KUNIT_EXPECT_EQ(test, e[1].wait_ns, 12000000ULL);
	kq_test_entry(&e[m], 0, 20000000, 30000000, 100, 0);
	kq_test_entry(&e[m + 1], 1, 30000000, 20000000, 100, 0);
	kq_ledger_window(e, m + 2);
	KUNIT_EXPECT_EQ(test, kq_ledger_join(e, m), 13000000LL);
	KUNIT_EXPECT_EQ(test, e[m].debt_ns, -6000000LL);
	KUNIT_EXPECT_EQ(test, e[m + 1].debt_ns, -4000000LL);
	/* Its first window: in the ledger with nothing, its debt standing. */
	m = kq_ledger_split(e, 1, 50000000, 30000000, 0, 100, 3000000, false,
			    cpus, ns, n);
	KUNIT_ASSERT_EQ(test, m, 2U);
	KUNIT_EXPECT_EQ(test, e[0].run_ns + e[1].run_ns, 0ULL);
	KUNIT_EXPECT_EQ(test, e[0].wait_ns + e[1].wait_ns, 0ULL);
	KUNIT_EXPECT_EQ(test, kq_ledger_join(e, m), 3000000LL);
}

/*
 * The case: A runnable all of a 100 ms window, B half of it.  The
 * unmodified scheduler gives 25 ms each while both are runnable and A the
 * rest: 75/25 is no debt.  A taking 5 ms more is 5 ms.
 */
static void kq_test_ledger_overlap(struct kunit *test)
{
	struct kq_ledger_entry e[2];

	kq_test_entry(&e[0], 0, 75000000, 25000000, 100, 0);
	kq_test_entry(&e[1], 0, 25000000, 25000000, 100, 0);
	kq_ledger_window(e, 2);
	KUNIT_EXPECT_EQ(test, e[0].fair_ns, 75000000);
	KUNIT_EXPECT_EQ(test, e[0].debt_ns, 0);
	KUNIT_EXPECT_EQ(test, e[1].debt_ns, 0);
	kq_test_entry(&e[0], 0, 80000000, 20000000, 100, 0);
	kq_test_entry(&e[1], 0, 20000000, 30000000, 100, 0);
	kq_ledger_window(e, 2);
	KUNIT_EXPECT_EQ(test, e[0].debt_ns, 5000000);
	KUNIT_EXPECT_EQ(test, e[1].debt_ns, -5000000);
}

/* No clamp: what is run beyond the fair share stays owed. */
/*
 * A request server among two hogs on one CPU: 7 of 100 ms, served at once
 * on waking, halted the rest.  Served: what it ran is owed to it (up to a
 * third here), not a third of its short runnable periods.
 */
static void kq_test_ledger_served(struct kunit *test)
{
	struct kq_ledger_entry e[3] = {
		{ .cpu = 0, .run_ns = 46500000, .wait_ns = 53500000,
		  .weight = 100000 },
		{ .cpu = 0, .run_ns = 7000000, .wait_ns = 2000000,
		  .weight = 100000 },
		{ .cpu = 0, .run_ns = 46500000, .wait_ns = 53500000,
		  .weight = 100000 },
	};

	kq_ledger_window(e, 3);
	KUNIT_EXPECT_GT(test, e[1].debt_ns, 3000000);
	e[0].debt_ns = 0;
	e[1].debt_ns = 0;
	e[2].debt_ns = 0;
	e[1].served = true;
	kq_ledger_window(e, 3);
	KUNIT_EXPECT_EQ(test, e[1].fair_ns, 7000000);
	KUNIT_EXPECT_EQ(test, e[0].debt_ns, 0);
	KUNIT_EXPECT_EQ(test, e[1].debt_ns, 0);
	KUNIT_EXPECT_EQ(test, e[2].debt_ns, 0);

	/* Beyond its third: the excess is debt. */
	e[1].run_ns = 50000000;
	e[1].debt_ns = 0;
	e[0].run_ns = 25000000;
	e[2].run_ns = 25000000;
	kq_ledger_window(e, 3);
	KUNIT_EXPECT_EQ(test, e[1].fair_ns, 33333333);
	KUNIT_EXPECT_EQ(test, e[1].debt_ns, 50000000 - 33333333);
	KUNIT_EXPECT_EQ(test, e[0].fair_ns + e[1].fair_ns + e[2].fair_ns,
			100000000);

	/*
	 * Waiting behind hogs is no credit: 10 ms run, 30 waited, due 10
	 * where the runnable-period model gives 13.3; the 3.3 go to the hogs,
	 * who waited.
	 */
	e[0] = (struct kq_ledger_entry){ .run_ns = 45000000,
					 .wait_ns = 55000000,
					 .weight = 100000 };
	e[1] = (struct kq_ledger_entry){ .run_ns = 10000000,
					 .wait_ns = 30000000,
					 .weight = 100000, .served = true };
	e[2] = e[0];
	kq_ledger_window(e, 3);
	KUNIT_EXPECT_EQ(test, e[1].fair_ns, 10000000);
	KUNIT_EXPECT_EQ(test, e[1].debt_ns, 0);
	KUNIT_EXPECT_EQ(test, e[0].fair_ns + e[2].fair_ns, 90000000);

	/*
	 * Two served at weights 3:1 owed more than the one not served holds:
	 * it gives all it holds, the time is handed out to the ns, and the
	 * one that ran 5 ms of its 1/5 is owed it.
	 */
	e[0] = (struct kq_ledger_entry){ .run_ns = 60000000,
					 .wait_ns = 1000000,
					 .weight = 300000, .served = true };
	e[1] = (struct kq_ledger_entry){ .run_ns = 5000000,
					 .wait_ns = 35000000,
					 .weight = 100000, .served = true };
	e[2] = (struct kq_ledger_entry){ .run_ns = 35000000,
					 .wait_ns = 1000000,
					 .weight = 100000 };
	kq_ledger_window(e, 3);
	KUNIT_EXPECT_EQ(test, e[0].fair_ns + e[1].fair_ns + e[2].fair_ns,
			100000000);
	KUNIT_EXPECT_EQ(test, e[1].fair_ns, 5000000);
	KUNIT_EXPECT_LE(test, e[0].fair_ns, 60000000);
	KUNIT_EXPECT_LE(test, e[2].fair_ns, 36000000);

	/*
	 * Every vCPU that wanted the CPU was served: each is owed what it
	 * ran, whoever waited for whom.
	 */
	e[0] = (struct kq_ledger_entry){ .run_ns = 10000000,
					 .wait_ns = 30000000,
					 .weight = 100000, .served = true };
	e[1] = (struct kq_ledger_entry){ .run_ns = 40000000,
					 .wait_ns = 10000000,
					 .weight = 100000, .served = true };
	e[2] = (struct kq_ledger_entry){ .weight = 100000 };
	kq_ledger_window(e, 3);
	KUNIT_EXPECT_EQ(test, e[0].fair_ns, 10000000);
	KUNIT_EXPECT_EQ(test, e[1].fair_ns, 40000000);
	KUNIT_EXPECT_EQ(test, e[0].debt_ns, 0);
	KUNIT_EXPECT_EQ(test, e[1].debt_ns, 0);
	KUNIT_EXPECT_EQ(test, e[2].fair_ns, 0);

	/* kq_ledger_split() marks it from its halt time. */
	KUNIT_EXPECT_EQ(test, kq_ledger_split(e, 0, 7, 2, 7, 1, 0, true, NULL,
					      NULL, 0), 1);
	KUNIT_EXPECT_TRUE(test, e[0].served);
	kq_ledger_split(e, 0, 7, 2, 6, 1, 0, true, NULL, NULL, 0);
	KUNIT_EXPECT_FALSE(test, e[0].served);
	kq_ledger_split(e, 0, 0, 2, 0, 1, 0, true, NULL, NULL, 0);
	KUNIT_EXPECT_FALSE(test, e[0].served);
}

static void kq_test_ledger_never_forgives(struct kunit *test)
{
	struct kq_ledger_entry e[2];
	unsigned int i;

	kq_test_entry(&e[0], 0, 0, 0, 100, 0);
	kq_test_entry(&e[1], 0, 0, 0, 100, 0);
	for (i = 0; i < 100; i++) {
		e[0].run_ns = 9000000;
		e[0].wait_ns = 1000000;
		e[1].run_ns = 1000000;
		e[1].wait_ns = 9000000;
		kq_ledger_window(e, 2);
	}
	KUNIT_EXPECT_EQ(test, e[0].debt_ns, 400000000);
	KUNIT_EXPECT_EQ(test, e[1].debt_ns, -400000000);
}

/* Deadband, one level per started multiple, at most 3, hysteresis. */
static void kq_test_ledger_correction(struct kunit *test)
{
	const s64 b = 20000000;

	KUNIT_EXPECT_EQ(test, kq_ledger_correction(b, b, 0), 0);
	KUNIT_EXPECT_EQ(test, kq_ledger_correction(b + 1, b, 0), 1);
	KUNIT_EXPECT_EQ(test, kq_ledger_correction(2 * b + 1, b, 0), 2);
	KUNIT_EXPECT_EQ(test, kq_ledger_correction(9 * b, b, 0), 3);
	KUNIT_EXPECT_EQ(test, kq_ledger_correction(-b - 1, b, 0), -1);
	KUNIT_EXPECT_EQ(test, kq_ledger_correction(-9 * b, b, 0), -3);
	KUNIT_EXPECT_EQ(test, kq_ledger_correction(1, b, 2), 1);
	KUNIT_EXPECT_EQ(test, kq_ledger_correction(0, b, 2), 0);
	KUNIT_EXPECT_EQ(test, kq_ledger_correction(-1, b, -1), -1);
	KUNIT_EXPECT_EQ(test, kq_ledger_correction(1, b, -1), 0);
	/* The VM weight split and the nice it comes to. */
	KUNIT_EXPECT_EQ(test, kq_ledger_weight(100, 100000000, 400000000,
					       100000000), 25000);
	KUNIT_EXPECT_EQ(test, kq_policy_nice(25000, 0), 6);
	KUNIT_EXPECT_EQ(test, kq_policy_nice(100000, -3), -3);
}

/* ---- payback ------------------------------------------------------------- */

static void kq_test_payback(struct kunit *test)
{
	static const struct {
		s64 debt;
		u32 reason;
		u64 target;
	} seq[] = {
		{ 0, KVM_QUANTA_R_WARM, KQ_T_MAX },
		{ 20000000, KVM_QUANTA_R_WARM, KQ_T_MAX },
		{ 20000001, KVM_QUANTA_R_PAYBACK, KQ_T_BASE },
		{ 40000000, KVM_QUANTA_R_PAYBACK, KQ_T_BASE },
		{ 10000000, KVM_QUANTA_R_PAYBACK, KQ_T_BASE },
		{ 1, KVM_QUANTA_R_PAYBACK, KQ_T_BASE },
		{ 0, KVM_QUANTA_R_WARM, KQ_T_MAX },
		{ 10000000, KVM_QUANTA_R_WARM, KQ_T_MAX },
		{ 20000000, KVM_QUANTA_R_WARM, KQ_T_MAX },
		{ 25000000, KVM_QUANTA_R_PAYBACK, KQ_T_BASE },
		{ -1, KVM_QUANTA_R_WARM, KQ_T_MAX },
	};
	struct kq_test_ctx *c = kq_test_ctx_new(test);
	unsigned int i;

	c->p.history_max_pct = 0;	/* exact base */
	kq_test_warm(&c->w, true);
	for (i = 0; i < ARRAY_SIZE(seq); i++) {
		c->st.debt_ns = seq[i].debt;
		kq_test_decide(c);
		KUNIT_EXPECT_EQ_MSG(test, c->st.reason, seq[i].reason, "step %u", i);
		KUNIT_EXPECT_EQ_MSG(test, c->st.target_ns, seq[i].target,
				    "step %u", i);
		/* The ledger is kq_ledger_window()'s, not the policy's. */
		KUNIT_EXPECT_EQ_MSG(test, c->st.debt_ns, seq[i].debt, "step %u", i);
	}

	/* A base window pays back too, and stays in payback while in debt. */
	kq_vcpu_policy_init(&c->st, &c->vp);
	c->w.exits = 40;	/* 5 per ms: base */
	c->st.debt_ns = 20000001;
	kq_test_decide(c);
	kq_test_expect(test, c, KVM_QUANTA_R_PAYBACK, KQ_T_BASE, "base");
	c->st.debt_ns = 5;
	kq_test_decide(c);
	kq_test_expect(test, c, KVM_QUANTA_R_PAYBACK, KQ_T_BASE, "base, 5 ns");
	c->st.debt_ns = 0;
	kq_test_decide(c);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "base, even");

	/* Flush, exit-heavy and idle keep their reason in debt. */
	c->st.debt_ns = 30000000;
	kq_test_warm(&c->w, true);
	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 2000000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_FLUSH, KQ_T_MIN, "flush");
	kq_test_warm(&c->w, true);
	c->w.exits = 800;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_EXIT_HEAVY, KQ_T_MIN, "heavy");
	kq_test_warm(&c->w, true);
	c->w.halt_ns = 9000000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_IDLE, KQ_T_BASE, "idle");

	/* A larger debt_max_us moves the threshold. */
	kq_vcpu_policy_init(&c->st, &c->vp);
	c->p.debt_max_us = 50000;
	c->st.debt_ns = 40000000;
	kq_test_warm(&c->w, true);
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "max 50 ms");
	c->st.debt_ns = 50000001;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_PAYBACK, KQ_T_BASE, "max 50 ms+");
}

/* ---- history ------------------------------------------------------------- */

/*
 * An idle window that keeps a warm long-term profile warm: 3 ms in the
 * guest with 1 exit, IPC 2, halted 6 ms of 10.
 */
static void kq_test_idle_warm(struct kq_window *w)
{
	kq_test_warm(w, true);
	w->guest_ns = 3000000;
	w->exits = 1;
	w->halt_ns = 6000000;
	w->pmu[KVM_QUANTA_EV_CYCLES] = 3000000;
	w->pmu[KVM_QUANTA_EV_INSTRUCTIONS] = 6000000;
	w->pmu[KVM_QUANTA_EV_LLC_MISSES] = 1000;
	w->pmu[KVM_QUANTA_EV_BRANCH_MISSES] = 3000;
	kq_window_derive(w);
}

static void kq_test_history(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_new(test);
	s32 want;
	int i;

	/*
	 * A warm life: +1 per window up to +20, from the second window (the
	 * first is judged against an empty history).
	 */
	kq_test_warm(&c->w, true);
	for (i = 1; i <= 25; i++) {
		kq_test_decide(c);
		want = i - 1 < 20 ? i - 1 : 20;
		KUNIT_EXPECT_EQ_MSG(test, c->st.history_pct, want, "window %d", i);
	}
	/* It lengthens the base: 4 ms + 20%. */
	kq_test_idle_warm(&c->w);
	kq_test_decide(c);
	KUNIT_EXPECT_EQ(test, c->st.history_pct, 20);
	kq_test_expect(test, c, KVM_QUANTA_R_IDLE, 4800000, "warm life, idle");

	/* An exit-heavy life: -1 per window down to -20. */
	kq_vcpu_policy_init(&c->st, &c->vp);
	kq_history_init(&c->h);
	kq_test_warm(&c->w, false);
	c->w.exits = 200;	/* 25 per ms */
	for (i = 1; i <= 25; i++) {
		kq_test_decide(c);
		want = i - 1 < 20 ? -(i - 1) : -20;
		KUNIT_EXPECT_EQ_MSG(test, c->st.history_pct, want, "window %d", i);
		kq_test_expect(test, c, KVM_QUANTA_R_EXIT_HEAVY, KQ_T_MIN,
			       "heavy life");
	}
	c->w.halt_ns = 6000000;
	kq_test_decide(c);
	KUNIT_EXPECT_EQ(test, c->st.history_pct, -20);
	kq_test_expect(test, c, KVM_QUANTA_R_IDLE, 3200000, "heavy life, idle");

	/* Neither: back toward 0 by one a window, then stays. */
	kq_history_init(&c->h);
	kq_test_warm(&c->w, false);
	c->w.exits = 40;	/* 5 per ms */
	c->st.history_pct = 3;
	for (i = 2; i >= -1; i--) {
		kq_test_decide(c);
		KUNIT_EXPECT_EQ(test, c->st.history_pct, i > 0 ? i : 0);
	}
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "neutral");
	c->st.history_pct = -2;
	kq_test_decide(c);
	KUNIT_EXPECT_EQ(test, c->st.history_pct, -1);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, 3960000, "neutral, -1%");

	/* Follows the long-term profile, not one window. */
	kq_history_init(&c->h);
	kq_test_warm(&c->w, true);
	c->st.history_pct = 10;
	for (i = 0; i < 12; i++)	/* 10 -> 9 on the empty history, then up */
		kq_test_decide(c);
	KUNIT_EXPECT_EQ(test, c->st.history_pct, 20);
	c->w.exits = 800;	/* one heavy window: total stays under 10/ms */
	kq_test_decide(c);
	KUNIT_EXPECT_EQ(test, c->h.total.exits, 48 + 800);
	/* Judged against the warm life before it: the history holds. */
	KUNIT_EXPECT_EQ(test, c->st.history_pct, 20);
	kq_test_expect(test, c, KVM_QUANTA_R_EXIT_HEAVY, KQ_T_MIN, "one heavy");
	/* From then on the life is no longer warm: back toward 0. */
	c->w.exits = 4;
	kq_test_decide(c);
	KUNIT_EXPECT_EQ(test, c->st.history_pct, 19);

	/* history_max_pct 0: no adjustment. */
	c->p.history_max_pct = 0;
	c->st.history_pct = 0;
	kq_history_init(&c->h);
	kq_test_warm(&c->w, true);
	for (i = 0; i < 5; i++)
		kq_test_decide(c);
	KUNIT_EXPECT_EQ(test, c->st.history_pct, 0);
}

/* The adjusted base stays within [min, max]. */
static void kq_test_history_clamped(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_new(test);

	/* base = max: +20% would be 9.6 ms. */
	c->vp.base_us = 8000;
	kq_test_warm(&c->w, true);
	c->st.history_pct = 20;
	kq_test_decide(c);
	kq_test_idle_warm(&c->w);
	kq_test_decide(c);
	KUNIT_EXPECT_EQ(test, c->st.history_pct, 20);
	kq_test_expect(test, c, KVM_QUANTA_R_IDLE, KQ_T_MAX, "base = max");
	c->st.debt_ns = 30000000;
	kq_test_warm(&c->w, true);
	kq_test_decide(c);
	kq_test_expect(test, c, KVM_QUANTA_R_PAYBACK, KQ_T_MAX, "payback");

	/* base = min: -20% would be 800 us. */
	kq_vcpu_policy_init(&c->st, &c->vp);
	kq_history_init(&c->h);
	c->vp.base_us = 1000;
	c->st.history_pct = -20;
	kq_test_warm(&c->w, false);
	c->w.exits = 200;
	kq_test_decide(c);
	c->w.halt_ns = 6000000;
	kq_test_decide(c);
	KUNIT_EXPECT_EQ(test, c->st.history_pct, -20);
	kq_test_expect(test, c, KVM_QUANTA_R_IDLE, KQ_T_MIN, "base = min");

	/* history_max_pct 100 (the sysfs maximum): -100% is min, not 0. */
	c->p.history_max_pct = 100;
	c->vp.base_us = 4000;
	c->st.history_pct = -100;
	kq_test_decide(c);
	KUNIT_EXPECT_EQ(test, c->st.history_pct, -100);
	kq_test_expect(test, c, KVM_QUANTA_R_IDLE, KQ_T_MIN, "-100%");
}

/*
 * history_max_pct is a sysfs knob: lowered under a vCPU whose adjustment
 * is beyond the new bound, the adjustment must not stay beyond it.
 */
static void kq_test_history_bound_lowered(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_new(test);

	kq_test_warm(&c->w, true);
	c->st.history_pct = 20;
	c->p.history_max_pct = 5;
	kq_test_decide(c);
	KUNIT_EXPECT_LE(test, c->st.history_pct, 5);
	kq_test_idle_warm(&c->w);
	kq_test_decide(c);
	KUNIT_EXPECT_LE(test, c->st.history_pct, 5);
	KUNIT_EXPECT_LE(test, c->st.target_ns, 4200000);
}

/* ---- bounds over random inputs ------------------------------------------- */

static u64 kq_test_lcg(u64 *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 17;
}

static u64 kq_test_rnd(u64 *s, u64 n)
{
	return n ? kq_test_lcg(s) % n : 0;
}

/* A random window: any mix of zero, small, large and missing values. */
static void kq_test_random_window(struct kq_window *w, u64 *s)
{
	static const u64 scale[] = { 0, 10, 1000, 1000000, 100000000,
				     10000000000ULL };
	unsigned int i;
	u64 mag;

	*w = (struct kq_window){ 0 };
	w->window_ns = kq_test_rnd(s, 20000001);
	w->guest_ns = kq_test_rnd(s, w->window_ns + 1);
	w->halt_ns = kq_test_rnd(s, w->window_ns - w->guest_ns + 1);
	w->run_ns = w->guest_ns + kq_test_rnd(s, 1000);
	w->wait_ns = kq_test_rnd(s, 10000000);
	w->slices = kq_test_rnd(s, 5);
	w->exits = kq_test_rnd(s, scale[kq_test_rnd(s, ARRAY_SIZE(scale))]);
	for (i = 0; i < KVM_QUANTA_EV_NR; i++) {
		mag = scale[kq_test_rnd(s, ARRAY_SIZE(scale))];
		w->pmu[i] = kq_test_rnd(s, 4) ? kq_test_rnd(s, mag) : KQ_NONE64;
	}
	kq_window_derive(w);
}

static void kq_test_random_bounds(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_new(test);
	u64 seed = 20240611, before[KVM_QUANTA_R_NR], min, max;
	unsigned int i, k, bad = 0;
	s32 pct;

	for (i = 0; i < 3000 && bad < 5; i++) {
		if (i % 16 == 0) {
			c->vp.min_us = KQ_QUANTUM_MIN_US +
				kq_test_rnd(&seed, 20000);
			c->vp.max_us = c->vp.min_us + kq_test_rnd(&seed,
				KQ_QUANTUM_MAX_US - c->vp.min_us + 1);
			c->vp.base_us = c->vp.min_us + kq_test_rnd(&seed,
				c->vp.max_us - c->vp.min_us + 1);
			c->vp.enabled = kq_test_rnd(&seed, 8) != 0;
			c->p.history_max_pct = kq_test_rnd(&seed, 101);
			c->p.debt_max_us = kq_test_rnd(&seed, 100000);
			KUNIT_ASSERT_EQ(test, kq_vm_policy_validate(&c->vp), 0);
			kq_vcpu_policy_init(&c->st, &c->vp);
			c->st.history_pct = (s32)kq_test_rnd(&seed,
				2 * c->p.history_max_pct + 1) -
				(s32)c->p.history_max_pct;
			kq_history_init(&c->h);
		}
		c->st.debt_ns = (s64)kq_test_rnd(&seed, 200000001) - 100000000;
		kq_test_random_window(&c->w, &seed);
		memcpy(before, c->st.decisions, sizeof(before));
		pct = c->st.history_pct;
		kq_history_add(&c->h, &c->w);
		kq_policy_window(&c->p, &c->vp, &c->st, &c->w, &c->h);

		min = (u64)c->vp.min_us * 1000;
		max = (u64)c->vp.max_us * 1000;
		if (c->st.target_ns < min || c->st.target_ns > max ||
		    c->st.reason >= KVM_QUANTA_R_NR ||
		    c->st.reason == KVM_QUANTA_R_SPIN ||
		    (c->vp.enabled && (c->st.history_pct > pct + 1 ||
				       c->st.history_pct < pct - 1)) ||
		    c->st.history_pct > (s32)c->p.history_max_pct ||
		    c->st.history_pct < -(s32)c->p.history_max_pct) {
			bad++;
			KUNIT_FAIL(test,
				   "iteration %u: [%u, %u] us target %llu reason %u pct %d -> %d (max %u)",
				   i, c->vp.min_us, c->vp.max_us,
				   c->st.target_ns, c->st.reason, pct,
				   c->st.history_pct, c->p.history_max_pct);
			continue;
		}
		for (k = 0; k < KVM_QUANTA_R_NR; k++)
			KUNIT_EXPECT_EQ_MSG(test, c->st.decisions[k],
					    before[k] + (k == c->st.reason),
					    "iteration %u reason %u", i, k);
		if (!c->vp.enabled)
			KUNIT_EXPECT_EQ_MSG(test, c->st.reason, KVM_QUANTA_R_BASE,
					    "iteration %u", i);
	}
}

/* ---- disabled VM ----------------------------------------------------------- */

static void kq_test_disabled(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_new(test);
	unsigned int i, n = 0;

	c->vp.enabled = false;
	c->p.history_max_pct = 0;
	kq_test_warm(&c->w, true);
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "warm");
	n++;
	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 2000000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "flush");
	n++;
	kq_test_warm(&c->w, false);
	c->w.exits = 800;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "heavy");
	n++;
	c->w.halt_ns = 9000000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "idle");
	n++;
	kq_test_warm(&c->w, true);
	kq_history_init(&c->h);
	for (i = 0; i < 4; i++, n++)
		kq_test_decide(c);
	c->w.pmu[KVM_QUANTA_EV_INSTRUCTIONS] = 5000000;
	kq_test_decide(c);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "phase end");
	n++;
	c->st.debt_ns = 100000000;
	kq_test_warm(&c->w, true);
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "debt");
	n++;
	c->st.debt_ns = 10;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "debt 10");
	n++;

	KUNIT_EXPECT_EQ(test, c->st.decisions[KVM_QUANTA_R_BASE], n);
	for (i = 1; i < KVM_QUANTA_R_NR; i++)
		KUNIT_EXPECT_EQ_MSG(test, c->st.decisions[i], 0, "reason %u", i);
	/* Never cut early, except on a spin. */
	KUNIT_EXPECT_FALSE(test, kq_policy_cut_now(&c->st, 1ULL << 40, 0));

	/* Enabled again: the rules apply again. */
	c->vp.enabled = true;
	c->st.debt_ns = 0;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "enabled");
}

/*
 * A disabled VM gets its base quantum, not one adjusted by a history the
 * policy keeps for it.
 */
static void kq_test_disabled_history(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_new(test);
	unsigned int i;

	c->vp.enabled = false;
	kq_test_warm(&c->w, true);
	for (i = 0; i < 10; i++) {
		kq_test_decide(c);
		kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE, "warm life");
	}
	kq_vcpu_policy_init(&c->st, &c->vp);
	kq_history_init(&c->h);
	kq_test_warm(&c->w, false);
	c->w.exits = 800;
	for (i = 0; i < 10; i++) {
		kq_test_decide(c);
		kq_test_expect(test, c, KVM_QUANTA_R_BASE, KQ_T_BASE,
			       "heavy life");
	}
}

/* ---- spin ---------------------------------------------------------------- */

/*
 * PAUSE-loop exits are the waiter spinning: cut.  PV yield hypercalls
 * (KVM_HC_SCHED_YIELD, KVM_HC_KICK_CPU: the lock releaser's side) are not.
 */
static void kq_test_spin(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_fixed(test);

	kq_test_warm(&c->w, true);
	c->w.ple_exits = 8;	/* 1 per guest ms: the threshold */
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_SPIN, KQ_T_MIN, "ple 1/ms");
	KUNIT_EXPECT_FALSE(test, kq_policy_cut_now(&c->st, KQ_T_MIN - 1, 0));
	KUNIT_EXPECT_TRUE(test, kq_policy_cut_now(&c->st, KQ_T_MIN, 0));
	c->w.ple_exits = 7;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "ple under 1/ms");
	c->w.ple_exits = 0;
	c->w.pv_yields = 100000;
	kq_test_decide_fresh(c);
	kq_test_expect(test, c, KVM_QUANTA_R_WARM, KQ_T_MAX, "pv yields");
	KUNIT_EXPECT_FALSE(test, kq_policy_cut_now(&c->st, U64_MAX, 0));
}

/* ---- early switches ---------------------------------------------------------- */

static void kq_test_cut_now(struct kunit *test)
{
	static const u32 cut_at_target[] = {
		KVM_QUANTA_R_FLUSH, KVM_QUANTA_R_PHASE_END,
		KVM_QUANTA_R_EXIT_HEAVY, KVM_QUANTA_R_SPIN,
	};
	/* smt but not the thrasher: only not extended, never cut. */
	static const u32 never[] = {
		KVM_QUANTA_R_WARM, KVM_QUANTA_R_BASE, KVM_QUANTA_R_IDLE,
		KVM_QUANTA_R_PAYBACK, KVM_QUANTA_R_SMT,
	};
	struct kq_test_ctx *c = kq_test_ctx_fixed(test);
	unsigned int i;

	c->st.target_ns = 2000000;
	{
		for (i = 0; i < ARRAY_SIZE(cut_at_target); i++) {
			c->st.reason = cut_at_target[i];
			KUNIT_EXPECT_FALSE_MSG(test,
					       kq_policy_cut_now(&c->st, 0, 0),
					       "reason %u", c->st.reason);
			KUNIT_EXPECT_FALSE_MSG(test,
					       kq_policy_cut_now(&c->st, 1999999, 0),
					       "reason %u", c->st.reason);
			KUNIT_EXPECT_TRUE_MSG(test,
					      kq_policy_cut_now(&c->st, 2000000, 0),
					      "reason %u", c->st.reason);
			KUNIT_EXPECT_TRUE_MSG(test,
					      kq_policy_cut_now(&c->st, 9000000, 0),
					      "reason %u", c->st.reason);
			KUNIT_EXPECT_TRUE_MSG(test,
					      kq_policy_cut_now(&c->st, 0, KQ_AT_PAUSE_SPIN),
					      "reason %u", c->st.reason);
		}
		for (i = 0; i < ARRAY_SIZE(never); i++) {
			c->st.reason = never[i];
			KUNIT_EXPECT_FALSE_MSG(test,
					       kq_policy_cut_now(&c->st, 2000000, 0),
					       "reason %u", c->st.reason);
			KUNIT_EXPECT_FALSE_MSG(test,
					       kq_policy_cut_now(&c->st, U64_MAX, 0),
					       "reason %u", c->st.reason);
			KUNIT_EXPECT_TRUE_MSG(test,
					      kq_policy_cut_now(&c->st, 0, KQ_AT_PAUSE_SPIN),
					      "reason %u", c->st.reason);
		}
	}

	/* Decided by the policy: a flush at 1 ms is cut at 1 ms. */
	kq_test_warm(&c->w, true);
	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 2000000;
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_FALSE(test, kq_policy_cut_now(&c->st, 999999, 0));
	KUNIT_EXPECT_TRUE(test, kq_policy_cut_now(&c->st, 1000000, 0));
	kq_test_warm(&c->w, true);
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_FALSE(test, kq_policy_cut_now(&c->st, 8000000, 0));
	KUNIT_EXPECT_TRUE(test, kq_policy_cut_now(&c->st, 200000, KQ_AT_PAUSE_SPIN));

	/* The rate limit: no cut, a spinner's included, before 200 us. */
	KUNIT_EXPECT_EQ(test, c->st.min_run_ns, 200000);
	KUNIT_EXPECT_FALSE(test, kq_policy_cut_now(&c->st, 199999, KQ_AT_PAUSE_SPIN));
	c->st.reason = KVM_QUANTA_R_EXIT_HEAVY;
	c->st.target_ns = 100000;
	KUNIT_EXPECT_FALSE(test, kq_policy_cut_now(&c->st, 199999, 0));
	KUNIT_EXPECT_TRUE(test, kq_policy_cut_now(&c->st, 200000, 0));
	c->p.ratelimit_us = 0;
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_EQ(test, c->st.min_run_ns, 0);
	KUNIT_EXPECT_TRUE(test, kq_policy_cut_now(&c->st, 0, KQ_AT_PAUSE_SPIN));
	c->p.ratelimit_us = 100000;
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_EQ(test, c->st.min_run_ns, 100000000);
	KUNIT_EXPECT_FALSE(test, kq_policy_cut_now(&c->st, 99999999, KQ_AT_PAUSE_SPIN));
}

/* ---- weight, validation, counts --------------------------------------------- */

static void kq_test_weight_to_nice(struct kunit *test)
{
	int prev = 20, nice;
	u32 w;

	KUNIT_EXPECT_EQ(test, kq_weight_to_nice(100), 0);
	KUNIT_EXPECT_EQ(test, kq_weight_to_nice(10000), -20);
	KUNIT_EXPECT_EQ(test, kq_weight_to_nice(1), 19);
	KUNIT_EXPECT_EQ(test, kq_weight_to_nice(125), -1);
	KUNIT_EXPECT_EQ(test, kq_weight_to_nice(80), 1);
	KUNIT_EXPECT_EQ(test, kq_weight_to_nice(200), -3);
	KUNIT_EXPECT_EQ(test, kq_weight_to_nice(50), 3);
	/* 1024 x 8667 / 100 = 88750, 11 from 88761 (nice -20) */
	KUNIT_EXPECT_EQ(test, kq_weight_to_nice(8667), -20);
	/* 1024 x 6000 / 100 = 61440: 56483 (-18) is closer than 71755 */
	KUNIT_EXPECT_EQ(test, kq_weight_to_nice(6000), -18);

	/* Heavier never means nicer. */
	for (w = KQ_WEIGHT_MIN; w <= KQ_WEIGHT_MAX; w++) {
		nice = kq_weight_to_nice(w);
		if (nice > prev || nice < -20 || nice > 19) {
			KUNIT_FAIL(test, "weight %u: nice %d after %d", w, nice,
				   prev);
			break;
		}
		prev = nice;
	}
}

static void kq_test_validate(struct kunit *test)
{
	static const struct {
		u32 min, base, max, weight;
		int ret;
	} cases[] = {
		{ 1000, 4000, 8000, 100, 0 },
		{ 100, 100, 100, 1, 0 },
		{ 100000, 100000, 100000, 10000, 0 },
		{ 100, 50000, 100000, 100, 0 },
		{ 99, 4000, 8000, 100, -ERANGE },
		{ 1000, 99, 8000, 100, -ERANGE },
		{ 1000, 4000, 99, 100, -ERANGE },
		{ 1000, 4000, 100001, 100, -ERANGE },
		{ 1000, 100001, 8000, 100, -ERANGE },
		{ 100001, 4000, 8000, 100, -ERANGE },
		{ 1000, 4000, 8000, 0, -ERANGE },
		{ 1000, 4000, 8000, 10001, -ERANGE },
		{ 0, 0, 0, 0, -ERANGE },
		/* out of range and out of order: the range is reported */
		{ 99, 50, 8000, 100, -ERANGE },
		{ 4001, 4000, 8000, 100, -EINVAL },
		{ 1000, 8001, 8000, 100, -EINVAL },
		{ 8000, 4000, 1000, 100, -EINVAL },
		{ 5000, 5000, 4999, 100, -EINVAL },
	};
	struct kq_vm_policy vp;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		vp.enabled = i & 1;
		vp.min_us = cases[i].min;
		vp.base_us = cases[i].base;
		vp.max_us = cases[i].max;
		vp.weight = cases[i].weight;
		KUNIT_EXPECT_EQ_MSG(test, kq_vm_policy_validate(&vp), cases[i].ret,
				    "case %u", i);
	}
}

static void kq_test_decisions(struct kunit *test)
{
	struct kq_test_ctx *c = kq_test_ctx_fixed(test);

	kq_test_warm(&c->w, true);
	kq_test_decide_fresh(c);
	kq_test_decide_fresh(c);
	kq_test_decide_fresh(c);
	c->w.pmu[KVM_QUANTA_EV_LLC_MISSES] = 2000000;
	kq_test_decide_fresh(c);
	kq_test_warm(&c->w, true);
	c->w.exits = 800;
	kq_test_decide_fresh(c);
	kq_test_decide_fresh(c);
	c->w.halt_ns = 9000000;
	kq_test_decide_fresh(c);
	kq_test_warm(&c->w, true);
	c->w.exits = 40;
	kq_test_decide_fresh(c);
	c->st.debt_ns = 30000000;
	kq_test_decide_fresh(c);
	kq_test_decide_fresh(c);
	KUNIT_EXPECT_EQ(test, c->st.decisions[KVM_QUANTA_R_WARM], 3);
	KUNIT_EXPECT_EQ(test, c->st.decisions[KVM_QUANTA_R_FLUSH], 1);
	KUNIT_EXPECT_EQ(test, c->st.decisions[KVM_QUANTA_R_EXIT_HEAVY], 2);
	KUNIT_EXPECT_EQ(test, c->st.decisions[KVM_QUANTA_R_IDLE], 1);
	KUNIT_EXPECT_EQ(test, c->st.decisions[KVM_QUANTA_R_BASE], 1);
	KUNIT_EXPECT_EQ(test, c->st.decisions[KVM_QUANTA_R_PAYBACK], 2);
	KUNIT_EXPECT_EQ(test, c->st.decisions[KVM_QUANTA_R_PHASE_END], 0);
	KUNIT_EXPECT_EQ(test, c->st.decisions[KVM_QUANTA_R_SPIN], 0);
}

static struct kunit_case kq_policy_cases[] = {
	KUNIT_CASE(kq_test_defaults),
	KUNIT_CASE(kq_test_reason_names),
	KUNIT_CASE(kq_test_warm_pmu),
	KUNIT_CASE(kq_test_flush),
	KUNIT_CASE(kq_test_flush_burst),
	KUNIT_CASE(kq_test_phase_end),
	KUNIT_CASE(kq_test_phase_end_threshold),
	KUNIT_CASE(kq_test_exit_heavy),
	KUNIT_CASE(kq_test_idle),
	KUNIT_CASE(kq_test_latency),
	KUNIT_CASE(kq_test_slice_beside_latency),
	KUNIT_CASE(kq_test_no_pmu),
	KUNIT_CASE(kq_test_smt),
	KUNIT_CASE(kq_test_ledger_share),
	KUNIT_CASE(kq_test_ledger_weights),
	KUNIT_CASE(kq_test_ledger_cpus),
	KUNIT_CASE(kq_test_ledger_split),
	KUNIT_CASE(kq_test_ledger_overlap),
	KUNIT_CASE(kq_test_ledger_served),
	KUNIT_CASE(kq_test_ledger_never_forgives),
	KUNIT_CASE(kq_test_ledger_correction),
	KUNIT_CASE(kq_test_spin),
	KUNIT_CASE(kq_test_payback),
	KUNIT_CASE(kq_test_history),
	KUNIT_CASE(kq_test_history_clamped),
	KUNIT_CASE(kq_test_history_bound_lowered),
	KUNIT_CASE(kq_test_random_bounds),
	KUNIT_CASE(kq_test_disabled),
	KUNIT_CASE(kq_test_disabled_history),
	KUNIT_CASE(kq_test_cut_now),
	KUNIT_CASE(kq_test_weight_to_nice),
	KUNIT_CASE(kq_test_validate),
	KUNIT_CASE(kq_test_decisions),
	{}
};

static struct kunit_suite kq_policy_suite = {
	.name = "kvm_quanta_policy",
	.test_cases = kq_policy_cases,
};

kunit_test_suites(&kq_policy_suite);

MODULE_LICENSE("GPL");
