// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_quanta: the "kvm_quanta" generic netlink family.
 *
 * Every sampling window the sampler hands us one struct kq_sample per
 * tracked vCPU; we multicast them on the "samples" group as
 * KVM_QUANTA_CMD_SAMPLES messages, as many as the window needs, each
 * carrying the window's sequence number and vCPU count so that a listener
 * can tell whether it got all of them.  Requests: GET_STATE (dump of the
 * latest sample of every vCPU), GET_CONFIG, and SET_CONFIG (CAP_NET_ADMIN).
 *
 * Per-vCPU samples are tenants' data (Documentation/security.rst): the
 * "samples" group can be joined with CAP_NET_ADMIN only, and GET_STATE
 * needs CAP_PERFMON or the reader group, like the sysfs files.
 *
 * Only what works unchanged from 6.1 to 7.x is used: small_ops (plus one
 * full genl_ops for the dump, which needs start/done), a family-level
 * policy, no pre/post_doit, no user header.  The family lives in the
 * initial network namespace only: this is host telemetry.
 */
#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/netlink.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "compat.h"
#include "kvm_quanta.h"
#include "telemetry.h"

/* Index of the group in kq_nl_mcgrps, as genlmsg_multicast() wants it. */
enum kq_nl_group {
	KQ_NL_GRP_SAMPLES,
};

static atomic64_t kq_nl_drop_count = ATOMIC64_INIT(0);

/*
 * Serialises kq_nl_publish() with kq_nl_exit(): nothing is multicast on the
 * family's group ids once it is being unregistered (they may be handed to
 * another family right after).
 */
static DEFINE_MUTEX(kq_nl_pub_lock);
static bool kq_nl_live;

/*
 * Requests carry at most these two.  Strict validation (the default) makes
 * every other attribute in a request an error.
 */
static const struct nla_policy kq_nl_policy[KVM_QUANTA_A_MAX + 1] = {
	[KVM_QUANTA_A_INTERVAL_MS] = NLA_POLICY_RANGE(NLA_U32,
						      KQ_INTERVAL_MIN_MS,
						      KQ_INTERVAL_MAX_MS),
	[KVM_QUANTA_A_MODE] = NLA_POLICY_MAX(NLA_U32, KQ_MODE_ENFORCE),
};

static struct genl_family kq_nl_family;

/**
 * kq_nl_pmu_any() - whether a window has at least one perf count
 * @w: the window
 *
 * Return: true if some role of @w->pmu is not KQ_NONE64.
 */
static bool kq_nl_pmu_any(const struct kq_window *w)
{
	int i;

	for (i = 0; i < KVM_QUANTA_EV_NR; i++)
		if (w->pmu[i] != KQ_NONE64)
			return true;
	return false;
}

static int kq_nl_put_u64(struct sk_buff *skb, int type, u64 v)
{
	return nla_put_u64_64bit(skb, type, v, KVM_QUANTA_V_PAD);
}

/* A derived value: absent when it has none. */
static int kq_nl_put_opt_u64(struct sk_buff *skb, int type, u64 v)
{
	return v == KQ_NONE64 ? 0 : kq_nl_put_u64(skb, type, v);
}

static int kq_nl_put_opt_u32(struct sk_buff *skb, int type, u32 v)
{
	return v == KQ_NONE32 ? 0 : nla_put_u32(skb, type, v);
}

/* Guest time by CPU, as struct kvm_quanta_cpu_ns[]; nothing if none. */
static int kq_nl_put_split(struct sk_buff *skb, const struct kq_ran_split *sp)
{
	struct kvm_quanta_cpu_ns c[ARRAY_SIZE(sp->cpus)] = {};
	unsigned int i, n = min_t(unsigned int, sp->n, ARRAY_SIZE(c));

	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		c[i].cpu = sp->cpus[i];
		c[i].ns = sp->ns[i];
	}
	return nla_put(skb, KVM_QUANTA_V_GUEST_NS_BY_CPU, n * sizeof(c[0]), c);
}

/**
 * kq_nl_put_sample() - append one vCPU's sample as a KVM_QUANTA_A_VCPU nest
 * @skb: the message being built
 * @s: the sample
 *
 * Derived values that have no value (KQ_NONE32/KQ_NONE64) are left out;
 * KVM_QUANTA_V_PMU is there only if at least one role was counted, and
 * KVM_QUANTA_V_GUEST_NS_BY_CPU only if guest time was measured.
 *
 * Return: 0, or -EMSGSIZE with @skb as it was if the nest did not fit.
 */
static int kq_nl_put_sample(struct sk_buff *skb, const struct kq_sample *s)
{
	const struct kq_window *w = &s->w;
	struct nlattr *nest;

	nest = nla_nest_start(skb, KVM_QUANTA_A_VCPU);
	if (!nest)
		return -EMSGSIZE;
	if (kq_nl_put_u64(skb, KVM_QUANTA_V_VM_ID, s->vm_id) ||
	    nla_put_u32(skb, KVM_QUANTA_V_PID, s->pid) ||
	    nla_put_u32(skb, KVM_QUANTA_V_VCPU_IDX, s->vcpu_idx) ||
	    nla_put_u32(skb, KVM_QUANTA_V_TID, s->tid) ||
	    nla_put_u32(skb, KVM_QUANTA_V_CPU, s->cpu) ||
	    kq_nl_put_u64(skb, KVM_QUANTA_V_WINDOW_NS, w->window_ns) ||
	    kq_nl_put_u64(skb, KVM_QUANTA_V_GUEST_NS, w->guest_ns) ||
	    kq_nl_put_u64(skb, KVM_QUANTA_V_EXITS, w->exits) ||
	    nla_put(skb, KVM_QUANTA_V_EXIT_KINDS, sizeof(w->kinds), w->kinds) ||
	    kq_nl_put_u64(skb, KVM_QUANTA_V_RUN_NS, w->run_ns) ||
	    kq_nl_put_u64(skb, KVM_QUANTA_V_WAIT_NS, w->wait_ns) ||
	    kq_nl_put_u64(skb, KVM_QUANTA_V_SLICES, w->slices) ||
	    kq_nl_put_u64(skb, KVM_QUANTA_V_HALT_NS, w->halt_ns))
		goto cancel;
	if (kq_nl_pmu_any(w) &&
	    nla_put(skb, KVM_QUANTA_V_PMU, sizeof(w->pmu), w->pmu))
		goto cancel;
	if (kq_nl_put_opt_u32(skb, KVM_QUANTA_V_IPC_MILLI, w->ipc_milli) ||
	    kq_nl_put_opt_u32(skb, KVM_QUANTA_V_LLC_MPKI_MILLI,
			      w->llc_mpki_milli) ||
	    kq_nl_put_opt_u32(skb, KVM_QUANTA_V_BR_MPKI_MILLI,
			      w->br_mpki_milli) ||
	    kq_nl_put_opt_u64(skb, KVM_QUANTA_V_EXIT_RATE_MILLI,
			      w->exit_rate_milli) ||
	    kq_nl_put_opt_u64(skb, KVM_QUANTA_V_MEAN_RUN_NS, w->mean_run_ns) ||
	    kq_nl_put_opt_u64(skb, KVM_QUANTA_V_QUANTUM_NS, w->quantum_ns))
		goto cancel;
	if (kq_nl_put_u64(skb, KVM_QUANTA_V_TARGET_NS, s->target_ns) ||
	    nla_put_u32(skb, KVM_QUANTA_V_REASON, s->reason) ||
	    nla_put_s64(skb, KVM_QUANTA_V_DEBT_NS, s->debt_ns,
			KVM_QUANTA_V_PAD) ||
	    nla_put(skb, KVM_QUANTA_V_DECISIONS, sizeof(s->decisions),
		    s->decisions) ||
	    kq_nl_put_split(skb, &s->split))
		goto cancel;
	nla_nest_end(skb, nest);
	return 0;

cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

/**
 * kq_nl_publish() - multicast one window's samples on the "samples" group
 * @seq: the window's sequence number, from 1
 * @time_ns: end of the window, CLOCK_MONOTONIC
 * @s: one sample per tracked vCPU
 * @n: number of samples; 0 still sends one message, so listeners see the
 *	window
 *
 * Fills NLMSG_GOODSIZE messages with as many samples as fit, each with the
 * window's SEQ, TIME_NS, NR_VCPUS and the drop counter, and multicasts
 * them.  A message a listener could not take (-ENOBUFS) or that could not
 * be allocated counts as a drop; an allocation failure also gives up the
 * rest of the window.  Does nothing when nobody listens.
 *
 * Context: process context (the sampler's work item); may sleep.
 */
void kq_nl_publish(u64 seq, u64 time_ns, const struct kq_sample *s,
		   unsigned int n)
{
	unsigned int i = 0;

	if (!KQ_NL_MCAST_PRIVATE)
		return;
	mutex_lock(&kq_nl_pub_lock);
	if (!kq_nl_live ||
	    !genl_has_listeners(&kq_nl_family, &init_net, KQ_NL_GRP_SAMPLES))
		goto out;

	do {
		unsigned int first = i;
		struct sk_buff *skb;
		void *hdr;
		int ret;

		skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
		if (!skb) {
			atomic64_inc(&kq_nl_drop_count);
			goto out;
		}
		hdr = genlmsg_put(skb, 0, 0, &kq_nl_family, 0,
				  KVM_QUANTA_CMD_SAMPLES);
		if (!hdr ||
		    nla_put_u64_64bit(skb, KVM_QUANTA_A_SEQ, seq,
				      KVM_QUANTA_A_PAD) ||
		    nla_put_u64_64bit(skb, KVM_QUANTA_A_TIME_NS, time_ns,
				      KVM_QUANTA_A_PAD) ||
		    nla_put_u64_64bit(skb, KVM_QUANTA_A_DROPS,
				      atomic64_read(&kq_nl_drop_count),
				      KVM_QUANTA_A_PAD) ||
		    nla_put_u32(skb, KVM_QUANTA_A_NR_VCPUS, n)) {
			nlmsg_free(skb);
			WARN_ON_ONCE(1);
			goto out;
		}
		while (i < n && !kq_nl_put_sample(skb, &s[i]))
			i++;
		if (WARN_ON_ONCE(i == first && i < n)) {
			/* One sample larger than a message: cannot happen. */
			nlmsg_free(skb);
			goto out;
		}
		genlmsg_end(skb, hdr);

		ret = genlmsg_multicast(&kq_nl_family, skb, 0,
					KQ_NL_GRP_SAMPLES, GFP_KERNEL);
		if (ret == -ENOBUFS)
			atomic64_inc(&kq_nl_drop_count);
	} while (i < n);
out:
	mutex_unlock(&kq_nl_pub_lock);
}

/**
 * kq_nl_drops() - sample messages not delivered since the module loaded
 *
 * Return: messages that a listener's full socket refused, plus those that
 * could not be allocated.
 */
u64 kq_nl_drops(void)
{
	return atomic64_read(&kq_nl_drop_count);
}

/**
 * struct kq_nl_dump_ctx - a GET_STATE dump in progress, in cb->ctx
 * @samples: the snapshot taken when the dump started
 * @n: its length
 * @next: first sample not sent yet
 */
struct kq_nl_dump_ctx {
	struct kq_sample *samples;
	unsigned int n;
	unsigned int next;
};

static struct kq_nl_dump_ctx *kq_nl_dump_ctx(struct netlink_callback *cb)
{
	BUILD_BUG_ON(sizeof(struct kq_nl_dump_ctx) > sizeof(cb->ctx));
	return (struct kq_nl_dump_ctx *)cb->ctx;
}

/* The snapshot is taken once per dump, so all its messages agree. */
static int kq_nl_state_start(struct netlink_callback *cb)
{
	struct kq_nl_dump_ctx *ctx = kq_nl_dump_ctx(cb);

	/*
	 * Runs in the requester's context.  The opener of the socket must
	 * have had the right too, so a privileged helper cannot be tricked
	 * into dumping on an unprivileged process's socket.
	 */
	if (!netlink_capable(cb->skb, CAP_NET_ADMIN) &&
	    !netlink_capable(cb->skb, CAP_PERFMON) &&
	    !in_egroup_p(kq_reader_gid)) {
		NL_SET_ERR_MSG(cb->extack,
			       "per-vCPU state needs CAP_PERFMON or the kvm_quanta reader group");
		return -EPERM;
	}
	return kq_sample_snapshot(&ctx->samples, &ctx->n);
}

/**
 * kq_nl_state_dumpit() - one NLM_F_MULTI message per vCPU, resumable
 * @skb: the buffer to fill
 * @cb: the dump; cb->ctx holds struct kq_nl_dump_ctx
 *
 * Every message has KVM_QUANTA_A_NR_VCPUS (the snapshot's size) and one
 * KVM_QUANTA_A_VCPU.
 *
 * Return: bytes added; 0 once every sample was sent.
 */
static int kq_nl_state_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct kq_nl_dump_ctx *ctx = kq_nl_dump_ctx(cb);

	while (ctx->next < ctx->n) {
		void *hdr;

		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &kq_nl_family,
				  NLM_F_MULTI, KVM_QUANTA_CMD_GET_STATE);
		if (!hdr)
			break;
		if (nla_put_u32(skb, KVM_QUANTA_A_NR_VCPUS, ctx->n) ||
		    kq_nl_put_sample(skb, &ctx->samples[ctx->next])) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		ctx->next++;
	}
	return skb->len;
}

static int kq_nl_state_done(struct netlink_callback *cb)
{
	struct kq_nl_dump_ctx *ctx = kq_nl_dump_ctx(cb);

	kvfree(ctx->samples);
	ctx->samples = NULL;
	return 0;
}

static int kq_nl_get_config(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kq_nl_family, 0,
				KVM_QUANTA_CMD_GET_CONFIG);
	if (!hdr ||
	    nla_put_u32(msg, KVM_QUANTA_A_INTERVAL_MS,
			kq_sample_interval_ms()) ||
	    nla_put_u32(msg, KVM_QUANTA_A_MODE, READ_ONCE(kq_mode)) ||
	    nla_put_u64_64bit(msg, KVM_QUANTA_A_DROPS, kq_nl_drops(),
			      KVM_QUANTA_A_PAD)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/**
 * kq_nl_set_config() - SET_CONFIG: interval and/or mode, all or nothing
 * @skb: the request
 * @info: its parsed attributes, already checked against kq_nl_policy
 *
 * The policy has range-checked both values before we get here, so the
 * setters should not fail; should the second one fail anyway, the first
 * is put back, and the request changes nothing.  Requests are serialised
 * by genl_mutex (no parallel_ops).
 *
 * Return: 0 or a negative errno, with an extack message.
 */
static int kq_nl_set_config(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *interval = info->attrs[KVM_QUANTA_A_INTERVAL_MS];
	struct nlattr *mode = info->attrs[KVM_QUANTA_A_MODE];
	u32 old_interval = kq_sample_interval_ms();
	int ret;

	if (!interval && !mode) {
		NL_SET_ERR_MSG(info->extack,
			       "nothing to set: give interval-ms and/or mode");
		return -EINVAL;
	}
	if (interval) {
		ret = kq_sample_set_interval_ms(nla_get_u32(interval));
		if (ret) {
			NL_SET_ERR_MSG_ATTR(info->extack, interval,
					    "interval not accepted");
			return ret;
		}
	}
	if (mode) {
		ret = kq_mode_set(nla_get_u32(mode));
		if (ret) {
			if (interval)
				kq_sample_set_interval_ms(old_interval);
			NL_SET_ERR_MSG_ATTR(info->extack, mode,
					    "mode not accepted");
			return ret;
		}
	}
	return 0;
}

static const struct genl_small_ops kq_nl_small_ops[] = {
	{
		.cmd = KVM_QUANTA_CMD_GET_CONFIG,
		.doit = kq_nl_get_config,
	},
	{
		.cmd = KVM_QUANTA_CMD_SET_CONFIG,
		.doit = kq_nl_set_config,
		.flags = GENL_ADMIN_PERM,
	},
};

/* genl_small_ops has no start/done before 7.x (nor after): a full op. */
static const struct genl_ops kq_nl_ops[] = {
	{
		.cmd = KVM_QUANTA_CMD_GET_STATE,
		.start = kq_nl_state_start,
		.dumpit = kq_nl_state_dumpit,
		.done = kq_nl_state_done,
	},
};

static const struct genl_multicast_group kq_nl_mcgrps[] = {
	[KQ_NL_GRP_SAMPLES] = {
		.name = KVM_QUANTA_MCGRP_SAMPLES,
		.flags = KQ_NL_MCGRP_FLAGS,
	},
};

/*
 * resv_start_op is left at 0, as the genetlink header asks of new
 * families: every command gets strict checks of the genl header's reserved
 * byte and of nlmsg_flags.
 */
static struct genl_family kq_nl_family __ro_after_init = {
	.name = KVM_QUANTA_GENL_NAME,
	.version = KVM_QUANTA_GENL_VERSION,
	.maxattr = KVM_QUANTA_A_MAX,
	.policy = kq_nl_policy,
	.netnsok = false,
	.module = THIS_MODULE,
	.ops = kq_nl_ops,
	.n_ops = ARRAY_SIZE(kq_nl_ops),
	.small_ops = kq_nl_small_ops,
	.n_small_ops = ARRAY_SIZE(kq_nl_small_ops),
	.mcgrps = kq_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(kq_nl_mcgrps),
};

/**
 * kq_nl_init() - register the family
 *
 * Requests may arrive as soon as this returns, and they call into the
 * sampler, so the sampler must be set up first.  Samples published before
 * this are dropped silently (nobody could have listened).
 *
 * Return: 0 or a negative errno.
 */
int kq_nl_init(void)
{
	int ret;

	ret = genl_register_family(&kq_nl_family);
	if (ret)
		return ret;
	mutex_lock(&kq_nl_pub_lock);
	kq_nl_live = true;
	mutex_unlock(&kq_nl_pub_lock);
	return 0;
}

/**
 * kq_nl_exit() - unregister the family
 *
 * After this no request runs and kq_nl_publish() sends nothing, so the
 * sampler may be torn down next.  Dumps in progress hold a module
 * reference, so none is left when module exit runs.
 */
void kq_nl_exit(void)
{
	mutex_lock(&kq_nl_pub_lock);
	kq_nl_live = false;
	mutex_unlock(&kq_nl_pub_lock);
	genl_unregister_family(&kq_nl_family);
}
