// SPDX-License-Identifier: GPL-2.0-only
/*
 * iprof: an exact count of the instructions a QEMU TCG guest executes, by
 * translation block, between marker instructions the guest executes.
 *
 *   qemu-system-x86_64 ... -plugin file=iprof.so,arg=out=PREFIX
 *
 * Every translation block gets a counter (one per distinct start address
 * and length), bumped by an inline add when the block starts; the
 * instructions of a block are its length times its count. The guest opens
 * a window with the 8-byte NOP "nopl 0x31525049(%rax,%rax,1)" (bytes
 * 0f 1f 84 00 'I' 'P' 'R' '1') and closes it with the same NOP ending in
 * '0' (iprof-mark.c executes them). At the close, PREFIX.N (N = 1, 2, ...)
 * gets one line "vaddr length count" per block that ran in the window;
 * at exit PREFIX.all has the counts since QEMU started, boot included.
 *
 * Exactness: a block is counted when it is entered, so a block left in
 * the middle (a page fault, an I/O instruction that makes icount
 * re-translate the block) counts its later instructions too; blocks that
 * icount stops before they begin are not counted. The inline counters are
 * plain (not atomic) adds: exact with one TCG thread (-accel
 * tcg,thread=single, as make bench's icount run uses), approximate with
 * MTTCG.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu-plugin-api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

struct block {
	uint64_t count;		/* bumped by the inline add: keep first */
	uint64_t base;		/* count when the window opened */
	uint64_t vaddr;
	uint64_t n_insns;
};

#define CHUNK 65536

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct block **chunks;	/* blocks never move: QEMU holds pointers */
static size_t n_chunks, n_blocks;
static struct block **table;	/* open addressing, by (vaddr, n_insns) */
static size_t table_size;
static char *prefix;
static unsigned int windows;
static bool open_window;

static const unsigned char mark_open[8] = { 0x0f, 0x1f, 0x84, 0x00, 'I', 'P', 'R', '1' };
static const unsigned char mark_close[8] = { 0x0f, 0x1f, 0x84, 0x00, 'I', 'P', 'R', '0' };

static size_t hash(uint64_t vaddr, uint64_t n)
{
	uint64_t h = (vaddr ^ (n << 48)) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 20);
}

static struct block *block_at(size_t i)
{
	return &chunks[i / CHUNK][i % CHUNK];
}

static void table_insert(struct block **t, size_t size, struct block *b)
{
	size_t i = hash(b->vaddr, b->n_insns) & (size - 1);

	while (t[i])
		i = (i + 1) & (size - 1);
	t[i] = b;
}

static void grow(void)
{
	size_t size = table_size ? table_size * 2 : 1 << 16, i;
	struct block **t = calloc(size, sizeof(*t));

	if (!t)
		abort();
	for (i = 0; i < n_blocks; i++)
		table_insert(t, size, block_at(i));
	free(table);
	table = t;
	table_size = size;
}

/* The block for (vaddr, n_insns), made on first use; under lock. */
static struct block *lookup(uint64_t vaddr, uint64_t n)
{
	struct block *b;
	size_t i;

	if (2 * (n_blocks + 1) > table_size)
		grow();
	for (i = hash(vaddr, n) & (table_size - 1); (b = table[i]);
	     i = (i + 1) & (table_size - 1))
		if (b->vaddr == vaddr && b->n_insns == n)
			return b;
	if (n_blocks == n_chunks * CHUNK) {
		chunks = realloc(chunks, (n_chunks + 1) * sizeof(*chunks));
		if (!chunks)
			abort();
		chunks[n_chunks] = calloc(CHUNK, sizeof(struct block));
		if (!chunks[n_chunks])
			abort();
		n_chunks++;
	}
	b = block_at(n_blocks++);
	b->vaddr = vaddr;
	b->n_insns = n;
	b->count = 0;
	b->base = 0;
	table[i] = b;
	return b;
}

/* Write the blocks that ran since their base; returns the instructions. */
static uint64_t dump(const char *path)
{
	uint64_t total = 0, d;
	struct block *b;
	FILE *f;
	size_t i;

	f = fopen(path, "w");
	if (!f) {
		perror(path);
		return 0;
	}
	for (i = 0; i < n_blocks; i++) {
		b = block_at(i);
		d = b->count - b->base;
		if (!d)
			continue;
		fprintf(f, "%#" PRIx64 " %" PRIu64 " %" PRIu64 "\n",
			b->vaddr, b->n_insns, d);
		total += d * b->n_insns;
	}
	fclose(f);
	return total;
}

static void marker(unsigned int vcpu, void *udata)
{
	bool opening = udata == mark_open;
	char path[4096];
	uint64_t total;
	size_t i;

	pthread_mutex_lock(&lock);
	if (opening) {
		for (i = 0; i < n_blocks; i++)
			block_at(i)->base = block_at(i)->count;
		open_window = true;
	} else if (open_window) {
		open_window = false;
		windows++;
		snprintf(path, sizeof(path), "%s.%u", prefix, windows);
		total = dump(path);
		fprintf(stderr, "iprof: window %u: %" PRIu64
			" instructions, %s\n", windows, total, path);
	}
	pthread_mutex_unlock(&lock);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb), i;
	struct qemu_plugin_insn *insn;
	const unsigned char *p;
	struct block *b;

	pthread_mutex_lock(&lock);
	b = lookup(qemu_plugin_tb_vaddr(tb), n);
	pthread_mutex_unlock(&lock);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
						 &b->count, 1);
	for (i = 0; i < n; i++) {
		insn = qemu_plugin_tb_get_insn(tb, i);
		if (qemu_plugin_insn_size(insn) != sizeof(mark_open))
			continue;
		p = qemu_plugin_insn_data(insn);
		if (!memcmp(p, mark_open, sizeof(mark_open)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, marker,
				QEMU_PLUGIN_CB_NO_REGS, (void *)mark_open);
		else if (!memcmp(p, mark_close, sizeof(mark_close)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, marker,
				QEMU_PLUGIN_CB_NO_REGS, (void *)mark_close);
	}
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	char path[4096];
	size_t i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < n_blocks; i++)
		block_at(i)->base = 0;
	snprintf(path, sizeof(path), "%s.all", prefix);
	dump(path);
	pthread_mutex_unlock(&lock);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const struct qemu_info_t *info,
					   int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4)) {
			prefix = strdup(argv[i] + 4);
		} else {
			fprintf(stderr, "iprof: unknown argument '%s' (want out=PREFIX)\n",
				argv[i]);
			return -1;
		}
	}
	if (!prefix)
		prefix = strdup("iprof");
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
