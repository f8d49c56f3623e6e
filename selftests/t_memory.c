// SPDX-License-Identifier: GPL-2.0-only
/*
 * What one hostile peer can make the host hold.
 *
 * The module promises (Documentation/design.rst) that one remote peer
 * address can make it hold at one server socket at most
 *
 *	peer_max_conns x (conn_rx_mem + 1 MiB of queued control frames)
 *
 * on top of TCP's own socket buffers, which tcp_rmem/tcp_wmem bound and
 * which are not the module's.  Here raw TCP peers from 127.0.0.2 (all of
 * 127/8 is local) do their worst within the protocol: more connections
 * than peer_max_conns, each sending HELLO and then, never reading another
 * byte, opening as many calls as it can with full metadata and request
 * messages that never end (no EOM), data up to the windows the server
 * announced, and PINGs all along, then a flood of them.  They go on until
 * the server closes them, or TCP stops taking bytes for STALL_MS, or the
 * attack's time is up.
 *
 * Memory is read from /proc/meminfo before, during (every SAMPLE_MS) and
 * after.  Slab + VmallocUsed alone could miss much of it: received data
 * can stay in the page fragments of the skbs TCP built, which no meminfo
 * field names.  So the figure held to the bound is the kernel's memory in
 * the widest sense, MemTotal - MemFree - Buffers - Cached - AnonPages
 * (slab, vmalloc, page fragments, page tables, stacks) less the free
 * pages waiting on per-cpu lists (/proc/zoneinfo "count:"), and less
 * TCP's own memory from /proc/net/sockstat ("TCP: ... mem", pages).
 * Slab+vmalloc and TCP are printed too.  Its peak growth must stay within
 * the bound plus SLACK (on a debug kernel also the bound again, for
 * redzones and kmemleak's record of every object, and with KASAN
 * MemTotal/32, the most its quarantine of freed objects holds); once
 * everything is closed it must come back to within LEAK_SLACK of where it
 * started (slab caches shrunk, which also empties KASAN's quarantine).
 * Once the growth is ABORT_MARGIN past what is allowed the verdict is in
 * and the attack stops, so a module without the bound fails here instead
 * of taking the guest down.  A well-behaved client from 127.0.0.1, a
 * different peer, makes calls all through the attack and at its height,
 * with the hostile connections still open: each must succeed.
 *
 * Where the module has the parameters (conn_rx_mem, peer_max_conns,
 * peer_max_calls) they are made small for speed and restored afterwards;
 * where it lacks them the bound is computed from the values the test would
 * have set, so a module without per-peer limits fails here.
 *
 * The second case runs a shorter attack with failslab injecting
 * allocation failures, as far as possible only into allocations made from
 * the module's code (stack-trace filter on its text, or failslab's cache
 * filter on its slab caches), and checks that the server still answers
 * and memory comes back.  It is skipped without failslab (Debian's
 * kernels); the debug kernel has it.
 */
#include <dirent.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "frpc_test.h"
#include "kselftest_harness.h"

#define BASE_PORT	8700
#define HOSTILE_IP	"127.0.0.2"
#define KIB		1024ll
#define MIB		(1024ll * 1024)

/* the limits this test asks for, where the module has the parameters */
#define WANT_CONN_RX_MEM	(4 << 20)
#define WANT_PEER_MAX_CONNS	4
#define WANT_PEER_MAX_CALLS	256
/* control frames queued per connection, counted in the bound */
#define CTRL_MAX		MIB

/* growth allowed over the bound: TCP skb heads, per-cpu lists, noise */
#define SLACK_KIB		(16 * KIB)
/* what may stay behind after everything is closed */
#define LEAK_SLACK_KIB		(8 * KIB)
/* growth past allowed + this: the verdict is in, stop before an OOM */
#define ABORT_MARGIN_KIB	(64 * KIB)

#define HOSTILE_CONNS		8	/* more than WANT_PEER_MAX_CONNS */
#define CALLS_PER_CONN		1024	/* 8192 in all: past any call limit */
#define CONN_DATA_CAP		(32u << 20)	/* whatever a window says */
#define META_LEN		FASTRPC_MAX_METADATA
#define PING_EVERY		16	/* a PING after this many frames */
#define FLOOD_PINGS		50000	/* then this many more, 1 MB */
#define GEN_CHUNK		(96 << 10)
#define SNDBUF			(256 << 10)
#define TURN_BYTES		(256 << 10)	/* per connection per turn */
#define STALL_MS		2000
#define SAMPLE_MS		100
/*
 * memcg_charged needs one sample while the hostile connections are open,
 * and the server closes them within a few hundred ms: at 100 ms a run
 * under a loaded host saw none (peak rx_mem 0).
 */
#define MEMCG_SAMPLE_MS		5
#define HANDSHAKE_MS		5000
#define ATTACK_MS		45000
#define HOLD_MS			2000	/* at the height, before closing */
#define SETTLE_MS		20000	/* for memory to come back */
#define CLIENT_CALLS		20	/* during the attack */
#define HEIGHT_CALLS		5	/* at its height */
#define CALL_TIMEOUT_MS		20000
#define CLIENT_MS		60000

/* sizes of data frames, by call id: big frames and tiny ones */
static const uint32_t frame_sizes[] = { 16384, 4096, 1024, 256 };

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "# %s\n", line);
}

/* --- memory figures ------------------------------------------------------- */

struct memsnap {
	long long kmem;		/* KiB: see the comment at the top */
	long long slab;		/* KiB: SReclaimable + SUnreclaim */
	long long vmalloc;	/* KiB: VmallocUsed */
	long long tcp;		/* KiB: sockstat TCP mem */
	long long total;	/* KiB: MemTotal */
	long long free;		/* KiB: MemFree + per-cpu free lists */
	long long pcp;		/* KiB: of which on per-cpu free lists */
	long long cached, anon;	/* KiB: Buffers + Cached, AnonPages */
};

static long long held_kib(const struct memsnap *m)
{
	return m->kmem - m->tcp;
}

static int mem_read(struct memsnap *m)
{
	long long total = -1, free = -1, buffers = 0, cached = 0, anon = 0;
	long long srecl = 0, sunrecl = 0, vmalloc = 0, pages = 0, pcp = 0, v;
	char line[256], key[64];
	FILE *f;
	int seen = 0;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63[^:]: %lld", key, &v) != 2)
			continue;
		if (!strcmp(key, "MemTotal"))
			total = v, seen++;
		else if (!strcmp(key, "MemFree"))
			free = v, seen++;
		else if (!strcmp(key, "Buffers"))
			buffers = v;
		else if (!strcmp(key, "Cached"))
			cached = v;
		else if (!strcmp(key, "AnonPages"))
			anon = v;
		else if (!strcmp(key, "SReclaimable"))
			srecl = v;
		else if (!strcmp(key, "SUnreclaim"))
			sunrecl = v;
		else if (!strcmp(key, "VmallocUsed"))
			vmalloc = v;
	}
	fclose(f);
	if (seen != 2)
		return -EIO;

	/*
	 * Free pages on the per-cpu lists are not in MemFree, and those
	 * lists grow with bursts of frees (to 30-40 MiB in a 1 GiB guest)
	 * and shrink over seconds: count them as free.
	 */
	f = fopen("/proc/zoneinfo", "r");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, " count: %lld", &v) == 1)
				pcp += v;
		fclose(f);
	}
	pcp *= sysconf(_SC_PAGESIZE) / 1024;

	f = fopen("/proc/net/sockstat", "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *p = strstr(line, " mem ");

			if (!strncmp(line, "TCP:", 4) && p)
				pages = atoll(p + 5);
		}
		fclose(f);
	}
	m->total = total;
	m->free = free + pcp;
	m->pcp = pcp;
	m->cached = buffers + cached;
	m->anon = anon;
	m->kmem = total - m->free - m->cached - anon;
	m->slab = srecl + sunrecl;
	m->vmalloc = vmalloc;
	m->tcp = pages * (sysconf(_SC_PAGESIZE) / 1024);
	return 0;
}

static void note_snap(const char *when, const struct memsnap *m)
{
	note("%s: kernel less TCP %lld KiB (kernel %lld, TCP %lld); slab %lld, "
	     "vmalloc %lld, free %lld (per-cpu lists %lld), cached %lld, "
	     "anon %lld KiB", when, held_kib(m), m->kmem, m->tcp, m->slab,
	     m->vmalloc, m->free, m->pcp, m->cached, m->anon);
}

/*
 * Shrink every slab cache: frees empty slabs and per-cpu partial lists,
 * and on KASAN kernels empties the quarantine of freed objects, so that
 * two settled figures can be compared.
 */
static void slab_settle(void)
{
	char path[320];
	struct dirent *e;
	DIR *d = opendir("/sys/kernel/slab");
	int fd;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || e->d_type == DT_LNK)
			continue;	/* aliases: the real cache has a dir */
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink",
			 e->d_name);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (write(fd, "1", 1) < 0) {
			/* a cache that cannot shrink is no matter */
		}
		close(fd);
	}
	closedir(d);
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* A settled figure: shrink the caches, then the median of five reads. */
static int mem_settled(struct memsnap *out)
{
	long long held[5];
	struct memsnap s[5];
	int i, j;

	usleep(500000);
	slab_settle();
	for (i = 0; i < 5; i++) {
		if (mem_read(&s[i]))
			return -EIO;
		held[i] = held_kib(&s[i]);
		usleep(200000);
	}
	qsort(held, 5, sizeof(held[0]), cmp_ll);
	for (j = 0; j < 5; j++)
		if (held_kib(&s[j]) == held[2])
			break;
	*out = s[j];
	return 0;
}

/* /proc/kallsyms: whether KASAN is built in, and af_fastrpc's text. */
struct ksyms {
	bool kasan;
	unsigned long mod_lo, mod_hi;	/* lowest, highest text symbol */
};

static void ksyms_scan(struct ksyms *k)
{
	char line[512], type, name[256];
	unsigned long addr;
	FILE *f = fopen("/proc/kallsyms", "r");

	memset(k, 0, sizeof(*k));
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx %c %255s", &addr, &type, name) != 3)
			continue;
		if (!k->kasan && !strncmp(name, "kasan_", 6))
			k->kasan = true;
		if ((type == 't' || type == 'T') && addr &&
		    strstr(line, "[af_fastrpc]")) {
			if (!k->mod_lo || addr < k->mod_lo)
				k->mod_lo = addr;
			if (addr > k->mod_hi)
				k->mod_hi = addr;
		}
	}
	fclose(f);
}

/* --- the hostile peer ----------------------------------------------------- */

enum hstate {
	H_OPEN,		/* sending */
	H_REFUSED,	/* closed before or at the HELLO exchange */
	H_CLOSED,	/* closed or reset by the server while sending */
	H_STALLED,	/* TCP took nothing for STALL_MS */
	H_DONE,		/* everything sent */
};

static const char *const hstate_name[] = {
	[H_OPEN] = "still sending", [H_REFUSED] = "refused",
	[H_CLOSED] = "closed by server", [H_STALLED] = "stalled",
	[H_DONE] = "all sent",
};

struct hconn {
	int fd;
	enum hstate state;
	int err;		/* errno that ended it */
	uint32_t call_window, conn_window;	/* from the server's HELLO */
	uint32_t max_calls;
	uint32_t last_id;	/* calls opened so far (ids 1..last_id) */
	uint32_t call_left;	/* data still to send on call last_id */
	uint32_t fsz;		/* its frame size */
	uint64_t conn_data;	/* data bytes committed on the connection */
	uint32_t flood_left;
	uint64_t frames, pings, bytes;
	uint64_t last_progress, last_ping;
	uint8_t *buf;
	size_t len, off;
};

struct attack {
	struct hconn conn[HOSTILE_CONNS];
	int nconns;
	uint16_t port;
	uint64_t deadline;
	pthread_t thr;
	atomic_int abort;	/* memory is past the verdict: stop */
	atomic_int over;	/* the sending phase has ended */
	atomic_int stop;	/* leave the hold phase */
	bool aborted, timed_out;
	uint64_t t_start, t_over;
};

static uint8_t *put_hdr(uint8_t *p, uint8_t type, uint16_t flags,
			uint32_t id, uint32_t len)
{
	struct fastrpc_frame_hdr h = {
		.version = FASTRPC_PROTO_V1,
		.type = type,
		.flags = htons(flags),
		.call_id = htonl(id),
		.length = htonl(len),
	};

	memcpy(p, &h, sizeof(h));
	return p + sizeof(h);
}

static void emit_ping(struct hconn *h)
{
	uint8_t *p = put_hdr(h->buf + h->len, FASTRPC_FRAME_PING, 0, 0, 8);
	uint64_t n = h->pings++;

	memcpy(p, &n, 8);
	h->len = (size_t)(p + 8 - h->buf);
	h->frames++;
}

/* DATA of @len bytes on the current call, never the last: no EOM. */
static void emit_data(struct hconn *h, uint32_t len)
{
	uint8_t *p = put_hdr(h->buf + h->len, FASTRPC_FRAME_DATA, 0,
			     h->last_id, len);

	memset(p, 0xd5, len);
	h->len = (size_t)(p + len - h->buf);
	h->call_left -= len;
	h->frames++;
}

/*
 * CALL for the next id: full metadata (one entry of META_LEN bytes), the
 * first piece of a request that takes the call's window, or what is left
 * of the connection's, and no EOM.
 */
static void emit_call(struct hconn *h)
{
	struct fastrpc_wire_call wc = {
		.method = htonl(M_ECHO),
		.meta_len = htons(META_LEN),
	};
	struct fastrpc_meta_entry me = {
		.key_len = 1,
		.value_len = htons(META_LEN - sizeof(me) - 1),
	};
	uint64_t room = h->conn_window > h->conn_data ?
			h->conn_window - h->conn_data : 0;
	uint32_t first;
	uint8_t *p;

	h->last_id++;
	h->fsz = frame_sizes[h->last_id % 4];
	h->call_left = (uint32_t)(room < h->call_window ? room :
						      h->call_window);
	h->conn_data += h->call_left;
	first = h->call_left < h->fsz ? h->call_left : h->fsz;
	p = put_hdr(h->buf + h->len, FASTRPC_FRAME_CALL, 0, h->last_id,
		    (uint32_t)sizeof(wc) + META_LEN + first);
	memcpy(p, &wc, sizeof(wc));
	p += sizeof(wc);
	memcpy(p, &me, sizeof(me));
	p += sizeof(me);
	*p++ = 'h';
	memset(p, 'm', META_LEN - sizeof(me) - 1);
	p += META_LEN - sizeof(me) - 1;
	memset(p, 0xc4, first);
	h->len = (size_t)(p + first - h->buf);
	h->call_left -= first;
	h->frames++;
}

/* Refill the output buffer once it is empty; false when all is sent. */
static bool gen_fill(struct hconn *h)
{
	if (h->off < h->len)
		return true;
	h->off = h->len = 0;
	while (h->len < GEN_CHUNK) {
		if (h->frames % PING_EVERY == PING_EVERY - 1)
			emit_ping(h);
		else if (h->call_left)
			emit_data(h, h->call_left < h->fsz ? h->call_left :
							     h->fsz);
		else if (h->last_id < h->max_calls)
			emit_call(h);
		else if (h->flood_left)
			emit_ping(h), h->flood_left--;
		else
			break;
	}
	return h->len > 0;
}

/* One send of what is buffered; false once the connection is gone. */
static bool hsend(struct hconn *h)
{
	ssize_t n = send(h->fd, h->buf + h->off, h->len - h->off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n > 0) {
		h->off += (size_t)n;
		h->bytes += (uint64_t)n;
		h->last_progress = now_ms();
		return true;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	h->err = n < 0 ? errno : EPIPE;
	h->state = H_CLOSED;
	return false;
}

/* Send while TCP takes it, at most TURN_BYTES. */
static void pump(struct hconn *h)
{
	uint64_t start = h->bytes;
	size_t before;

	while (h->bytes - start < TURN_BYTES) {
		if (!gen_fill(h)) {
			h->state = H_DONE;
			return;
		}
		before = h->off;
		if (!hsend(h) || h->off == before)
			return;
	}
}

static int hostile_connect(struct hconn *h, uint16_t port)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct fastrpc_wire_hello hello = {
		.magic = htonl(FASTRPC_HELLO_MAGIC),
		.min_version = FASTRPC_PROTO_V1,
		.max_version = FASTRPC_PROTO_V1,
		.max_frame = htonl(FASTRPC_MAX_FRAME),
		.max_msg = htonl(FASTRPC_MAX_MSG),
		.call_window = htonl(FASTRPC_MIN_CALL_WINDOW),
		.conn_window = htonl(FASTRPC_MIN_CONN_WINDOW),
	};
	struct fastrpc_frame_hdr hdr;
	uint8_t out[64], *p;
	size_t got = 0, want = sizeof(hdr) + sizeof(hello);
	uint8_t in[sizeof(hdr) + sizeof(hello)];
	int one = 1, sndbuf = SNDBUF;
	ssize_t n;

	inet_pton(AF_INET, HOSTILE_IP, &src.sin_addr);
	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->fd < 0)
		return -errno;
	setsockopt(h->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_rcvtimeo(h->fd, HANDSHAKE_MS);
	if (bind(h->fd, (struct sockaddr *)&src, sizeof(src)) ||
	    connect(h->fd, (struct sockaddr *)&dst, sizeof(dst)))
		return -errno;
	p = put_hdr(out, FASTRPC_FRAME_HELLO, 0, 0, sizeof(hello));
	memcpy(p, &hello, sizeof(hello));
	if (send(h->fd, out, want, MSG_NOSIGNAL) != (ssize_t)want)
		return -EPIPE;
	/* the server's HELLO, and after it nothing is ever read */
	while (got < want) {
		n = recv(h->fd, in + got, want - got, 0);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0)
			return -errno;
		got += (size_t)n;
	}
	memcpy(&hdr, in, sizeof(hdr));
	memcpy(&hello, in + sizeof(hdr), sizeof(hello));
	if (hdr.type != FASTRPC_FRAME_HELLO ||
	    ntohl(hdr.length) != sizeof(hello) ||
	    ntohl(hello.magic) != FASTRPC_HELLO_MAGIC)
		return -EPROTO;
	h->call_window = ntohl(hello.call_window);
	h->conn_window = ntohl(hello.conn_window);
	if (h->conn_window > CONN_DATA_CAP)
		h->conn_window = CONN_DATA_CAP;
	/* a message longer than FASTRPC_MAX_MSG would be a protocol error */
	if (h->call_window > FASTRPC_MAX_MSG)
		h->call_window = FASTRPC_MAX_MSG;
	return 0;
}

static void attack_conns(struct attack *a, int nconns, uint16_t port)
{
	int i, ret;

	a->port = port;
	a->nconns = nconns;
	for (i = 0; i < nconns; i++) {
		struct hconn *h = &a->conn[i];

		h->max_calls = CALLS_PER_CONN;
		h->flood_left = FLOOD_PINGS;
		ret = hostile_connect(h, port);
		if (ret) {
			h->state = H_REFUSED;
			h->err = -ret;
		}
		h->last_progress = now_ms();
	}
}

static void *attack_thread(void *p)
{
	struct attack *a = p;
	struct pollfd pfd[HOSTILE_CONNS];
	int idx[HOSTILE_CONNS];
	uint64_t now = now_ms();
	int i, n;

	a->t_start = now;
	for (i = 0; i < a->nconns; i++)
		a->conn[i].last_progress = now;
	/* send until every connection is closed, stalled or done */
	for (;;) {
		now = now_ms();
		if (atomic_load(&a->abort)) {
			a->aborted = true;
			break;
		}
		if (now > a->deadline) {
			a->timed_out = true;
			break;
		}
		for (i = 0, n = 0; i < a->nconns; i++) {
			struct hconn *h = &a->conn[i];

			if (h->state != H_OPEN)
				continue;
			if (now - h->last_progress > STALL_MS) {
				h->state = H_STALLED;
				continue;
			}
			pfd[n].fd = h->fd;
			pfd[n].events = POLLOUT;
			pfd[n].revents = 0;
			idx[n++] = i;
		}
		if (!n)
			break;
		if (poll(pfd, (nfds_t)n, SAMPLE_MS) < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++)
			if (pfd[i].revents)
				pump(&a->conn[idx[i]]);
	}
	a->t_over = now_ms();
	atomic_store(&a->over, 1);

	/* hold: what is held stays held; a PING a second keeps it alive */
	while (!atomic_load(&a->stop)) {
		now = now_ms();
		for (i = 0; i < a->nconns; i++) {
			struct hconn *h = &a->conn[i];

			if (h->state == H_REFUSED || h->state == H_CLOSED)
				continue;
			if (h->off == h->len && now - h->last_ping >= 1000) {
				h->off = h->len = 0;
				emit_ping(h);
				h->last_ping = now;
			}
			if (h->off < h->len)
				hsend(h);
		}
		usleep(200000);
	}
	return NULL;
}

static void attack_close(struct attack *a)
{
	int i;

	for (i = 0; i < a->nconns; i++) {
		if (a->conn[i].fd >= 0)
			close(a->conn[i].fd);
		a->conn[i].fd = -1;
	}
}

static void attack_free(struct attack *a)
{
	int i;

	for (i = 0; i < HOSTILE_CONNS; i++)
		free(a->conn[i].buf);
	free(a);
}

static struct attack *attack_new(void)
{
	struct attack *a = calloc(1, sizeof(*a));
	int i;

	if (!a)
		return NULL;
	for (i = 0; i < HOSTILE_CONNS; i++) {
		a->conn[i].fd = -1;
		a->conn[i].buf = calloc(1, GEN_CHUNK + 64 * 1024);
		if (!a->conn[i].buf) {
			attack_free(a);
			return NULL;
		}
	}
	return a;
}

static void attack_report(struct attack *a)
{
	uint64_t bytes = 0, calls = 0;
	int i, count[H_DONE + 1] = { 0 };

	for (i = 0; i < a->nconns; i++) {
		struct hconn *h = &a->conn[i];

		count[h->state]++;
		bytes += h->bytes;
		calls += h->state == H_REFUSED ? 0 : h->last_id;
		note("hostile conn %d: %s%s%s, %llu KiB sent, %u calls opened, "
		     "%llu KiB of data, %llu PINGs", i, hstate_name[h->state],
		     h->err ? ": " : "", h->err ? strerror(h->err) : "",
		     (unsigned long long)h->bytes / 1024, h->last_id,
		     (unsigned long long)(h->conn_data - h->call_left) / 1024,
		     (unsigned long long)h->pings);
	}
	note("hostile peer %s: %d connections: %d refused, %d closed by the "
	     "server, %d stalled, %d all sent, %d still sending%s; %llu MiB, "
	     "%llu calls opened in %llu ms", HOSTILE_IP, a->nconns,
	     count[H_REFUSED], count[H_CLOSED], count[H_STALLED],
	     count[H_DONE], count[H_OPEN],
	     a->aborted ? " (stopped: memory past the verdict)" :
	     a->timed_out ? " (stopped: time up)" : "",
	     (unsigned long long)(bytes >> 20), (unsigned long long)calls,
	     (unsigned long long)(a->t_over - a->t_start));
}

/* --- the memory sampler --------------------------------------------------- */

struct sampler {
	pthread_t thr;
	atomic_int stop;
	struct memsnap base;
	long long abort_kib;		/* growth past it: a->abort */
	struct attack *a;
	pthread_mutex_t lock;
	long long peak_held;		/* growth of held_kib(), KiB */
	struct memsnap at_peak;		/* the sample with that peak */
	long long peak_slabvm, peak_tcp;	/* their own peaks, KiB */
	char proc_at_peak[2048];	/* /proc/net/fastrpc then */
	int samples;
};

static void read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = 0;
	if (!f)
		return;
	n = fread(buf, 1, cap - 1, f);
	buf[n] = 0;
	fclose(f);
}

static void *sampler_thread(void *p)
{
	struct sampler *s = p;
	struct memsnap m;
	long long held, slabvm, tcp;

	while (!atomic_load(&s->stop)) {
		if (!mem_read(&m)) {
			held = held_kib(&m) - held_kib(&s->base);
			slabvm = m.slab + m.vmalloc - s->base.slab -
				 s->base.vmalloc;
			tcp = m.tcp - s->base.tcp;
			pthread_mutex_lock(&s->lock);
			s->samples++;
			if (held > s->peak_held || s->samples == 1) {
				s->peak_held = held;
				s->at_peak = m;
				read_file("/proc/net/fastrpc", s->proc_at_peak,
					  sizeof(s->proc_at_peak));
			}
			if (slabvm > s->peak_slabvm)
				s->peak_slabvm = slabvm;
			if (tcp > s->peak_tcp)
				s->peak_tcp = tcp;
			pthread_mutex_unlock(&s->lock);
			if (s->a && held > s->abort_kib)
				atomic_store(&s->a->abort, 1);
		}
		usleep(SAMPLE_MS * 1000);
	}
	return NULL;
}

/* --- the well-behaved client ---------------------------------------------- */

struct client {
	int fd;
	pthread_t thr;
	int made, ok;
	uint32_t bad_status;
	ssize_t bad_ret;
	int ncalls;
	uint64_t deadline;
};

/* One echo call; true when it came back OK with the same bytes. */
static bool good_call(int fd, uint64_t seed, uint32_t *status, ssize_t *ret)
{
	uint8_t req[48], resp[64];

	fill_pattern(req, sizeof(req), seed);
	*status = FASTRPC_UNKNOWN;
	*ret = fastrpc_call(fd, M_ECHO, req, sizeof(req), resp, sizeof(resp),
			    status);
	return *ret == (ssize_t)sizeof(req) && *status == FASTRPC_OK &&
	       !memcmp(req, resp, sizeof(req));
}

static void client_calls(struct client *c, int n, uint64_t seed0,
			 int pause_ms)
{
	uint32_t status;
	ssize_t ret;
	int i;

	for (i = 0; i < n && now_ms() < c->deadline; i++) {
		c->made++;
		if (good_call(c->fd, seed0 + (uint64_t)i, &status, &ret))
			c->ok++;
		else if (c->made - c->ok == 1)
			c->bad_status = status, c->bad_ret = ret;
		if (pause_ms)
			usleep((useconds_t)pause_ms * 1000);
	}
}

static void *client_thread(void *p)
{
	struct client *c = p;

	client_calls(c, c->ncalls, 1000, 250);
	return NULL;
}

static int client_open(struct client *c, uint16_t port)
{
	memset(c, 0, sizeof(*c));
	c->fd = fastrpc_client_open("127.0.0.1", port, SOCK_CLOEXEC);
	if (c->fd < 0)
		return c->fd;
	return set_rcvtimeo(c->fd, CALL_TIMEOUT_MS) ? -errno : 0;
}

/* --- parameters and failslab, restored by the parent ---------------------- */

static const struct {
	const char *name;
	long long want;
} wanted[] = {
	{ "conn_rx_mem", WANT_CONN_RX_MEM },
	{ "peer_max_conns", WANT_PEER_MAX_CONNS },
	{ "peer_max_calls", WANT_PEER_MAX_CALLS },
};

#define NPARAMS (sizeof(wanted) / sizeof(wanted[0]))
#define FS_DIR "/sys/kernel/debug/failslab"

static const char *const fs_files[] = {
	"probability", "interval", "times", "space", "verbose",
	"task-filter", "ignore-gfp-wait", "cache-filter",
	"stacktrace-depth", "require-start", "require-end",
};

#define NFS (sizeof(fs_files) / sizeof(fs_files[0]))
#define MAX_FS_CACHES 16

FIXTURE(memory) {
	bool present[NPARAMS];
	long long old[NPARAMS];
	long long val[NPARAMS];		/* in force during the test */
	bool fs_saved;
	bool fs_have[NFS];
	char fs_old[NFS][64];
	int fs_ncaches;
	char fs_caches[MAX_FS_CACHES][64];
};

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

static int fs_write(const char *file, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), FS_DIR "/%s", file);
	return write_str(path, val);
}

static void fs_restore(FIXTURE_DATA(memory) *self)
{
	char path[160];
	size_t i;
	int c;

	if (!self->fs_saved)
		return;
	fs_write("probability", "0");
	for (c = 0; c < self->fs_ncaches; c++) {
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/failslab",
			 self->fs_caches[c]);
		write_str(path, "0");
	}
	/* probability last: nothing fails while the rest is put back */
	for (i = NFS; i-- > 0;)
		if (self->fs_have[i])
			fs_write(fs_files[i], self->fs_old[i]);
	self->fs_saved = false;
}

FIXTURE_SETUP(memory)
{
	size_t i;
	int ret;

	for (i = 0; i < NPARAMS; i++) {
		self->val[i] = wanted[i].want;
		ret = frpc_get_param(wanted[i].name, &self->old[i]);
		if (ret == -ENOENT) {
			note("no parameter %s: the bound uses %lld",
			     wanted[i].name, wanted[i].want);
			continue;
		}
		ASSERT_EQ(0, ret) TH_LOG("reading %s", wanted[i].name);
		self->present[i] = true;
		ASSERT_EQ(0, frpc_set_param(wanted[i].name,
					    (unsigned int)wanted[i].want))
			TH_LOG("setting %s to %lld", wanted[i].name,
			       wanted[i].want);
		/* what the module took, if it rounds or clamps */
		ASSERT_EQ(0, frpc_get_param(wanted[i].name, &self->val[i]));
	}
}

FIXTURE_TEARDOWN_PARENT(memory)
{
	size_t i;

	fs_restore(self);
	for (i = 0; i < NPARAMS; i++)
		if (self->present[i])
			frpc_set_param(wanted[i].name,
				       (unsigned int)self->old[i]);
}

/* --- the cases ------------------------------------------------------------ */

struct verdict {
	long long bound, allowed, abort_at, leak_slack;	/* KiB */
	bool kasan, debug;
};

static void verdict_init(struct verdict *v, FIXTURE_DATA(memory) *self,
			 const struct memsnap *base)
{
	struct ksyms k;

	ksyms_scan(&k);
	v->kasan = k.kasan;
	v->debug = k.kasan || !access("/sys/kernel/debug/kmemleak", F_OK);
	v->bound = self->val[1] * (self->val[0] + CTRL_MAX) / KIB;
	v->allowed = v->bound + SLACK_KIB;
	v->leak_slack = LEAK_SLACK_KIB;
	if (v->debug) {
		/* redzones and kmemleak's records per object, quarantine */
		v->allowed += v->bound;
		v->leak_slack *= 2;
	}
	if (v->kasan)
		v->allowed += base->total / 32;
	v->abort_at = v->allowed + ABORT_MARGIN_KIB;
	note("bound: peer_max_conns %lld x (conn_rx_mem %lld KiB + %lld KiB "
	     "of control frames) = %lld KiB; allowed growth %lld KiB "
	     "(slack %lld KiB%s%s)", self->val[1], self->val[0] / KIB,
	     CTRL_MAX / KIB, v->bound, v->allowed, SLACK_KIB,
	     v->debug ? ", x2 for the debug kernel's object overhead" : "",
	     v->kasan ? ", + MemTotal/32 for KASAN's quarantine" : "");
}

/* Wait for memory to come back; the growth over @base, settled. */
static long long settle_back(const struct memsnap *base, long long slack,
			     struct memsnap *after)
{
	uint64_t end = now_ms() + SETTLE_MS;
	long long grown;

	do {
		sleep(1);
		if (mem_settled(after))
			return LLONG_MAX;
		grown = held_kib(after) - held_kib(base);
	} while (grown > slack && now_ms() < end);
	return grown;
}

static void print_fastrpc(const char *when)
{
	char buf[2048], *line, *save = NULL;

	read_file("/proc/net/fastrpc", buf, sizeof(buf));
	note("/proc/net/fastrpc %s:", when);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		note("  %s", line);
}

TEST_F_TIMEOUT(memory, hostile_peer_bound, 280)
{
	struct echo_srv srv;
	struct attack *a;
	struct sampler s;
	struct client c;
	struct verdict v;
	struct memsnap base, after;
	uint64_t t_case = now_ms();
	long long back;
	int i, ret;

	ret = echo_srv_start(&srv, AF_INET, test_port(BASE_PORT,
			     _metadata->name), 2);
	ASSERT_EQ(0, ret) TH_LOG("server: %s", fastrpc_strerror(ret));
	ASSERT_EQ(0, client_open(&c, srv.port));
	/* warm up: the client's connection and buffers exist before base */
	c.deadline = now_ms() + CLIENT_MS;
	client_calls(&c, 3, 1, 0);
	ASSERT_EQ(3, c.ok) TH_LOG("no answers before the attack");
	c.made = c.ok = 0;

	a = attack_new();
	ASSERT_NE(NULL, a);

	ASSERT_EQ(0, mem_settled(&base));
	verdict_init(&v, self, &base);
	note_snap("before", &base);
	print_fastrpc("before");

	memset(&s, 0, sizeof(s));
	s.base = base;
	s.abort_kib = v.abort_at;
	s.a = a;
	pthread_mutex_init(&s.lock, NULL);
	ASSERT_EQ(0, pthread_create(&s.thr, NULL, sampler_thread, &s));

	attack_conns(a, HOSTILE_CONNS, srv.port);
	a->deadline = now_ms() + ATTACK_MS;
	c.ncalls = CLIENT_CALLS;
	c.deadline = now_ms() + CLIENT_MS;
	ASSERT_EQ(0, pthread_create(&c.thr, NULL, client_thread, &c));
	ASSERT_EQ(0, pthread_create(&a->thr, NULL, attack_thread, a));

	while (!atomic_load(&a->over))
		usleep(100000);
	pthread_join(c.thr, NULL);
	/* at the height: the hostile sockets still open, holding all */
	usleep(HOLD_MS * 1000);
	c.deadline = now_ms() + CLIENT_MS;
	client_calls(&c, HEIGHT_CALLS, 2000, 0);

	atomic_store(&a->stop, 1);
	pthread_join(a->thr, NULL);
	atomic_store(&s.stop, 1);
	pthread_join(s.thr, NULL);
	print_fastrpc("at the peak");
	attack_report(a);
	attack_close(a);

	back = settle_back(&base, v.leak_slack, &after);
	print_fastrpc("after");

	note_snap("at the peak", &s.at_peak);
	note_snap("after", &after);
	note("peak slab+vmalloc growth: %lld KiB, bound %lld KiB",
	     s.peak_slabvm, v.bound);
	note("peak TCP socket memory growth (sockstat, not the module's): "
	     "%lld KiB", s.peak_tcp);
	note("peak kernel memory growth less TCP: %lld KiB (kernel %lld, "
	     "TCP %lld at that moment), bound %lld KiB, allowed %lld KiB, "
	     "%d samples", s.peak_held, s.at_peak.kmem - base.kmem,
	     s.at_peak.tcp - base.tcp, v.bound, v.allowed, s.samples);
	note("after close: kernel memory less TCP %+lld KiB over before "
	     "(allowed %lld KiB), slab+vmalloc %+lld KiB",
	     back, v.leak_slack,
	     after.slab + after.vmalloc - base.slab - base.vmalloc);
	note("well-behaved client from 127.0.0.1: %d of %d calls OK%s",
	     c.ok, c.made, c.ok < c.made ? "; first failure:" : "");
	if (c.ok < c.made)
		note("  status %s, return %zd (%s)",
		     fastrpc_status_str(c.bad_status), c.bad_ret,
		     c.bad_ret < 0 ? fastrpc_strerror((int)c.bad_ret) : "-");
	note("case took %llu s",
	     (unsigned long long)(now_ms() - t_case) / 1000);

	EXPECT_LE(s.peak_held, v.allowed)
		TH_LOG("a peer made the kernel hold %lld KiB, more than the "
		       "bound %lld KiB plus slack", s.peak_held, v.bound);
	EXPECT_LE(back, v.leak_slack)
		TH_LOG("memory did not come back after the peer left");
	EXPECT_EQ(CLIENT_CALLS + HEIGHT_CALLS, c.ok)
		TH_LOG("another peer's calls failed during the attack");
	/* the attack happened: something got through the HELLO */
	for (i = 0, ret = 0; i < a->nconns; i++)
		ret += a->conn[i].state != H_REFUSED;
	EXPECT_LT(0, ret) TH_LOG("no hostile connection was accepted");

	close(c.fd);
	echo_srv_stop(&srv);
	attack_free(a);
}

/* Save failslab's settings so that the parent puts them back. */
static void fs_save(FIXTURE_DATA(memory) *self)
{
	char path[128];
	size_t i, n;

	for (i = 0; i < NFS; i++) {
		snprintf(path, sizeof(path), FS_DIR "/%s", fs_files[i]);
		read_file(path, self->fs_old[i], sizeof(self->fs_old[i]));
		n = strlen(self->fs_old[i]);
		while (n && self->fs_old[i][n - 1] == '\n')
			self->fs_old[i][--n] = 0;
		self->fs_have[i] = n > 0;
	}
	self->fs_saved = true;
}

/* Mark the module's own slab caches (frpc*) for failslab's cache filter. */
static int fs_mark_caches(FIXTURE_DATA(memory) *self)
{
	char path[320];
	struct dirent *e;
	DIR *d = opendir("/sys/kernel/slab");

	if (!d)
		return 0;
	while ((e = readdir(d)) && self->fs_ncaches < MAX_FS_CACHES) {
		if (strncmp(e->d_name, "frpc", 4) &&
		    strncmp(e->d_name, "fastrpc", 7))
			continue;
		if (strlen(e->d_name) >= sizeof(self->fs_caches[0]))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/failslab",
			 e->d_name);
		/* a cache merged with others refuses the flag */
		if (write_str(path, "1"))
			continue;
		snprintf(self->fs_caches[self->fs_ncaches++],
			 sizeof(self->fs_caches[0]), "%.63s", e->d_name);
	}
	closedir(d);
	return self->fs_ncaches;
}

#define FS_TIMES	500	/* failures injected at most, come what may */
#define FS_ON_MS	8000
#define FS_ATTACK_MS	20000
#define FS_CONNS	4

TEST_F_TIMEOUT(memory, failslab_under_attack, 280)
{
	char val[64];
	struct echo_srv srv;
	struct attack *a;
	struct client c;
	struct ksyms k;
	struct memsnap base, after;
	const char *how;
	long long back, left = -1;
	uint64_t t0, t_case = now_ms();
	uint32_t status;
	ssize_t r;
	bool answered = false;
	int ret, fd;

	if (access(FS_DIR "/probability", W_OK))
		SKIP(return, "no failslab (CONFIG_FAILSLAB, debugfs)");

	ret = echo_srv_start(&srv, AF_INET, test_port(BASE_PORT,
			     _metadata->name), 2);
	ASSERT_EQ(0, ret) TH_LOG("server: %s", fastrpc_strerror(ret));
	ASSERT_EQ(0, client_open(&c, srv.port));
	c.deadline = now_ms() + CLIENT_MS;
	client_calls(&c, 3, 1, 0);
	ASSERT_EQ(3, c.ok);
	c.made = c.ok = 0;

	a = attack_new();
	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, mem_settled(&base));

	/*
	 * Only allocations that do not wait (ignore-gfp-wait, the default),
	 * and only the module's: a stack-trace filter on its text where the
	 * kernel has one, else its own caches, else a low rate everywhere.
	 */
	fs_save(self);
	ASSERT_EQ(0, fs_write("probability", "0"));
	ASSERT_EQ(0, fs_write("verbose", "0"));
	ASSERT_EQ(0, fs_write("interval", "1"));
	ASSERT_EQ(0, fs_write("space", "0"));
	ASSERT_EQ(0, fs_write("task-filter", "N"));
	ASSERT_EQ(0, fs_write("ignore-gfp-wait", "Y"));
	snprintf(val, sizeof(val), "%d", FS_TIMES);
	ASSERT_EQ(0, fs_write("times", val));
	ksyms_scan(&k);
	if (k.mod_lo && !access(FS_DIR "/require-start", W_OK)) {
		ASSERT_EQ(0, fs_write("cache-filter", "N"));
		ASSERT_EQ(0, fs_write("stacktrace-depth", "32"));
		snprintf(val, sizeof(val), "0x%lx", k.mod_lo);
		ASSERT_EQ(0, fs_write("require-start", val));
		/* the last function's end is not in kallsyms: a margin */
		snprintf(val, sizeof(val), "0x%lx", k.mod_hi + 0x10000);
		ASSERT_EQ(0, fs_write("require-end", val));
		how = "allocations with af_fastrpc's code on the stack, 3%";
		snprintf(val, sizeof(val), "3");
	} else if (fs_mark_caches(self) > 0) {
		ASSERT_EQ(0, fs_write("cache-filter", "Y"));
		how = "af_fastrpc's own slab caches, 3%";
		snprintf(val, sizeof(val), "3");
	} else {
		ASSERT_EQ(0, fs_write("cache-filter", "N"));
		how = "every non-waiting allocation, 1%";
		snprintf(val, sizeof(val), "1");
	}

	attack_conns(a, FS_CONNS, srv.port);
	a->deadline = now_ms() + FS_ATTACK_MS;
	c.ncalls = CLIENT_CALLS;
	c.deadline = now_ms() + CLIENT_MS;
	ASSERT_EQ(0, pthread_create(&c.thr, NULL, client_thread, &c));
	ASSERT_EQ(0, pthread_create(&a->thr, NULL, attack_thread, a));
	ASSERT_EQ(0, fs_write("probability", val));
	note("failslab on for %d ms: %s, at most %d failures", FS_ON_MS, how,
	     FS_TIMES);
	usleep(FS_ON_MS * 1000);
	ASSERT_EQ(0, fs_write("probability", "0"));
	read_file(FS_DIR "/times", val, sizeof(val));
	left = atoll(val);
	fs_restore(self);
	note("failslab off: %lld allocation failures injected",
	     FS_TIMES - left);
	if (left == FS_TIMES)
		note("no failure was injected: this run proved little");

	while (!atomic_load(&a->over))
		usleep(100000);
	atomic_store(&a->stop, 1);
	pthread_join(a->thr, NULL);
	pthread_join(c.thr, NULL);
	attack_report(a);
	attack_close(a);
	note("client calls while failing: %d of %d OK (not judged)", c.ok,
	     c.made);
	close(c.fd);

	/* a fresh call is answered (its connection may have to be redone) */
	for (t0 = now_ms(); !answered && now_ms() - t0 < 40000;) {
		fd = fastrpc_client_open("127.0.0.1", srv.port, SOCK_CLOEXEC);
		if (fd >= 0) {
			set_rcvtimeo(fd, 10000);
			answered = good_call(fd, 77, &status, &r);
			close(fd);
		}
		if (!answered)
			usleep(500000);
	}
	EXPECT_TRUE(answered) TH_LOG("the server no longer answers");

	echo_srv_stop(&srv);
	back = settle_back(&base, LEAK_SLACK_KIB * 2, &after);
	note("after: kernel memory less TCP %+lld KiB over before", back);
	EXPECT_LE(back, LEAK_SLACK_KIB * 2)
		TH_LOG("memory did not come back after the failures");
	print_fastrpc("after");
	note("case took %llu s",
	     (unsigned long long)(now_ms() - t_case) / 1000);
	attack_free(a);
}

/* --- memory cgroup charging ---------------------------------------------- */

#define CG_ROOT		"/sys/fs/cgroup"

static long long cg_read(const char *dir, const char *file)
{
	char path[160], buf[64];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	read_file(path, buf, sizeof(buf));
	return buf[0] ? atoll(buf) : -1;
}

/* cgroup v2 with the memory controller for children of the root, or why not */
static const char *cg_setup(void)
{
	char buf[256];

	if (access(CG_ROOT "/cgroup.controllers", F_OK)) {
		mkdir(CG_ROOT, 0755);
		if (mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL))
			return "no cgroup2 file system";
	}
	read_file(CG_ROOT "/cgroup.controllers", buf, sizeof(buf));
	if (!strstr(buf, "memory"))
		return "no memory controller (CONFIG_MEMCG)";
	read_file(CG_ROOT "/cgroup.subtree_control", buf, sizeof(buf));
	if (!strstr(buf, "memory") &&
	    write_str(CG_ROOT "/cgroup.subtree_control", "+memory"))
		return "cannot enable the memory controller";
	return NULL;
}

/*
 * What a remote peer makes the module hold is charged to the memory
 * cgroup of the process that created the server socket, not to nobody:
 * a server in its own cgroup is attacked from outside it, and the
 * group's memory.current must grow by a good part of what the module
 * reports holding for the peer (rx_mem).  Without the charging (no
 * SLAB_ACCOUNT caches, no __GFP_ACCOUNT, no set_active_memcg() in the
 * softirq receive path) it stays where it was: the server process itself
 * allocates nothing meanwhile.
 */
TEST_F_TIMEOUT(memory, memcg_charged, 200)
{
	char dir[64], pid[16], port_s[8] = { 0 };
	long long cur0, cur_peak = 0, held_peak = 0, cur, held;
	int to_child[2], from_child[2], i, ret;
	struct attack *a;
	const char *why;
	uint16_t port;
	pid_t child;
	char c;

	why = cg_setup();
	if (why)
		SKIP(return, "%s", why);
	snprintf(dir, sizeof(dir), CG_ROOT "/frpc_memcg_%d", getpid());
	ASSERT_EQ(0, mkdir(dir, 0755)) TH_LOG("mkdir %s: %s", dir, strerror(errno));
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(from_child));

	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		struct echo_srv srv;
		char path[96];

		/* the server's process, alone in the cgroup */
		close(to_child[1]);
		close(from_child[0]);
		snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
		snprintf(pid, sizeof(pid), "%d", getpid());
		if (write_str(path, pid))
			_exit(2);
		if (echo_srv_start(&srv, AF_INET, test_port(BASE_PORT + 100,
				   "memcg"), 2))
			_exit(3);
		snprintf(port_s, sizeof(port_s), "%u", srv.port);
		if (write(from_child[1], port_s, sizeof(port_s)) !=
		    sizeof(port_s))
			_exit(4);
		/* until the parent closes its end */
		while (read(to_child[0], &c, 1) > 0)
			;
		echo_srv_stop(&srv);
		_exit(0);
	}
	close(to_child[0]);
	close(from_child[1]);
	ASSERT_EQ((ssize_t)sizeof(port_s), read(from_child[0], port_s,
						 sizeof(port_s)));
	port = (uint16_t)atoi(port_s);
	usleep(500000);
	cur0 = cg_read(dir, "memory.current");
	ASSERT_LE(0, cur0);

	a = attack_new();
	ASSERT_NE(NULL, a);
	attack_conns(a, HOSTILE_CONNS, port);
	a->deadline = now_ms() + ATTACK_MS / 3;
	ASSERT_EQ(0, pthread_create(&a->thr, NULL, attack_thread, a));
	for (;;) {
		cur = cg_read(dir, "memory.current") - cur0;
		held = proc_counter("rx_mem");
		if (held > held_peak) {
			held_peak = held;
			cur_peak = cur;
		}
		if (atomic_load(&a->over))
			break;
		usleep(MEMCG_SAMPLE_MS * 1000);
	}
	usleep(HOLD_MS * 1000);
	cur = cg_read(dir, "memory.current") - cur0;
	held = proc_counter("rx_mem");
	if (held >= held_peak) {
		held_peak = held;
		cur_peak = cur;
	}
	atomic_store(&a->stop, 1);
	pthread_join(a->thr, NULL);
	attack_report(a);
	attack_close(a);
	for (i = 0, ret = 0; i < a->nconns; i++)
		ret += a->conn[i].state != H_REFUSED;
	attack_free(a);

	note("memcg: memory.current %lld KiB before; at the module's peak "
	     "rx_mem of %lld KiB the server's cgroup had grown %lld KiB",
	     cur0 / KIB, held_peak / KIB, cur_peak / KIB);
	close(to_child[1]);
	waitpid(child, &i, 0);
	EXPECT_TRUE(WIFEXITED(i) && !WEXITSTATUS(i));
	/* the group empties once the server's process and sockets are gone */
	for (i = 0; i < 50 && rmdir(dir); i++)
		usleep(200000);

	EXPECT_LT(0, ret) TH_LOG("no hostile connection was accepted");
	ASSERT_LE(MIB, held_peak) TH_LOG("the attack made the module hold little");
	EXPECT_LE(held_peak / 4, cur_peak)
		TH_LOG("of %lld KiB held for the peer only %lld KiB were charged "
		       "to the server's memory cgroup", held_peak / KIB,
		       cur_peak / KIB);
}

/*
 * The ring regions are the largest thing one socket makes the module
 * allocate (up to FASTRPC_RING_MAX_AREA), so they are charged to the
 * memory cgroup of the process that sets them up, and uncharged when the
 * socket goes.  A process alone in its cgroup sets up rings with a
 * RING_AREA buffer area on a plain socket: memory.current must grow by
 * the regions' size (getsockopt's sq_size + cq_size + buf_size), and
 * come down by as much after close().  The process stays alive
 * throughout, so its own exit cannot account for the drop.
 */
#define RING_BUF	(64 << 10)
#define RING_AREA	(32 << 20)
/* the per-cpu charge stocks keep up to 64 pages each on either side */
#define RING_SLACK	(512 * KIB + 256 * KIB * sysconf(_SC_NPROCESSORS_CONF))
#define RING_SETTLE_MS	5000

struct ring_step {
	int err;		/* -errno of the child's step */
	long long bytes;	/* the regions' size, after setup */
};

/* the child's side: one step per byte from the parent, until EOF */
static int ring_child(const char *dir, int in, int out)
{
	const struct fastrpc_ring_setup s = {
		.sq_entries = 256, .cq_entries = 256, .buf_size = RING_BUF,
		.buf_count = RING_AREA / RING_BUF,
		.rx_bufs = RING_AREA / RING_BUF,
	};
	struct fastrpc_ring_info info;
	struct ring_step st = { 0 };
	socklen_t len = sizeof(info);
	char path[96], pid[16], c;
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	st.err = write_str(path, pid);
	fd = st.err ? -1 : fastrpc_socket(SOCK_CLOEXEC);
	if (fd < 0 && !st.err)
		st.err = fd;
	if (write(out, &st, sizeof(st)) != sizeof(st) || st.err)
		return 2;

	if (read(in, &c, 1) != 1)
		return 3;
	if (setsockopt(fd, SOL_FASTRPC, FASTRPC_RING, &s, sizeof(s)) ||
	    getsockopt(fd, SOL_FASTRPC, FASTRPC_RING, &info, &len))
		st.err = -errno;
	else
		st.bytes = info.sq_size + info.cq_size + info.buf_size;
	if (write(out, &st, sizeof(st)) != sizeof(st) || st.err)
		return 4;

	if (read(in, &c, 1) != 1)
		return 5;
	st.err = close(fd) ? -errno : 0;
	if (write(out, &st, sizeof(st)) != sizeof(st))
		return 6;
	while (read(in, &c, 1) > 0)
		;
	return 0;
}

TEST_F_TIMEOUT(memory, ring_memcg_charged, 60)
{
	long long cur0, cur1, cur2, slack = RING_SLACK, bytes;
	int to_child[2], from_child[2], i;
	struct ring_step st;
	const char *why;
	char dir[64];
	pid_t child;

	why = cg_setup();
	if (why)
		SKIP(return, "%s", why);
	snprintf(dir, sizeof(dir), CG_ROOT "/frpc_ring_%d", getpid());
	ASSERT_EQ(0, mkdir(dir, 0755)) TH_LOG("mkdir %s: %s", dir, strerror(errno));
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(from_child));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		close(to_child[1]);
		close(from_child[0]);
		_exit(ring_child(dir, to_child[0], from_child[1]));
	}
	close(to_child[0]);
	close(from_child[1]);

	/* in the cgroup, with a socket */
	ASSERT_EQ((ssize_t)sizeof(st), read(from_child[0], &st, sizeof(st)));
	ASSERT_EQ(0, st.err) TH_LOG("joining %s, socket: %s", dir,
				    strerror(-st.err));
	cur0 = cg_read(dir, "memory.current");
	ASSERT_LE(0, cur0);

	/* rings set up */
	ASSERT_EQ(1, write(to_child[1], "s", 1));
	ASSERT_EQ((ssize_t)sizeof(st), read(from_child[0], &st, sizeof(st)));
	ASSERT_EQ(0, st.err) TH_LOG("FASTRPC_RING: %s", strerror(-st.err));
	bytes = st.bytes;
	cur1 = cg_read(dir, "memory.current");

	/* socket closed: the module may free the rings from a work item */
	ASSERT_EQ(1, write(to_child[1], "c", 1));
	ASSERT_EQ((ssize_t)sizeof(st), read(from_child[0], &st, sizeof(st)));
	EXPECT_EQ(0, st.err) TH_LOG("close: %s", strerror(-st.err));
	for (i = 0; i <= RING_SETTLE_MS / 20; i++) {
		cur2 = cg_read(dir, "memory.current");
		if (cur1 - cur2 >= bytes - slack)
			break;
		usleep(20000);
	}

	note("ring regions %lld KiB, slack %lld KiB", bytes / KIB, slack / KIB);
	note("memory.current %lld KiB before, %lld KiB with the rings (%+lld)",
	     cur0 / KIB, cur1 / KIB, (cur1 - cur0) / KIB);
	note("memory.current %lld KiB after close (%+lld), %d ms later",
	     cur2 / KIB, (cur2 - cur1) / KIB, i * 20);
	close(to_child[1]);
	waitpid(child, &i, 0);
	EXPECT_TRUE(WIFEXITED(i) && !WEXITSTATUS(i));
	for (i = 0; i < 50 && rmdir(dir); i++)
		usleep(100000);

	EXPECT_LE(RING_AREA, bytes);
	EXPECT_LE(bytes - slack, cur1 - cur0)
		TH_LOG("rings of %lld KiB grew the cgroup by %lld KiB only",
		       bytes / KIB, (cur1 - cur0) / KIB);
	EXPECT_LE(bytes - slack, cur1 - cur2)
		TH_LOG("closing rings of %lld KiB gave back %lld KiB only",
		       bytes / KIB, (cur1 - cur2) / KIB);
}

TEST_HARNESS_MAIN
