// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the perf event set and the per-vCPU counters
 * (src/core/events.c).  The counters run on a fake backend: some events
 * fail to open as on a host without a PMU, reads return scripted values,
 * and every call is counted, which is how the perf path the tests cannot
 * run here is covered.
 */
#include <kunit/test.h>
#include <linux/string.h>

#include "events.h"

/* ---- helpers -------------------------------------------------------- */

static struct kq_event_set *kq_test_set_alloc(struct kunit *test)
{
	struct kq_event_set *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, s);
	return s;
}

static int kq_test_parse(const char *str, struct kq_event_set *set)
{
	return kq_event_set_parse(str, strlen(str), set);
}

static void kq_test_expect_set_eq(struct kunit *test,
				  const struct kq_event_set *a,
				  const struct kq_event_set *b,
				  const char *what)
{
	unsigned int i;

	KUNIT_ASSERT_EQ_MSG(test, a->nr, b->nr, "%s", what);
	for (i = 0; i < a->nr; i++) {
		KUNIT_EXPECT_STREQ_MSG(test, a->ev[i].name, b->ev[i].name,
				       "%s: event %u", what, i);
		KUNIT_EXPECT_EQ_MSG(test, a->ev[i].type, b->ev[i].type,
				    "%s: event %u", what, i);
		KUNIT_EXPECT_EQ_MSG(test, a->ev[i].config, b->ev[i].config,
				    "%s: event %u", what, i);
		KUNIT_EXPECT_EQ_MSG(test, a->ev[i].role, b->ev[i].role,
				    "%s: event %u", what, i);
	}
}

static void kq_test_expect_event(struct kunit *test,
				 const struct kq_event_spec *e,
				 const char *name, u32 type, u64 config,
				 int role)
{
	KUNIT_EXPECT_STREQ(test, e->name, name);
	KUNIT_EXPECT_EQ_MSG(test, e->type, type, "%s", name);
	KUNIT_EXPECT_EQ_MSG(test, e->config, config, "%s", name);
	KUNIT_EXPECT_EQ_MSG(test, e->role, role, "%s", name);
}

/* ---- parsing -------------------------------------------------------- */

static void kq_test_parse_default(struct kunit *test)
{
	struct kq_event_set *def = kq_test_set_alloc(test);
	struct kq_event_set *s = kq_test_set_alloc(test);

	kq_event_set_default(def);
	KUNIT_ASSERT_EQ(test, def->nr, 4);
	kq_test_expect_event(test, &def->ev[0], "cycles", KQ_PERF_TYPE_HARDWARE,
			     0, KVM_QUANTA_EV_CYCLES);
	kq_test_expect_event(test, &def->ev[1], "instructions",
			     KQ_PERF_TYPE_HARDWARE, 1,
			     KVM_QUANTA_EV_INSTRUCTIONS);
	kq_test_expect_event(test, &def->ev[2], "llc-misses",
			     KQ_PERF_TYPE_HARDWARE, 3, KVM_QUANTA_EV_LLC_MISSES);
	kq_test_expect_event(test, &def->ev[3], "branch-misses",
			     KQ_PERF_TYPE_HARDWARE, 5,
			     KVM_QUANTA_EV_BRANCH_MISSES);

	KUNIT_ASSERT_EQ(test, kq_test_parse("cycles,instructions,llc-misses,branch-misses",
					    s), 0);
	kq_test_expect_set_eq(test, s, def, "default spelled out");
}

static void kq_test_parse_aliases(struct kunit *test)
{
	static const struct {
		const char *name;
		u32 type;
		u64 config;
		int role;
	} cases[] = {
		{ "cycles", 0, 0, KVM_QUANTA_EV_CYCLES },
		{ "cpu-cycles", 0, 0, KVM_QUANTA_EV_CYCLES },
		{ "instructions", 0, 1, KVM_QUANTA_EV_INSTRUCTIONS },
		{ "cache-references", 0, 2, KQ_ROLE_NONE },
		{ "cache-misses", 0, 3, KVM_QUANTA_EV_LLC_MISSES },
		{ "llc-misses", 0, 3, KVM_QUANTA_EV_LLC_MISSES },
		{ "branch-instructions", 0, 4, KQ_ROLE_NONE },
		{ "branches", 0, 4, KQ_ROLE_NONE },
		{ "branch-misses", 0, 5, KVM_QUANTA_EV_BRANCH_MISSES },
		{ "LLC-load-misses", 3, 0x10002, KVM_QUANTA_EV_LLC_MISSES },
	};
	struct kq_event_set *s = kq_test_set_alloc(test);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		KUNIT_ASSERT_EQ_MSG(test, kq_test_parse(cases[i].name, s), 0,
				    "%s", cases[i].name);
		KUNIT_ASSERT_EQ(test, s->nr, 1);
		kq_test_expect_event(test, &s->ev[0], cases[i].name,
				     cases[i].type, cases[i].config,
				     cases[i].role);
	}
}

static void kq_test_parse_raw(struct kunit *test)
{
	static const struct {
		const char *name;
		u32 type;
		u64 config;
		int role;
	} cases[] = {
		{ "4:0x412e", 4, 0x412e, KQ_ROLE_NONE },
		{ "4:0X412E", 4, 0x412e, KQ_ROLE_NONE },
		{ "4:16686", 4, 0x412e, KQ_ROLE_NONE },
		{ "0x4:0x412e", 4, 0x412e, KQ_ROLE_NONE },
		{ "004:00", 4, 0, KQ_ROLE_NONE },
		/* A raw spelling of a generic event gets its role. */
		{ "0:0", 0, 0, KVM_QUANTA_EV_CYCLES },
		{ "0:1", 0, 1, KVM_QUANTA_EV_INSTRUCTIONS },
		{ "0:0x1", 0, 1, KVM_QUANTA_EV_INSTRUCTIONS },
		{ "0:2", 0, 2, KQ_ROLE_NONE },
		{ "0:3", 0, 3, KVM_QUANTA_EV_LLC_MISSES },
		{ "0:5", 0, 5, KVM_QUANTA_EV_BRANCH_MISSES },
		{ "0:6", 0, 6, KQ_ROLE_NONE },
		{ "3:0x10002", 3, 0x10002, KVM_QUANTA_EV_LLC_MISSES },
		{ "3:65538", 3, 0x10002, KVM_QUANTA_EV_LLC_MISSES },
		/* Not a generic event: same config, other type. */
		{ "1:1", 1, 1, KQ_ROLE_NONE },
		/* Limits */
		{ "65535:0xffffffffffffffff", 0xffff, U64_MAX, KQ_ROLE_NONE },
		{ "0xffff:18446744073709551615", 0xffff, U64_MAX,
		  KQ_ROLE_NONE },
		/* 31 characters, the longest name that fits */
		{ "4:0x00000000000000000000000412e", 4, 0x412e, KQ_ROLE_NONE },
	};
	struct kq_event_set *s = kq_test_set_alloc(test);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		KUNIT_ASSERT_EQ_MSG(test, kq_test_parse(cases[i].name, s), 0,
				    "%s", cases[i].name);
		KUNIT_ASSERT_EQ(test, s->nr, 1);
		kq_test_expect_event(test, &s->ev[0], cases[i].name,
				     cases[i].type, cases[i].config,
				     cases[i].role);
	}
}

static void kq_test_parse_separators(struct kunit *test)
{
	static const char *const good[] = {
		"cycles,instructions",
		"cycles instructions",
		"cycles\ninstructions",
		"cycles\tinstructions",
		"cycles,instructions\n",
		" cycles , \t\n instructions\t\n",
		"\ncycles\n\ninstructions\n\n",
	};
	struct kq_event_set *s = kq_test_set_alloc(test);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		memset(s, 0x6b, sizeof(*s));
		KUNIT_ASSERT_EQ_MSG(test, kq_test_parse(good[i], s), 0,
				    "case %u", i);
		KUNIT_ASSERT_EQ_MSG(test, s->nr, 2, "case %u", i);
		kq_test_expect_event(test, &s->ev[0], "cycles", 0, 0,
				     KVM_QUANTA_EV_CYCLES);
		kq_test_expect_event(test, &s->ev[1], "instructions", 0, 1,
				     KVM_QUANTA_EV_INSTRUCTIONS);
	}
	/* Only @len characters count: the buffer need not be terminated. */
	KUNIT_ASSERT_EQ(test, kq_event_set_parse("cycles,instructionsXY:Z", 19,
						 s), 0);
	KUNIT_ASSERT_EQ(test, s->nr, 2);
	KUNIT_EXPECT_STREQ(test, s->ev[1].name, "instructions");
	KUNIT_ASSERT_EQ(test, kq_event_set_parse("4:0x412e5", 8, s), 0);
	KUNIT_ASSERT_EQ(test, s->nr, 1);
	kq_test_expect_event(test, &s->ev[0], "4:0x412e", 4, 0x412e,
			     KQ_ROLE_NONE);
}

static void kq_test_parse_none(struct kunit *test)
{
	static const char *const none[] = { "none", "none\n", " \tnone\t\n" };
	struct kq_event_set *s = kq_test_set_alloc(test);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(none); i++) {
		kq_event_set_default(s);
		KUNIT_EXPECT_EQ_MSG(test, kq_test_parse(none[i], s), 0,
				    "case %u", i);
		KUNIT_EXPECT_EQ_MSG(test, s->nr, 0, "case %u", i);
	}
}

static const struct {
	const char *buf;
	size_t len;		/* 0: strlen(buf) */
	int err;
} kq_bad_sets[] = {
	{ "", 0, -EINVAL },
	{ "\n", 0, -EINVAL },
	{ " ,\t\n,", 0, -EINVAL },
	{ "bogus", 0, -EINVAL },
	{ "Cycles", 0, -EINVAL },
	{ "cycle", 0, -EINVAL },
	{ "cyclesx", 0, -EINVAL },
	{ "cycles,bogus", 0, -EINVAL },
	/* empty elements */
	{ "cycles,,instructions", 0, -EINVAL },
	{ "cycles, ,instructions", 0, -EINVAL },
	{ ",cycles", 0, -EINVAL },
	{ "cycles,", 0, -EINVAL },
	{ "cycles,instructions,\n", 0, -EINVAL },
	{ "none,", 0, -EINVAL },
	{ " ,none,\t\n", 0, -EINVAL },
	{ "nonee", 0, -EINVAL },
	{ "4:", 0, -EINVAL },
	{ ":1", 0, -EINVAL },
	{ ":", 0, -EINVAL },
	{ "x:1", 0, -EINVAL },
	{ "0x:1", 0, -EINVAL },
	{ "4:0xZZ", 0, -EINVAL },
	{ "4:0x", 0, -EINVAL },
	{ "4:12a", 0, -EINVAL },
	{ "4:1:2", 0, -EINVAL },
	{ "-1:1", 0, -EINVAL },
	{ "4:-1", 0, -EINVAL },
	{ "4:+1", 0, -EINVAL },
	{ "65536:1", 0, -ERANGE },
	{ "0x10000:1", 0, -ERANGE },
	{ "18446744073709551616:1", 0, -ERANGE },
	{ "4:0x10000000000000000", 0, -ERANGE },
	{ "4:18446744073709551616", 0, -ERANGE },
	{ "4:99999999999999999999", 0, -ERANGE },
	{ "cycles,4:0x1ffffffffffffffff", 0, -ERANGE },
	/* the same event twice, however spelled */
	{ "cycles,cycles", 0, -EINVAL },
	{ "cycles,cpu-cycles", 0, -EINVAL },
	{ "cycles,0:0", 0, -EINVAL },
	{ "instructions,0:1", 0, -EINVAL },
	{ "4:0x412e,4:16686", 0, -EINVAL },
	{ "branches,branch-instructions", 0, -EINVAL },
	{ "cache-references,0:2", 0, -EINVAL },
	/* two events for one role */
	{ "llc-misses,LLC-load-misses", 0, -EINVAL },
	{ "cache-misses,3:0x10002", 0, -EINVAL },
	{ "cycles,instructions,llc-misses,branch-misses,0:3", 0, -EINVAL },
	/* too many */
	{ "4:1,4:2,4:3,4:4,4:5,4:6,4:7,4:8,4:9", 0, -E2BIG },
	{ "4:1 4:2 4:3 4:4 4:5 4:6 4:7 4:8 cycles\n", 0, -E2BIG },
	/* "none" is alone */
	{ "none,cycles", 0, -EINVAL },
	{ "cycles,none", 0, -EINVAL },
	{ "none,none", 0, -EINVAL },
	{ "none none\n", 0, -EINVAL },
	{ "4:1,4:2,4:3,4:4,4:5,4:6,4:7,4:8,none", 0, -EINVAL },
	/* embedded NUL */
	{ "\0", 1, -EINVAL },
	{ "cycles\0", 7, -EINVAL },
	{ "cyc\0les", 7, -EINVAL },
	{ "cycles\0,instructions", 20, -EINVAL },
	{ "cycles,\0", 8, -EINVAL },
	{ "none\0", 5, -EINVAL },
	/* names that do not fit in KQ_EVENT_NAME_LEN */
	{ "4:0x000000000000000000000000412e", 0, -EINVAL },
	{ "4:0x000000000000000000000000412e,cycles", 0, -EINVAL },
	{ "cycles,0000000000000000000000000000000004:1", 0, -EINVAL },
	{ "cyclescyclescyclescyclescyclescycles", 0, -EINVAL },
};

static void kq_test_parse_bad(struct kunit *test)
{
	struct kq_event_set *s = kq_test_set_alloc(test);
	struct kq_event_set *orig = kq_test_set_alloc(test);
	unsigned int i;
	size_t len;

	/* Output untouched: garbage stays garbage, a valid set stays. */
	memset(orig, 0xa5, sizeof(*orig));
	for (i = 0; i < ARRAY_SIZE(kq_bad_sets); i++) {
		len = kq_bad_sets[i].len ?: strlen(kq_bad_sets[i].buf);
		memcpy(s, orig, sizeof(*s));
		KUNIT_EXPECT_EQ_MSG(test,
				    kq_event_set_parse(kq_bad_sets[i].buf, len, s),
				    kq_bad_sets[i].err, "case %u \"%s\"", i,
				    kq_bad_sets[i].buf);
		KUNIT_EXPECT_TRUE_MSG(test, !memcmp(s, orig, sizeof(*s)),
				      "case %u \"%s\" changed the output", i,
				      kq_bad_sets[i].buf);
	}
	kq_event_set_default(orig);
	for (i = 0; i < ARRAY_SIZE(kq_bad_sets); i++) {
		len = kq_bad_sets[i].len ?: strlen(kq_bad_sets[i].buf);
		memcpy(s, orig, sizeof(*s));
		KUNIT_EXPECT_NE(test,
				kq_event_set_parse(kq_bad_sets[i].buf, len, s),
				0);
		KUNIT_EXPECT_TRUE_MSG(test, !memcmp(s, orig, sizeof(*s)),
				      "case %u \"%s\" changed the output", i,
				      kq_bad_sets[i].buf);
	}
}

static void kq_test_parse_max(struct kunit *test)
{
	static const char eight[] =
		"cycles instructions llc-misses branch-misses 4:1 4:0x2 0:2 branches";
	struct kq_event_set *s = kq_test_set_alloc(test);
	unsigned int i;

	KUNIT_ASSERT_EQ(test, kq_test_parse(eight, s), 0);
	KUNIT_ASSERT_EQ(test, s->nr, KQ_EVENTS_MAX);
	KUNIT_EXPECT_EQ(test, s->ev[5].config, 2);
	KUNIT_EXPECT_EQ(test, s->ev[7].role, KQ_ROLE_NONE);
	KUNIT_ASSERT_EQ(test, kq_test_parse("4:1,4:2,4:3,4:4,4:5,4:6,4:7,4:8\n",
					    s), 0);
	KUNIT_ASSERT_EQ(test, s->nr, KQ_EVENTS_MAX);
	for (i = 0; i < KQ_EVENTS_MAX; i++) {
		KUNIT_EXPECT_EQ(test, s->ev[i].type, 4);
		KUNIT_EXPECT_EQ(test, s->ev[i].config, i + 1);
	}
}

/* ---- formatting ----------------------------------------------------- */

static void kq_test_format(struct kunit *test)
{
	struct kq_event_set *s = kq_test_set_alloc(test);
	char buf[128];

	kq_event_set_default(s);
	KUNIT_EXPECT_EQ(test, kq_event_set_format(s, buf, sizeof(buf)), 45);
	KUNIT_EXPECT_STREQ(test, buf,
			   "cycles,instructions,llc-misses,branch-misses\n");

	/* Names as written, in the order written */
	KUNIT_ASSERT_EQ(test, kq_test_parse("  0X4:0X412E\tcpu-cycles\n", s), 0);
	KUNIT_EXPECT_EQ(test, kq_event_set_format(s, buf, sizeof(buf)), 22);
	KUNIT_EXPECT_STREQ(test, buf, "0X4:0X412E,cpu-cycles\n");

	s->nr = 0;
	KUNIT_EXPECT_EQ(test, kq_event_set_format(s, buf, sizeof(buf)), 5);
	KUNIT_EXPECT_STREQ(test, buf, "none\n");

	/* Truncated, always terminated; nothing written into size 0 */
	kq_event_set_default(s);
	KUNIT_EXPECT_EQ(test, kq_event_set_format(s, buf, 4), 3);
	KUNIT_EXPECT_STREQ(test, buf, "cyc");
	KUNIT_EXPECT_EQ(test, kq_event_set_format(s, buf, 7), 6);
	KUNIT_EXPECT_STREQ(test, buf, "cycles");
	KUNIT_EXPECT_EQ(test, kq_event_set_format(s, buf, 8), 7);
	KUNIT_EXPECT_STREQ(test, buf, "cycles,");
	KUNIT_EXPECT_EQ(test, kq_event_set_format(s, buf, 1), 0);
	KUNIT_EXPECT_STREQ(test, buf, "");
	buf[0] = 'x';
	KUNIT_EXPECT_EQ(test, kq_event_set_format(s, buf, 0), 0);
	KUNIT_EXPECT_EQ(test, buf[0], 'x');
}

static void kq_test_format_roundtrip(struct kunit *test)
{
	static const char *const sets[] = {
		"cycles",
		"none",
		"4:0x412e,0:1",
		"LLC-load-misses branches\n",
		"0X4:0X412E,cpu-cycles,branch-misses,cache-references",
		"4:1,4:2,4:3,4:4,4:5,4:6,4:7,4:8",
		"65535:0xffffffffffffffff,4:0x00000000000000000000000412f",
		"cache-misses\tinstructions\n0:0\n3:1",
	};
	struct kq_event_set *a = kq_test_set_alloc(test);
	struct kq_event_set *b = kq_test_set_alloc(test);
	char *buf = kunit_kzalloc(test, 512, GFP_KERNEL);
	char *buf2 = kunit_kzalloc(test, 512, GFP_KERNEL);
	unsigned int i;
	int n;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_NOT_NULL(test, buf2);
	for (i = 0; i < ARRAY_SIZE(sets); i++) {
		KUNIT_ASSERT_EQ_MSG(test, kq_test_parse(sets[i], a), 0,
				    "%s", sets[i]);
		n = kq_event_set_format(a, buf, 512);
		KUNIT_EXPECT_EQ(test, n, strlen(buf));
		KUNIT_EXPECT_EQ(test, buf[n - 1], '\n');
		memset(b, 0x5a, sizeof(*b));
		KUNIT_ASSERT_EQ_MSG(test, kq_event_set_parse(buf, n, b), 0,
				    "%s", buf);
		kq_test_expect_set_eq(test, b, a, sets[i]);
		kq_event_set_format(b, buf2, 512);
		KUNIT_EXPECT_STREQ(test, buf2, buf);
	}
}

/* ---- counters on a fake backend -------------------------------------- */

#define KQ_FAKE_COUNTERS 32
#define KQ_FAKE_SCRIPT 4
#define KQ_FAKE_MAGIC 0x6b71666bU

struct kq_fake;

/**
 * struct kq_fake_counter - a counter handed out by the fake backend
 * @fake: the backend
 * @spec: the spec it was opened for
 * @failed: open failed; the handle was left behind as poison
 * @script: what successive reads return (the last one repeats)
 * @nscript: entries in @script
 * @read_err: what reads return, 0 to succeed
 * @reads: reads
 * @closes: closes
 */
struct kq_fake_counter {
	struct kq_fake *fake;
	const struct kq_event_spec *spec;
	bool failed;
	struct kq_pmu_value script[KQ_FAKE_SCRIPT];
	unsigned int nscript;
	int read_err;
	unsigned int reads;
	unsigned int closes;
};

/**
 * struct kq_fake - the fake backend: which events fail, and what happened
 * @magic: KQ_FAKE_MAGIC, to check open gets the ctx it was given
 * @fail_type: type of events that fail to open, with @fail_config
 * @fail_config: and config; only used where @fail_err is non-zero
 * @fail_err: error for them
 * @nfail: entries in the fail list
 * @no_pmu: every open fails with -ENOENT
 * @ctr: handles, in open order
 * @nctr: handles handed out
 * @opens: successful opens
 * @closes: closes of good handles
 * @poison_uses: reads or closes of a handle from a failed open
 */
struct kq_fake {
	u32 magic;
	u32 fail_type[KQ_EVENTS_MAX];
	u64 fail_config[KQ_EVENTS_MAX];
	int fail_err[KQ_EVENTS_MAX];
	unsigned int nfail;
	bool no_pmu;
	struct kq_fake_counter ctr[KQ_FAKE_COUNTERS];
	unsigned int nctr;
	unsigned int opens;
	unsigned int closes;
	unsigned int poison_uses;
};

static int kq_fake_open(void *ctx, const struct kq_event_spec *spec,
			void **handle)
{
	struct kq_fake *f = ctx;
	struct kq_fake_counter *ctr;
	unsigned int i;
	int err = f->no_pmu ? -ENOENT : 0;

	if (f->magic != KQ_FAKE_MAGIC || f->nctr >= KQ_FAKE_COUNTERS)
		return -EFAULT;
	for (i = 0; i < f->nfail; i++)
		if (spec->type == f->fail_type[i] &&
		    spec->config == f->fail_config[i])
			err = f->fail_err[i];
	ctr = &f->ctr[f->nctr++];
	ctr->fake = f;
	ctr->spec = spec;
	/* A sloppy backend may leave something behind on failure. */
	*handle = ctr;
	if (err) {
		ctr->failed = true;
		return err;
	}
	/* By default, a count that tells the event apart: 1000 + config. */
	ctr->script[0] = (struct kq_pmu_value){
		.value = 1000 + spec->config, .enabled = 50, .running = 50,
	};
	ctr->nscript = 1;
	f->opens++;
	return 0;
}

static int kq_fake_read(void *handle, struct kq_pmu_value *out)
{
	struct kq_fake_counter *ctr = handle;
	unsigned int i = ctr->reads;

	if (ctr->failed)
		ctr->fake->poison_uses++;
	ctr->reads++;
	if (ctr->read_err) {
		/* A failed read may have scribbled over the output. */
		*out = (struct kq_pmu_value){ 0xbad, 0xbad, 0xbad, true };
		return ctr->read_err;
	}
	if (i >= ctr->nscript)
		i = ctr->nscript - 1;
	*out = ctr->script[i];
	/* Backends do not set valid: kq_counters_read() does. */
	out->valid = false;
	return 0;
}

static void kq_fake_close(void *handle)
{
	struct kq_fake_counter *ctr = handle;

	if (ctr->failed)
		ctr->fake->poison_uses++;
	else
		ctr->fake->closes++;
	ctr->closes++;
}

static const struct kq_counter_ops kq_fake_ops = {
	.open = kq_fake_open,
	.read = kq_fake_read,
	.close = kq_fake_close,
};

static struct kq_fake *kq_fake_alloc(struct kunit *test)
{
	struct kq_fake *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	f->magic = KQ_FAKE_MAGIC;
	return f;
}

static void kq_fake_fail(struct kq_fake *f, u32 type, u64 config, int err)
{
	f->fail_type[f->nfail] = type;
	f->fail_config[f->nfail] = config;
	f->fail_err[f->nfail] = err;
	f->nfail++;
}

static struct kq_counters *kq_test_counters_alloc(struct kunit *test)
{
	struct kq_counters *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, c);
	/* Garbage from an earlier life must not matter. */
	memset(c, 0x6b, sizeof(*c));
	return c;
}

static void kq_test_expect_pmu(struct kunit *test,
			       const struct kq_pmu_value *v, u64 value,
			       u64 enabled, u64 running)
{
	KUNIT_EXPECT_TRUE(test, v->valid);
	KUNIT_EXPECT_EQ(test, v->value, value);
	KUNIT_EXPECT_EQ(test, v->enabled, enabled);
	KUNIT_EXPECT_EQ(test, v->running, running);
}

static void kq_test_expect_invalid(struct kunit *test,
				   const struct kq_pmu_value *v)
{
	KUNIT_EXPECT_FALSE(test, v->valid);
	KUNIT_EXPECT_EQ(test, v->value, 0);
	KUNIT_EXPECT_EQ(test, v->enabled, 0);
	KUNIT_EXPECT_EQ(test, v->running, 0);
}

static void kq_test_pmu_garbage(struct kq_pmu_value pmu[KVM_QUANTA_EV_NR])
{
	unsigned int k;

	for (k = 0; k < KVM_QUANTA_EV_NR; k++)
		pmu[k] = (struct kq_pmu_value){ 0xdead, 0xdead, 0xdead, true };
}

/* Every event opens; each role gets its own event's counts. */
static void kq_test_counters_all_open(struct kunit *test)
{
	struct kq_fake *f = kq_fake_alloc(test);
	struct kq_event_set *set = kq_test_set_alloc(test);
	struct kq_counters *c = kq_test_counters_alloc(test);
	struct kq_pmu_value pmu[KVM_QUANTA_EV_NR];
	unsigned int i;

	kq_event_set_default(set);
	kq_counters_open(c, set, &kq_fake_ops, f);
	KUNIT_EXPECT_EQ(test, c->nr, 4);
	KUNIT_EXPECT_EQ(test, f->opens, 4);
	for (i = 0; i < KQ_EVENTS_MAX; i++) {
		KUNIT_EXPECT_EQ_MSG(test, c->err[i], 0, "slot %u", i);
		if (i < 4) {
			KUNIT_EXPECT_PTR_EQ(test, c->handle[i], &f->ctr[i]);
			/* opened for this slot's spec, not a copy */
			KUNIT_EXPECT_PTR_EQ(test, f->ctr[i].spec, &set->ev[i]);
		} else {
			KUNIT_EXPECT_PTR_EQ(test, c->handle[i], NULL);
		}
	}
	kq_test_pmu_garbage(pmu);
	kq_counters_read(c, set, &kq_fake_ops, pmu);
	kq_test_expect_pmu(test, &pmu[KVM_QUANTA_EV_CYCLES], 1000, 50, 50);
	kq_test_expect_pmu(test, &pmu[KVM_QUANTA_EV_INSTRUCTIONS], 1001, 50, 50);
	kq_test_expect_pmu(test, &pmu[KVM_QUANTA_EV_LLC_MISSES], 1003, 50, 50);
	kq_test_expect_pmu(test, &pmu[KVM_QUANTA_EV_BRANCH_MISSES], 1005, 50,
			   50);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, f->ctr[i].reads, 1);

	kq_counters_close(c, &kq_fake_ops);
	KUNIT_EXPECT_EQ(test, f->closes, 4);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, f->ctr[i].closes, 1);
	KUNIT_EXPECT_EQ(test, c->nr, 0);
	for (i = 0; i < KQ_EVENTS_MAX; i++)
		KUNIT_EXPECT_PTR_EQ(test, c->handle[i], NULL);
	KUNIT_EXPECT_EQ(test, f->poison_uses, 0);
}

/* Roles land by role, whatever the order of the set; raw events have none. */
static void kq_test_counters_roles(struct kunit *test)
{
	struct kq_fake *f = kq_fake_alloc(test);
	struct kq_event_set *set = kq_test_set_alloc(test);
	struct kq_counters *c = kq_test_counters_alloc(test);
	struct kq_pmu_value pmu[KVM_QUANTA_EV_NR];

	KUNIT_ASSERT_EQ(test, kq_test_parse("branch-misses,0:1,4:0x412e,branches,cpu-cycles",
					    set), 0);
	kq_counters_open(c, set, &kq_fake_ops, f);
	KUNIT_ASSERT_EQ(test, f->opens, 5);
	f->ctr[0].script[0] = (struct kq_pmu_value){ 11, 100, 40 };
	f->ctr[1].script[0] = (struct kq_pmu_value){ 22, 100, 60 };
	f->ctr[2].script[0] = (struct kq_pmu_value){ 33, 100, 100 };
	f->ctr[3].script[0] = (struct kq_pmu_value){ 44, 100, 100 };
	f->ctr[4].script[0] = (struct kq_pmu_value){ 55, 100, 80 };
	kq_test_pmu_garbage(pmu);
	kq_counters_read(c, set, &kq_fake_ops, pmu);
	kq_test_expect_pmu(test, &pmu[KVM_QUANTA_EV_BRANCH_MISSES], 11, 100, 40);
	kq_test_expect_pmu(test, &pmu[KVM_QUANTA_EV_INSTRUCTIONS], 22, 100, 60);
	kq_test_expect_pmu(test, &pmu[KVM_QUANTA_EV_CYCLES], 55, 100, 80);
	/* No LLC event in the set: its role is not counted. */
	kq_test_expect_invalid(test, &pmu[KVM_QUANTA_EV_LLC_MISSES]);
	kq_counters_close(c, &kq_fake_ops);
	KUNIT_EXPECT_EQ(test, f->closes, 5);
}

/* A host without a PMU: nothing opens, nothing is valid, nothing closes. */
static void kq_test_counters_no_pmu(struct kunit *test)
{
	struct kq_fake *f = kq_fake_alloc(test);
	struct kq_event_set *set = kq_test_set_alloc(test);
	struct kq_counters *c = kq_test_counters_alloc(test);
	struct kq_pmu_value pmu[KVM_QUANTA_EV_NR];
	unsigned int i;

	f->no_pmu = true;
	kq_event_set_default(set);
	kq_counters_open(c, set, &kq_fake_ops, f);
	KUNIT_EXPECT_EQ(test, c->nr, 4);
	KUNIT_EXPECT_EQ(test, f->nctr, 4);
	for (i = 0; i < KQ_EVENTS_MAX; i++) {
		KUNIT_EXPECT_PTR_EQ(test, c->handle[i], NULL);
		KUNIT_EXPECT_EQ(test, c->err[i], i < 4 ? -ENOENT : 0);
	}
	kq_test_pmu_garbage(pmu);
	kq_counters_read(c, set, &kq_fake_ops, pmu);
	for (i = 0; i < KVM_QUANTA_EV_NR; i++)
		kq_test_expect_invalid(test, &pmu[i]);
	kq_counters_close(c, &kq_fake_ops);
	KUNIT_EXPECT_EQ(test, f->closes, 0);
	KUNIT_EXPECT_EQ(test, f->poison_uses, 0);
	/* The errors stay for reporting. */
	KUNIT_EXPECT_EQ(test, c->err[0], -ENOENT);
}

/* Some events open, others do not: each slot keeps its own outcome. */
static void kq_test_counters_partial(struct kunit *test)
{
	struct kq_fake *f = kq_fake_alloc(test);
	struct kq_event_set *set = kq_test_set_alloc(test);
	struct kq_counters *c = kq_test_counters_alloc(test);
	struct kq_pmu_value pmu[KVM_QUANTA_EV_NR];

	kq_fake_fail(f, KQ_PERF_TYPE_HARDWARE, 3, -ENOENT);
	kq_fake_fail(f, 4, 0x412e, -EOPNOTSUPP);
	kq_fake_fail(f, KQ_PERF_TYPE_HARDWARE, 5, -EINVAL);
	KUNIT_ASSERT_EQ(test, kq_test_parse("cycles,llc-misses,4:0x412e,instructions,branch-misses",
					    set), 0);
	kq_counters_open(c, set, &kq_fake_ops, f);
	KUNIT_EXPECT_EQ(test, c->nr, 5);
	KUNIT_EXPECT_EQ(test, f->opens, 2);
	KUNIT_EXPECT_EQ(test, c->err[0], 0);
	KUNIT_EXPECT_EQ(test, c->err[1], -ENOENT);
	KUNIT_EXPECT_EQ(test, c->err[2], -EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, c->err[3], 0);
	KUNIT_EXPECT_EQ(test, c->err[4], -EINVAL);
	KUNIT_EXPECT_EQ(test, c->err[5], 0);
	KUNIT_EXPECT_PTR_NE(test, c->handle[0], NULL);
	/* what the backend left behind on failure is not kept */
	KUNIT_EXPECT_PTR_EQ(test, c->handle[1], NULL);
	KUNIT_EXPECT_PTR_EQ(test, c->handle[2], NULL);
	KUNIT_EXPECT_PTR_NE(test, c->handle[3], NULL);
	KUNIT_EXPECT_PTR_EQ(test, c->handle[4], NULL);

	kq_test_pmu_garbage(pmu);
	kq_counters_read(c, set, &kq_fake_ops, pmu);
	kq_test_expect_pmu(test, &pmu[KVM_QUANTA_EV_CYCLES], 1000, 50, 50);
	kq_test_expect_pmu(test, &pmu[KVM_QUANTA_EV_INSTRUCTIONS], 1001, 50, 50);
	kq_test_expect_invalid(test, &pmu[KVM_QUANTA_EV_LLC_MISSES]);
	kq_test_expect_invalid(test, &pmu[KVM_QUANTA_EV_BRANCH_MISSES]);

	kq_counters_close(c, &kq_fake_ops);
	KUNIT_EXPECT_EQ(test, f->closes, 2);
	KUNIT_EXPECT_EQ(test, f->poison_uses, 0);
	KUNIT_EXPECT_EQ(test, c->err[1], -ENOENT);
}

/* A read that fails makes its role invalid, that read only. */
static void kq_test_counters_read_error(struct kunit *test)
{
	struct kq_fake *f = kq_fake_alloc(test);
	struct kq_event_set *set = kq_test_set_alloc(test);
	struct kq_counters *c = kq_test_counters_alloc(test);
	struct kq_pmu_value pmu[KVM_QUANTA_EV_NR];

	kq_event_set_default(set);
	kq_counters_open(c, set, &kq_fake_ops, f);
	KUNIT_ASSERT_EQ(test, f->opens, 4);

	kq_counters_read(c, set, &kq_fake_ops, pmu);
	KUNIT_EXPECT_TRUE(test, pmu[KVM_QUANTA_EV_INSTRUCTIONS].valid);

	f->ctr[1].read_err = -EIO;		/* instructions */
	f->ctr[3].read_err = -EAGAIN;		/* branch misses */
	kq_counters_read(c, set, &kq_fake_ops, pmu);
	kq_test_expect_pmu(test, &pmu[KVM_QUANTA_EV_CYCLES], 1000, 50, 50);
	kq_test_expect_invalid(test, &pmu[KVM_QUANTA_EV_INSTRUCTIONS]);
	kq_test_expect_pmu(test, &pmu[KVM_QUANTA_EV_LLC_MISSES], 1003, 50, 50);
	kq_test_expect_invalid(test, &pmu[KVM_QUANTA_EV_BRANCH_MISSES]);

	/* The counter recovers. */
	f->ctr[1].read_err = 0;
	kq_counters_read(c, set, &kq_fake_ops, pmu);
	kq_test_expect_pmu(test, &pmu[KVM_QUANTA_EV_INSTRUCTIONS], 1001, 50, 50);
	kq_test_expect_invalid(test, &pmu[KVM_QUANTA_EV_BRANCH_MISSES]);
	KUNIT_EXPECT_EQ(test, f->ctr[1].reads, 3);

	/* A read error does not close anything; close closes everything. */
	KUNIT_EXPECT_EQ(test, f->closes, 0);
	kq_counters_close(c, &kq_fake_ops);
	KUNIT_EXPECT_EQ(test, f->closes, 4);
}

/* Every opened handle is released exactly once, however often close runs. */
static void kq_test_counters_close_once(struct kunit *test)
{
	struct kq_fake *f = kq_fake_alloc(test);
	struct kq_event_set *set = kq_test_set_alloc(test);
	struct kq_counters *c = kq_test_counters_alloc(test);
	struct kq_pmu_value pmu[KVM_QUANTA_EV_NR];
	unsigned int i;

	kq_fake_fail(f, 4, 2, -ENODEV);
	KUNIT_ASSERT_EQ(test, kq_test_parse("4:1,4:2,4:3,4:4,4:5,4:6,4:7,4:8",
					    set), 0);
	kq_counters_open(c, set, &kq_fake_ops, f);
	KUNIT_EXPECT_EQ(test, f->opens, 7);
	kq_counters_close(c, &kq_fake_ops);
	kq_counters_close(c, &kq_fake_ops);
	KUNIT_EXPECT_EQ(test, f->closes, 7);
	for (i = 0; i < f->nctr; i++)
		KUNIT_EXPECT_EQ_MSG(test, f->ctr[i].closes,
				    f->ctr[i].failed ? 0 : 1, "counter %u", i);
	KUNIT_EXPECT_EQ(test, f->poison_uses, 0);

	/* Reading closed counters reads nothing. */
	kq_test_pmu_garbage(pmu);
	kq_counters_read(c, set, &kq_fake_ops, pmu);
	for (i = 0; i < KVM_QUANTA_EV_NR; i++)
		kq_test_expect_invalid(test, &pmu[i]);
	for (i = 0; i < f->nctr; i++)
		KUNIT_EXPECT_EQ(test, f->ctr[i].reads, 0);

	/* Reopening for another set, then closing, balances again. */
	kq_event_set_default(set);
	kq_counters_open(c, set, &kq_fake_ops, f);
	KUNIT_EXPECT_EQ(test, c->nr, 4);
	KUNIT_EXPECT_EQ(test, f->opens, 11);
	kq_counters_close(c, &kq_fake_ops);
	KUNIT_EXPECT_EQ(test, f->closes, 11);
}

/* The empty set opens nothing and reads nothing. */
static void kq_test_counters_empty(struct kunit *test)
{
	struct kq_fake *f = kq_fake_alloc(test);
	struct kq_event_set *set = kq_test_set_alloc(test);
	struct kq_counters *c = kq_test_counters_alloc(test);
	struct kq_pmu_value pmu[KVM_QUANTA_EV_NR];
	unsigned int i;

	KUNIT_ASSERT_EQ(test, kq_test_parse("none", set), 0);
	kq_counters_open(c, set, &kq_fake_ops, f);
	KUNIT_EXPECT_EQ(test, c->nr, 0);
	KUNIT_EXPECT_EQ(test, f->nctr, 0);
	for (i = 0; i < KQ_EVENTS_MAX; i++) {
		KUNIT_EXPECT_PTR_EQ(test, c->handle[i], NULL);
		KUNIT_EXPECT_EQ(test, c->err[i], 0);
	}
	kq_test_pmu_garbage(pmu);
	kq_counters_read(c, set, &kq_fake_ops, pmu);
	for (i = 0; i < KVM_QUANTA_EV_NR; i++)
		kq_test_expect_invalid(test, &pmu[i]);
	kq_counters_close(c, &kq_fake_ops);
	KUNIT_EXPECT_EQ(test, f->closes, 0);
}

/*
 * The whole path: counters read through the fake backend at two instants
 * make a window with the right scaled counts and derived values.
 */
static void kq_test_counters_window(struct kunit *test)
{
	struct kq_fake *f = kq_fake_alloc(test);
	struct kq_event_set *set = kq_test_set_alloc(test);
	struct kq_counters *c = kq_test_counters_alloc(test);
	struct kq_reading *r0 = kunit_kzalloc(test, sizeof(*r0), GFP_KERNEL);
	struct kq_reading *r1 = kunit_kzalloc(test, sizeof(*r1), GFP_KERNEL);
	struct kq_window *w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	struct kq_fake_counter *cyc, *ins, *br;

	KUNIT_ASSERT_NOT_NULL(test, r0);
	KUNIT_ASSERT_NOT_NULL(test, r1);
	KUNIT_ASSERT_NOT_NULL(test, w);
	kq_fake_fail(f, KQ_PERF_TYPE_HARDWARE, 3, -ENOENT);	/* no LLC */
	kq_event_set_default(set);
	kq_counters_open(c, set, &kq_fake_ops, f);
	KUNIT_ASSERT_EQ(test, f->nctr, 4);
	cyc = &f->ctr[0];
	ins = &f->ctr[1];
	br = &f->ctr[3];
	/* cycles multiplexed: on the PMU 3/4 of the time */
	cyc->script[0] = (struct kq_pmu_value){ 1000, 1000, 1000 };
	cyc->script[1] = (struct kq_pmu_value){ 1600000, 2001000, 1501000 };
	cyc->nscript = 2;
	ins->script[0] = (struct kq_pmu_value){ 500, 1000, 1000 };
	ins->script[1] = (struct kq_pmu_value){ 3200500, 2001000, 2001000 };
	ins->nscript = 2;
	br->script[0] = (struct kq_pmu_value){ 7, 1000, 1000 };
	br->script[1] = (struct kq_pmu_value){ 6407, 2001000, 2001000 };
	br->nscript = 2;

	kq_counters_read(c, set, &kq_fake_ops, r0->pmu);
	kq_counters_read(c, set, &kq_fake_ops, r1->pmu);
	r1->t_ns = 2000000;
	r1->guest_ns = 2000000;
	kq_window_from(w, r0, r1);
	/* 1599000 * 2000000 / 1500000 */
	KUNIT_EXPECT_EQ(test, w->pmu[KVM_QUANTA_EV_CYCLES], 2132000);
	KUNIT_EXPECT_EQ(test, w->pmu[KVM_QUANTA_EV_INSTRUCTIONS], 3200000);
	KUNIT_EXPECT_EQ(test, w->pmu[KVM_QUANTA_EV_LLC_MISSES], KQ_NONE64);
	KUNIT_EXPECT_EQ(test, w->pmu[KVM_QUANTA_EV_BRANCH_MISSES], 6400);
	KUNIT_EXPECT_EQ(test, w->ipc_milli, 1500);
	KUNIT_EXPECT_EQ(test, w->llc_mpki_milli, KQ_NONE32);
	KUNIT_EXPECT_EQ(test, w->br_mpki_milli, 2000);

	/* The branch counter fails on the next read: no branch MPKI. */
	br->read_err = -EIO;
	*r0 = *r1;
	kq_counters_read(c, set, &kq_fake_ops, r1->pmu);
	kq_window_from(w, r0, r1);
	KUNIT_EXPECT_EQ(test, w->pmu[KVM_QUANTA_EV_BRANCH_MISSES], KQ_NONE64);
	KUNIT_EXPECT_EQ(test, w->br_mpki_milli, KQ_NONE32);
	kq_counters_close(c, &kq_fake_ops);
	KUNIT_EXPECT_EQ(test, f->closes, 3);
	KUNIT_EXPECT_EQ(test, f->poison_uses, 0);
}

/*
 * A write to "events" reopens the counters (module: pmu.c bumps the
 * vCPU's epoch).  The window across the reopening must not subtract the
 * old counters from the new ones: no counts, and the history after it is
 * clean.  Without the epoch check the new cycles (1000 + config) minus the
 * old ones wrap to ~1.8e19 and the window reads as a flush.
 */
static void kq_test_counters_reopen(struct kunit *test)
{
	struct kq_fake *f = kq_fake_alloc(test);
	struct kq_event_set *set = kq_test_set_alloc(test);
	struct kq_counters *c = kq_test_counters_alloc(test);
	struct kq_reading *r0 = kunit_kzalloc(test, sizeof(*r0), GFP_KERNEL);
	struct kq_reading *r1 = kunit_kzalloc(test, sizeof(*r1), GFP_KERNEL);
	struct kq_window *w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	struct kq_history *h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, r0);
	KUNIT_ASSERT_NOT_NULL(test, r1);
	KUNIT_ASSERT_NOT_NULL(test, w);
	KUNIT_ASSERT_NOT_NULL(test, h);
	kq_history_init(h);
	kq_event_set_default(set);
	kq_counters_open(c, set, &kq_fake_ops, f);
	for (i = 0; i < f->nctr; i++) {
		f->ctr[i].script[0] = (struct kq_pmu_value){ 5000000, 100, 100 };
		f->ctr[i].nscript = 1;
	}
	kq_counters_read(c, set, &kq_fake_ops, r0->pmu);
	r0->pmu_epoch = 1;

	/* The same set written again: closed and opened afresh. */
	kq_counters_close(c, &kq_fake_ops);
	kq_counters_open(c, set, &kq_fake_ops, f);
	kq_counters_read(c, set, &kq_fake_ops, r1->pmu);
	r1->pmu_epoch = 2;
	r1->t_ns = 100000000;
	r1->guest_ns = 100000000;
	kq_window_from(w, r0, r1);
	for (i = 0; i < KVM_QUANTA_EV_NR; i++)
		KUNIT_EXPECT_EQ_MSG(test, w->pmu[i], KQ_NONE64, "role %u", i);
	KUNIT_EXPECT_EQ(test, w->llc_mpki_milli, KQ_NONE32);
	KUNIT_EXPECT_EQ(test, w->ipc_milli, KQ_NONE32);
	kq_history_add(h, w);
	KUNIT_EXPECT_EQ(test, h->total.pmu[KVM_QUANTA_EV_LLC_MISSES], KQ_NONE64);

	/* The next window, within one opening, counts again. */
	*r0 = *r1;
	for (i = 0; i < f->nctr; i++) {
		f->ctr[f->nctr - 1 - i].script[0].value += 2000;
		f->ctr[f->nctr - 1 - i].script[0].enabled += 100;
		f->ctr[f->nctr - 1 - i].script[0].running += 100;
	}
	kq_counters_read(c, set, &kq_fake_ops, r1->pmu);
	r1->t_ns += 100000000;
	kq_window_from(w, r0, r1);
	KUNIT_EXPECT_EQ(test, w->pmu[KVM_QUANTA_EV_CYCLES], 2000);
	KUNIT_EXPECT_EQ(test, w->llc_mpki_milli, 1000000);
	kq_counters_close(c, &kq_fake_ops);
}

static void kq_test_set_equal(struct kunit *test)
{
	struct kq_event_set *a = kq_test_set_alloc(test);
	struct kq_event_set *b = kq_test_set_alloc(test);

	kq_event_set_default(a);
	KUNIT_ASSERT_EQ(test, kq_test_parse("0:0,0:1,llc-misses,branch-misses",
					    b), 0);
	KUNIT_EXPECT_TRUE(test, kq_event_set_equal(a, b));
	KUNIT_ASSERT_EQ(test, kq_test_parse("cycles,instructions,llc-misses",
					    b), 0);
	KUNIT_EXPECT_FALSE(test, kq_event_set_equal(a, b));
	KUNIT_ASSERT_EQ(test, kq_test_parse("instructions,cycles,llc-misses,branch-misses",
					    b), 0);
	KUNIT_EXPECT_FALSE(test, kq_event_set_equal(a, b));
	KUNIT_ASSERT_EQ(test, kq_test_parse("cycles,instructions,llc-misses,4:1",
					    b), 0);
	KUNIT_EXPECT_FALSE(test, kq_event_set_equal(a, b));
}

static struct kunit_case kq_events_cases[] = {
	KUNIT_CASE(kq_test_parse_default),
	KUNIT_CASE(kq_test_parse_aliases),
	KUNIT_CASE(kq_test_parse_raw),
	KUNIT_CASE(kq_test_parse_separators),
	KUNIT_CASE(kq_test_parse_none),
	KUNIT_CASE(kq_test_parse_bad),
	KUNIT_CASE(kq_test_parse_max),
	KUNIT_CASE(kq_test_format),
	KUNIT_CASE(kq_test_format_roundtrip),
	KUNIT_CASE(kq_test_counters_all_open),
	KUNIT_CASE(kq_test_counters_roles),
	KUNIT_CASE(kq_test_counters_no_pmu),
	KUNIT_CASE(kq_test_counters_partial),
	KUNIT_CASE(kq_test_counters_read_error),
	KUNIT_CASE(kq_test_counters_close_once),
	KUNIT_CASE(kq_test_counters_empty),
	KUNIT_CASE(kq_test_counters_window),
	KUNIT_CASE(kq_test_counters_reopen),
	KUNIT_CASE(kq_test_set_equal),
	{}
};

static struct kunit_suite kq_events_suite = {
	.name = "kvm_quanta_events",
	.test_cases = kq_events_cases,
};

kunit_test_suites(&kq_events_suite);

MODULE_LICENSE("GPL");
