// SPDX-License-Identifier: GPL-2.0
/*
 * The "events" knob and the per-vCPU counters behind it.
 *
 * Syntax: events separated by commas or white space, each a generic name
 * (cycles, instructions, llc-misses, branch-misses, and perf's aliases) or
 * a raw "type:config" for a host's own PMU events, type decimal and config
 * decimal or 0x-hex; or the single word "none".  At most KQ_EVENTS_MAX, no
 * duplicates.  A bad set is rejected whole.
 */
#include "events.h"

struct kq_generic_event {
	const char *name;
	u32 type;
	u64 config;
	int role;
};

/* PERF_COUNT_HW_* and the LLC read-miss cache event, as perf spells them. */
static const struct kq_generic_event kq_generic_events[] = {
	{ "cycles", KQ_PERF_TYPE_HARDWARE, 0, KVM_QUANTA_EV_CYCLES },
	{ "cpu-cycles", KQ_PERF_TYPE_HARDWARE, 0, KVM_QUANTA_EV_CYCLES },
	{ "instructions", KQ_PERF_TYPE_HARDWARE, 1,
	  KVM_QUANTA_EV_INSTRUCTIONS },
	{ "cache-references", KQ_PERF_TYPE_HARDWARE, 2, KQ_ROLE_NONE },
	{ "cache-misses", KQ_PERF_TYPE_HARDWARE, 3, KVM_QUANTA_EV_LLC_MISSES },
	{ "llc-misses", KQ_PERF_TYPE_HARDWARE, 3, KVM_QUANTA_EV_LLC_MISSES },
	{ "branch-instructions", KQ_PERF_TYPE_HARDWARE, 4, KQ_ROLE_NONE },
	{ "branches", KQ_PERF_TYPE_HARDWARE, 4, KQ_ROLE_NONE },
	{ "branch-misses", KQ_PERF_TYPE_HARDWARE, 5,
	  KVM_QUANTA_EV_BRANCH_MISSES },
	{ "LLC-load-misses", KQ_PERF_TYPE_HW_CACHE, 0x10002,
	  KVM_QUANTA_EV_LLC_MISSES },
};

#define KQ_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const kq_default_events[] = {
	"cycles", "instructions", "llc-misses", "branch-misses",
};

static bool kq_is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\n';
}

static bool kq_streq_n(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++)
		if (!b[i] || a[i] != b[i])
			return false;
	return !b[alen];
}

/* Parse an unsigned number, decimal or 0x-hex, all of [s, s + len). */
static int kq_parse_u64(const char *s, size_t len, u64 *out)
{
	unsigned int base = 10;
	u64 v = 0, d;
	size_t i = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return -EINVAL;
	for (; i < len; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -EINVAL;
		if (v > (~(u64)0 - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

static int kq_parse_one(const char *s, size_t len, struct kq_event_spec *e)
{
	size_t i, colon = len;
	u64 type;
	int ret;

	if (len >= KQ_EVENT_NAME_LEN)
		return -EINVAL;
	for (i = 0; i < KQ_ARRAY_SIZE(kq_generic_events); i++) {
		const struct kq_generic_event *g = &kq_generic_events[i];

		if (kq_streq_n(s, len, g->name)) {
			e->type = g->type;
			e->config = g->config;
			e->role = g->role;
			goto name;
		}
	}
	for (i = 0; i < len; i++)
		if (s[i] == ':')
			colon = i;
	if (colon == len || colon == 0)
		return -EINVAL;
	ret = kq_parse_u64(s, colon, &type);
	if (ret)
		return ret;
	/* Dynamic PMU types are small numbers; keep room for them only. */
	if (type > 0xffff)
		return -ERANGE;
	ret = kq_parse_u64(s + colon + 1, len - colon - 1, &e->config);
	if (ret)
		return ret;
	e->type = (u32)type;
	e->role = KQ_ROLE_NONE;
	/* A raw spelling of a generic event gets its role. */
	for (i = 0; i < KQ_ARRAY_SIZE(kq_generic_events); i++)
		if (kq_generic_events[i].type == e->type &&
		    kq_generic_events[i].config == e->config)
			e->role = kq_generic_events[i].role;
name:
	for (i = 0; i < len; i++)
		e->name[i] = s[i];
	e->name[len] = '\0';
	return 0;
}

/**
 * kq_event_set_parse() - parse a write to the "events" knob
 * @buf: the text, not necessarily NUL-terminated
 * @len: its length
 * @set: output; untouched on error
 *
 * Events are separated by commas, with blanks around them allowed (and
 * blanks alone, for compatibility); an empty element ("a,,b", a leading or
 * trailing comma) is an error.
 *
 * Return: 0, or -EINVAL for bad syntax, an empty element, an unknown name,
 * a duplicate (the same event, or two events for one role) or an empty
 * set, -ERANGE for a number out of range, -E2BIG for too many events.
 */
int kq_event_set_parse(const char *buf, size_t len, struct kq_event_set *set)
{
	struct kq_event_set s = { 0 };	/* no stack garbage in the copy */
	bool comma = true;	/* an element is due: at the start, after ',' */
	size_t i = 0, start;
	unsigned int j;
	int ret;

	while (i < len) {
		if (buf[i] == ',') {
			/* "a,,b", ",a" and "a," name an empty event. */
			if (comma)
				return -EINVAL;
			comma = true;
			i++;
			continue;
		}
		if (kq_is_sep(buf[i])) {
			i++;
			continue;
		}
		comma = false;
		if (!buf[i])
			return -EINVAL;
		start = i;
		while (i < len && buf[i] && !kq_is_sep(buf[i]))
			i++;
		if (i < len && !buf[i])
			return -EINVAL;
		if (kq_streq_n(buf + start, i - start, "none")) {
			if (s.nr)
				return -EINVAL;
			s.nr = KQ_EVENTS_MAX + 1;	/* nothing may follow */
			continue;
		}
		if (s.nr >= KQ_EVENTS_MAX)
			return s.nr == KQ_EVENTS_MAX + 1 ? -EINVAL : -E2BIG;
		ret = kq_parse_one(buf + start, i - start, &s.ev[s.nr]);
		if (ret)
			return ret;
		/* No event twice, and one event per role at most. */
		for (j = 0; j < s.nr; j++)
			if ((s.ev[j].type == s.ev[s.nr].type &&
			     s.ev[j].config == s.ev[s.nr].config) ||
			    (s.ev[j].role != KQ_ROLE_NONE &&
			     s.ev[j].role == s.ev[s.nr].role))
				return -EINVAL;
		s.nr++;
	}
	if (!s.nr || (comma && s.nr))
		return -EINVAL;
	if (s.nr == KQ_EVENTS_MAX + 1)
		s.nr = 0;
	*set = s;
	return 0;
}

/**
 * kq_event_set_equal() - whether two sets count the same events
 * @a: a set
 * @b: another
 *
 * Return: true when both have the same events (type, config, role) in the
 * same order; names do not matter ("cycles" and "0:0" are one event).
 */
bool kq_event_set_equal(const struct kq_event_set *a,
			const struct kq_event_set *b)
{
	unsigned int i;

	if (a->nr != b->nr)
		return false;
	for (i = 0; i < a->nr; i++)
		if (a->ev[i].type != b->ev[i].type ||
		    a->ev[i].config != b->ev[i].config ||
		    a->ev[i].role != b->ev[i].role)
			return false;
	return true;
}

/**
 * kq_event_set_default() - cycles, instructions, LLC and branch misses
 * @set: output
 */
void kq_event_set_default(struct kq_event_set *set)
{
	unsigned int i;
	const char *n;
	size_t len;

	set->nr = 0;
	for (i = 0; i < KQ_ARRAY_SIZE(kq_default_events); i++) {
		n = kq_default_events[i];
		for (len = 0; n[len]; len++)
			;
		if (!kq_parse_one(n, len, &set->ev[set->nr]))
			set->nr++;
	}
}

/**
 * kq_event_set_format() - the set as the knob shows it, one line
 * @set: the set
 * @buf: output buffer
 * @size: its size
 *
 * Return: characters written, not counting the NUL.
 */
int kq_event_set_format(const struct kq_event_set *set, char *buf,
			size_t size)
{
	size_t pos = 0, k;
	unsigned int i;
	const char *n;

	if (!size)
		return 0;
	for (i = 0; i < set->nr || (!set->nr && !i); i++) {
		n = set->nr ? set->ev[i].name : "none";
		if (i && pos + 1 < size)
			buf[pos++] = ',';
		for (k = 0; n[k] && pos + 1 < size; k++)
			buf[pos++] = n[k];
		if (!set->nr)
			break;
	}
	if (pos + 1 < size)
		buf[pos++] = '\n';
	buf[pos] = '\0';
	return (int)pos;
}

/**
 * kq_counters_open() - open a vCPU's counters for an event set
 * @c: output; every slot gets a handle or an error
 * @set: the events
 * @ops: the backend
 * @ctx: the backend's context (the vCPU thread)
 *
 * An event that cannot be counted (no PMU, event unknown to this PMU) is
 * not an error for the vCPU: its slot keeps the error for reporting.
 */
void kq_counters_open(struct kq_counters *c, const struct kq_event_set *set,
		      const struct kq_counter_ops *ops, void *ctx)
{
	unsigned int i;

	c->nr = set->nr;
	for (i = 0; i < KQ_EVENTS_MAX; i++) {
		c->handle[i] = NULL;
		c->err[i] = 0;
		if (i < set->nr) {
			c->err[i] = ops->open(ctx, &set->ev[i], &c->handle[i]);
			if (c->err[i])
				c->handle[i] = NULL;
		}
	}
}

/**
 * kq_counters_read() - read a vCPU's counters into their roles
 * @c: the open counters
 * @set: the set they were opened for
 * @ops: the backend
 * @pmu: output by role; a role not counted or not readable is invalid
 */
void kq_counters_read(const struct kq_counters *c,
		      const struct kq_event_set *set,
		      const struct kq_counter_ops *ops,
		      struct kq_pmu_value pmu[KVM_QUANTA_EV_NR])
{
	struct kq_pmu_value v;
	unsigned int i;
	int role;

	for (i = 0; i < KVM_QUANTA_EV_NR; i++)
		pmu[i] = (struct kq_pmu_value){ 0 };
	for (i = 0; i < c->nr && i < set->nr; i++) {
		role = set->ev[i].role;
		if (!c->handle[i] || role < 0 || role >= KVM_QUANTA_EV_NR)
			continue;
		if (ops->read(c->handle[i], &v))
			continue;
		v.valid = true;
		pmu[role] = v;
	}
}

/**
 * kq_counters_close() - release a vCPU's counters
 * @c: the counters; emptied
 * @ops: the backend
 */
void kq_counters_close(struct kq_counters *c, const struct kq_counter_ops *ops)
{
	unsigned int i;

	for (i = 0; i < KQ_EVENTS_MAX; i++) {
		if (c->handle[i])
			ops->close(c->handle[i]);
		c->handle[i] = NULL;
	}
	c->nr = 0;
}
