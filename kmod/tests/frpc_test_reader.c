// SPDX-License-Identifier: GPL-2.0-only
/*
 * Suite for the frame reader (reader.c): a stream of frames fed in skb
 * pieces cut every way a TCP receive queue can cut them must come out as
 * the same frames, byte for byte; oversize and garbage headers stop it
 * with the right ERROR code; a pass's budget stops it mid-stream and the
 * next pass goes on where it stopped.  The same for the short cut's
 * buffers: whole frames come out as views with no skb, and a buffer cut
 * mid-frame, or met mid-frame, is left whole to the skb path.  Included
 * by af_fastrpc_kunit.c.
 */

#define FRPC_TEST_FRAMES	40

struct frpc_test_seen {
	u32	n;
	u32	type[FRPC_TEST_FRAMES];
	u32	id[FRPC_TEST_FRAMES];
	u32	len[FRPC_TEST_FRAMES];
	u32	owned;
	u32	bufs;			/* frames from a buffer, no skb */
	u32	bad;			/* handed over neither or both ways */
	u32	sum[FRPC_TEST_FRAMES];	/* of the payload bytes */
	u8	refuse_type;		/* answer this type with PROTOCOL */
};

static u8 frpc_test_frame_cb(void *ctx, const struct fastrpc_frame_hdr *hdr,
			     struct sk_buff *skb, const u8 *buf, u32 off,
			     u32 len, bool owned)
{
	struct frpc_test_seen *seen = ctx;
	u32 i = seen->n++, sum = 0, k;
	u8 b;

	/* exactly one of the two, and a buffer is never ours */
	if (!skb == !buf || (buf && owned))
		seen->bad++;
	if (buf)
		seen->bufs++;
	if (i < FRPC_TEST_FRAMES) {
		seen->type[i] = hdr->type;
		seen->id[i] = be32_to_cpu(hdr->call_id);
		seen->len[i] = len;
		for (k = 0; k < len; k++) {
			if (buf)
				b = buf[off + k];
			else if (skb_copy_bits(skb, off + k, &b, 1))
				return FASTRPC_WERR_RESOURCE;
			sum = sum * 31 + b;
		}
		seen->sum[i] = sum;
	}
	if (owned) {
		seen->owned++;
		kfree_skb(skb);
	}
	return hdr->type == seen->refuse_type ? FASTRPC_WERR_PROTOCOL : 0;
}

/* A stream of @n frames: DATA on ids 1..n, payload i*37 % 300 bytes. */
static u8 *frpc_test_stream(struct kunit *test, u32 n, u32 *lenp,
			    struct frpc_test_seen *want)
{
	u32 i, k, len = 0, off = 0;
	u8 *buf;

	for (i = 0; i < n; i++)
		len += FASTRPC_FRAME_HDR_LEN + (i * 37) % 300;
	buf = kunit_kzalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	memset(want, 0, sizeof(*want));
	for (i = 0; i < n; i++) {
		u32 plen = (i * 37) % 300, sum = 0;

		frpc_put_hdr(buf + off, FASTRPC_PROTO_V1, FASTRPC_FRAME_DATA, 0,
			     i + 1, plen);
		off += FASTRPC_FRAME_HDR_LEN;
		for (k = 0; k < plen; k++) {
			buf[off + k] = (u8)(i * 7 + k);
			sum = sum * 31 + buf[off + k];
		}
		off += plen;
		want->type[i] = FASTRPC_FRAME_DATA;
		want->id[i] = i + 1;
		want->len[i] = plen;
		want->sum[i] = sum;
	}
	want->n = n;
	*lenp = len;
	return buf;
}

/* An skb holding @len bytes of @data, @head of them linear, rest paged. */
static struct sk_buff *frpc_test_piece(struct kunit *test, const u8 *data,
				       u32 len, u32 head)
{
	struct sk_buff *skb;
	u32 off;

	head = min(head, len);
	skb = alloc_skb(head, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_put_data(skb, data, head);
	for (off = head; off < len; off += PAGE_SIZE) {
		u32 n = min_t(u32, len - off, PAGE_SIZE);
		struct page *page = alloc_page(GFP_KERNEL);

		KUNIT_ASSERT_NOT_NULL(test, page);
		memcpy(page_address(page), data + off, n);
		skb_add_rx_frag(skb, skb_shinfo(skb)->nr_frags, page, 0, n,
				PAGE_SIZE);
	}
	KUNIT_ASSERT_EQ(test, skb->len, len);
	return skb;
}

/*
 * Feed @data cut into pieces of @cut bytes (the last shorter), each in an
 * skb with a few bytes of other data before it, as a TCP skb with an
 * offset.  Returns the bytes the reader used.
 */
static u32 frpc_test_feed(struct kunit *test, struct frpc_reader *r,
			  const u8 *data, u32 len, u32 cut)
{
	u32 done = 0, used = 0;

	while (done < len && !r->dead) {
		u32 n = min(cut, len - done);
		u8 *tmp = kmalloc(n + 5, GFP_KERNEL);
		struct sk_buff *skb;
		u32 got;

		KUNIT_ASSERT_NOT_NULL(test, tmp);
		memset(tmp, 0xee, 5);
		memcpy(tmp + 5, data + done, n);
		skb = frpc_test_piece(test, tmp, n + 5, (n + 5) / 2);
		kfree(tmp);
		r->budget = U32_MAX;
		got = frpc_reader_feed(r, skb, 5, n);
		kfree_skb(skb);
		used += got;
		if (got < n)
			break;
		done += n;
		/*
		 * Thousands of pieces a case: under KASAN and kmemleak on a
		 * busy host that outlasted the soft lockup watchdog once.
		 */
		cond_resched();
	}
	return used;
}

/* Feed @len bytes at @buf as the short cut does, with no budget limit. */
static u32 frpc_test_feed_buf(struct frpc_reader *r, const u8 *buf, u32 len)
{
	r->budget = U32_MAX;
	return frpc_reader_feed_buf(r, buf, len);
}

static void frpc_test_reader_expect(struct kunit *test,
				    const struct frpc_test_seen *seen,
				    const struct frpc_test_seen *want)
{
	u32 i;

	KUNIT_EXPECT_EQ(test, seen->bad, 0U);
	KUNIT_ASSERT_EQ(test, seen->n, want->n);
	for (i = 0; i < min_t(u32, want->n, FRPC_TEST_FRAMES); i++) {
		KUNIT_EXPECT_EQ(test, seen->type[i], want->type[i]);
		KUNIT_EXPECT_EQ(test, seen->id[i], want->id[i]);
		KUNIT_EXPECT_EQ(test, seen->len[i], want->len[i]);
		KUNIT_EXPECT_EQ(test, seen->sum[i], want->sum[i]);
	}
}

static void frpc_test_reader_setup(struct frpc_reader *r,
				   struct frpc_test_seen *seen)
{
	memset(seen, 0, sizeof(*seen));
	frpc_reader_init(r, frpc_test_frame_cb, seen);
	r->version = FASTRPC_PROTO_V1;
}

/* Many frames in one skb: each a view, nothing gathered. */
static void frpc_test_reader_one_skb(struct kunit *test)
{
	struct frpc_test_seen want, seen;
	struct frpc_reader r;
	u32 len;
	u8 *data = frpc_test_stream(test, 40, &len, &want);

	frpc_test_reader_setup(&r, &seen);
	KUNIT_EXPECT_EQ(test, frpc_test_feed(test, &r, data, len, len), len);
	frpc_test_reader_expect(test, &seen, &want);
	KUNIT_EXPECT_EQ(test, seen.owned, 0U);
	KUNIT_EXPECT_FALSE(test, r.dead);
	KUNIT_EXPECT_NULL(test, r.gather);
}

/* One byte at a time: headers split everywhere, payloads gathered. */
static void frpc_test_reader_dribble(struct kunit *test)
{
	struct frpc_test_seen want, seen;
	struct frpc_reader r;
	u32 len;
	u8 *data = frpc_test_stream(test, 12, &len, &want);

	frpc_test_reader_setup(&r, &seen);
	KUNIT_EXPECT_EQ(test, frpc_test_feed(test, &r, data, len, 1), len);
	frpc_test_reader_expect(test, &seen, &want);
	KUNIT_EXPECT_FALSE(test, r.dead);
	KUNIT_EXPECT_EQ(test, r.hdr_len, 0);
}

/* Every piece size from 2 to 700: headers split across skbs included. */
static void frpc_test_reader_every_cut(struct kunit *test)
{
	struct frpc_test_seen want, seen;
	struct frpc_reader r;
	u32 len, cut;
	u8 *data = frpc_test_stream(test, 20, &len, &want);

	for (cut = 2; cut <= 700; cut += 7) {
		frpc_test_reader_setup(&r, &seen);
		KUNIT_EXPECT_EQ(test, frpc_test_feed(test, &r, data, len, cut),
				len);
		frpc_test_reader_expect(test, &seen, &want);
		frpc_reader_reset(&r);
	}
}

/* A frame that ends exactly where its skb ends, then a header alone. */
static void frpc_test_reader_boundary(struct kunit *test)
{
	struct frpc_test_seen want, seen;
	struct frpc_reader r;
	struct sk_buff *skb;
	u32 len, first;
	u8 *data = frpc_test_stream(test, 3, &len, &want);

	/* frame 0 has no payload, frame 1 has 37 bytes */
	first = 2 * FASTRPC_FRAME_HDR_LEN + 37;
	frpc_test_reader_setup(&r, &seen);
	skb = frpc_test_piece(test, data, first, first);
	r.budget = U32_MAX;
	KUNIT_EXPECT_EQ(test, frpc_reader_feed(&r, skb, 0, first), first);
	kfree_skb(skb);
	KUNIT_EXPECT_EQ(test, seen.n, 2U);
	KUNIT_EXPECT_EQ(test, r.hdr_len, 0);
	KUNIT_EXPECT_NULL(test, r.gather);
	skb = frpc_test_piece(test, data + first, FASTRPC_FRAME_HDR_LEN, 0);
	KUNIT_EXPECT_EQ(test, frpc_reader_feed(&r, skb, 0,
					       FASTRPC_FRAME_HDR_LEN),
			(u32)FASTRPC_FRAME_HDR_LEN);
	kfree_skb(skb);
	KUNIT_EXPECT_EQ(test, seen.n, 2U);
	KUNIT_EXPECT_NOT_NULL(test, r.gather);	/* waiting for 74 bytes */
	skb = frpc_test_piece(test, data + first + FASTRPC_FRAME_HDR_LEN,
			      len - first - FASTRPC_FRAME_HDR_LEN, 10);
	KUNIT_EXPECT_EQ(test, frpc_reader_feed(&r, skb, 0, skb->len), skb->len);
	kfree_skb(skb);
	frpc_test_reader_expect(test, &seen, &want);
	KUNIT_EXPECT_EQ(test, seen.owned, 1U);
}

/* The budget stops a pass mid-skb; the next pass resumes there. */
static void frpc_test_reader_budget(struct kunit *test)
{
	struct frpc_test_seen want, seen;
	struct frpc_reader r;
	struct sk_buff *skb;
	u32 len, off = 0, passes = 0;
	u8 *data = frpc_test_stream(test, 30, &len, &want);

	frpc_test_reader_setup(&r, &seen);
	skb = frpc_test_piece(test, data, len, len);
	while (off < len && passes < 100) {
		r.budget = 7;
		off += frpc_reader_feed(&r, skb, off, len - off);
		passes++;
		KUNIT_EXPECT_LE(test, seen.n, passes * 7);
	}
	kfree_skb(skb);
	KUNIT_EXPECT_EQ(test, off, len);
	KUNIT_EXPECT_EQ(test, passes, 5U);	/* 30 frames, 7 a pass */
	frpc_test_reader_expect(test, &seen, &want);
}

static void frpc_test_reader_bad(struct kunit *test, const u8 *hdr,
				 u8 version, u8 werr)
{
	struct frpc_test_seen seen;
	struct frpc_reader r;
	struct sk_buff *skb;
	u8 buf[FASTRPC_FRAME_HDR_LEN + 8] = {};

	memcpy(buf, hdr, FASTRPC_FRAME_HDR_LEN);
	frpc_test_reader_setup(&r, &seen);
	r.version = version;
	skb = frpc_test_piece(test, buf, sizeof(buf), sizeof(buf));
	r.budget = U32_MAX;
	frpc_reader_feed(&r, skb, 0, sizeof(buf));
	kfree_skb(skb);
	KUNIT_EXPECT_TRUE(test, r.dead);
	KUNIT_EXPECT_EQ(test, r.werr, werr);
	KUNIT_EXPECT_EQ(test, seen.n, 0U);
	/* once dead, it takes nothing more */
	skb = frpc_test_piece(test, buf, sizeof(buf), sizeof(buf));
	r.budget = U32_MAX;
	KUNIT_EXPECT_EQ(test, frpc_reader_feed(&r, skb, 0, sizeof(buf)), 0U);
	kfree_skb(skb);
	KUNIT_EXPECT_EQ(test, frpc_test_feed_buf(&r, buf, sizeof(buf)), 0U);

	/* the same in a buffer; the header alone is refused too */
	frpc_test_reader_setup(&r, &seen);
	r.version = version;
	frpc_test_feed_buf(&r, buf, sizeof(buf));
	KUNIT_EXPECT_TRUE(test, r.dead);
	KUNIT_EXPECT_EQ(test, r.werr, werr);
	frpc_test_reader_setup(&r, &seen);
	r.version = version;
	frpc_test_feed_buf(&r, buf, FASTRPC_FRAME_HDR_LEN);
	KUNIT_EXPECT_TRUE(test, r.dead);
	KUNIT_EXPECT_EQ(test, r.werr, werr);
	KUNIT_EXPECT_EQ(test, seen.n, 0U);
	KUNIT_EXPECT_EQ(test, frpc_test_feed_buf(&r, buf, sizeof(buf)), 0U);
}

static void frpc_test_reader_oversize(struct kunit *test)
{
	u8 hdr[FASTRPC_FRAME_HDR_LEN];

	frpc_put_hdr(hdr, FASTRPC_PROTO_V1, FASTRPC_FRAME_DATA, 0, 1,
		     FASTRPC_MAX_FRAME + 1);
	frpc_test_reader_bad(test, hdr, FASTRPC_PROTO_V1,
			     FASTRPC_WERR_FRAME_SIZE);
	/* the biggest length a header can say */
	frpc_put_hdr(hdr, FASTRPC_PROTO_V1, FASTRPC_FRAME_DATA, 0, 1, U32_MAX);
	frpc_test_reader_bad(test, hdr, FASTRPC_PROTO_V1,
			     FASTRPC_WERR_FRAME_SIZE);
}

static void frpc_test_reader_garbage(struct kunit *test)
{
	u8 hdr[FASTRPC_FRAME_HDR_LEN];

	memset(hdr, 0xa5, sizeof(hdr));
	frpc_test_reader_bad(test, hdr, FASTRPC_PROTO_V1,
			     FASTRPC_WERR_PROTOCOL);
	/* a DATA frame before HELLO agreed a version */
	frpc_put_hdr(hdr, FASTRPC_PROTO_V1, FASTRPC_FRAME_DATA, 0, 1, 0);
	frpc_test_reader_bad(test, hdr, 0, FASTRPC_WERR_PROTOCOL);
	/* an unknown flag */
	frpc_put_hdr(hdr, FASTRPC_PROTO_V1, FASTRPC_FRAME_DATA, 0x8000, 1, 0);
	frpc_test_reader_bad(test, hdr, FASTRPC_PROTO_V1,
			     FASTRPC_WERR_PROTOCOL);
}

/* The receive side refuses a frame: the reader stops right after it. */
static void frpc_test_reader_refused(struct kunit *test)
{
	struct frpc_test_seen want, seen;
	struct frpc_reader r;
	u32 len, used;
	u8 *data = frpc_test_stream(test, 10, &len, &want);

	frpc_test_reader_setup(&r, &seen);
	seen.refuse_type = FASTRPC_FRAME_DATA;
	used = frpc_test_feed(test, &r, data, len, 100);
	KUNIT_EXPECT_TRUE(test, r.dead);
	KUNIT_EXPECT_EQ(test, r.werr, (u8)FASTRPC_WERR_PROTOCOL);
	KUNIT_EXPECT_EQ(test, seen.n, 1U);
	KUNIT_EXPECT_EQ(test, used, (u32)FASTRPC_FRAME_HDR_LEN);
}

/* Where frame @k of a frpc_test_stream() starts, as @want says. */
static u32 frpc_test_frame_at(const struct frpc_test_seen *want, u32 k)
{
	u32 i, off = 0;

	for (i = 0; i < k; i++)
		off += FASTRPC_FRAME_HDR_LEN + want->len[i];
	return off;
}

/* Whole frames in a buffer: each a view of it, with no skb at all. */
static void frpc_test_reader_buf(struct kunit *test)
{
	struct frpc_test_seen want, seen;
	struct frpc_reader r;
	u32 len, one;
	u8 *data = frpc_test_stream(test, 40, &len, &want);

	/* one frame alone: frame 1, 37 bytes */
	frpc_test_reader_setup(&r, &seen);
	one = frpc_test_frame_at(&want, 2) - frpc_test_frame_at(&want, 1);
	KUNIT_EXPECT_EQ(test, frpc_test_feed_buf(&r, data +
						 frpc_test_frame_at(&want, 1),
						 one), one);
	KUNIT_ASSERT_EQ(test, seen.n, 1U);
	KUNIT_EXPECT_EQ(test, seen.id[0], 2U);
	KUNIT_EXPECT_EQ(test, seen.len[0], 37U);
	KUNIT_EXPECT_EQ(test, seen.sum[0], want.sum[1]);
	KUNIT_EXPECT_EQ(test, seen.bufs, 1U);

	/* all forty in one buffer */
	frpc_test_reader_setup(&r, &seen);
	KUNIT_EXPECT_EQ(test, frpc_test_feed_buf(&r, data, len), len);
	frpc_test_reader_expect(test, &seen, &want);
	KUNIT_EXPECT_EQ(test, seen.bufs, 40U);
	KUNIT_EXPECT_EQ(test, seen.owned, 0U);
	KUNIT_EXPECT_FALSE(test, r.dead);
	KUNIT_EXPECT_EQ(test, r.hdr_len, 0);
	KUNIT_EXPECT_NULL(test, r.gather);
	KUNIT_EXPECT_EQ(test, r.frames, 40ULL);
}

/* The budget stops a buffer pass too; the next pass resumes there. */
static void frpc_test_reader_buf_budget(struct kunit *test)
{
	struct frpc_test_seen want, seen;
	struct frpc_reader r;
	u32 len, off = 0, passes = 0;
	u8 *data = frpc_test_stream(test, 30, &len, &want);

	frpc_test_reader_setup(&r, &seen);
	while (off < len && passes < 100) {
		r.budget = 7;
		off += frpc_reader_feed_buf(&r, data + off, len - off);
		passes++;
		KUNIT_EXPECT_EQ(test, off, frpc_test_frame_at(&want, seen.n));
	}
	KUNIT_EXPECT_EQ(test, off, len);
	KUNIT_EXPECT_EQ(test, passes, 5U);
	frpc_test_reader_expect(test, &seen, &want);
	KUNIT_EXPECT_EQ(test, seen.bufs, 30U);
}

/*
 * A buffer cut anywhere, mid-header or mid-payload: the whole frames
 * before the cut go as views of the buffer; the rest is left, the reader
 * untouched, and the skb path then takes it from the frame's start.
 */
static void frpc_test_reader_buf_partial(struct kunit *test)
{
	struct frpc_test_seen want, seen;
	struct frpc_reader r;
	u32 len, cut, used, whole;
	u8 *data = frpc_test_stream(test, 5, &len, &want);

	for (cut = 0; cut < len; cut++) {
		whole = 0;
		while (frpc_test_frame_at(&want, whole + 1) <= cut)
			whole++;
		frpc_test_reader_setup(&r, &seen);
		used = frpc_test_feed_buf(&r, data, cut);
		KUNIT_EXPECT_EQ(test, used, frpc_test_frame_at(&want, whole));
		KUNIT_EXPECT_EQ(test, seen.n, whole);
		KUNIT_EXPECT_EQ(test, r.hdr_len, 0);
		KUNIT_EXPECT_NULL(test, r.gather);
		KUNIT_EXPECT_FALSE(test, r.dead);
		/* the rest in an skb, as the short cut falls back */
		KUNIT_EXPECT_EQ(test, frpc_test_feed(test, &r, data + used,
						     len - used, len - used),
				len - used);
		frpc_test_reader_expect(test, &seen, &want);
		KUNIT_EXPECT_EQ(test, seen.bufs, whole);
	}
}

/*
 * The reader mid-frame, a header or a payload begun in an skb: a buffer
 * is not touched until the skb path has finished that frame; after it,
 * whole frames in a buffer go as views again.
 */
static void frpc_test_reader_buf_mid_frame(struct kunit *test)
{
	struct frpc_test_seen want, seen;
	struct frpc_reader r;
	u32 len, f1, f2, k, i;
	u8 *data = frpc_test_stream(test, 3, &len, &want);

	f1 = frpc_test_frame_at(&want, 1);
	f2 = frpc_test_frame_at(&want, 2);
	for (i = 0; i < 2; i++) {
		/* half of frame 1's header, then its header and 10 bytes */
		k = i ? f1 + FASTRPC_FRAME_HDR_LEN + 10 : f1 + 5;
		frpc_test_reader_setup(&r, &seen);
		KUNIT_EXPECT_EQ(test, frpc_test_feed(test, &r, data, k, k), k);
		KUNIT_EXPECT_EQ(test, seen.n, 1U);
		if (i)
			KUNIT_EXPECT_NOT_NULL(test, r.gather);
		else
			KUNIT_EXPECT_EQ(test, r.hdr_len, 5);
		KUNIT_EXPECT_EQ(test, frpc_test_feed_buf(&r, data + k, len - k),
				0U);
		KUNIT_EXPECT_EQ(test, seen.n, 1U);
		/* the skb path ends frame 1; frame 2 comes in a buffer */
		KUNIT_EXPECT_EQ(test, frpc_test_feed(test, &r, data + k, f2 - k,
						     f2 - k), f2 - k);
		KUNIT_EXPECT_EQ(test, seen.n, 2U);
		KUNIT_EXPECT_EQ(test, frpc_test_feed_buf(&r, data + f2, len - f2),
				len - f2);
		frpc_test_reader_expect(test, &seen, &want);
		KUNIT_EXPECT_EQ(test, seen.bufs, 1U);
		KUNIT_EXPECT_EQ(test, seen.owned, i);
	}
}

/* The receive side refuses a frame in a buffer: the reader stops there. */
static void frpc_test_reader_buf_refused(struct kunit *test)
{
	struct frpc_test_seen want, seen;
	struct frpc_reader r;
	u32 len, used;
	u8 *data = frpc_test_stream(test, 10, &len, &want);

	frpc_test_reader_setup(&r, &seen);
	seen.refuse_type = FASTRPC_FRAME_DATA;
	used = frpc_test_feed_buf(&r, data, len);
	KUNIT_EXPECT_TRUE(test, r.dead);
	KUNIT_EXPECT_EQ(test, r.werr, (u8)FASTRPC_WERR_PROTOCOL);
	KUNIT_EXPECT_EQ(test, seen.n, 1U);
	KUNIT_EXPECT_EQ(test, used, (u32)FASTRPC_FRAME_HDR_LEN);
	KUNIT_EXPECT_EQ(test, frpc_test_feed_buf(&r, data, len), 0U);
	KUNIT_EXPECT_EQ(test, seen.n, 1U);
}

/* Good frames, then a bad header: the good ones go, then it stops. */
static void frpc_test_reader_buf_bad_after(struct kunit *test)
{
	struct frpc_test_seen want, seen;
	struct frpc_reader r;
	u32 len, f3;
	u8 *data = frpc_test_stream(test, 5, &len, &want);

	f3 = frpc_test_frame_at(&want, 3);
	/* frame 3 says it is bigger than any frame may be */
	frpc_put_hdr(data + f3, FASTRPC_PROTO_V1, FASTRPC_FRAME_DATA, 0, 4,
		     FASTRPC_MAX_FRAME + 1);
	frpc_test_reader_setup(&r, &seen);
	frpc_test_feed_buf(&r, data, len);
	KUNIT_EXPECT_TRUE(test, r.dead);
	KUNIT_EXPECT_EQ(test, r.werr, (u8)FASTRPC_WERR_FRAME_SIZE);
	KUNIT_EXPECT_EQ(test, seen.n, 3U);
	KUNIT_EXPECT_EQ(test, seen.bufs, 3U);
}

/* A copy into a paged skb lands where the linear one would. */
static void frpc_test_reader_fill(struct kunit *test)
{
	u32 len = 3 * PAGE_SIZE + 123, i;
	struct sk_buff *src, *dst;
	u8 *data, *back;

	data = kunit_kmalloc(test, len, GFP_KERNEL);
	back = kunit_kmalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, data);
	KUNIT_ASSERT_NOT_NULL(test, back);
	for (i = 0; i < len; i++)
		data[i] = (u8)(i * 13);
	src = frpc_test_piece(test, data, len, 100);
	dst = frpc_skb_alloc(len - 7, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, dst);
	KUNIT_EXPECT_EQ(test, dst->len, len - 7);
	KUNIT_EXPECT_TRUE(test, skb_is_nonlinear(dst));
	/* in two steps, the second starting mid-page */
	KUNIT_EXPECT_EQ(test, frpc_skb_fill(dst, 0, src, 7, 1000), 0);
	KUNIT_EXPECT_EQ(test, frpc_skb_fill(dst, 1000, src, 1007, len - 1007),
			0);
	KUNIT_EXPECT_EQ(test, skb_copy_bits(dst, 0, back, len - 7), 0);
	KUNIT_EXPECT_EQ(test, memcmp(back, data + 7, len - 7), 0);
	/* past the end fails */
	KUNIT_EXPECT_NE(test, frpc_skb_fill(dst, len - 8, src, 0, 2), 0);
	kfree_skb(src);
	kfree_skb(dst);
}

struct frpc_test_kept {
	struct sk_buff	*skb;		/* the one frame, owned */
	u32		len;
};

static u8 frpc_test_keep_cb(void *ctx, const struct fastrpc_frame_hdr *hdr,
			    struct sk_buff *skb, const u8 *buf, u32 off,
			    u32 len, bool owned)
{
	struct frpc_test_kept *kept = ctx;

	if (!owned || kept->skb)
		return FASTRPC_WERR_PROTOCOL;
	kept->skb = skb;
	kept->len = len;
	return 0;
}

static u32 frpc_test_pieces(const struct sk_buff *skb)
{
	const struct sk_buff *p;
	u32 n = 0;

	skb_walk_frags(skb, p)
		n++;
	return n;
}

/*
 * One 12 KiB frame fed in the pieces @cuts (0-terminated) of paged skbs:
 * the same bytes come out, in @want_pieces pieces, the ones of @share
 * (a bitmask by piece) holding the very pages they came in.
 */
static void frpc_test_gather_one(struct kunit *test, const u32 *cuts,
				 u32 want_pieces, u32 share)
{
	u32 plen = 3 * PAGE_SIZE + 100, i, off = 0, k;
	struct frpc_test_kept kept = {};
	struct sk_buff *src[12] = {}, *p;
	struct frpc_reader r;
	u8 *data, *back;

	data = kunit_kmalloc(test, FASTRPC_FRAME_HDR_LEN + plen, GFP_KERNEL);
	back = kunit_kmalloc(test, plen, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, data);
	KUNIT_ASSERT_NOT_NULL(test, back);
	frpc_put_hdr(data, FASTRPC_PROTO_V1, FASTRPC_FRAME_DATA, 0, 1, plen);
	for (i = 0; i < plen; i++)
		data[FASTRPC_FRAME_HDR_LEN + i] = (u8)(i * 7 + 3);
	frpc_reader_init(&r, frpc_test_keep_cb, &kept);
	r.version = FASTRPC_PROTO_V1;
	r.budget = U32_MAX;
	/* the header alone first, then the payload as cut */
	src[0] = frpc_test_piece(test, data, FASTRPC_FRAME_HDR_LEN, 64);
	KUNIT_EXPECT_EQ(test, frpc_reader_feed(&r, src[0], 0,
					       FASTRPC_FRAME_HDR_LEN),
			(u32)FASTRPC_FRAME_HDR_LEN);
	for (i = 1; cuts[i - 1] && i < ARRAY_SIZE(src); i++) {
		u32 n = cuts[i - 1];

		src[i] = frpc_test_piece(test, data + FASTRPC_FRAME_HDR_LEN + off,
					 n, 0);
		KUNIT_EXPECT_EQ(test, frpc_reader_feed(&r, src[i], 0, n), n);
		off += n;
	}
	KUNIT_ASSERT_EQ(test, off, plen);
	KUNIT_ASSERT_NOT_NULL(test, kept.skb);
	KUNIT_EXPECT_FALSE(test, r.dead);
	KUNIT_EXPECT_EQ(test, kept.len, plen);
	KUNIT_EXPECT_EQ(test, kept.skb->len, plen);
	KUNIT_EXPECT_EQ(test, frpc_test_pieces(kept.skb), want_pieces);
	KUNIT_EXPECT_EQ(test, skb_copy_bits(kept.skb, 0, back, plen), 0);
	KUNIT_EXPECT_EQ(test, memcmp(back, data + FASTRPC_FRAME_HDR_LEN, plen),
			0);
	/* a shared piece holds a page of a source skb, by reference */
	k = 0;
	skb_walk_frags(kept.skb, p) {
		bool same = false;

		for (i = 1; i < ARRAY_SIZE(src) && src[i]; i++)
			same |= skb_shinfo(p)->nr_frags &&
				skb_shinfo(src[i])->nr_frags &&
				skb_frag_page(&skb_shinfo(p)->frags[0]) ==
				skb_frag_page(&skb_shinfo(src[i])->frags[0]);
		KUNIT_EXPECT_EQ_MSG(test, same, !!(share & BIT(k)),
				    "piece %u", k);
		k++;
	}
	kfree_skb(kept.skb);
	for (i = 0; i < ARRAY_SIZE(src); i++)
		kfree_skb(src[i]);
}

/*
 * A frame across skbs is gathered by reference where its pieces are a
 * good part of their skbs (no copy of the bytes), and by copy into one
 * buffer where they are small, however the two come mixed.
 */
static void frpc_test_reader_gather(struct kunit *test)
{
	const u32 p = PAGE_SIZE;
	const u32 big[] = { p + 904, 2 * p - 904, 100, 0 };
	const u32 small_first[] = { 100, 3 * p, 0 };
	const u32 dribble[] = { 1000, 1000, 1000, 1000, 1000, 1000, 1000,
				0 };

	/* two shared pieces, then the 100 bytes copied */
	frpc_test_gather_one(test, big, 3, BIT(0) | BIT(1));
	/* copied, then shared: the copy buffer is cut to its 100 bytes */
	frpc_test_gather_one(test, small_first, 2, BIT(1));
	if (p == 4096) {
		/* 12388 bytes in 1000-byte pieces and the rest: one buffer */
		const u32 rest = 3 * p + 100 - 7000;
		u32 cuts[ARRAY_SIZE(dribble) + 1];

		memcpy(cuts, dribble, sizeof(dribble));
		cuts[ARRAY_SIZE(dribble) - 1] = rest;
		cuts[ARRAY_SIZE(dribble)] = 0;
		/* the last piece is big enough to share */
		frpc_test_gather_one(test, cuts, 2, BIT(1));
	}
}

/*
 * frpc_skb_bits() gives what skb_copy_bits() gives, for every offset and
 * a spread of lengths, over an skb with a head and three page fragments
 * that start inside their pages: in the head, inside one fragment (its
 * memcpy), across the head and fragments (skb_copy_bits()), past the end.
 */
static void frpc_test_reader_skb_bits(struct kunit *test)
{
	static const u32 frag_len[] = { 100, 60, 100 }, lens[] = {
		1, 2, 7, 16, 40, 60, 99, 100, 101, 300 };
	u8 data[300], got[300];
	struct sk_buff *skb;
	u32 off, head = 40, pos;
	int i, err;

	for (i = 0; i < (int)sizeof(data); i++)
		data[i] = (u8)(i % 251);	/* never 0xff */
	skb = alloc_skb(head, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_put_data(skb, data, head);
	pos = head;
	for (i = 0; i < ARRAY_SIZE(frag_len); i++) {
		struct page *page = alloc_page(GFP_KERNEL);

		KUNIT_ASSERT_NOT_NULL(test, page);
		/* bytes around the fragment differ from any it holds */
		memset(page_address(page), 0xff, PAGE_SIZE);
		memcpy(page_address(page) + 9 * (i + 1), data + pos,
		       frag_len[i]);
		skb_add_rx_frag(skb, i, page, 9 * (i + 1), frag_len[i],
				PAGE_SIZE);
		pos += frag_len[i];
	}
	KUNIT_ASSERT_EQ(test, skb->len, (u32)sizeof(data));
	for (off = 0; off <= sizeof(data); off++) {
		for (i = 0; i < ARRAY_SIZE(lens); i++) {
			u32 len = lens[i];

			memset(got, 0, sizeof(got));
			err = frpc_skb_bits(skb, off, got, len);
			if (off + len > sizeof(data)) {
				KUNIT_EXPECT_NE(test, err, 0);
				continue;
			}
			KUNIT_EXPECT_EQ(test, err, 0);
			KUNIT_EXPECT_MEMEQ(test, got, data + off, len);
		}
	}
	kfree_skb(skb);
}

static struct kunit_case frpc_reader_cases[] = {
	KUNIT_CASE(frpc_test_reader_one_skb),
	KUNIT_CASE(frpc_test_reader_dribble),
	KUNIT_CASE(frpc_test_reader_every_cut),
	KUNIT_CASE(frpc_test_reader_boundary),
	KUNIT_CASE(frpc_test_reader_budget),
	KUNIT_CASE(frpc_test_reader_oversize),
	KUNIT_CASE(frpc_test_reader_garbage),
	KUNIT_CASE(frpc_test_reader_refused),
	KUNIT_CASE(frpc_test_reader_fill),
	KUNIT_CASE(frpc_test_reader_gather),
	KUNIT_CASE(frpc_test_reader_skb_bits),
	KUNIT_CASE(frpc_test_reader_buf),
	KUNIT_CASE(frpc_test_reader_buf_budget),
	KUNIT_CASE(frpc_test_reader_buf_partial),
	KUNIT_CASE(frpc_test_reader_buf_mid_frame),
	KUNIT_CASE(frpc_test_reader_buf_refused),
	KUNIT_CASE(frpc_test_reader_buf_bad_after),
	{}
};

static struct kunit_suite frpc_reader_suite = {
	.name = "frpc_reader",
	.test_cases = frpc_reader_cases,
};
