// SPDX-License-Identifier: GPL-2.0
/*
 * Windows, derived values and history of a vCPU's processor state.
 *
 * Counters are cumulative and unsigned: deltas are plain subtractions, so
 * a counter that wraps still gives the right delta.  Perf counters may be
 * multiplexed; a window's count is then scaled by enabled/running time, as
 * perf does.  Ratios are fixed point (x 1000) and computed in 128 bits so
 * that large counts do not overflow (kq_math.h).
 */
#include "state.h"

/**
 * kq_pmu_scaled_delta() - a perf counter's count between two reads
 * @prev: earlier read
 * @cur: later read
 *
 * Return: the count scaled by enabled/running time, the raw delta when the
 * event ran all the time it was enabled, 0 when it was not enabled at all
 * in between (the thread did not run), and KQ_NONE64 when either read is
 * missing or the event was enabled but never on the PMU (nothing known).
 */
u64 kq_pmu_scaled_delta(const struct kq_pmu_value *prev,
			const struct kq_pmu_value *cur)
{
	u64 value, enabled, running;

	if (!prev->valid || !cur->valid)
		return KQ_NONE64;
	value = cur->value - prev->value;
	enabled = cur->enabled - prev->enabled;
	running = cur->running - prev->running;
	if (!enabled)
		return 0;
	if (!running)
		return KQ_NONE64;
	if (running >= enabled)
		return value;
	return kq_mul_div(value, enabled, running, KQ_NONE64 - 1);
}

/* Events per 1000 instructions, x 1000. */
static u32 kq_per_kilo(u64 events, u64 instructions)
{
	if (events == KQ_NONE64 || instructions == KQ_NONE64 || !instructions)
		return KQ_NONE32;
	return (u32)kq_mul_div(events, 1000000, instructions, KQ_NONE32 - 1);
}

/**
 * kq_window_derive() - compute a window's derived values from its deltas
 * @w: the window; its delta fields are read, its derived fields written
 */
void kq_window_derive(struct kq_window *w)
{
	u64 cycles = w->pmu[KVM_QUANTA_EV_CYCLES];
	u64 insns = w->pmu[KVM_QUANTA_EV_INSTRUCTIONS];

	w->ipc_milli = KQ_NONE32;
	if (cycles != KQ_NONE64 && insns != KQ_NONE64 && cycles)
		w->ipc_milli = (u32)kq_mul_div(insns, 1000, cycles,
					       KQ_NONE32 - 1);
	w->llc_mpki_milli = kq_per_kilo(w->pmu[KVM_QUANTA_EV_LLC_MISSES], insns);
	w->br_mpki_milli = kq_per_kilo(w->pmu[KVM_QUANTA_EV_BRANCH_MISSES],
				       insns);

	w->exit_rate_milli = KQ_NONE64;
	w->mean_run_ns = KQ_NONE64;
	if (w->guest_ns) {
		/* exits per ms x 1000 = exits * 10^9 / guest_ns */
		w->exit_rate_milli = kq_mul_div(w->exits, 1000000000,
						w->guest_ns, KQ_NONE64 - 1);
		if (w->exits)
			w->mean_run_ns = kq_div64(w->guest_ns, w->exits);
	}
	w->quantum_ns = w->slices ? kq_div64(w->run_ns, w->slices) : KQ_NONE64;
}

/**
 * kq_window_from() - the window between two readings of one vCPU
 * @w: output
 * @prev: the earlier reading
 * @cur: the later one
 */
void kq_window_from(struct kq_window *w, const struct kq_reading *prev,
		    const struct kq_reading *cur)
{
	unsigned int i;

	w->window_ns = cur->t_ns - prev->t_ns;
	w->guest_ns = cur->guest_ns - prev->guest_ns;
	w->exits = cur->exits - prev->exits;
	/*
	 * An exit being handled while it is read has no kind yet and reads as
	 * "other"; a moment later it is "io": a kind may go back by one
	 * between readings.  Taken as a signed difference (a counter that
	 * wrapped still moves forward), such a step back reads as 0 (that
	 * exit then shows in both windows' kinds), never as 2^64 - 1.
	 */
	for (i = 0; i < KVM_QUANTA_EXIT_NR; i++) {
		u64 d = cur->kinds[i] - prev->kinds[i];

		w->kinds[i] = (s64)d >= 0 ? d : 0;
	}
	w->run_ns = cur->run_ns - prev->run_ns;
	w->wait_ns = cur->wait_ns - prev->wait_ns;
	w->slices = cur->slices - prev->slices;
	w->halt_ns = cur->halt_ns - prev->halt_ns;
	w->ple_exits = cur->ple_exits - prev->ple_exits;
	w->pv_yields = cur->pv_yields - prev->pv_yields;
	/*
	 * Counters reopened in between (the event set changed, the vCPU
	 * moved to another thread) start again from zero: no delta.
	 */
	for (i = 0; i < KVM_QUANTA_EV_NR; i++)
		w->pmu[i] = prev->pmu_epoch == cur->pmu_epoch ?
			    kq_pmu_scaled_delta(&prev->pmu[i], &cur->pmu[i]) :
			    KQ_NONE64;
	kq_window_derive(w);
}

static u64 kq_add_sat(u64 a, u64 b)
{
	if (a == KQ_NONE64 || b == KQ_NONE64)
		return a == KQ_NONE64 ? b : a;
	return a + b < a ? KQ_NONE64 - 1 : a + b;
}

/**
 * kq_window_add() - add a window's deltas into a sum and re-derive
 * @sum: the running sum (a VM's window, a long-term total)
 * @w: the window to add
 *
 * window_ns adds up too: a long-term total covers the sum of its windows;
 * a caller summing the vCPUs of one window sets it afterwards.
 * A PMU role missing from one side keeps the other's count; the sum is
 * KQ_NONE64 only when no window had it.
 */
void kq_window_add(struct kq_window *sum, const struct kq_window *w)
{
	unsigned int i;

	sum->window_ns += w->window_ns;
	sum->guest_ns += w->guest_ns;
	sum->exits += w->exits;
	for (i = 0; i < KVM_QUANTA_EXIT_NR; i++)
		sum->kinds[i] += w->kinds[i];
	sum->run_ns += w->run_ns;
	sum->wait_ns += w->wait_ns;
	sum->slices += w->slices;
	sum->halt_ns += w->halt_ns;
	sum->ple_exits += w->ple_exits;
	sum->pv_yields += w->pv_yields;
	for (i = 0; i < KVM_QUANTA_EV_NR; i++)
		sum->pmu[i] = kq_add_sat(sum->pmu[i], w->pmu[i]);
	kq_window_derive(sum);
}

/* One step of an EWMA with weight 1/4; KQ_NONE leaves it or seeds it. */
static u64 kq_ewma64(u64 avg, u64 v)
{
	if (v == KQ_NONE64)
		return avg;
	if (avg == KQ_NONE64)
		return v;
	return v >= avg ? avg + (v - avg) / 4 : avg - (avg - v) / 4;
}

static u32 kq_ewma32(u32 avg, u32 v)
{
	if (v == KQ_NONE32)
		return avg;
	if (avg == KQ_NONE32)
		return v;
	return v >= avg ? avg + (v - avg) / 4 : avg - (avg - v) / 4;
}

/**
 * kq_window_init() - an empty window: no time, no counts, no PMU roles
 * @w: the window
 */
void kq_window_init(struct kq_window *w)
{
	unsigned int i;

	*w = (struct kq_window){ 0 };
	for (i = 0; i < KVM_QUANTA_EV_NR; i++)
		w->pmu[i] = KQ_NONE64;
	kq_window_derive(w);
}

/**
 * kq_history_init() - empty history
 * @h: the history
 */
void kq_history_init(struct kq_history *h)
{
	kq_window_init(&h->recent);
	kq_window_init(&h->total);
	h->windows = 0;
}

/**
 * kq_history_add() - fold a window into short- and long-term history
 * @h: the history
 * @w: the window, derived
 */
void kq_history_add(struct kq_history *h, const struct kq_window *w)
{
	struct kq_window *r = &h->recent;

	r->ipc_milli = kq_ewma32(r->ipc_milli, w->ipc_milli);
	r->llc_mpki_milli = kq_ewma32(r->llc_mpki_milli, w->llc_mpki_milli);
	r->br_mpki_milli = kq_ewma32(r->br_mpki_milli, w->br_mpki_milli);
	r->exit_rate_milli = kq_ewma64(r->exit_rate_milli, w->exit_rate_milli);
	r->mean_run_ns = kq_ewma64(r->mean_run_ns, w->mean_run_ns);
	r->quantum_ns = kq_ewma64(r->quantum_ns, w->quantum_ns);
	kq_window_add(&h->total, w);
	h->windows++;
}

/**
 * kq_ran_init() - no guest time on any CPU yet
 * @ran: the slots
 */
void kq_ran_init(struct kq_ran_on ran[KQ_RAN_SLOTS])
{
	unsigned int i;

	for (i = 0; i < KQ_RAN_SLOTS; i++) {
		ran[i].cpu = -1;
		ran[i].gen = 0;
		ran[i].ns = 0;
	}
}

/**
 * kq_ran_window() - guest time by CPU between two readings
 * @prev: the slots at the earlier reading
 * @cur: the slots at the later one
 * @cpus: output, the CPUs with guest time in between
 * @ns: output, that time, each above 0
 *
 * A slot that took a CPU in between (another, or the same one again)
 * counts from 0, and so does one that went back (a generation that
 * wrapped after 2^32 takings: never a huge delta).
 *
 * Return: how many CPUs, 0 to KQ_RAN_SLOTS.
 */
unsigned int kq_ran_window(const struct kq_ran_on prev[KQ_RAN_SLOTS],
			   const struct kq_ran_on cur[KQ_RAN_SLOTS],
			   s32 cpus[KQ_RAN_SLOTS], u64 ns[KQ_RAN_SLOTS])
{
	unsigned int i, n = 0;
	u64 d;

	for (i = 0; i < KQ_RAN_SLOTS; i++) {
		if (cur[i].cpu < 0)
			continue;
		d = cur[i].ns;
		if (prev[i].cpu == cur[i].cpu && prev[i].gen == cur[i].gen &&
		    cur[i].ns >= prev[i].ns)
			d -= prev[i].ns;
		if (!d)
			continue;
		cpus[n] = cur[i].cpu;
		ns[n] = d;
		n++;
	}
	return n;
}
