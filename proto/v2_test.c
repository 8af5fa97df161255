/* Unit tests for protocol v2 (vsf_v2). */
#include "config.h"

#include <errno.h>

#include "check.h"
#include "vsf_v2.h"

static const char key[] = "v2-unit-test-key-0123456789";
#define KEY key, sizeof(key) - 1
static const char other_key[] = "v2-unit-test-key-0123456789!";

/* --- helpers ------------------------------------------------------------- */

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + 7 * i);
}

static int make_hello(uint8_t *out, uint32_t id)
{
	struct vsf_v2_hello h = { .request_id = id };

	fill(h.client_nonce, sizeof(h.client_nonce), 0x10);
	return vsf_v2_hello_encode(&h, out, VSF_V2_MAX_FRAME);
}

static int make_request(uint8_t *out, uint8_t op, const char *name)
{
	struct vsf_v2_request m = { .request_id = 42, .op = op };

	fill(m.server_nonce, sizeof(m.server_nonce), 0x20);
	fill(m.client_nonce, sizeof(m.client_nonce), 0x30);
	strcpy(m.name, name);
	return vsf_v2_request_encode(&m, KEY, out, VSF_V2_MAX_FRAME);
}

static int make_result(uint8_t *out, uint8_t code)
{
	struct vsf_v2_result_msg m = { .request_id = 9, .code = code,
				       .count = 3 };

	fill(m.client_nonce, sizeof(m.client_nonce), 0x40);
	return vsf_v2_result_encode(&m, KEY, out, VSF_V2_MAX_FRAME);
}

static int make_hostrec(uint8_t *out, const char *name, const char *uuid)
{
	struct vsf_v2_hostrec m = { .request_id = 9, .index = 2, .state = 1 };

	fill(m.client_nonce, sizeof(m.client_nonce), 0x50);
	strcpy(m.name, name);
	strcpy(m.uuid, uuid);
	return vsf_v2_hostrec_encode(&m, KEY, out, VSF_V2_MAX_FRAME);
}

/* Decode @buf as whatever its type byte says, with the test key. */
static int decode_any(const uint8_t *buf, size_t len)
{
	struct vsf_v2_hello h;
	struct vsf_v2_challenge c;
	struct vsf_v2_request q;
	struct vsf_v2_result_msg s;
	struct vsf_v2_hostrec rec;
	struct vsf_v2_error e;

	switch (len > 7 ? buf[7] : 0) {
	case VSF_V2_TYPE_HELLO:
		return vsf_v2_hello_decode(buf, len, &h);
	case VSF_V2_TYPE_CHALLENGE:
		return vsf_v2_challenge_decode(buf, len, KEY, &c);
	case VSF_V2_TYPE_REQUEST:
		return vsf_v2_request_decode(buf, len, KEY, &q);
	case VSF_V2_TYPE_RESULT:
		return vsf_v2_result_decode(buf, len, KEY, &s);
	case VSF_V2_TYPE_HOSTREC:
		return vsf_v2_hostrec_decode(buf, len, KEY, &rec);
	default:
		return vsf_v2_error_decode(buf, len, &e);
	}
}

/* Change a REQUEST payload byte and re-MAC, as a peer with the key could. */
static void poke_sealed(uint8_t *frame, int len, size_t off, uint8_t v)
{
	frame[off] = v;
	vsf_v2_seal(KEY, frame, (size_t)len);
}

/* --- HELLO and stock compatibility --------------------------------------- */

TEST(hello_is_74_bytes_and_stock_sees_a_null_op_on_no_domain)
{
	uint8_t buf[VSF_V2_MAX_FRAME];
	struct vsf_v2_hello h;

	CHECK_ERR(make_hello(buf, 7), 74);
	CHECK_ERR(VSF_V2_HELLO_SIZE, VSF_SERIAL_REQ_SIZE);
	CHECK_MEM(buf, "VSF2", 4);
	CHECK_ERR(buf[4], 0);	/* stock: op NULL */
	CHECK_ERR(buf[5], 2);
	CHECK_ERR(buf[6], 0);	/* stock: domain "" */
	CHECK_ERR(buf[7], VSF_V2_TYPE_HELLO);
	CHECK_ERR(vsf_get_le16(buf + 8), 62);
	CHECK_ERR(vsf_v2_frame_len(buf, 12), 74);
	CHECK_ERR(vsf_v2_hello_decode(buf, 74, &h), 0);
	CHECK_ERR(h.request_id, 7);
	CHECK_ERR(h.flags, 0);
	CHECK(h.client_nonce[0] == 0x10 && h.client_nonce[15] == 0x10 + 105);
}

TEST(hello_puts_fresh_bytes_where_stock_keeps_its_seqno)
{
	struct vsf_v2_client c1, c2;
	uint8_t a[VSF_V2_HELLO_SIZE], b[VSF_V2_HELLO_SIZE];

	/* Same request id twice (a retry): stock's duplicate filter keys on
	 * (op, seqno @70, domain), so bytes 70..73 must differ. */
	CHECK_ERR(vsf_v2_client_hello(&c1, 5, a, sizeof(a)), 74);
	CHECK_ERR(vsf_v2_client_hello(&c2, 5, b, sizeof(b)), 74);
	CHECK_MEM(a + 70, c1.client_nonce, 4);
	CHECK_MEM(b + 70, c2.client_nonce, 4);
	CHECK(memcmp(a + 70, b + 70, 4) != 0);
	CHECK(memcmp(c1.client_nonce, c2.client_nonce, 16) != 0);
}

TEST(hello_rejects_padding_salt_and_length_changes)
{
	uint8_t buf[VSF_V2_MAX_FRAME];
	struct vsf_v2_hello h;

	make_hello(buf, 1);
	buf[40] = 1;
	CHECK_ERR(vsf_v2_hello_decode(buf, 74, &h), -EINVAL);
	make_hello(buf, 1);
	buf[73] ^= 1;
	CHECK_ERR(vsf_v2_hello_decode(buf, 74, &h), -EINVAL);
	make_hello(buf, 1);
	vsf_put_le16(buf + 8, 63);
	CHECK_ERR(vsf_v2_hello_decode(buf, 75, &h), -EINVAL);
	make_hello(buf, 1);
	buf[12 + 20] = 0xff;	/* unknown flags are ignored */
	CHECK_ERR(vsf_v2_hello_decode(buf, 74, &h), 0);
	CHECK_ERR(h.flags, 0xff);
}

/* --- round trips --------------------------------------------------------- */

TEST(challenge_round_trip)
{
	struct vsf_v2_challenge in = { .request_id = 0xdeadbeef }, out;
	uint8_t buf[VSF_V2_MAX_FRAME];

	fill(in.client_nonce, 16, 1);
	fill(in.server_nonce, 16, 2);
	CHECK_ERR(vsf_v2_challenge_encode(&in, KEY, buf, sizeof(buf)),
		  12 + 36 + 32);
	CHECK_ERR(vsf_v2_challenge_decode(buf, 80, KEY, &out), 0);
	CHECK_ERR(out.request_id, 0xdeadbeef);
	CHECK_MEM(out.client_nonce, in.client_nonce, 16);
	CHECK_MEM(out.server_nonce, in.server_nonce, 16);
}

TEST(request_round_trip_for_every_wire_op)
{
	uint8_t buf[VSF_V2_MAX_FRAME];
	struct vsf_v2_request out;

	for (int op = VSF_OP_NULL; op <= VSF_OP_WIRE_MAX; op++) {
		const char *name = vsf_op_needs_domain(op) ? "victim" : "";
		int n = make_request(buf, (uint8_t)op, name);

		CHECK_ERR(n, 12 + 39 + (int)strlen(name) + 32);
		CHECK_ERR(vsf_v2_request_decode(buf, (size_t)n, KEY, &out), 0);
		CHECK_ERR(out.op, op);
		CHECK_ERR(out.request_id, 42);
		CHECK_STR(out.name, name);
		CHECK(out.server_nonce[0] == 0x20 && out.client_nonce[0] == 0x30);
	}
}

TEST(request_takes_a_255_byte_name_and_refuses_256)
{
	struct vsf_v2_client c = { .challenged = true, .request_id = 1 };
	uint8_t buf[VSF_V2_MAX_FRAME];
	struct vsf_v2_request out;
	char name[300];
	int n;

	memset(name, 'n', 255);
	name[255] = 0;
	n = vsf_v2_client_request(&c, VSF_OP_OFF, name, KEY, buf, sizeof(buf));
	CHECK_ERR(n, 12 + 39 + 255 + 32);
	CHECK_ERR(vsf_v2_request_decode(buf, (size_t)n, KEY, &out), 0);
	CHECK_ERR(strlen(out.name), 255);
	name[255] = 'n';
	name[256] = 0;
	CHECK_ERR(vsf_v2_client_request(&c, VSF_OP_OFF, name, KEY, buf,
					sizeof(buf)), -ENAMETOOLONG);
}

TEST(result_round_trip_passes_unknown_codes)
{
	uint8_t buf[VSF_V2_MAX_FRAME];
	struct vsf_v2_result_msg out;

	CHECK_ERR(make_result(buf, VSF_V2_RESULT_OFF), 12 + 25 + 32);
	CHECK_ERR(vsf_v2_result_decode(buf, 69, KEY, &out), 0);
	CHECK_ERR(out.code, VSF_V2_RESULT_OFF);
	CHECK_ERR(out.count, 3);
	CHECK_ERR(out.request_id, 9);
	CHECK_ERR(out.client_nonce[1], 0x47);
	make_result(buf, 200);
	CHECK_ERR(vsf_v2_result_decode(buf, 69, KEY, &out), 0);
	CHECK_ERR(out.code, 200);
}

TEST(hostrec_round_trip_with_and_without_uuid)
{
	static const char uuid[] = "6695eb01-f6a4-8304-79aa-97f2502e193f";
	uint8_t buf[VSF_V2_MAX_FRAME];
	struct vsf_v2_hostrec out;
	int n = make_hostrec(buf, "guest1", uuid);

	CHECK_ERR(n, 12 + 27 + 6 + 36 + 32);
	CHECK_ERR(vsf_v2_hostrec_decode(buf, (size_t)n, KEY, &out), 0);
	CHECK_STR(out.name, "guest1");
	CHECK_STR(out.uuid, uuid);
	CHECK_ERR(out.index, 2);
	CHECK_ERR(out.state, 1);
	n = make_hostrec(buf, "g", "");
	CHECK_ERR(vsf_v2_hostrec_decode(buf, (size_t)n, KEY, &out), 0);
	CHECK_STR(out.uuid, "");
	CHECK_ERR(make_hostrec(buf, "", uuid), -EINVAL);
}

TEST(error_round_trip_has_zero_mac_and_needs_no_key)
{
	struct vsf_v2_error in = { .request_id = 77,
				   .code = VSF_V2_RESULT_BAD_AUTH }, out;
	uint8_t buf[VSF_V2_MAX_FRAME], zero[32] = { 0 };

	CHECK_ERR(vsf_v2_error_encode(&in, buf, sizeof(buf)), 12 + 5 + 32);
	CHECK_MEM(buf + 17, zero, 32);
	CHECK_ERR(vsf_v2_error_decode(buf, 49, &out), 0);
	CHECK_ERR(out.request_id, 77);
	CHECK_ERR(out.code, VSF_V2_RESULT_BAD_AUTH);
	buf[48] = 1;
	CHECK_ERR(vsf_v2_error_decode(buf, 49, &out), -EINVAL);
}

/* --- MAC ----------------------------------------------------------------- */

TEST(mac_is_hmac_sha256_over_header_and_payload)
{
	uint8_t buf[VSF_V2_MAX_FRAME], want[32];
	int n = make_request(buf, VSF_OP_OFF, "victim");

	CHECK_ERR(vsf_hmac_sha256(key, sizeof(key) - 1, buf, (size_t)n - 32,
				  NULL, 0, want), 0);
	CHECK_MEM(buf + n - 32, want, 32);
	CHECK_ERR(vsf_v2_verify(KEY, buf, (size_t)n), 0);
}

/* Pins the byte layout: the same vector is in docs/protocol.md and was
 * computed independently with Python's hmac module. */
TEST(request_matches_known_answer_vector)
{
	static const uint8_t want[] = {
		0x56, 0x53, 0x46, 0x32, 0x00, 0x02, 0x00, 0x03, 0x2d, 0x00,
		0x00, 0x00,
	};
	static const uint8_t mac[32] = {
		0xad, 0xb5, 0x58, 0x20, 0x86, 0xa0, 0x19, 0x4e,
		0x6f, 0x8f, 0x26, 0x15, 0xcd, 0xac, 0x21, 0x76,
		0x65, 0x30, 0xe4, 0xdb, 0xdc, 0x25, 0xae, 0xc3,
		0x44, 0xb6, 0xa0, 0x69, 0xcb, 0x5a, 0x5e, 0x6d,
	};
	struct vsf_v2_request m = { .request_id = 0x01020304,
				    .op = VSF_OP_OFF, .name = "victim" };
	uint8_t buf[VSF_V2_MAX_FRAME];
	int n;

	memset(m.server_nonce, 0xaa, 16);
	memset(m.client_nonce, 0xbb, 16);
	n = vsf_v2_request_encode(&m, "secret", 6, buf, sizeof(buf));
	CHECK_ERR(n, 89);
	CHECK_MEM(buf, want, sizeof(want));
	CHECK_MEM(buf + 12, "\x04\x03\x02\x01\x01\x00\x06", 7);
	CHECK_MEM(buf + 51, "victim", 6);
	CHECK_MEM(buf + 57, mac, 32);
}

TEST(mac_with_wrong_key_is_rejected)
{
	uint8_t buf[VSF_V2_MAX_FRAME];
	struct vsf_v2_request out;
	int n = make_request(buf, VSF_OP_OFF, "victim");

	CHECK_ERR(vsf_v2_request_decode(buf, (size_t)n, other_key,
					sizeof(other_key) - 1, &out), -EBADMSG);
	CHECK_ERR(vsf_v2_request_decode(buf, (size_t)n, NULL, 0, &out),
		  -ENOKEY);
	CHECK_ERR(make_request(buf, VSF_OP_OFF, "victim") > 0, 1);
}

TEST(every_tampered_byte_is_rejected)
{
	uint8_t buf[VSF_V2_MAX_FRAME];
	int n = make_request(buf, VSF_OP_REBOOT, "victim");
	int bad = 0;

	for (int i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1 << bit);
			if (decode_any(buf, (size_t)n) == 0)
				bad++;
			buf[i] ^= (uint8_t)(1 << bit);
		}
	}
	CHECK_ERR(bad, 0);
	CHECK_ERR(decode_any(buf, (size_t)n), 0);
	/* A payload flip with a valid header is a MAC failure. */
	buf[20] ^= 1;
	CHECK_ERR(decode_any(buf, (size_t)n), -EBADMSG);
}

TEST(encoders_without_key_or_room_fail)
{
	struct vsf_v2_result_msg m = { 0 };
	uint8_t buf[VSF_V2_MAX_FRAME];

	CHECK_ERR(vsf_v2_result_encode(&m, NULL, 0, buf, sizeof(buf)),
		  -ENOKEY);
	CHECK_ERR(vsf_v2_result_encode(&m, KEY, buf, 68), -ENOBUFS);
	CHECK_ERR(vsf_v2_result_encode(&m, KEY, buf, 69), 69);
	CHECK_ERR(make_request(buf, 7, "x"), -EBADRQC);
	CHECK_ERR(make_request(buf, VSF_OP_OFF, ""), -EINVAL);
}

/* --- hostile input, one error per kind ----------------------------------- */

TEST(every_truncation_is_enodata)
{
	uint8_t frames[5][VSF_V2_MAX_FRAME];
	int lens[5];

	lens[0] = make_hello(frames[0], 1);
	lens[1] = make_request(frames[1], VSF_OP_OFF, "victim");
	lens[2] = make_result(frames[2], 0);
	lens[3] = make_hostrec(frames[3], "a", "b");
	lens[4] = vsf_v2_error_encode(&(struct vsf_v2_error){ 1, 1 },
				      frames[4], VSF_V2_MAX_FRAME);
	for (int f = 0; f < 5; f++) {
		int wrong = 0;

		for (int len = 0; len < lens[f]; len++)
			if (decode_any(frames[f], (size_t)len) != -ENODATA)
				wrong++;
		CHECK_ERR(wrong, 0);
		CHECK_ERR(decode_any(frames[f], (size_t)lens[f]), 0);
		CHECK_ERR(decode_any(frames[f], (size_t)lens[f] + 1),
			  -EMSGSIZE);
	}
}

TEST(header_errors_are_distinct)
{
	uint8_t buf[VSF_V2_MAX_FRAME];
	int n = make_request(buf, VSF_OP_OFF, "victim");

	CHECK_ERR(vsf_v2_frame_len(buf, 11), -ENODATA);
	CHECK_ERR(vsf_v2_frame_len(buf, 12), n);
	buf[0] = 'W';
	CHECK_ERR(vsf_v2_frame_len(buf, 12), -EPROTO);
	buf[0] = 'V';
	buf[5] = 1;
	CHECK_ERR(vsf_v2_frame_len(buf, 12), -EPROTONOSUPPORT);
	buf[5] = 3;
	CHECK_ERR(vsf_v2_frame_len(buf, 12), -EPROTONOSUPPORT);
	buf[5] = 2;
	buf[7] = 0;
	CHECK_ERR(vsf_v2_frame_len(buf, 12), -EBADRQC);
	buf[7] = 7;
	CHECK_ERR(vsf_v2_frame_len(buf, 12), -EBADRQC);
	buf[7] = 3;
	buf[4] = 1;
	CHECK_ERR(vsf_v2_frame_len(buf, 12), -EINVAL);
	buf[4] = 0;
	buf[6] = 1;
	CHECK_ERR(vsf_v2_frame_len(buf, 12), -EINVAL);
	buf[6] = 0;
	buf[11] = 1;
	CHECK_ERR(vsf_v2_frame_len(buf, 12), -EINVAL);
	buf[11] = 0;
	vsf_put_le16(buf + 8, VSF_V2_MAX_PAYLOAD);
	CHECK_ERR(vsf_v2_frame_len(buf, 12), VSF_V2_MAX_FRAME);
	vsf_put_le16(buf + 8, VSF_V2_MAX_PAYLOAD + 1);
	CHECK_ERR(vsf_v2_frame_len(buf, 12), -EMSGSIZE);
	vsf_put_le16(buf + 8, 0xffff);
	CHECK_ERR(vsf_v2_frame_len(buf, 12), -EMSGSIZE);
}

TEST(decoder_refuses_a_frame_of_another_type)
{
	uint8_t buf[VSF_V2_MAX_FRAME];
	struct vsf_v2_request q;
	struct vsf_v2_hello h;
	struct vsf_v2_error e;
	int n = make_result(buf, 0);

	CHECK_ERR(vsf_v2_request_decode(buf, (size_t)n, KEY, &q), -EBADRQC);
	CHECK_ERR(vsf_v2_hello_decode(buf, (size_t)n, &h), -EBADRQC);
	CHECK_ERR(vsf_v2_error_decode(buf, (size_t)n, &e), -EBADRQC);
}

TEST(request_field_errors_behind_a_valid_mac)
{
	uint8_t buf[VSF_V2_MAX_FRAME];
	struct vsf_v2_request q;
	int n;

	n = make_request(buf, VSF_OP_OFF, "victim");
	poke_sealed(buf, n, 12 + 4, 7);	/* METADATA never goes on the wire */
	CHECK_ERR(vsf_v2_request_decode(buf, (size_t)n, KEY, &q), -EBADRQC);
	n = make_request(buf, VSF_OP_OFF, "victim");
	poke_sealed(buf, n, 12 + 6, 7);	/* name_len past the payload */
	CHECK_ERR(vsf_v2_request_decode(buf, (size_t)n, KEY, &q),
		  -ENAMETOOLONG);
	n = make_request(buf, VSF_OP_OFF, "victim");
	poke_sealed(buf, n, 12 + 6, 5);	/* a byte left over */
	CHECK_ERR(vsf_v2_request_decode(buf, (size_t)n, KEY, &q), -EMSGSIZE);
	n = make_request(buf, VSF_OP_OFF, "victim");
	poke_sealed(buf, n, 12 + 39 + 2, 0);	/* NUL inside the name */
	CHECK_ERR(vsf_v2_request_decode(buf, (size_t)n, KEY, &q), -EINVAL);
	n = make_request(buf, VSF_OP_HOSTLIST, "");
	poke_sealed(buf, n, 12 + 4, VSF_OP_OFF);	/* OFF needs a target */
	CHECK_ERR(vsf_v2_request_decode(buf, (size_t)n, KEY, &q), -EINVAL);
}

TEST(request_payload_shorter_than_fixed_part_is_enodata)
{
	uint8_t buf[VSF_V2_MAX_FRAME];
	struct vsf_v2_request q;
	int n = make_request(buf, VSF_OP_HOSTLIST, "");

	/* Shrink the payload to 38 bytes and re-MAC. */
	vsf_put_le16(buf + 8, 38);
	n -= 1;
	vsf_v2_seal(KEY, buf, (size_t)n);
	CHECK_ERR(vsf_v2_request_decode(buf, (size_t)n, KEY, &q), -ENODATA);
}

TEST(hostrec_uuid_errors)
{
	uint8_t buf[VSF_V2_MAX_FRAME];
	struct vsf_v2_hostrec out;
	struct vsf_v2_hostrec m = { .request_id = 1 };
	char uuid[70];
	int n;

	memset(uuid, 'u', 63);
	uuid[63] = 0;
	strcpy(m.name, "n");
	strcpy(m.uuid, uuid);
	n = vsf_v2_hostrec_encode(&m, KEY, buf, sizeof(buf));
	CHECK_ERR(vsf_v2_hostrec_decode(buf, (size_t)n, KEY, &out), 0);
	/* 64-byte uuid: move one name byte into the uuid, re-MAC. */
	strcpy(m.name, "nn");
	n = vsf_v2_hostrec_encode(&m, KEY, buf, sizeof(buf));
	buf[12 + 9] = 1;
	buf[12 + 10] = 64;
	vsf_v2_seal(KEY, buf, (size_t)n);
	CHECK_ERR(vsf_v2_hostrec_decode(buf, (size_t)n, KEY, &out),
		  -ENAMETOOLONG);
	buf[12 + 9] = 0;	/* empty name */
	buf[12 + 10] = 65;
	vsf_v2_seal(KEY, buf, (size_t)n);
	CHECK_ERR(vsf_v2_hostrec_decode(buf, (size_t)n, KEY, &out), -ENAMETOOLONG);
	strcpy(m.name, "n");
	strcpy(m.uuid, "u");
	n = vsf_v2_hostrec_encode(&m, KEY, buf, sizeof(buf));
	buf[12 + 9] = 0;
	buf[12 + 10] = 2;
	vsf_v2_seal(KEY, buf, (size_t)n);
	CHECK_ERR(vsf_v2_hostrec_decode(buf, (size_t)n, KEY, &out), -EINVAL);
}

/* --- sessions ------------------------------------------------------------ */

struct exchange {
	struct vsf_v2_client c;
	struct vsf_v2_server_chan s;
	struct vsf_v2_request req;
	uint8_t frame[VSF_V2_MAX_FRAME];
	int len;	/* of the REQUEST in @frame */
};

/* HELLO -> CHALLENGE -> REQUEST through the codecs, server at @t0 ms. */
static int exchange_up_to_request(struct exchange *x, uint32_t id,
				  uint64_t t0)
{
	uint8_t buf[VSF_V2_MAX_FRAME];
	struct vsf_v2_hello h;
	struct vsf_v2_challenge ch;
	int n, r;

	n = vsf_v2_client_hello(&x->c, id, buf, sizeof(buf));
	if (n < 0 || (r = vsf_v2_hello_decode(buf, (size_t)n, &h)) < 0)
		return n < 0 ? n : r;
	n = vsf_v2_server_issue_challenge(&x->s, &h, t0, KEY, buf,
					  sizeof(buf));
	if (n < 0 || (r = vsf_v2_challenge_decode(buf, (size_t)n, KEY,
						  &ch)) < 0)
		return n < 0 ? n : r;
	r = vsf_v2_client_take_challenge(&x->c, &ch);
	if (r < 0)
		return r;
	x->len = vsf_v2_client_request(&x->c, VSF_OP_OFF, "victim", KEY,
				       x->frame, sizeof(x->frame));
	if (x->len < 0)
		return x->len;
	return vsf_v2_request_decode(x->frame, (size_t)x->len, KEY, &x->req);
}

TEST(full_exchange_accepts_once)
{
	struct exchange x;
	struct vsf_v2_result_msg res = { .code = VSF_V2_RESULT_OK };
	uint8_t buf[VSF_V2_MAX_FRAME];
	int n;

	vsf_v2_server_chan_init(&x.s);
	CHECK_ERR(exchange_up_to_request(&x, 1234, 1000), 0);
	CHECK_ERR(vsf_v2_server_check_request(&x.s, &x.req, 2000), 0);
	CHECK_STR(x.req.name, "victim");
	res.request_id = x.req.request_id;
	memcpy(res.client_nonce, x.req.client_nonce, 16);
	n = vsf_v2_result_encode(&res, KEY, buf, sizeof(buf));
	CHECK_ERR(vsf_v2_result_decode(buf, (size_t)n, KEY, &res), 0);
	CHECK_ERR(vsf_v2_client_check_result(&x.c, &res), 0);
}

TEST(replayed_request_is_ealready)
{
	struct exchange x;
	uint8_t captured[VSF_V2_MAX_FRAME];
	struct vsf_v2_request again;
	int len;

	vsf_v2_server_chan_init(&x.s);
	CHECK_ERR(exchange_up_to_request(&x, 1, 0), 0);
	memcpy(captured, x.frame, (size_t)x.len);
	len = x.len;
	CHECK_ERR(vsf_v2_server_check_request(&x.s, &x.req, 10), 0);
	/* Same bytes again, right away: */
	CHECK_ERR(vsf_v2_request_decode(captured, (size_t)len, KEY, &again),
		  0);
	CHECK_ERR(vsf_v2_server_check_request(&x.s, &again, 20), -EALREADY);
	/* ... and after the legitimate client started a new exchange: */
	CHECK_ERR(exchange_up_to_request(&x, 2, 30), 0);
	CHECK_ERR(vsf_v2_server_check_request(&x.s, &again, 40), -EALREADY);
	CHECK_ERR(vsf_v2_server_check_request(&x.s, &x.req, 50), 0);
	CHECK_ERR(vsf_v2_result_from_errno(-EALREADY), VSF_V2_RESULT_REPLAY);
}

TEST(new_hello_kills_the_previous_challenge)
{
	struct exchange a, b;

	vsf_v2_server_chan_init(&a.s);
	CHECK_ERR(exchange_up_to_request(&a, 1, 0), 0);
	b.s = a.s;
	CHECK_ERR(exchange_up_to_request(&b, 1, 5), 0);
	CHECK_ERR(vsf_v2_server_check_request(&b.s, &a.req, 6), -EALREADY);
	CHECK_ERR(vsf_v2_server_check_request(&b.s, &b.req, 7), 0);
}

TEST(stale_nonce_is_estale_and_used_up)
{
	struct exchange x;

	vsf_v2_server_chan_init(&x.s);
	CHECK_ERR(exchange_up_to_request(&x, 1, 1000), 0);
	CHECK_ERR(vsf_v2_server_check_request(&x.s, &x.req,
					      1000 + VSF_V2_NONCE_TTL_MS + 1),
		  -ESTALE);
	CHECK_ERR(vsf_v2_server_check_request(&x.s, &x.req, 1001), -EALREADY);
	/* The boundary itself is still fresh; a clock going back is not. */
	CHECK_ERR(exchange_up_to_request(&x, 1, 1000), 0);
	CHECK_ERR(vsf_v2_server_check_request(&x.s, &x.req,
					      1000 + VSF_V2_NONCE_TTL_MS), 0);
	CHECK_ERR(exchange_up_to_request(&x, 1, 1000), 0);
	CHECK_ERR(vsf_v2_server_check_request(&x.s, &x.req, 999), -ESTALE);
	CHECK_ERR(vsf_v2_result_from_errno(-ESTALE), VSF_V2_RESULT_REPLAY);
}

TEST(request_with_right_nonce_but_other_ids_is_eproto)
{
	struct exchange x;

	vsf_v2_server_chan_init(&x.s);
	CHECK_ERR(exchange_up_to_request(&x, 1, 0), 0);
	x.req.request_id = 2;
	CHECK_ERR(vsf_v2_server_check_request(&x.s, &x.req, 1), -EPROTO);
	x.req.request_id = 1;
	x.req.client_nonce[3] ^= 1;
	CHECK_ERR(vsf_v2_server_check_request(&x.s, &x.req, 1), -EPROTO);
	x.req.client_nonce[3] ^= 1;
	CHECK_ERR(vsf_v2_server_check_request(&x.s, &x.req, 1), 0);
}

TEST(client_ignores_frames_of_an_earlier_attempt)
{
	struct exchange old, cur;
	struct vsf_v2_result_msg res = { .code = 0 };
	struct vsf_v2_challenge ch = { 0 };

	vsf_v2_server_chan_init(&old.s);
	CHECK_ERR(exchange_up_to_request(&old, 7, 0), 0);
	cur.s = old.s;
	CHECK_ERR(exchange_up_to_request(&cur, 7, 1), 0);
	/* A late RESULT for the first attempt (same id, old nonce). */
	res.request_id = 7;
	memcpy(res.client_nonce, old.c.client_nonce, 16);
	CHECK_ERR(vsf_v2_client_check_result(&cur.c, &res), -ESTALE);
	memcpy(res.client_nonce, cur.c.client_nonce, 16);
	CHECK_ERR(vsf_v2_client_check_result(&cur.c, &res), 0);
	res.request_id = 8;
	CHECK_ERR(vsf_v2_client_check_result(&cur.c, &res), -ESTALE);
	/* A second CHALLENGE for the same HELLO is a protocol error. */
	ch.request_id = 7;
	memcpy(ch.client_nonce, cur.c.client_nonce, 16);
	CHECK_ERR(vsf_v2_client_take_challenge(&cur.c, &ch), -EPROTO);
}

TEST(client_counts_host_records)
{
	struct vsf_v2_client c;
	struct vsf_v2_hostrec rec = { .request_id = 3 };
	struct vsf_v2_result_msg res = { .request_id = 3 };
	struct vsf_v2_challenge ch = { .request_id = 3 };
	uint8_t buf[VSF_V2_MAX_FRAME];

	vsf_v2_client_hello(&c, 3, buf, sizeof(buf));
	memcpy(rec.client_nonce, c.client_nonce, 16);
	memcpy(res.client_nonce, c.client_nonce, 16);
	memcpy(ch.client_nonce, c.client_nonce, 16);
	CHECK_ERR(vsf_v2_client_check_hostrec(&c, &rec), -EPROTO);
	CHECK_ERR(vsf_v2_client_request(&c, VSF_OP_HOSTLIST, NULL, KEY, buf,
					sizeof(buf)), -EINVAL);
	CHECK_ERR(vsf_v2_client_take_challenge(&c, &ch), 0);
	CHECK(vsf_v2_client_request(&c, VSF_OP_HOSTLIST, NULL, KEY, buf,
				    sizeof(buf)) > 0);
	CHECK_ERR(vsf_v2_client_check_hostrec(&c, &rec), 0);
	rec.index = 2;	/* record 1 went missing */
	CHECK_ERR(vsf_v2_client_check_hostrec(&c, &rec), -EPROTO);
	rec.index = 1;
	CHECK_ERR(vsf_v2_client_check_hostrec(&c, &rec), 0);
	res.count = 3;
	CHECK_ERR(vsf_v2_client_check_result(&c, &res), -EPROTO);
	res.count = 2;
	CHECK_ERR(vsf_v2_client_check_result(&c, &res), 0);
}

/* --- stream reader ------------------------------------------------------- */

/* Build: garbage, v1 req, v2 HELLO, garbage with a fake "VSF2", v2 REQUEST,
 * v1 req.  Returns the stream length. */
static size_t mixed_stream(uint8_t *s)
{
	struct vsf_serial_req v1 = { .op = VSF_OP_STATUS, .seqno = 99 };
	size_t n = 0;

	memcpy(s + n, "\xff\x00zzabb", 7);
	n += 7;
	vsf_domain_set(v1.domain, "one");
	vsf_serial_req_encode(&v1, s + n);
	n += VSF_SERIAL_REQ_SIZE;
	n += (size_t)make_hello(s + n, 5);
	memcpy(s + n, "VSF2\x00\x09junkjunk", 14);	/* version 9 */
	n += 14;
	n += (size_t)make_request(s + n, VSF_OP_OFF, "victim");
	vsf_domain_set(v1.domain, "two");
	vsf_serial_req_encode(&v1, s + n);
	n += VSF_SERIAL_REQ_SIZE;
	return n;
}

/* Feed @s in pieces of @step bytes, collecting what comes out. */
static void read_mixed(const uint8_t *s, size_t n, size_t step,
		       char *log, size_t loglen)
{
	struct vsf_frame_reader r;
	struct vsf_v2_any f;
	size_t off = 0;

	vsf_frame_reader_init(&r);
	log[0] = 0;
	while (off < n) {
		size_t k = n - off < step ? n - off : step;
		int rc;

		vsf_frame_reader_feed(&r, s + off, k);
		off += k;
		while ((rc = vsf_v2_next_frame(&r, VSF_V2_V1_SERIAL_REQ,
					       &f)) != 0) {
			char item[80];

			if (rc < 0)
				snprintf(item, sizeof(item), "E%d ", -rc);
			else if (f.version == 1)
				snprintf(item, sizeof(item), "v1:%s ",
					 f.v1_req.domain);
			else
				snprintf(item, sizeof(item), "v2:%d:%d ",
					 f.type, decode_any(f.frame, f.len));
			strncat(log, item, loglen - strlen(log) - 1);
		}
	}
}

TEST(reader_resyncs_across_garbage_in_mixed_v1_v2_stream)
{
	uint8_t s[1024];
	size_t n = mixed_stream(s);
	char whole[256], bytewise[256], want[128];

	/* The garbage ends in "abb", which with the real magic reads as a
	 * false "abba" 3 bytes early: reported, and the real frame kept. */
	snprintf(want, sizeof(want), "E%d v1:one v2:1:0 E%d v2:3:0 v1:two ",
		 EBADRQC, EPROTONOSUPPORT);
	read_mixed(s, n, n, whole, sizeof(whole));
	CHECK_STR(whole, want);
	read_mixed(s, n, 1, bytewise, sizeof(bytewise));
	CHECK_STR(bytewise, want);
	read_mixed(s, n, 13, bytewise, sizeof(bytewise));
	CHECK_STR(bytewise, want);
}

TEST(reader_drops_oversized_header_and_finds_next_frame)
{
	struct vsf_frame_reader r;
	struct vsf_v2_any f;
	uint8_t buf[VSF_V2_MAX_FRAME];
	int n;

	vsf_frame_reader_init(&r);
	vsf_frame_reader_feed(&r, "VSF2\x00\x02\x00\x03\xff\xff\x00\x00", 12);
	n = make_result(buf, VSF_V2_RESULT_DENIED);
	vsf_frame_reader_feed(&r, buf, (size_t)n);
	CHECK_ERR(vsf_v2_next_frame(&r, VSF_V2_V1_SERIAL_RESP, &f), -EMSGSIZE);
	CHECK_ERR(vsf_v2_next_frame(&r, VSF_V2_V1_SERIAL_RESP, &f), 1);
	CHECK_ERR(f.version, 2);
	CHECK_ERR(f.type, VSF_V2_TYPE_RESULT);
	CHECK_ERR(f.len, (size_t)n);
	CHECK_ERR(r.skipped, 8);
	CHECK_ERR(r.len, 0);
}

TEST(reader_on_the_guest_side_sees_stock_fallback_answer)
{
	struct vsf_frame_reader r;
	struct vsf_v2_any f;
	uint8_t resp[VSF_SERIAL_RESP_SIZE];

	/* What a stock daemon answers to HELLO: "abba" + 1 (NULL op). */
	vsf_serial_resp_encode(VSF_RESULT_FAIL, resp);
	vsf_frame_reader_init(&r);
	for (size_t i = 0; i < sizeof(resp); i++) {
		CHECK_ERR(vsf_v2_next_frame(&r, VSF_V2_V1_SERIAL_RESP, &f), 0);
		vsf_frame_reader_feed(&r, resp + i, 1);
	}
	CHECK_ERR(vsf_v2_next_frame(&r, VSF_V2_V1_SERIAL_RESP, &f), 1);
	CHECK_ERR(f.version, 1);
	CHECK_ERR(f.v1_result, VSF_RESULT_FAIL);
	CHECK_ERR(vsf_v2_next_frame(&r, 0, &f), -EINVAL);
}

TEST(reader_waits_for_a_split_max_size_frame)
{
	struct vsf_frame_reader r;
	struct vsf_v2_any f;
	struct vsf_v2_hostrec m = { .request_id = 1 };
	uint8_t buf[VSF_V2_MAX_FRAME];
	int n;

	memset(m.name, 'n', 255);
	memset(m.uuid, 'u', 63);
	n = vsf_v2_hostrec_encode(&m, KEY, buf, sizeof(buf));
	CHECK_ERR(n, 12 + 27 + 255 + 63 + 32);
	vsf_frame_reader_init(&r);
	for (int i = 0; i < n; i++) {
		CHECK_ERR(vsf_v2_next_frame(&r, VSF_V2_V1_SERIAL_RESP, &f), 0);
		vsf_frame_reader_feed(&r, buf + i, 1);
	}
	CHECK_ERR(vsf_v2_next_frame(&r, VSF_V2_V1_SERIAL_RESP, &f), 1);
	CHECK_ERR(decode_any(f.frame, f.len), 0);
}

/* --- result codes -------------------------------------------------------- */

TEST(result_codes_from_errno_names_and_v1)
{
	CHECK_ERR(vsf_v2_result_from_errno(0), VSF_V2_RESULT_OK);
	CHECK_ERR(vsf_v2_result_from_errno(-EHOSTDOWN), VSF_V2_RESULT_OFF);
	CHECK_ERR(vsf_v2_result_from_errno(-EACCES), VSF_V2_RESULT_DENIED);
	CHECK_ERR(vsf_v2_result_from_errno(-ENOENT), VSF_V2_RESULT_NOT_FOUND);
	CHECK_ERR(vsf_v2_result_from_errno(-ETIMEDOUT),
		  VSF_V2_RESULT_TIMED_OUT);
	CHECK_ERR(vsf_v2_result_from_errno(-EINPROGRESS),
		  VSF_V2_RESULT_IN_PROGRESS);
	CHECK_ERR(vsf_v2_result_from_errno(-EBADMSG), VSF_V2_RESULT_BAD_AUTH);
	CHECK_ERR(vsf_v2_result_from_errno(-EOPNOTSUPP),
		  VSF_V2_RESULT_UNSUPPORTED);
	CHECK_ERR(vsf_v2_result_from_errno(-EPROTO), VSF_V2_RESULT_BAD_FRAME);
	CHECK_ERR(vsf_v2_result_from_errno(-EIO), VSF_V2_RESULT_FAIL);
	CHECK_STR(vsf_v2_strerror(-EALREADY), "server nonce not pending (replay)");
	CHECK_STR(vsf_v2_strerror(-ENODATA), "truncated frame");
	CHECK_STR(vsf_v2_result_name(VSF_V2_RESULT_OK), "ok");
	CHECK_STR(vsf_v2_result_name(VSF_V2_RESULT_REPLAY), "replay");
	CHECK_STR(vsf_v2_result_name(11), "unknown");
	CHECK_STR(vsf_v2_result_name(-1), "unknown");
	for (int c = 0; c <= VSF_V2_RESULT_MAX; c++)
		CHECK(strcmp(vsf_v2_result_name(c), "unknown") != 0);
	CHECK_ERR(vsf_v2_result_to_v1(VSF_V2_RESULT_OK, VSF_OP_OFF), 0);
	CHECK_ERR(vsf_v2_result_to_v1(VSF_V2_RESULT_OFF, VSF_OP_STATUS), 2);
	CHECK_ERR(vsf_v2_result_to_v1(VSF_V2_RESULT_DENIED, VSF_OP_OFF), 3);
	CHECK_ERR(vsf_v2_result_to_v1(VSF_V2_RESULT_NOT_FOUND, VSF_OP_STATUS),
		  2);
	CHECK_ERR(vsf_v2_result_to_v1(VSF_V2_RESULT_NOT_FOUND, VSF_OP_OFF), 1);
	CHECK_ERR(vsf_v2_result_to_v1(VSF_V2_RESULT_REPLAY, VSF_OP_OFF), 1);
	CHECK_ERR(vsf_v2_result_to_v1(200, VSF_OP_ON), 1);
}

int main(void)
{
	if (vsf_hash_init() < 0)
		return 99;
	return RUN_TESTS();
}
