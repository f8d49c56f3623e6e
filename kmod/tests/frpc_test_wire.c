// SPDX-License-Identifier: GPL-2.0-only
/*
 * Suites for wire.c: frame headers, HELLO negotiation, metadata framing
 * and status values.  Included by af_fastrpc_kunit.c.
 */

static struct fastrpc_frame_hdr frpc_test_hdr(u8 version, u8 type, u16 flags,
					      u32 length)
{
	struct fastrpc_frame_hdr hdr = {
		.version = version,
		.type = type,
		.flags = cpu_to_be16(flags),
		.call_id = cpu_to_be32(7),
		.length = cpu_to_be32(length),
	};

	return hdr;
}

/* Run frpc_hdr_check with a poisoned werr so that every path must set it. */
static int frpc_test_hdr_check(const struct fastrpc_frame_hdr *hdr, u8 version,
			       u8 *werr)
{
	*werr = 0xaa;
	return frpc_hdr_check(hdr, version, werr);
}

static void frpc_test_put_hdr_layout(struct kunit *test)
{
	static const u8 want[FASTRPC_FRAME_HDR_LEN] = {
		0x01, 0x03, 0x00, 0x03, 0x01, 0x02, 0x03, 0x04,
		0x0a, 0x0b, 0x0c, 0x0d,
	};
	u8 out[FASTRPC_FRAME_HDR_LEN + 4];

	memset(out, 0x5a, sizeof(out));
	frpc_put_hdr(out, 1, FASTRPC_FRAME_CALL,
		     FASTRPC_FF_EOM | FASTRPC_FF_EOS, 0x01020304, 0x0a0b0c0d);
	KUNIT_EXPECT_MEMEQ(test, out, want, sizeof(want));
	/* exactly twelve bytes written */
	KUNIT_EXPECT_EQ(test, out[FASTRPC_FRAME_HDR_LEN], 0x5a);
	KUNIT_EXPECT_EQ(test, out[FASTRPC_FRAME_HDR_LEN + 3], 0x5a);
}

static void frpc_test_put_hdr_roundtrip(struct kunit *test)
{
	struct fastrpc_frame_hdr hdr;
	u8 werr;

	frpc_put_hdr((u8 *)&hdr, 1, FASTRPC_FRAME_END, FASTRPC_FF_EOM,
		     0xfffffffe, FASTRPC_MAX_FRAME);
	KUNIT_EXPECT_EQ(test, hdr.version, 1);
	KUNIT_EXPECT_EQ(test, hdr.type, FASTRPC_FRAME_END);
	KUNIT_EXPECT_EQ(test, be16_to_cpu(hdr.flags), FASTRPC_FF_EOM);
	KUNIT_EXPECT_EQ(test, be32_to_cpu(hdr.call_id), 0xfffffffeU);
	KUNIT_EXPECT_EQ(test, be32_to_cpu(hdr.length), (u32)FASTRPC_MAX_FRAME);
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 1, &werr), 0);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_NONE);
}

static const u8 frpc_test_frame_types[] = {
	FASTRPC_FRAME_HELLO, FASTRPC_FRAME_SETTINGS, FASTRPC_FRAME_CALL,
	FASTRPC_FRAME_DATA, FASTRPC_FRAME_END, FASTRPC_FRAME_CANCEL,
	FASTRPC_FRAME_CREDIT, FASTRPC_FRAME_PING, FASTRPC_FRAME_PONG,
	FASTRPC_FRAME_GOAWAY, FASTRPC_FRAME_ERROR,
};

static void frpc_test_type_desc(const u8 *type, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "type %u", *type);
}

KUNIT_ARRAY_PARAM(frpc_test_types, frpc_test_frame_types, frpc_test_type_desc);

/* Every defined type passes once version 1 is in force. */
static void frpc_test_hdr_valid_type(struct kunit *test)
{
	const u8 *type = test->param_value;
	struct fastrpc_frame_hdr hdr;
	u8 werr;

	hdr = frpc_test_hdr(1, *type, FASTRPC_FF_EOM, 100);
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 1, &werr), 0);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_NONE);
	hdr.flags = 0;
	hdr.length = 0;
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 1, &werr), 0);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_NONE);
}

static void frpc_test_hdr_type_zero(struct kunit *test)
{
	struct fastrpc_frame_hdr hdr = frpc_test_hdr(1, 0, 0, 0);
	u8 werr;

	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 1, &werr), -EPROTO);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_PROTOCOL);
	/* type is checked before the length */
	hdr.length = cpu_to_be32(U32_MAX);
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 1, &werr), -EPROTO);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_PROTOCOL);
}

static void frpc_test_hdr_type_too_big(struct kunit *test)
{
	static const u8 bad[] = { FASTRPC_FRAME_TYPE_MAX + 1, 0x80, 0xff };
	struct fastrpc_frame_hdr hdr;
	unsigned int i;
	u8 werr;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		hdr = frpc_test_hdr(1, bad[i], 0, 0);
		KUNIT_EXPECT_EQ_MSG(test, frpc_test_hdr_check(&hdr, 1, &werr),
				    -EPROTO, "type %u", bad[i]);
		KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_PROTOCOL);
	}
}

static void frpc_test_hdr_flags(struct kunit *test)
{
	struct fastrpc_frame_hdr hdr;
	unsigned int bit;
	u8 werr;

	hdr = frpc_test_hdr(1, FASTRPC_FRAME_DATA,
			    FASTRPC_FF_ALL & ~FASTRPC_FF_DEADLINE, 1);
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 1, &werr), 0);
	for (bit = 0; bit < 16; bit++) {
		u16 flag = 1U << bit;

		if (flag & FASTRPC_FF_ALL)
			continue;
		hdr = frpc_test_hdr(1, FASTRPC_FRAME_DATA,
				    FASTRPC_FF_EOM | flag, 1);
		KUNIT_EXPECT_EQ_MSG(test, frpc_test_hdr_check(&hdr, 1, &werr),
				    -EPROTO, "flag %#x", flag);
		KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_PROTOCOL);
	}
}

/* FASTRPC_FF_DEADLINE belongs to CANCEL frames; on any other, an error. */
static void frpc_test_hdr_deadline_flag(struct kunit *test)
{
	struct fastrpc_frame_hdr hdr;
	u8 type, werr;

	for (type = 1; type <= FASTRPC_FRAME_TYPE_MAX; type++) {
		if (type == FASTRPC_FRAME_HELLO)
			continue;	/* its own version rules */
		hdr = frpc_test_hdr(1, type, FASTRPC_FF_DEADLINE, 1);
		KUNIT_EXPECT_EQ_MSG(test, frpc_test_hdr_check(&hdr, 1, &werr),
				    type == FASTRPC_FRAME_CANCEL ? 0 : -EPROTO,
				    "frame type %u", type);
	}
}

/*
 * Before HELLO (negotiated version 0) a frame's version byte must be that
 * of a version someone speaks: HELLO offers one, and a peer refusing ours
 * answers ERROR with its own.  Other frame types before HELLO are refused
 * by the sequence check (frpc_rx_before_hello), not here.
 */
static void frpc_test_hdr_before_hello(struct kunit *test)
{
	struct fastrpc_frame_hdr hdr;
	u8 werr;

	hdr = frpc_test_hdr(1, FASTRPC_FRAME_CALL, 0, 16);
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 0, &werr), -EPROTO);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_PROTOCOL);
	/* version 0 in the header does not sneak past "no version yet" */
	hdr.version = 0;
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 0, &werr), -EPROTO);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_PROTOCOL);

	hdr = frpc_test_hdr(1, FASTRPC_FRAME_HELLO, 0,
			    sizeof(struct fastrpc_wire_hello));
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 0, &werr), 0);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_NONE);

	hdr = frpc_test_hdr(7, FASTRPC_FRAME_ERROR, 0,
			    sizeof(struct fastrpc_wire_error));
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 0, &werr), 0);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_NONE);
	hdr.version = 0;
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 0, &werr), -EPROTO);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_PROTOCOL);
	/* once a version is agreed, ERROR carries it like any frame */
	hdr.version = 2;
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 1, &werr), -EPROTO);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_PROTOCOL);
	hdr.version = 1;
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 1, &werr), 0);
}

static void frpc_test_hdr_wrong_version(struct kunit *test)
{
	struct fastrpc_frame_hdr hdr;
	u8 werr;

	hdr = frpc_test_hdr(2, FASTRPC_FRAME_DATA, 0, 1);
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 1, &werr), -EPROTO);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_PROTOCOL);
	hdr = frpc_test_hdr(0, FASTRPC_FRAME_DATA, 0, 1);
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 1, &werr), -EPROTO);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_PROTOCOL);
	hdr = frpc_test_hdr(0xff, FASTRPC_FRAME_ERROR, 0, 8);
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 1, &werr), -EPROTO);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_PROTOCOL);
}

static void frpc_test_hdr_hello_version(struct kunit *test)
{
	struct fastrpc_frame_hdr hdr;
	u8 werr;

	hdr = frpc_test_hdr(0, FASTRPC_FRAME_HELLO, 0, 32);
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 0, &werr), -EPROTO);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_PROTOCOL);
	/* a HELLO names the sender's highest version, not the negotiated one */
	hdr = frpc_test_hdr(9, FASTRPC_FRAME_HELLO, 0, 32);
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 0, &werr), 0);
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 1, &werr), 0);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_NONE);
}

static void frpc_test_hdr_length(struct kunit *test)
{
	static const u32 bad[] = { FASTRPC_MAX_FRAME + 1, 1U << 20,
				   0x80000000, U32_MAX };
	struct fastrpc_frame_hdr hdr;
	unsigned int i;
	u8 werr;

	hdr = frpc_test_hdr(1, FASTRPC_FRAME_DATA, 0, FASTRPC_MAX_FRAME);
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 1, &werr), 0);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_NONE);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		hdr = frpc_test_hdr(1, FASTRPC_FRAME_DATA, 0, bad[i]);
		KUNIT_EXPECT_EQ_MSG(test, frpc_test_hdr_check(&hdr, 1, &werr),
				    -EMSGSIZE, "length %u", bad[i]);
		KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_FRAME_SIZE);
	}
	/* an oversized HELLO is a size error too */
	hdr = frpc_test_hdr(1, FASTRPC_FRAME_HELLO, 0, FASTRPC_MAX_FRAME + 1);
	KUNIT_EXPECT_EQ(test, frpc_test_hdr_check(&hdr, 0, &werr), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_FRAME_SIZE);
}

static struct kunit_case frpc_hdr_cases[] = {
	KUNIT_CASE(frpc_test_put_hdr_layout),
	KUNIT_CASE(frpc_test_put_hdr_roundtrip),
	KUNIT_CASE_PARAM(frpc_test_hdr_valid_type, frpc_test_types_gen_params),
	KUNIT_CASE(frpc_test_hdr_type_zero),
	KUNIT_CASE(frpc_test_hdr_type_too_big),
	KUNIT_CASE(frpc_test_hdr_flags),
	KUNIT_CASE(frpc_test_hdr_deadline_flag),
	KUNIT_CASE(frpc_test_hdr_before_hello),
	KUNIT_CASE(frpc_test_hdr_wrong_version),
	KUNIT_CASE(frpc_test_hdr_hello_version),
	KUNIT_CASE(frpc_test_hdr_length),
	{}
};

static struct kunit_suite frpc_hdr_suite = {
	.name = "frpc_frame_hdr",
	.test_cases = frpc_hdr_cases,
};

/* HELLO ------------------------------------------------------------------ */

static void frpc_test_hello(struct fastrpc_wire_hello *h)
{
	frpc_hello_init(h, FASTRPC_PROTO_MIN, FASTRPC_PROTO_MAX);
}

/* frpc_hello_check with a poisoned version that must survive failures. */
static u8 frpc_test_hello_check(struct kunit *test,
				const struct fastrpc_wire_hello *h,
				bool from_server)
{
	u8 version = 0xee;
	u8 werr;

	werr = frpc_hello_check(h, from_server, &version);
	if (werr)
		KUNIT_EXPECT_EQ(test, version, 0xee);
	return werr;
}

static void frpc_test_hello_init(struct kunit *test)
{
	struct fastrpc_wire_hello h;
	u8 version = 0;

	memset(&h, 0xcc, sizeof(h));
	frpc_hello_init(&h, 1, 3);
	KUNIT_EXPECT_EQ(test, be32_to_cpu(h.magic), FASTRPC_HELLO_MAGIC);
	KUNIT_EXPECT_EQ(test, h.min_version, 1);
	KUNIT_EXPECT_EQ(test, h.max_version, 3);
	KUNIT_EXPECT_EQ(test, be16_to_cpu(h.reserved), 0);
	KUNIT_EXPECT_EQ(test, be32_to_cpu(h.max_frame), (u32)FASTRPC_MAX_FRAME);
	KUNIT_EXPECT_EQ(test, be32_to_cpu(h.max_msg), (u32)FASTRPC_MAX_MSG);
	KUNIT_EXPECT_EQ(test, be32_to_cpu(h.call_window),
			(u32)FRPC_CALL_WINDOW);
	KUNIT_EXPECT_EQ(test, be32_to_cpu(h.conn_window),
			(u32)FRPC_CONN_WINDOW);
	KUNIT_EXPECT_EQ(test, be64_to_cpu(h.features),
			FASTRPC_HELLO_F_CANCEL_DEADLINE);
	/* magic "FRPC" in network order */
	KUNIT_EXPECT_MEMEQ(test, &h.magic, "FRPC", 4);

	/* what we announce, we accept */
	frpc_test_hello(&h);
	KUNIT_EXPECT_EQ(test, frpc_hello_check(&h, false, &version),
			FASTRPC_WERR_NONE);
	KUNIT_EXPECT_EQ(test, version, FASTRPC_PROTO_MAX);
	version = 0;
	KUNIT_EXPECT_EQ(test, frpc_hello_check(&h, true, &version),
			FASTRPC_WERR_NONE);
	KUNIT_EXPECT_EQ(test, version, FASTRPC_PROTO_MAX);
}

static void frpc_test_hello_magic(struct kunit *test)
{
	struct fastrpc_wire_hello h;

	frpc_test_hello(&h);
	h.magic = cpu_to_be32(FASTRPC_HELLO_MAGIC ^ 1);
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, false),
			FASTRPC_WERR_PROTOCOL);
	/* the magic's bytes reversed, as a sender forgetting htonl() */
	h.magic = (__force __be32)swab32((__force u32)
					 cpu_to_be32(FASTRPC_HELLO_MAGIC));
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, false),
			FASTRPC_WERR_PROTOCOL);
}

static void frpc_test_hello_min_gt_max(struct kunit *test)
{
	struct fastrpc_wire_hello h;

	frpc_test_hello(&h);
	h.min_version = 2;
	h.max_version = 1;
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, false),
			FASTRPC_WERR_PROTOCOL);
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, true),
			FASTRPC_WERR_PROTOCOL);
}

static void frpc_test_hello_reserved(struct kunit *test)
{
	struct fastrpc_wire_hello h;

	frpc_test_hello(&h);
	h.reserved = cpu_to_be16(1);
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, false),
			FASTRPC_WERR_PROTOCOL);
	h.reserved = cpu_to_be16(0x8000);
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, false),
			FASTRPC_WERR_PROTOCOL);
}

static void frpc_test_hello_sizes(struct kunit *test)
{
	struct fastrpc_wire_hello h;
	u8 version;

	frpc_test_hello(&h);
	h.max_frame = cpu_to_be32(FASTRPC_MAX_FRAME - 1);
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, false),
			FASTRPC_WERR_FRAME_SIZE);
	h.max_frame = 0;
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, false),
			FASTRPC_WERR_FRAME_SIZE);
	/* a peer taking more than we send is fine */
	h.max_frame = cpu_to_be32(U32_MAX);
	KUNIT_EXPECT_EQ(test, frpc_hello_check(&h, false, &version),
			FASTRPC_WERR_NONE);

	frpc_test_hello(&h);
	h.max_msg = cpu_to_be32(FASTRPC_MAX_MSG - 1);
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, false),
			FASTRPC_WERR_FRAME_SIZE);
	h.max_msg = cpu_to_be32(FASTRPC_MAX_MSG * 2);
	KUNIT_EXPECT_EQ(test, frpc_hello_check(&h, false, &version),
			FASTRPC_WERR_NONE);
}

static void frpc_test_hello_call_window(struct kunit *test)
{
	struct fastrpc_wire_hello h;
	u8 version;

	frpc_test_hello(&h);
	h.call_window = cpu_to_be32(FASTRPC_MIN_CALL_WINDOW - 1);
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, false),
			FASTRPC_WERR_FLOW);
	h.call_window = 0;
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, false),
			FASTRPC_WERR_FLOW);
	h.call_window = cpu_to_be32((u32)FRPC_WINDOW_MAX + 1);
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, false),
			FASTRPC_WERR_FLOW);
	h.call_window = cpu_to_be32(U32_MAX);
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, false),
			FASTRPC_WERR_FLOW);
	h.call_window = cpu_to_be32(FASTRPC_MIN_CALL_WINDOW);
	KUNIT_EXPECT_EQ(test, frpc_hello_check(&h, false, &version),
			FASTRPC_WERR_NONE);
	h.call_window = cpu_to_be32(FRPC_WINDOW_MAX);
	KUNIT_EXPECT_EQ(test, frpc_hello_check(&h, false, &version),
			FASTRPC_WERR_NONE);
}

static void frpc_test_hello_conn_window(struct kunit *test)
{
	struct fastrpc_wire_hello h;
	u8 version;

	frpc_test_hello(&h);
	h.conn_window = cpu_to_be32(FASTRPC_MIN_CONN_WINDOW - 1);
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, false),
			FASTRPC_WERR_FLOW);
	h.conn_window = cpu_to_be32((u32)FRPC_WINDOW_MAX + 1);
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, false),
			FASTRPC_WERR_FLOW);
	h.conn_window = cpu_to_be32(FASTRPC_MIN_CONN_WINDOW);
	KUNIT_EXPECT_EQ(test, frpc_hello_check(&h, false, &version),
			FASTRPC_WERR_NONE);
	h.conn_window = cpu_to_be32(FRPC_WINDOW_MAX);
	KUNIT_EXPECT_EQ(test, frpc_hello_check(&h, false, &version),
			FASTRPC_WERR_NONE);
}

static void frpc_test_hello_no_common_version(struct kunit *test)
{
	struct fastrpc_wire_hello h;

	/* only newer versions than ours */
	frpc_hello_init(&h, FASTRPC_PROTO_MAX + 1, FASTRPC_PROTO_MAX + 5);
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, false),
			FASTRPC_WERR_VERSION);
	/* only version 0, which does not exist */
	frpc_hello_init(&h, 0, 0);
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, false),
			FASTRPC_WERR_VERSION);
	frpc_hello_init(&h, 0xff, 0xff);
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, true),
			FASTRPC_WERR_VERSION);
}

static void frpc_test_hello_server_range(struct kunit *test)
{
	struct fastrpc_wire_hello h;
	u8 version = 0;

	/* a client may offer a range ... */
	frpc_hello_init(&h, FASTRPC_PROTO_MIN, FASTRPC_PROTO_MAX + 2);
	KUNIT_EXPECT_EQ(test, frpc_hello_check(&h, false, &version),
			FASTRPC_WERR_NONE);
	KUNIT_EXPECT_EQ(test, version, FASTRPC_PROTO_MAX);
	/* ... a server must answer with exactly one version */
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, true),
			FASTRPC_WERR_PROTOCOL);
	frpc_hello_init(&h, 0, FASTRPC_PROTO_MAX);
	KUNIT_EXPECT_EQ(test, frpc_test_hello_check(test, &h, true),
			FASTRPC_WERR_PROTOCOL);
}

/* The version picked is the highest both sides speak. */
static void frpc_test_hello_highest_common(struct kunit *test)
{
	struct fastrpc_wire_hello h;
	unsigned int lo, hi;
	u8 version;

	for (lo = 0; lo <= FASTRPC_PROTO_MAX + 2; lo++) {
		for (hi = lo; hi <= FASTRPC_PROTO_MAX + 2; hi++) {
			u8 want_lo = max_t(u8, lo, FASTRPC_PROTO_MIN);
			u8 want_hi = min_t(u8, hi, FASTRPC_PROTO_MAX);
			u8 werr;

			frpc_hello_init(&h, lo, hi);
			version = 0xee;
			werr = frpc_hello_check(&h, false, &version);
			if (want_lo > want_hi) {
				KUNIT_EXPECT_EQ(test, werr, FASTRPC_WERR_VERSION);
				continue;
			}
			KUNIT_EXPECT_EQ_MSG(test, werr, FASTRPC_WERR_NONE,
					    "range %u..%u", lo, hi);
			KUNIT_EXPECT_EQ_MSG(test, version, want_hi,
					    "range %u..%u", lo, hi);
		}
	}
}

static struct kunit_case frpc_hello_cases[] = {
	KUNIT_CASE(frpc_test_hello_init),
	KUNIT_CASE(frpc_test_hello_magic),
	KUNIT_CASE(frpc_test_hello_min_gt_max),
	KUNIT_CASE(frpc_test_hello_reserved),
	KUNIT_CASE(frpc_test_hello_sizes),
	KUNIT_CASE(frpc_test_hello_call_window),
	KUNIT_CASE(frpc_test_hello_conn_window),
	KUNIT_CASE(frpc_test_hello_no_common_version),
	KUNIT_CASE(frpc_test_hello_server_range),
	KUNIT_CASE(frpc_test_hello_highest_common),
	{}
};

static struct kunit_suite frpc_hello_suite = {
	.name = "frpc_hello",
	.test_cases = frpc_hello_cases,
};

/* Metadata --------------------------------------------------------------- */

/* Append one entry to @buf at @off; returns the new offset. */
static u32 frpc_test_meta_put(u8 *buf, u32 off, u8 key_len, u16 value_len)
{
	struct fastrpc_meta_entry e = {
		.key_len = key_len,
		.value_len = cpu_to_be16(value_len),
	};

	memcpy(buf + off, &e, sizeof(e));
	off += sizeof(e);
	memset(buf + off, 'k', key_len);
	off += key_len;
	memset(buf + off, 'v', value_len);
	return off + value_len;
}

static void frpc_test_meta_good(struct kunit *test)
{
	u8 *buf = kunit_kzalloc(test, FASTRPC_MAX_METADATA, GFP_KERNEL);
	u32 len = 0;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	len = frpc_test_meta_put(buf, len, 1, 3);
	KUNIT_EXPECT_EQ(test, frpc_meta_check(buf, len), 0);
	len = frpc_test_meta_put(buf, len, 255, 0);
	len = frpc_test_meta_put(buf, len, 12, 100);
	len = frpc_test_meta_put(buf, len, 1, 1);
	KUNIT_EXPECT_EQ(test, len, 4 + 1 + 3 + 4 + 255 + 4 + 12 + 100 + 4 + 2);
	KUNIT_EXPECT_EQ(test, frpc_meta_check(buf, len), 0);
}

static void frpc_test_meta_empty(struct kunit *test)
{
	u8 buf[4] = { 0xff, 0xff, 0xff, 0xff };

	KUNIT_EXPECT_EQ(test, frpc_meta_check(buf, 0), 0);
}

static void frpc_test_meta_truncated_head(struct kunit *test)
{
	u8 buf[32];
	u32 len, cut;

	len = frpc_test_meta_put(buf, 0, 2, 2);
	for (cut = 1; cut < sizeof(struct fastrpc_meta_entry); cut++) {
		/* a whole entry, then part of the next head */
		frpc_test_meta_put(buf, len, 1, 0);
		KUNIT_EXPECT_EQ_MSG(test, frpc_meta_check(buf, len + cut),
				    -EINVAL, "head cut at %u", cut);
		KUNIT_EXPECT_EQ(test, frpc_meta_check(buf, cut), -EINVAL);
	}
}

static void frpc_test_meta_key_len_zero(struct kunit *test)
{
	u8 buf[32];
	u32 len;

	len = frpc_test_meta_put(buf, 0, 0, 4);
	KUNIT_EXPECT_EQ(test, frpc_meta_check(buf, len), -EINVAL);
	/* also after a good entry */
	len = frpc_test_meta_put(buf, 0, 3, 1);
	len = frpc_test_meta_put(buf, len, 0, 0);
	KUNIT_EXPECT_EQ(test, frpc_meta_check(buf, len), -EINVAL);
}

static void frpc_test_meta_reserved(struct kunit *test)
{
	u8 buf[32];
	u32 len;

	len = frpc_test_meta_put(buf, 0, 3, 1);
	buf[1] = 1;
	KUNIT_EXPECT_EQ(test, frpc_meta_check(buf, len), -EINVAL);
	buf[1] = 0x80;
	KUNIT_EXPECT_EQ(test, frpc_meta_check(buf, len), -EINVAL);
	buf[1] = 0;
	KUNIT_EXPECT_EQ(test, frpc_meta_check(buf, len), 0);
}

static void frpc_test_meta_overrun(struct kunit *test)
{
	u8 *buf = kunit_kzalloc(test, 2 * FASTRPC_MAX_METADATA, GFP_KERNEL);
	u32 len;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	len = frpc_test_meta_put(buf, 0, 5, 20);
	KUNIT_EXPECT_EQ(test, frpc_meta_check(buf, len), 0);
	/* the value runs one byte past the block, or the key does */
	KUNIT_EXPECT_EQ(test, frpc_meta_check(buf, len - 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, frpc_meta_check(buf, 4 + 4), -EINVAL);
	/* lengths that would wrap a 16-bit sum */
	buf[0] = 255;
	buf[1] = 0;
	buf[2] = 0xff;
	buf[3] = 0xff;
	KUNIT_EXPECT_EQ(test, frpc_meta_check(buf, FASTRPC_MAX_METADATA),
			-EINVAL);
	/* trailing bytes that are not a whole entry */
	len = frpc_test_meta_put(buf, 0, 1, 1);
	KUNIT_EXPECT_EQ(test, frpc_meta_check(buf, len + 2), -EINVAL);
}

static void frpc_test_meta_too_long(struct kunit *test)
{
	u8 *buf = kunit_kzalloc(test, FASTRPC_MAX_METADATA + 8, GFP_KERNEL);
	u32 len;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	/* one entry filling the limit exactly */
	len = frpc_test_meta_put(buf, 0, 1, FASTRPC_MAX_METADATA - 5);
	KUNIT_EXPECT_EQ(test, len, (u32)FASTRPC_MAX_METADATA);
	KUNIT_EXPECT_EQ(test, frpc_meta_check(buf, len), 0);
	/* one byte more, well framed, is still too much */
	len = frpc_test_meta_put(buf, 0, 1, FASTRPC_MAX_METADATA - 4);
	KUNIT_EXPECT_EQ(test, frpc_meta_check(buf, len), -EINVAL);
	KUNIT_EXPECT_EQ(test, frpc_meta_check(buf, U32_MAX), -EINVAL);
}

static struct kunit_case frpc_meta_cases[] = {
	KUNIT_CASE(frpc_test_meta_good),
	KUNIT_CASE(frpc_test_meta_empty),
	KUNIT_CASE(frpc_test_meta_truncated_head),
	KUNIT_CASE(frpc_test_meta_key_len_zero),
	KUNIT_CASE(frpc_test_meta_reserved),
	KUNIT_CASE(frpc_test_meta_overrun),
	KUNIT_CASE(frpc_test_meta_too_long),
	{}
};

static struct kunit_suite frpc_meta_suite = {
	.name = "frpc_metadata",
	.test_cases = frpc_meta_cases,
};

/* Status ----------------------------------------------------------------- */

static void frpc_test_status_known(struct kunit *test)
{
	u32 s;

	/* the gRPC codes, one to one */
	KUNIT_EXPECT_EQ(test, FASTRPC_STATUS_MAX, 16);
	for (s = 0; s <= FASTRPC_STATUS_MAX; s++)
		KUNIT_EXPECT_EQ(test, frpc_status_from_wire(s), s);
}

static void frpc_test_status_unknown(struct kunit *test)
{
	static const u32 bad[] = { FASTRPC_STATUS_MAX + 1, 255, 256,
				   0x80000000, U32_MAX };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		KUNIT_EXPECT_EQ_MSG(test, frpc_status_from_wire(bad[i]),
				    (u32)FASTRPC_UNKNOWN, "status %u", bad[i]);
}

static struct kunit_case frpc_status_cases[] = {
	KUNIT_CASE(frpc_test_status_known),
	KUNIT_CASE(frpc_test_status_unknown),
	{}
};

static struct kunit_suite frpc_status_suite = {
	.name = "frpc_status",
	.test_cases = frpc_status_cases,
};
