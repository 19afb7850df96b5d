// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_quanta: the per-window pipeline.  Once per sampling interval, for
 * every registered vCPU, in this order:
 *
 *   1. read    its cumulative counters (exit path, scheduler, KVM, PMU),
 *              following the thread that runs it;
 *   2. derive  the window: deltas and derived values, per vCPU and VM,
 *              and the host's distribution of the PMU values;
 *   3. ledger  each vCPU's weight, shifted within a declared group toward
 *              the one that does the phase better, and what each ran
 *              against its fair share by that weight;
 *   4. decide  its target quantum and reason for the next window, with
 *              the PMU thresholds read from the host's windows before
 *              this one (or the knobs' until there are enough), and what
 *              its core's other SMT thread ran;
 *   5. enforce the decision on its thread;
 *   6. publish on netlink, the kvm_quanta:sample tracepoint and for dumps.
 *
 * Objects and their lifetime belong to registry.c; this file only walks
 * them under the registry lock.  Process context (the sampler's work).
 */
#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "compat.h"
#include "kvm_quanta.h"
#include "trace.h"

/* Host-wide policy knobs (sysfs policy/). */
struct kq_policy_params kq_params;
DEFINE_SPINLOCK(kq_params_lock);	/* kq_params */

static u64 kq_seq;

/*
 * The host's distribution of IPC, LLC and branch MPKI over its vCPUs'
 * windows, for the event set of generation kq_host_dist_gen: only the
 * sampler touches them, under the registry lock.
 */
static struct kq_host_dist kq_host_dist;
static unsigned int kq_host_dist_gen;

/* The last window's thresholds and which came from the host, for sysfs. */
static DEFINE_SPINLOCK(kq_in_use_lock);
static u32 kq_in_use[KQ_THR_NR];
static unsigned int kq_in_use_from_host;
static bool kq_in_use_set;

/* The latest window's samples, for netlink dumps. */
static DEFINE_MUTEX(kq_latest_lock);
static struct kq_sample *kq_latest;
static unsigned int kq_latest_n;

/*
 * A window's split of guest time by CPU, from kq_clock() units to ns, each
 * part converted as the step it adds to the vCPU's guest time since @base
 * (its guest time at the window's start): the parts add up to the
 * window's guest_ns exactly where they do in clock units, rounding and
 * all (unless a slot was taken by a fifth CPU in the window: then less,
 * see kq_ran_take()).  A part under a nanosecond drops out.  Return: the
 * parts left.
 */
static unsigned int kq_ran_to_ns(s32 cpus[KQ_RAN_SLOTS], u64 t[KQ_RAN_SLOTS],
				 unsigned int n, u64 base)
{
	u64 from = kq_clock_to_ns(base), to;
	unsigned int i, m = 0;

	for (i = 0; i < n; i++) {
		base += t[i];
		to = kq_clock_to_ns(base);
		if (to == from)
			continue;
		cpus[m] = cpus[i];
		t[m++] = to - from;
		from = to;
	}
	return m;
}

/* 1. and 2.: one vCPU's window, and its share of its VM's. */
static void kq_window_read(struct kq_vm *vm, struct kq_vcpu *v, u64 now,
			   const struct kq_policy_params *params,
			   struct kq_sample *s)
{
	struct kq_reading r;
	struct kq_window w;
	u64 guest_t;

	if (kq_vcpu_follow(v)) {
		/* A new thread: its scheduler statistics start now. */
		kq_task_sched(v->task, &v->prev.run_ns, &v->prev.wait_ns,
			      &v->prev.slices);
	}
	kq_vcpu_reading(v, now, &r, &guest_t);
	kq_window_from(&w, &v->prev, &r);
	memset(&s->split, 0, sizeof(s->split));
	s->split.n = kq_ran_window(v->prev.ran_on, r.ran_on, s->split.cpus,
				   s->split.ns);
	s->split.n = kq_ran_to_ns(s->split.cpus, s->split.ns, s->split.n,
				  v->prev_guest_t);
	v->prev = r;
	v->prev_guest_t = guest_t;
	spin_lock(&v->state_lock);
	v->last = w;
	spin_unlock(&v->state_lock);
	/* Only windows the PMU thresholds decide: not idle, latency, spin. */
	if (kq_policy_uses_pmu(params, &w))
		kq_dist_add(&kq_host_dist, &w);

	s->vm_id = vm->id;
	s->pid = v->pid;
	s->vcpu_idx = v->idx;
	s->tid = READ_ONCE(v->tid);
	s->cpu = v->task ? task_cpu(v->task) : 0;
	s->w = w;
}

/* 2.: a VM's window is the sum of its vCPUs', as long as one of them. */
static void kq_window_vm(struct kq_vm *vm, const struct kq_sample *s,
			 unsigned int n)
{
	struct kq_window vmw;
	unsigned int i;

	kq_window_init(&vmw);
	for (i = 0; i < n; i++)
		kq_window_add(&vmw, &s[i].w);
	vmw.window_ns = n ? s[n - 1].w.window_ns : 0;
	kq_window_derive(&vmw);
	spin_lock(&vm->state_lock);
	vm->last = vmw;
	kq_history_add(&vm->hist, &vmw);
	spin_unlock(&vm->state_lock);
}

/*
 * 3.: each vCPU's share of its VM's weight (libvirt's cpu shares are per
 * VM).
 */
static void kq_window_weights(struct kq_vcpu **vs, const struct kq_sample *s,
			      const struct kq_vm_policy *vps, u32 *weights,
			      unsigned int n)
{
	unsigned int i, j, first;
	u64 vm_runnable;

	for (first = 0; first < n; first = i) {
		vm_runnable = 0;
		for (i = first; i < n && vs[i]->vm == vs[first]->vm; i++)
			vm_runnable += s[i].w.run_ns + s[i].w.wait_ns;
		for (j = first; j < i; j++)
			weights[j] = kq_ledger_weight(vps[j].weight,
						      s[j].w.run_ns + s[j].w.wait_ns,
						      vm_runnable, s[j].w.window_ns);
	}
}

/* The CPU a vCPU ran on most in the window, else the one it is on. */
static s32 kq_window_main_cpu(const struct kq_sample *s)
{
	unsigned int j, best = 0;

	if (!s->split.n)
		return s->cpu;
	for (j = 1; j < s->split.n; j++)
		if (s->split.ns[j] > s->split.ns[best])
			best = j;
	return s->split.cpus[best];
}

/* Record a vCPU's group shift; ungrouped ones are 0 0, mostly already. */
static void kq_window_group_set(struct kq_vcpu *v, u32 group, s32 lasting,
				s32 applied)
{
	if (v->pol.group == group && v->pol.group_pct == lasting &&
	    v->pol.group_shift_pct == applied)
		return;	/* only the sampler writes them */
	spin_lock(&v->state_lock);
	v->pol.group = group;
	v->pol.group_pct = lasting;
	v->pol.group_shift_pct = applied;
	spin_unlock(&v->state_lock);
}

/*
 * 3.: grouped vCPUs that share a CPU split their weight toward the one
 * that does the phase better (kq_group_window()).  A vCPU that ran on
 * several CPUs in the window is in no set (its weight is its thread's,
 * on every CPU).  Without the memory the weights stay as they are for a
 * window, with no shift shown; the lasting shifts hold.
 */
static void kq_window_groups(struct kq_vcpu **vs, const struct kq_sample *s,
			     const struct kq_vm_policy *vps, u32 *weights,
			     unsigned int n,
			     const struct kq_policy_params *params)
{
	struct kq_group_member *m = NULL;
	unsigned int i, k, ng = 0;
	u32 group;
	s32 lasting;

	for (i = 0; i < n; i++)
		ng += vps[i].enabled && vps[i].group;
	if (ng)
		m = kvmalloc_array(ng, sizeof(*m), GFP_KERNEL);
	for (i = 0, k = 0; i < n; i++) {
		struct kq_vcpu *v = vs[i];

		group = vps[i].enabled ? vps[i].group : 0;
		/* A lasting shift is its group's: not carried to another. */
		lasting = v->pol.group == group ? v->pol.group_pct : 0;
		if (!group || !m) {
			kq_window_group_set(v, group, group ? lasting : 0, 0);
			continue;
		}
		kq_group_member_init(&m[k++], group, v->vm->id,
				     s[i].split.n > 1 ? -1 :
							kq_window_main_cpu(&s[i]),
				     &s[i].w, weights[i], lasting);
	}
	if (!m)
		return;
	kq_group_window(params, m, ng);
	for (i = 0, k = 0; i < n; i++) {
		if (!vps[i].enabled || !vps[i].group)
			continue;
		weights[i] = m[k].weight;
		kq_window_group_set(vs[i], vps[i].group, m[k].lasting_pct,
				    m[k].shift_pct);
		k++;
	}
	kvfree(m);
}

/*
 * 3.: the fairness ledger over every vCPU of the window, with an entry for
 * each CPU a vCPU ran on, charged against its weight.
 */
static void kq_window_ledger(struct kq_vcpu **vs, const struct kq_sample *s,
			     const u32 *weights, unsigned int n)
{
	struct kq_ledger_entry *e;
	unsigned int i, m = 0, *cnt;

	e = kvmalloc_array(n, KQ_RAN_SLOTS * sizeof(*e), GFP_KERNEL);
	cnt = kvmalloc_array(n, sizeof(*cnt), GFP_KERNEL);
	if (!e || !cnt)
		goto out;	/* ledgers stand still for a window */
	/* Each vCPU's entries follow the previous vCPU's, in order. */
	for (i = 0; i < n; i++) {
		cnt[i] = kq_ledger_split(&e[m], s[i].cpu, s[i].w.run_ns,
					 s[i].w.wait_ns, s[i].w.halt_ns,
					 weights[i],
					 vs[i]->pol.debt_ns,
					 vs[i]->hist.windows != 0,
					 s[i].split.cpus, s[i].split.ns,
					 s[i].split.n);
		m += cnt[i];
	}
	kq_ledger_window(e, m);
	for (i = 0, m = 0; i < n; m += cnt[i], i++) {
		s64 debt = kq_ledger_join(&e[m], cnt[i]);

		spin_lock(&vs[i]->state_lock);
		vs[i]->pol.debt_ns = debt;
		spin_unlock(&vs[i]->state_lock);
	}
out:
	kvfree(cnt);
	kvfree(e);
}

/*
 * 4.: the thresholds of this window, from the host's windows before it
 * (kq_thresholds_apply()); kept for policy/thresholds_in_use.  A new
 * event set starts the distribution over: its values measure other things.
 */
static void kq_window_thresholds(const struct kq_policy_params *params,
				 struct kq_policy_params *used)
{
	unsigned int t, from_host, gen = kq_pmu_events_gen();

	if (gen != kq_host_dist_gen) {
		kq_dist_init(&kq_host_dist);
		kq_host_dist_gen = gen;
	}
	from_host = kq_thresholds_apply(&kq_host_dist, params, used);
	spin_lock(&kq_in_use_lock);
	for (t = 0; t < KQ_THR_NR; t++)
		kq_in_use[t] = kq_threshold_value(used, t);
	kq_in_use_from_host = from_host;
	kq_in_use_set = true;
	spin_unlock(&kq_in_use_lock);
}

/**
 * kq_window_thresholds_in_use() - the PMU thresholds of the last window
 * @val: output: each threshold's value in that window (enum kq_threshold)
 * @from_host: output: which of them came from the host's distribution,
 *	bits 1 << enum kq_threshold; the others were the knobs' then
 *
 * Return: false before the first window, with nothing written.
 */
bool kq_window_thresholds_in_use(u32 val[KQ_THR_NR], unsigned int *from_host)
{
	bool set;

	spin_lock(&kq_in_use_lock);
	set = kq_in_use_set;
	if (set) {
		memcpy(val, kq_in_use, sizeof(kq_in_use));
		*from_host = kq_in_use_from_host;
	}
	spin_unlock(&kq_in_use_lock);
	return set;
}

/* Mark @cpu, one a vCPU ran on, in @cpus (nr_cpu_ids bits). */
static void kq_window_mark_cpu(unsigned long *cpus, s32 cpu)
{
	if (cpu >= 0 && cpu < nr_cpu_ids)
		__set_bit(cpu, cpus);
}

/*
 * Did the vCPU of @s run on a CPU marked in @cpus?  Where it ran, as the
 * ledger has it: the window's split, else the CPU its thread is on.
 */
static bool kq_window_on_marked(const unsigned long *cpus,
				const struct kq_sample *s)
{
	unsigned int j;

	if (!s->split.n)
		return s->cpu < nr_cpu_ids && test_bit(s->cpu, cpus);
	for (j = 0; j < s->split.n; j++)
		if (s->split.cpus[j] >= 0 && s->split.cpus[j] < nr_cpu_ids &&
		    test_bit(s->split.cpus[j], cpus))
			return true;
	return false;
}

/*
 * 4.: which cache-hungry vCPUs share a core with cache-hungry work, for
 * the decision (kq_smt_window()), by the thresholds of this window.
 * Nothing is cache-hungry without a PMU, and then nothing is allocated;
 * without the memory, no vCPU is pressed for a window.
 */
static void kq_window_smt(struct kq_vcpu **vs, const struct kq_sample *s,
			  unsigned int n, const struct kq_policy_params *used,
			  u32 *press)
{
	struct kq_smt_vcpu *sv = NULL;
	u64 *hungry_ns = NULL, window_ns = 0;
	u32 *hungry_max = NULL;
	s32 *sibling = NULL;
	unsigned int i, c, nh = 0;
	bool ok;

	for (i = 0; i < n; i++) {
		nh += kq_smt_hungry(used, s[i].w.llc_mpki_milli);
		window_ns = max(window_ns, s[i].w.window_ns);
	}
	if (nh) {
		sv = kvmalloc_array(n, sizeof(*sv), GFP_KERNEL);
		sibling = kvmalloc_array(nr_cpu_ids, sizeof(*sibling),
					 GFP_KERNEL);
		hungry_ns = kvmalloc_array(nr_cpu_ids, sizeof(*hungry_ns),
					   GFP_KERNEL);
		hungry_max = kvmalloc_array(nr_cpu_ids, sizeof(*hungry_max),
					    GFP_KERNEL);
	}
	ok = sv && sibling && hungry_ns && hungry_max;
	if (ok) {
		for (c = 0; c < nr_cpu_ids; c++)
			sibling[c] = kq_pcpu_sibling_of(c);
		for (i = 0; i < n; i++) {
			sv[i].cpu = kq_window_main_cpu(&s[i]);
			sv[i].run_ns = s[i].w.run_ns;
			sv[i].llc_mpki_milli = s[i].w.llc_mpki_milli;
		}
		kq_smt_window(used, sv, n, sibling, nr_cpu_ids, window_ns,
			      hungry_ns, hungry_max);
	}
	for (i = 0; i < n; i++) {
		/* For the sibling's exits: set at each entry of this vCPU. */
		WRITE_ONCE(vs[i]->smt_hungry,
			   kq_smt_hungry(used, s[i].w.llc_mpki_milli));
		press[i] = ok ? sv[i].press : KQ_SMT_NONE;
	}
	kvfree(hungry_max);
	kvfree(hungry_ns);
	kvfree(sibling);
	kvfree(sv);
}

/* 4. and 5.: decide each vCPU's next window and act on it. */
static void kq_window_decide(struct kq_vcpu **vs, struct kq_sample *s,
			     const struct kq_vm_policy *vps, const u32 *weights,
			     const u32 *press, unsigned int n,
			     const struct kq_policy_params *params)
{
	unsigned long *lat = NULL;
	unsigned int i, j, nlat = 0;

	for (i = 0; i < n; i++) {
		struct kq_vcpu *v = vs[i];

		spin_lock(&v->state_lock);
		/* With the reason it decides: the exit path reads both. */
		kq_publish(v->pol.smt, press[i]);
		/* The policy compares the window with the history before it. */
		kq_policy_window(params, &vps[i], &v->pol, &s[i].w, &v->hist);
		kq_history_add(&v->hist, &s[i].w);
		s[i].target_ns = v->pol.target_ns;
		s[i].reason = v->pol.reason;
		s[i].debt_ns = v->pol.debt_ns;
		kq_vcpu_decisions(v, s[i].decisions);
		spin_unlock(&v->state_lock);
		trace_decision(v, s[i].reason, s[i].target_ns, 0, false);
		nlat += s[i].reason == KVM_QUANTA_R_LATENCY;
		cond_resched();
	}
	/*
	 * The CPUs a latency-sensitive vCPU ran on: no neighbour there gets a
	 * slice longer than its own.  Without the memory, none is marked.
	 */
	if (nlat && KQ_HAVE_TASK_SLICE)
		lat = bitmap_zalloc(nr_cpu_ids, GFP_KERNEL);
	if (lat)
		for (i = 0; i < n; i++) {
			if (s[i].reason != KVM_QUANTA_R_LATENCY)
				continue;
			if (!s[i].split.n)
				kq_window_mark_cpu(lat, s[i].cpu);
			for (j = 0; j < s[i].split.n; j++)
				kq_window_mark_cpu(lat, s[i].split.cpus[j]);
		}
	for (i = 0; i < n; i++) {
		kq_enforce_window(vs[i], &vps[i], weights[i],
				  lat && kq_window_on_marked(lat, &s[i]));
		cond_resched();
	}
	bitmap_free(lat);
}

/* 6.: listeners, the tracepoint, and the copy dumps are served from. */
static void kq_window_publish(u64 now, struct kq_sample *s, unsigned int n)
{
	struct kq_sample *old;
	unsigned int i;

	if (n) {
		kq_seq++;
		kq_nl_publish(kq_seq, now, s, n);
		for (i = 0; i < n; i++)
			trace_sample(&s[i]);
	}

	mutex_lock(&kq_latest_lock);
	old = kq_latest;
	kq_latest = s;
	kq_latest_n = n;
	mutex_unlock(&kq_latest_lock);
	kvfree(old);
}

/**
 * kq_window_pipeline() - end the current window of every registered vCPU
 * @now: the window's end, ktime_get_ns()
 *
 * Context: process (reads perf counters, sets scheduler parameters).
 * Return: 0, or -ENOMEM when this window could not be taken (the next
 * one covers its time).
 */
int kq_window_pipeline(u64 now)
{
	struct kq_sample *s = NULL;
	struct kq_vm_policy *vps = NULL;
	struct kq_policy_params params, used;
	u32 *weights = NULL, *press = NULL;
	struct kq_vcpu **vs = NULL;
	unsigned int nr, n = 0, first;
	struct kq_vcpu *v;
	struct kq_vm *vm;
	int ret = 0;

	spin_lock(&kq_params_lock);
	params = kq_params;
	spin_unlock(&kq_params_lock);

	kq_registry_lock();
	kq_window_thresholds(&params, &used);
	nr = kq_registry_nr_vcpus();
	if (nr) {
		s = kvmalloc_array(nr, sizeof(*s), GFP_KERNEL);
		vs = kvmalloc_array(nr, sizeof(*vs), GFP_KERNEL);
		vps = kvmalloc_array(nr, sizeof(*vps), GFP_KERNEL);
		weights = kvmalloc_array(nr, sizeof(*weights), GFP_KERNEL);
		press = kvmalloc_array(nr, sizeof(*press), GFP_KERNEL);
		if (!s || !vs || !vps || !weights || !press) {
			ret = -ENOMEM;
			goto unlock;
		}
	}
	kq_for_each_vm(vm) {
		struct kq_vm_policy vp;

		/* One copy of the VM's knobs serves the whole window. */
		spin_lock(&vm->state_lock);
		vp = vm->pol;
		spin_unlock(&vm->state_lock);
		first = n;
		kq_for_each_vcpu(v, vm) {
			kq_window_read(vm, v, now, &params, &s[n]);
			vs[n] = v;
			vps[n] = vp;
			n++;
			/* Thousands of vCPUs: a high-priority worker yields. */
			cond_resched();
		}
		kq_window_vm(vm, &s[first], n - first);
	}
	kq_window_weights(vs, s, vps, weights, n);
	kq_window_groups(vs, s, vps, weights, n, &params);
	kq_window_ledger(vs, s, weights, n);
	kq_window_smt(vs, s, n, &used, press);
	kq_window_decide(vs, s, vps, weights, press, n, &used);
unlock:
	kq_registry_unlock();
	kvfree(vs);
	kvfree(vps);
	kvfree(weights);
	kvfree(press);
	if (ret) {
		kvfree(s);
		return ret;
	}
	kq_pcpu_sample(now);
	kq_window_publish(now, s, n);
	return 0;
}

/**
 * kq_sample_snapshot() - a copy of the latest window's samples
 * @out: output, an array to kvfree(), NULL when there are none
 * @n: output, its length
 *
 * Return: 0 or -ENOMEM.
 */
int kq_sample_snapshot(struct kq_sample **out, unsigned int *n)
{
	int ret = 0;

	*out = NULL;
	*n = 0;
	mutex_lock(&kq_latest_lock);
	if (kq_latest_n) {
		*out = kvmalloc_array(kq_latest_n, sizeof(**out), GFP_KERNEL);
		if (*out) {
			memcpy(*out, kq_latest, kq_latest_n * sizeof(**out));
			*n = kq_latest_n;
		} else {
			ret = -ENOMEM;
		}
	}
	mutex_unlock(&kq_latest_lock);
	return ret;
}

/**
 * kq_window_exit() - free the latest samples
 *
 * Context: unload, with the sampler stopped and netlink gone.
 */
void kq_window_exit(void)
{
	kvfree(kq_latest);
	kq_latest = NULL;
	kq_latest_n = 0;
}
