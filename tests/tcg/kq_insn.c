// SPDX-License-Identifier: GPL-2.0
/*
 * kq_insn: a QEMU TCG plugin that counts the guest's executed instructions
 * exactly and reports the count at each marker the guest executes, so a
 * benchmark gets "instructions between two points" with no timing in it.
 *
 * The marker is the 2-byte "out %al, $KQ_MARK_PORT" (e6 9a), which a
 * guest's userspace may execute after ioperm(); nothing decodes that port,
 * so it changes nothing in the machine.  At each marker the plugin writes
 *	kq-mark <n> <instructions so far>
 * to QEMU's log (-d plugin -D FILE).  With "profile=on" it also writes,
 * at each marker, the instructions executed since the previous marker by
 * translation-block start address, biggest first:
 *	kq-tb <n> <guest vaddr, hex> <instructions>
 * (for which functions they are: the guest's /proc/kallsyms); "min=K" leaves
 * out the addresses with fewer than K instructions.
 *
 * Counting is an inline add per translation block, at its start: exact
 * for blocks that run to their end, which is every block but one cut by
 * an exception.  One counter for all vCPUs: run the guest with -smp 1 or
 * one TCG thread (thread=single) so no add races another.
 *
 * Debian packages QEMU's plugin support (7.2, plugin API version 1) but not
 * qemu-plugin.h: the few declarations used are below, as that version has
 * them.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KQ_MARK_OPCODE 0xe6
#define KQ_MARK_PORT 0x9a

/* qemu-plugin.h, API version 1 (QEMU 7.2): what this plugin calls. */
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct qemu_info_t qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
					      void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
					    qemu_plugin_vcpu_udata_cb_t cb,
					    enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb,
				    void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_outs(const char *string);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* One per translation (a block translated again gets another). */
struct kq_tb {
	uint64_t vaddr;
	uint64_t n_insns;
	uint64_t execs;		/* inline add of 1 per execution */
	uint64_t execs_at_mark;
};

static uint64_t kq_insns;
static uint64_t kq_marks;
static bool kq_profile;
static uint64_t kq_min;		/* profile rows below this are left out */
static struct kq_tb **kq_tbs;	/* profile only */
static size_t kq_n_tbs, kq_cap_tbs;
static pthread_mutex_t kq_lock = PTHREAD_MUTEX_INITIALIZER;	/* any vCPU thread */

struct kq_row {
	uint64_t vaddr;
	uint64_t insns;
};

static int kq_row_cmp(const void *a, const void *b)
{
	const struct kq_row *x = a, *y = b;

	if (x->insns != y->insns)
		return x->insns < y->insns ? 1 : -1;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static int kq_row_addr_cmp(const void *a, const void *b)
{
	const struct kq_row *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* The profile since the previous marker: instructions by block address. */
static void kq_profile_dump(uint64_t mark)
{
	struct kq_row *rows = calloc(kq_n_tbs + 1, sizeof(*rows));
	size_t i, n = 0, m = 0;
	char line[96];

	if (!rows) {
		qemu_plugin_outs("kq-tb-error out of memory\n");
		return;
	}
	for (i = 0; i < kq_n_tbs; i++) {
		struct kq_tb *tb = kq_tbs[i];
		uint64_t d = (tb->execs - tb->execs_at_mark) * tb->n_insns;

		tb->execs_at_mark = tb->execs;
		if (d) {
			rows[n].vaddr = tb->vaddr;
			rows[n++].insns = d;
		}
	}
	/* A block translated more than once: one row per address. */
	qsort(rows, n, sizeof(*rows), kq_row_addr_cmp);
	for (i = 0; i < n; i++) {
		if (m && rows[m - 1].vaddr == rows[i].vaddr)
			rows[m - 1].insns += rows[i].insns;
		else
			rows[m++] = rows[i];
	}
	qsort(rows, m, sizeof(*rows), kq_row_cmp);
	for (i = 0; i < m && rows[i].insns >= kq_min; i++) {
		snprintf(line, sizeof(line), "kq-tb %" PRIu64 " %" PRIx64 " %" PRIu64 "\n", mark,
			 rows[i].vaddr, rows[i].insns);
		qemu_plugin_outs(line);
	}
	free(rows);
}

static void kq_mark(unsigned int vcpu_index, void *userdata)
{
	char line[64];
	uint64_t mark;

	(void)vcpu_index;
	(void)userdata;
	pthread_mutex_lock(&kq_lock);
	mark = ++kq_marks;
	snprintf(line, sizeof(line), "kq-mark %" PRIu64 " %" PRIu64 "\n", mark, kq_insns);
	qemu_plugin_outs(line);
	if (kq_profile)
		kq_profile_dump(mark);
	pthread_mutex_unlock(&kq_lock);
}

static void kq_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	(void)id;
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &kq_insns, n);
	if (kq_profile) {
		struct kq_tb *t = calloc(1, sizeof(*t));

		if (!t) {
			qemu_plugin_outs("kq-tb-error out of memory\n");
			abort();
		}
		t->vaddr = qemu_plugin_tb_vaddr(tb);
		t->n_insns = n;
		qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
							 &t->execs, 1);
		pthread_mutex_lock(&kq_lock);
		if (kq_n_tbs == kq_cap_tbs) {
			size_t cap = kq_cap_tbs ? 2 * kq_cap_tbs : 4096;
			struct kq_tb **a = realloc(kq_tbs, cap * sizeof(*a));

			if (!a) {
				qemu_plugin_outs("kq-tb-error out of memory\n");
				abort();
			}
			kq_tbs = a;
			kq_cap_tbs = cap;
		}
		kq_tbs[kq_n_tbs++] = t;
		pthread_mutex_unlock(&kq_lock);
	}
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const uint8_t *b = qemu_plugin_insn_data(insn);

		if (qemu_plugin_insn_size(insn) == 2 && b[0] == KQ_MARK_OPCODE &&
		    b[1] == KQ_MARK_PORT)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, kq_mark,
							       QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
}

static void kq_exit(qemu_plugin_id_t id, void *userdata)
{
	char line[64];

	(void)id;
	(void)userdata;
	snprintf(line, sizeof(line), "kq-total %" PRIu64 " %" PRIu64 "\n", kq_marks, kq_insns);
	qemu_plugin_outs(line);
}

__attribute__((visibility("default"))) int
qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	int i;

	(void)info;
	for (i = 0; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "profile=on")) {
			kq_profile = true;
		} else if (!strcmp(argv[i], "profile=off")) {
			kq_profile = false;
		} else if (!strncmp(argv[i], "min=", 4) && argv[i][4]) {
			kq_min = strtoull(argv[i] + 4, &end, 10);
			if (*end || argv[i][4] == '-')
				goto bad;
		} else {
			goto bad;
		}
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, kq_trans);
	qemu_plugin_register_atexit_cb(id, kq_exit, NULL);
	return 0;
bad:
	fprintf(stderr, "kq_insn: bad argument '%s' (profile=on|off, min=N)\n", argv[i]);
	return -1;
}
