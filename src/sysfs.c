// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_quanta: the sysfs interface, /sys/kernel/kvm_quanta.  The ABI is
 * documented in Documentation/ABI/testing/sysfs-kernel-kvm_quanta.
 *
 * Show functions never take kq_registry_lock: removing a directory waits
 * for its readers, and removal runs under that lock.
 */
#include <linux/cred.h>
#include <linux/kobject.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "compat.h"
#include "kvm_quanta.h"

/*
 * Who may read tenants' data (Documentation/security.rst): per-VM and
 * per-vCPU files, and per-CPU profiles, are owned by root and this group
 * and readable by them only.  Default 0: root only.
 */
static unsigned int reader_gid;
module_param(reader_gid, uint, 0444);
MODULE_PARM_DESC(reader_gid,
		 "group that may read per-VM, per-vCPU and per-CPU data (default 0: root only)");

kgid_t kq_reader_gid;

/* Tenant data: read by root and the reader group, written by root. */
#define KQ_TENANT_RO 0440
#define KQ_TENANT_RW 0640

/* kobj_type.get_ownership of tenant directories: root and the readers. */
KQ_GET_OWNERSHIP(kq_sysfs_ownership)
{
	*uid = GLOBAL_ROOT_UID;
	*gid = kq_reader_gid;
}

static struct kobject *kq_root_kobj;
static struct kobject *kq_vms_kobj;

static const char *const kq_mode_names[] = {
	[KQ_MODE_OBSERVE] = "observe",
	[KQ_MODE_ENFORCE] = "enforce",
};

/*
 * A write is text: sysfs hands us @count bytes, and kstrto*() and
 * sysfs_streq() stop at an embedded NUL and accept what came before it
 * ("5\0junk" would read as 5).  Refuse that first, for every knob.
 */
static int kq_text_ok(const char *buf, size_t count)
{
	return strnlen(buf, count) == count ? 0 : -EINVAL;
}

/* 0 or 1 and their usual spellings, whole: kstrtobool() reads "1x" as 1. */
static const char *const kq_bool_names[] = {
	"0", "1", "n", "y", "no", "yes", "off", "on", "false", "true",
};

static int kq_parse_bool(const char *buf, bool *on)
{
	int i = sysfs_match_string(kq_bool_names, buf);

	if (i < 0)
		return -EINVAL;
	*on = i & 1;
	return 0;
}

static ssize_t mode_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", kq_mode_names[READ_ONCE(kq_mode)]);
}

static ssize_t mode_store(struct kobject *kobj, struct kobj_attribute *attr,
			  const char *buf, size_t count)
{
	int i;

	if (kq_text_ok(buf, count))
		return -EINVAL;
	i = sysfs_match_string(kq_mode_names, buf);
	if (i < 0)
		return -EINVAL;
	return kq_mode_set(i) ?: count;
}

static ssize_t events_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	return kq_pmu_events_show(buf);
}

static ssize_t events_store(struct kobject *kobj, struct kobj_attribute *attr,
			    const char *buf, size_t count)
{
	return kq_pmu_events_store(buf, count) ?: count;
}

static ssize_t pmu_show(struct kobject *kobj, struct kobj_attribute *attr,
			char *buf)
{
	return kq_pmu_status_show(buf);
}

static ssize_t sample_interval_ms_show(struct kobject *kobj,
				       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", kq_sample_interval_ms());
}

static ssize_t sample_interval_ms_store(struct kobject *kobj,
					struct kobj_attribute *attr,
					const char *buf, size_t count)
{
	u32 ms;
	int ret;

	ret = kq_text_ok(buf, count) ?: kstrtou32(buf, 10, &ms);
	if (ret)
		return ret;
	return kq_sample_set_interval_ms(ms) ?: count;
}

static ssize_t telemetry_drops_show(struct kobject *kobj,
				    struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", kq_nl_drops());
}

static ssize_t lost_exits_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", kq_lost_exits());
}

/* Live objects, so tests can see everything go back to zero. */
static ssize_t objects_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	unsigned int vms, vcpus, pooled;

	kq_registry_counts(&vms, &vcpus, &pooled);
	return sysfs_emit(buf, "vms %u\nvcpus %u\npooled %u\ntask_works %u\n",
			  vms, vcpus, pooled, kq_enforce_pending());
}

/* What we are attached to: the tracepoints always, PAUSE loops if we can. */
static ssize_t hooks_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	int spin = kq_spin_attached(), len;

	len = sysfs_emit(buf, "kvm_exit attached\nkvm_entry attached\n");
	if (!spin)
		return len + sysfs_emit_at(buf, len, "pause_loop attached\n");
	return len + sysfs_emit_at(buf, len, "pause_loop unavailable %d\n",
				   spin);
}

static struct kobj_attribute kq_attr_mode = __ATTR_RW(mode);
static struct kobj_attribute kq_attr_hooks = __ATTR_RO(hooks);
static struct kobj_attribute kq_attr_objects = __ATTR_RO(objects);
static struct kobj_attribute kq_attr_lost_exits = __ATTR_RO(lost_exits);
static struct kobj_attribute kq_attr_events = __ATTR_RW(events);
static struct kobj_attribute kq_attr_pmu = __ATTR_RO(pmu);
static struct kobj_attribute kq_attr_sample_interval_ms =
	__ATTR_RW(sample_interval_ms);
static struct kobj_attribute kq_attr_telemetry_drops =
	__ATTR_RO(telemetry_drops);

/*
 * /sys/kernel/kvm_quanta/policy/: host-wide thresholds.  Each is a number
 * within its range (from 0 unless @min says otherwise); thresholds are
 * independent of each other.
 */
struct kq_param_attr {
	struct kobj_attribute attr;
	size_t off;
	bool is64;
	u64 min;
	u64 max;
};

static ssize_t kq_param_show(struct kobject *kobj, struct kobj_attribute *a,
			     char *buf)
{
	struct kq_param_attr *pa = container_of(a, struct kq_param_attr, attr);
	struct kq_policy_params p;
	u64 v;

	spin_lock(&kq_params_lock);
	p = kq_params;
	spin_unlock(&kq_params_lock);
	v = pa->is64 ? *(u64 *)((char *)&p + pa->off) :
		       *(u32 *)((char *)&p + pa->off);
	return sysfs_emit(buf, "%llu\n", v);
}

static ssize_t kq_param_store(struct kobject *kobj, struct kobj_attribute *a,
			      const char *buf, size_t count)
{
	struct kq_param_attr *pa = container_of(a, struct kq_param_attr, attr);
	u64 v;
	int ret;

	ret = kq_text_ok(buf, count) ?: kstrtou64(buf, 10, &v);
	if (ret)
		return ret;
	if (v < pa->min || v > pa->max)
		return -ERANGE;
	spin_lock(&kq_params_lock);
	if (pa->is64)
		*(u64 *)((char *)&kq_params + pa->off) = v;
	else
		*(u32 *)((char *)&kq_params + pa->off) = (u32)v;
	spin_unlock(&kq_params_lock);
	return count;
}

/* Ranges: KQ_PARAM_*_MAX in core/policy.h, which userspace checks too. */
static struct kq_param_attr kq_pa_warm_ipc_milli = {
	.attr = __ATTR(warm_ipc_milli, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, warm_ipc_milli),
	.is64 = false,
	.max = KQ_PARAM_IPC_MILLI_MAX,
};

static struct kq_param_attr kq_pa_warm_llc_mpki_milli = {
	.attr = __ATTR(warm_llc_mpki_milli, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, warm_llc_mpki_milli),
	.is64 = false,
	.max = KQ_PARAM_MPKI_MILLI_MAX,
};

static struct kq_param_attr kq_pa_warm_br_mpki_milli = {
	.attr = __ATTR(warm_br_mpki_milli, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, warm_br_mpki_milli),
	.is64 = false,
	.max = KQ_PARAM_MPKI_MILLI_MAX,
};

static struct kq_param_attr kq_pa_warm_exit_rate_milli = {
	.attr = __ATTR(warm_exit_rate_milli, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, warm_exit_rate_milli),
	.is64 = true,
	.max = KQ_PARAM_RATE_MILLI_MAX,
};

static struct kq_param_attr kq_pa_heavy_exit_rate_milli = {
	.attr = __ATTR(heavy_exit_rate_milli, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, heavy_exit_rate_milli),
	.is64 = true,
	.max = KQ_PARAM_RATE_MILLI_MAX,
};

static struct kq_param_attr kq_pa_flush_llc_mpki_milli = {
	.attr = __ATTR(flush_llc_mpki_milli, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, flush_llc_mpki_milli),
	.is64 = false,
	.max = KQ_PARAM_MPKI_MILLI_MAX,
};

static struct kq_param_attr kq_pa_phase_drop_pct = {
	.attr = __ATTR(phase_drop_pct, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, phase_drop_pct),
	.is64 = false,
	.max = KQ_PARAM_PCT_MAX,
};

static struct kq_param_attr kq_pa_idle_halt_pct = {
	.attr = __ATTR(idle_halt_pct, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, idle_halt_pct),
	.is64 = false,
	.max = KQ_PARAM_PCT_MAX,
};

static struct kq_param_attr kq_pa_history_max_pct = {
	.attr = __ATTR(history_max_pct, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, history_max_pct),
	.is64 = false,
	.max = KQ_PARAM_PCT_MAX,
};

static struct kq_param_attr kq_pa_debt_max_us = {
	.attr = __ATTR(debt_max_us, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, debt_max_us),
	.is64 = false,
	.max = KQ_PARAM_DEBT_US_MAX,
};

static struct kq_param_attr kq_pa_spin_ple_rate_milli = {
	.attr = __ATTR(spin_ple_rate_milli, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, spin_ple_rate_milli),
	.is64 = true,
	.max = KQ_PARAM_RATE_MILLI_MAX,
};

static struct kq_param_attr kq_pa_latency_burst_us = {
	.attr = __ATTR(latency_burst_us, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, latency_burst_us),
	.is64 = false,
	.max = KQ_PARAM_BURST_US_MAX,
};

static struct kq_param_attr kq_pa_latency_boost = {
	.attr = __ATTR(latency_boost, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, latency_boost),
	.is64 = false,
	.max = KQ_PARAM_BOOST_MAX,
};

static struct kq_param_attr kq_pa_ratelimit_us = {
	.attr = __ATTR(ratelimit_us, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, ratelimit_us),
	.is64 = false,
	.max = KQ_PARAM_RATELIMIT_US_MAX,
};

static struct kq_param_attr kq_pa_flush_burst_pct = {
	.attr = __ATTR(flush_burst_pct, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, flush_burst_pct),
	.is64 = false,
	.max = KQ_PARAM_BURST_PCT_MAX,
};

static struct kq_param_attr kq_pa_host_thresholds = {
	.attr = __ATTR(host_thresholds, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, host_thresholds),
	.is64 = false,
	.max = KQ_PARAM_SWITCH_MAX,
};

static struct kq_param_attr kq_pa_warm_pct = {
	.attr = __ATTR(warm_pct, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, warm_pct),
	.is64 = false,
	.min = KQ_PARAM_WARM_PCT_MIN,
	.max = KQ_PARAM_WARM_PCT_MAX,
};

static struct kq_param_attr kq_pa_flush_pct = {
	.attr = __ATTR(flush_pct, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, flush_pct),
	.is64 = false,
	.min = KQ_PARAM_FLUSH_PCT_MIN,
	.max = KQ_PARAM_FLUSH_PCT_MAX,
};

static struct kq_param_attr kq_pa_group_shift_pct = {
	.attr = __ATTR(group_shift_pct, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, group_shift_pct),
	.is64 = false,
	.max = KQ_PARAM_GROUP_SHIFT_PCT_MAX,
};

static struct kq_param_attr kq_pa_smt_hungry_pct = {
	.attr = __ATTR(smt_hungry_pct, 0644, kq_param_show, kq_param_store),
	.off = offsetof(struct kq_policy_params, smt_hungry_pct),
	.is64 = false,
	.max = KQ_PARAM_PCT_MAX,
};

/*
 * The PMU thresholds the last window used, one "name value source" line
 * each: source "host" for one read from the host's distribution, else
 * "default" (the knob's value then).  Before the first window, the knobs.
 * Root only: derived from every tenant's PMU values
 * (Documentation/security.rst).
 */
static ssize_t thresholds_in_use_show(struct kobject *kobj,
				      struct kobj_attribute *attr, char *buf)
{
	unsigned int t, from_host = 0;
	u32 val[KQ_THR_NR];
	int len = 0;

	if (!kq_window_thresholds_in_use(val, &from_host)) {
		struct kq_policy_params p;

		spin_lock(&kq_params_lock);
		p = kq_params;
		spin_unlock(&kq_params_lock);
		for (t = 0; t < KQ_THR_NR; t++)
			val[t] = kq_threshold_value(&p, t);
	}
	for (t = 0; t < KQ_THR_NR; t++)
		len += sysfs_emit_at(buf, len, "%s %u %s\n",
				     kq_threshold_name(t), val[t],
				     from_host & (1U << t) ? "host" : "default");
	return len;
}

static struct kobj_attribute kq_attr_thresholds_in_use =
	__ATTR(thresholds_in_use, 0400, thresholds_in_use_show, NULL);

static struct attribute *kq_param_attrs[] = {
	&kq_pa_warm_ipc_milli.attr.attr,
	&kq_pa_warm_llc_mpki_milli.attr.attr,
	&kq_pa_warm_br_mpki_milli.attr.attr,
	&kq_pa_warm_exit_rate_milli.attr.attr,
	&kq_pa_heavy_exit_rate_milli.attr.attr,
	&kq_pa_flush_llc_mpki_milli.attr.attr,
	&kq_pa_flush_burst_pct.attr.attr,
	&kq_pa_phase_drop_pct.attr.attr,
	&kq_pa_idle_halt_pct.attr.attr,
	&kq_pa_history_max_pct.attr.attr,
	&kq_pa_debt_max_us.attr.attr,
	&kq_pa_spin_ple_rate_milli.attr.attr,
	&kq_pa_latency_burst_us.attr.attr,
	&kq_pa_latency_boost.attr.attr,
	&kq_pa_ratelimit_us.attr.attr,
	&kq_pa_host_thresholds.attr.attr,
	&kq_pa_warm_pct.attr.attr,
	&kq_pa_flush_pct.attr.attr,
	&kq_pa_group_shift_pct.attr.attr,
	&kq_pa_smt_hungry_pct.attr.attr,
	&kq_attr_thresholds_in_use.attr,
	NULL,
};

static const struct attribute_group kq_param_group = {
	.name = "policy",
	.attrs = kq_param_attrs,
};

static struct attribute *kq_root_attrs[] = {
	&kq_attr_mode.attr,
	&kq_attr_objects.attr,
	&kq_attr_hooks.attr,
	&kq_attr_lost_exits.attr,
	&kq_attr_events.attr,
	&kq_attr_pmu.attr,
	&kq_attr_sample_interval_ms.attr,
	&kq_attr_telemetry_drops.attr,
	NULL,
};

static const struct attribute_group kq_root_group = {
	.attrs = kq_root_attrs,
};

/*
 * Processor state, per vCPU and per VM, in three views, one value per
 * file: window/ (the last sampling window), recent/ (moving average over
 * windows) and total/ (since first seen).  A value with no inputs (no PMU,
 * no exits) reads "none".
 */
enum kq_view { KQ_VIEW_WINDOW, KQ_VIEW_RECENT, KQ_VIEW_TOTAL };

enum kq_field {
	KQ_F_IPC_MILLI,
	KQ_F_LLC_MPKI_MILLI,
	KQ_F_BRANCH_MPKI_MILLI,
	KQ_F_EXIT_RATE_MILLI,
	KQ_F_MEAN_RUN_NS,
	KQ_F_QUANTUM_NS,
	KQ_F_WINDOW_NS,
	KQ_F_GUEST_NS,
	KQ_F_EXITS,
	KQ_F_RUN_NS,
	KQ_F_WAIT_NS,
	KQ_F_SLICES,
	KQ_F_HALT_NS,
};

struct kq_state_attr {
	struct kobj_attribute attr;
	enum kq_view view;
	enum kq_field field;
};

static struct kq_window *kq_view_of(struct kq_history *h,
				    struct kq_window *last, enum kq_view view)
{
	switch (view) {
	case KQ_VIEW_RECENT:
		return &h->recent;
	case KQ_VIEW_TOTAL:
		return &h->total;
	default:
		return last;
	}
}

static ssize_t kq_emit_u64(char *buf, u64 v)
{
	return v == KQ_NONE64 ? sysfs_emit(buf, "none\n") :
				sysfs_emit(buf, "%llu\n", v);
}

static ssize_t kq_emit_u32(char *buf, u32 v)
{
	return v == KQ_NONE32 ? sysfs_emit(buf, "none\n") :
				sysfs_emit(buf, "%u\n", v);
}

static ssize_t kq_emit_field(char *buf, const struct kq_window *w,
			     enum kq_field f)
{
	switch (f) {
	case KQ_F_IPC_MILLI:
		return kq_emit_u32(buf, w->ipc_milli);
	case KQ_F_LLC_MPKI_MILLI:
		return kq_emit_u32(buf, w->llc_mpki_milli);
	case KQ_F_BRANCH_MPKI_MILLI:
		return kq_emit_u32(buf, w->br_mpki_milli);
	case KQ_F_EXIT_RATE_MILLI:
		return kq_emit_u64(buf, w->exit_rate_milli);
	case KQ_F_MEAN_RUN_NS:
		return kq_emit_u64(buf, w->mean_run_ns);
	case KQ_F_QUANTUM_NS:
		return kq_emit_u64(buf, w->quantum_ns);
	case KQ_F_WINDOW_NS:
		return kq_emit_u64(buf, w->window_ns);
	case KQ_F_GUEST_NS:
		return kq_emit_u64(buf, w->guest_ns);
	case KQ_F_EXITS:
		return kq_emit_u64(buf, w->exits);
	case KQ_F_RUN_NS:
		return kq_emit_u64(buf, w->run_ns);
	case KQ_F_WAIT_NS:
		return kq_emit_u64(buf, w->wait_ns);
	case KQ_F_SLICES:
		return kq_emit_u64(buf, w->slices);
	case KQ_F_HALT_NS:
		return kq_emit_u64(buf, w->halt_ns);
	}
	return -EINVAL;
}

static const struct kobj_type kq_vm_ktype;

/* Shared by vCPU and VM directories; the group's parent tells which. */
static ssize_t kq_state_show(struct kobject *kobj, struct kobj_attribute *a,
			     char *buf)
{
	struct kq_state_attr *sa = container_of(a, struct kq_state_attr, attr);
	struct kq_window w;

	if (kobj->ktype == &kq_vm_ktype) {
		struct kq_vm *vm = container_of(kobj, struct kq_vm, kobj);

		spin_lock(&vm->state_lock);
		w = *kq_view_of(&vm->hist, &vm->last, sa->view);
		spin_unlock(&vm->state_lock);
	} else {
		struct kq_vcpu *v = container_of(kobj, struct kq_vcpu, kobj);

		spin_lock(&v->state_lock);
		w = *kq_view_of(&v->hist, &v->last, sa->view);
		spin_unlock(&v->state_lock);
	}
	return kq_emit_field(buf, &w, sa->field);
}

#define KQ_STATE_ATTR(v, f, name)					\
	static struct kq_state_attr kq_sa_##v##_##name = {		\
		.attr = __ATTR(name, KQ_TENANT_RO, kq_state_show, NULL),	\
		.view = KQ_VIEW_##v,					\
		.field = KQ_F_##f,					\
	}

/* Derived values are in every view; amounts in window/ and total/. */
KQ_STATE_ATTR(WINDOW, IPC_MILLI, ipc_milli);
KQ_STATE_ATTR(WINDOW, LLC_MPKI_MILLI, llc_mpki_milli);
KQ_STATE_ATTR(WINDOW, BRANCH_MPKI_MILLI, branch_mpki_milli);
KQ_STATE_ATTR(WINDOW, EXIT_RATE_MILLI, exit_rate_milli);
KQ_STATE_ATTR(WINDOW, MEAN_RUN_NS, mean_run_ns);
KQ_STATE_ATTR(WINDOW, QUANTUM_NS, quantum_ns);
KQ_STATE_ATTR(WINDOW, WINDOW_NS, window_ns);
KQ_STATE_ATTR(WINDOW, GUEST_NS, guest_ns);
KQ_STATE_ATTR(WINDOW, EXITS, exits);
KQ_STATE_ATTR(WINDOW, RUN_NS, run_ns);
KQ_STATE_ATTR(WINDOW, WAIT_NS, wait_ns);
KQ_STATE_ATTR(WINDOW, SLICES, slices);
KQ_STATE_ATTR(WINDOW, HALT_NS, halt_ns);

KQ_STATE_ATTR(RECENT, IPC_MILLI, ipc_milli);
KQ_STATE_ATTR(RECENT, LLC_MPKI_MILLI, llc_mpki_milli);
KQ_STATE_ATTR(RECENT, BRANCH_MPKI_MILLI, branch_mpki_milli);
KQ_STATE_ATTR(RECENT, EXIT_RATE_MILLI, exit_rate_milli);
KQ_STATE_ATTR(RECENT, MEAN_RUN_NS, mean_run_ns);
KQ_STATE_ATTR(RECENT, QUANTUM_NS, quantum_ns);

KQ_STATE_ATTR(TOTAL, IPC_MILLI, ipc_milli);
KQ_STATE_ATTR(TOTAL, LLC_MPKI_MILLI, llc_mpki_milli);
KQ_STATE_ATTR(TOTAL, BRANCH_MPKI_MILLI, branch_mpki_milli);
KQ_STATE_ATTR(TOTAL, EXIT_RATE_MILLI, exit_rate_milli);
KQ_STATE_ATTR(TOTAL, MEAN_RUN_NS, mean_run_ns);
KQ_STATE_ATTR(TOTAL, QUANTUM_NS, quantum_ns);
KQ_STATE_ATTR(TOTAL, WINDOW_NS, window_ns);
KQ_STATE_ATTR(TOTAL, GUEST_NS, guest_ns);
KQ_STATE_ATTR(TOTAL, EXITS, exits);
KQ_STATE_ATTR(TOTAL, RUN_NS, run_ns);
KQ_STATE_ATTR(TOTAL, WAIT_NS, wait_ns);
KQ_STATE_ATTR(TOTAL, SLICES, slices);
KQ_STATE_ATTR(TOTAL, HALT_NS, halt_ns);

static struct attribute *kq_window_attrs[] = {
	&kq_sa_WINDOW_ipc_milli.attr.attr,
	&kq_sa_WINDOW_llc_mpki_milli.attr.attr,
	&kq_sa_WINDOW_branch_mpki_milli.attr.attr,
	&kq_sa_WINDOW_exit_rate_milli.attr.attr,
	&kq_sa_WINDOW_mean_run_ns.attr.attr,
	&kq_sa_WINDOW_quantum_ns.attr.attr,
	&kq_sa_WINDOW_window_ns.attr.attr,
	&kq_sa_WINDOW_guest_ns.attr.attr,
	&kq_sa_WINDOW_exits.attr.attr,
	&kq_sa_WINDOW_run_ns.attr.attr,
	&kq_sa_WINDOW_wait_ns.attr.attr,
	&kq_sa_WINDOW_slices.attr.attr,
	&kq_sa_WINDOW_halt_ns.attr.attr,
	NULL,
};

static struct attribute *kq_recent_attrs[] = {
	&kq_sa_RECENT_ipc_milli.attr.attr,
	&kq_sa_RECENT_llc_mpki_milli.attr.attr,
	&kq_sa_RECENT_branch_mpki_milli.attr.attr,
	&kq_sa_RECENT_exit_rate_milli.attr.attr,
	&kq_sa_RECENT_mean_run_ns.attr.attr,
	&kq_sa_RECENT_quantum_ns.attr.attr,
	NULL,
};

static struct attribute *kq_total_attrs[] = {
	&kq_sa_TOTAL_ipc_milli.attr.attr,
	&kq_sa_TOTAL_llc_mpki_milli.attr.attr,
	&kq_sa_TOTAL_branch_mpki_milli.attr.attr,
	&kq_sa_TOTAL_exit_rate_milli.attr.attr,
	&kq_sa_TOTAL_mean_run_ns.attr.attr,
	&kq_sa_TOTAL_quantum_ns.attr.attr,
	&kq_sa_TOTAL_window_ns.attr.attr,
	&kq_sa_TOTAL_guest_ns.attr.attr,
	&kq_sa_TOTAL_exits.attr.attr,
	&kq_sa_TOTAL_run_ns.attr.attr,
	&kq_sa_TOTAL_wait_ns.attr.attr,
	&kq_sa_TOTAL_slices.attr.attr,
	&kq_sa_TOTAL_halt_ns.attr.attr,
	NULL,
};

static const struct attribute_group kq_window_group = {
	.name = "window",
	.attrs = kq_window_attrs,
};

static const struct attribute_group kq_recent_group = {
	.name = "recent",
	.attrs = kq_recent_attrs,
};

static const struct attribute_group kq_total_group = {
	.name = "total",
	.attrs = kq_total_attrs,
};

/* vms/<vm>/ */

#define to_kq_vm(k) container_of(k, struct kq_vm, kobj)

static ssize_t pid_show(struct kobject *kobj, struct kobj_attribute *attr,
			char *buf)
{
	return sysfs_emit(buf, "%d\n", to_kq_vm(kobj)->pid);
}

static struct kobj_attribute kq_attr_pid =
	__ATTR(pid, KQ_TENANT_RO, pid_show, NULL);

static struct attribute *kq_vm_attrs[] = {
	&kq_attr_pid.attr,
	NULL,
};

static const struct attribute_group kq_vm_group = {
	.attrs = kq_vm_attrs,
};

/*
 * vms/<vm>/policy/: the VM's knobs.  A write is checked against the other
 * knobs (min <= base <= max) and applied whole or not at all.
 */
enum kq_vm_knob {
	KQ_K_ENABLED, KQ_K_MIN, KQ_K_BASE, KQ_K_MAX, KQ_K_WEIGHT, KQ_K_GROUP,
};

struct kq_knob_attr {
	struct kobj_attribute attr;
	enum kq_vm_knob knob;
};

static u32 *kq_knob_field(struct kq_vm_policy *vp, enum kq_vm_knob k)
{
	switch (k) {
	case KQ_K_MIN:
		return &vp->min_us;
	case KQ_K_BASE:
		return &vp->base_us;
	case KQ_K_MAX:
		return &vp->max_us;
	case KQ_K_WEIGHT:
		return &vp->weight;
	case KQ_K_GROUP:
		return &vp->group;
	default:
		return NULL;
	}
}

static ssize_t kq_knob_show(struct kobject *kobj, struct kobj_attribute *a,
			    char *buf)
{
	struct kq_knob_attr *ka = container_of(a, struct kq_knob_attr, attr);
	struct kq_vm *vm = to_kq_vm(kobj);
	struct kq_vm_policy vp;

	spin_lock(&vm->state_lock);
	vp = vm->pol;
	spin_unlock(&vm->state_lock);
	if (ka->knob == KQ_K_ENABLED)
		return sysfs_emit(buf, "%d\n", vp.enabled);
	return sysfs_emit(buf, "%u\n", *kq_knob_field(&vp, ka->knob));
}

static ssize_t kq_knob_store(struct kobject *kobj, struct kobj_attribute *a,
			     const char *buf, size_t count)
{
	struct kq_knob_attr *ka = container_of(a, struct kq_knob_attr, attr);
	struct kq_vm *vm = to_kq_vm(kobj);
	struct kq_vm_policy vp;
	bool on;
	u32 val;
	int ret;

	ret = kq_text_ok(buf, count);
	if (!ret && ka->knob == KQ_K_ENABLED)
		ret = kq_parse_bool(buf, &on);
	else if (!ret)
		ret = kstrtou32(buf, 10, &val);
	if (ret)
		return ret;
	spin_lock(&vm->state_lock);
	vp = vm->pol;
	if (ka->knob == KQ_K_ENABLED)
		vp.enabled = on;
	else
		*kq_knob_field(&vp, ka->knob) = val;
	ret = kq_vm_policy_validate(&vp);
	if (!ret)
		vm->pol = vp;
	spin_unlock(&vm->state_lock);
	if (ret)
		return ret;
	kq_sample_now();
	return count;
}

#define KQ_KNOB_ATTR(k, name)						\
	static struct kq_knob_attr kq_ka_##name = {			\
		.attr = __ATTR(name, KQ_TENANT_RW, kq_knob_show, kq_knob_store),\
		.knob = KQ_K_##k,					\
	}

KQ_KNOB_ATTR(ENABLED, enabled);
KQ_KNOB_ATTR(MIN, min_quantum_us);
KQ_KNOB_ATTR(BASE, base_quantum_us);
KQ_KNOB_ATTR(MAX, max_quantum_us);
KQ_KNOB_ATTR(WEIGHT, weight);
KQ_KNOB_ATTR(GROUP, group);

static struct attribute *kq_knob_attrs[] = {
	&kq_ka_enabled.attr.attr,
	&kq_ka_min_quantum_us.attr.attr,
	&kq_ka_base_quantum_us.attr.attr,
	&kq_ka_max_quantum_us.attr.attr,
	&kq_ka_weight.attr.attr,
	&kq_ka_group.attr.attr,
	NULL,
};

static const struct attribute_group kq_knob_group = {
	.name = "policy",
	.attrs = kq_knob_attrs,
};

static const struct attribute_group *kq_vm_groups[] = {
	&kq_vm_group, &kq_window_group, &kq_recent_group, &kq_total_group,
	&kq_knob_group, NULL,
};

static void kq_vm_release(struct kobject *kobj)
{
	kfree(to_kq_vm(kobj));
}

static const struct kobj_type kq_vm_ktype = {
	.release = kq_vm_release,
	.get_ownership = kq_sysfs_ownership,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = kq_vm_groups,
};

/* vms/<vm>/vcpus/<idx>/ */

#define to_kq_vcpu(k) container_of(k, struct kq_vcpu, kobj)

static ssize_t tid_show(struct kobject *kobj, struct kobj_attribute *attr,
			char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(to_kq_vcpu(kobj)->tid));
}

static ssize_t exits_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	u64 kinds[KVM_QUANTA_EXIT_NR];
	u64 exits;

	kq_vcpu_read_kinds(to_kq_vcpu(kobj), &exits, kinds);
	return sysfs_emit(buf, "%llu\n", exits);
}

static ssize_t exit_reasons_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	u64 kinds[KVM_QUANTA_EXIT_NR];
	unsigned int i;
	ssize_t len = 0;
	u64 exits;

	kq_vcpu_read_kinds(to_kq_vcpu(kobj), &exits, kinds);
	for (i = 0; i < KVM_QUANTA_EXIT_NR; i++)
		len += sysfs_emit_at(buf, len, "%s %llu\n",
				     kq_exit_kind_name(i), kinds[i]);
	return len;
}

static ssize_t target_quantum_us_show(struct kobject *kobj,
				      struct kobj_attribute *attr, char *buf)
{
	struct kq_vcpu *v = to_kq_vcpu(kobj);
	u64 t;

	spin_lock(&v->state_lock);
	t = v->pol.target_ns;
	spin_unlock(&v->state_lock);
	return sysfs_emit(buf, "%llu\n", t / 1000);
}

static ssize_t reason_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	struct kq_vcpu *v = to_kq_vcpu(kobj);
	u32 r;

	spin_lock(&v->state_lock);
	r = v->pol.reason;
	spin_unlock(&v->state_lock);
	return sysfs_emit(buf, "%s\n", kq_reason_name(r));
}

static ssize_t debt_us_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	struct kq_vcpu *v = to_kq_vcpu(kobj);
	s64 d;

	spin_lock(&v->state_lock);
	d = v->pol.debt_ns;
	spin_unlock(&v->state_lock);
	return sysfs_emit(buf, "%lld\n", div_s64(d, 1000));
}

/* "<applied> <lasting>": the last window's group shift and its lasting part. */
static ssize_t group_shift_pct_show(struct kobject *kobj,
				    struct kobj_attribute *attr, char *buf)
{
	struct kq_vcpu *v = to_kq_vcpu(kobj);
	s32 applied, lasting;

	spin_lock(&v->state_lock);
	applied = v->pol.group_shift_pct;
	lasting = v->pol.group_pct;
	spin_unlock(&v->state_lock);
	return sysfs_emit(buf, "%d %d\n", applied, lasting);
}

static ssize_t decisions_show(struct kobject *kobj,
			      struct kobj_attribute *attr, char *buf)
{
	struct kq_vcpu *v = to_kq_vcpu(kobj);
	u64 d[KVM_QUANTA_R_NR];
	unsigned int i;
	ssize_t len = 0;

	spin_lock(&v->state_lock);
	kq_vcpu_decisions(v, d);
	spin_unlock(&v->state_lock);
	for (i = 0; i < KVM_QUANTA_R_NR; i++)
		len += sysfs_emit_at(buf, len, "%s %llu\n", kq_reason_name(i),
				     d[i]);
	return len;
}

#define KQ_TENANT_ATTR(name) \
	struct kobj_attribute kq_attr_##name = \
		__ATTR(name, KQ_TENANT_RO, name##_show, NULL)

static KQ_TENANT_ATTR(target_quantum_us);
static KQ_TENANT_ATTR(reason);
static KQ_TENANT_ATTR(debt_us);
static KQ_TENANT_ATTR(group_shift_pct);
static KQ_TENANT_ATTR(decisions);
static KQ_TENANT_ATTR(tid);
static KQ_TENANT_ATTR(exits);
static KQ_TENANT_ATTR(exit_reasons);

static struct attribute *kq_vcpu_attrs[] = {
	&kq_attr_tid.attr,
	&kq_attr_exits.attr,
	&kq_attr_exit_reasons.attr,
	&kq_attr_target_quantum_us.attr,
	&kq_attr_reason.attr,
	&kq_attr_debt_us.attr,
	&kq_attr_group_shift_pct.attr,
	&kq_attr_decisions.attr,
	NULL,
};

static const struct attribute_group kq_vcpu_group = {
	.attrs = kq_vcpu_attrs,
};

static const struct attribute_group *kq_vcpu_groups[] = {
	&kq_vcpu_group, &kq_window_group, &kq_recent_group, &kq_total_group,
	NULL,
};

static void kq_vcpu_release(struct kobject *kobj)
{
	kfree(to_kq_vcpu(kobj));
}

static const struct kobj_type kq_vcpu_ktype = {
	.release = kq_vcpu_release,
	.get_ownership = kq_sysfs_ownership,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = kq_vcpu_groups,
};

void kq_sysfs_vm_init(struct kq_vm *vm)
{
	kobject_init(&vm->kobj, &kq_vm_ktype);
}

void kq_sysfs_vcpu_init(struct kq_vcpu *v)
{
	kobject_init(&v->kobj, &kq_vcpu_ktype);
}

/**
 * kq_sysfs_add_vm() - publish a VM as vms/<pid>-<id>
 * @vm: the VM, initialised with kq_sysfs_vm_init()
 *
 * Return: 0 or a negative errno; on error the caller puts @vm->kobj.
 */
int kq_sysfs_add_vm(struct kq_vm *vm)
{
	int ret;

	ret = kobject_add(&vm->kobj, kq_vms_kobj, "%d-%llu", vm->pid, vm->id);
	if (ret)
		return ret;
	vm->vcpus_kobj = kobject_create_and_add("vcpus", &vm->kobj);
	if (!vm->vcpus_kobj) {
		kobject_del(&vm->kobj);
		return -ENOMEM;
	}
	return 0;
}

/**
 * kq_sysfs_add_vcpu() - publish a vCPU as vms/<vm>/vcpus/<idx>
 * @vm: its VM, already published
 * @v: the vCPU
 *
 * Return: 0 or a negative errno.
 */
int kq_sysfs_add_vcpu(struct kq_vm *vm, struct kq_vcpu *v)
{
	return kobject_add(&v->kobj, vm->vcpus_kobj, "%d", v->idx);
}

int kq_sysfs_init(void)
{
	int ret;

	kq_reader_gid = make_kgid(&init_user_ns, reader_gid);
	if (!gid_valid(kq_reader_gid)) {
		pr_err("kvm_quanta: reader_gid=%u is not a valid group\n",
		       reader_gid);
		return -EINVAL;
	}
	kq_root_kobj = kobject_create_and_add("kvm_quanta", kernel_kobj);
	if (!kq_root_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(kq_root_kobj, &kq_root_group);
	if (!ret)
		ret = sysfs_create_group(kq_root_kobj, &kq_param_group);
	if (ret)
		goto err_root;
	kq_vms_kobj = kobject_create_and_add("vms", kq_root_kobj);
	if (!kq_vms_kobj) {
		ret = -ENOMEM;
		goto err_root;
	}
	ret = kq_pcpu_init(kq_root_kobj);
	if (ret)
		goto err_vms;
	return 0;

err_vms:
	kobject_put(kq_vms_kobj);
err_root:
	kobject_put(kq_root_kobj);
	return ret;
}

void kq_sysfs_exit(void)
{
	kq_pcpu_exit();
	kobject_put(kq_vms_kobj);
	kobject_put(kq_root_kobj);
}
