/*
 * fuzz_v2_stream - the mixed v1/v2 stream reader and the session checks
 * behind it, as a host reads a guest channel and a guest reads the host.
 *
 * Input: byte 0 picks the side (even: host reading v1 requests, odd: guest
 * reading v1 responses and host lists), byte 1 seeds the chunk sizes,
 * byte 2 bit 0 = seal v2 frames with the fuzz key before decoding; the
 * rest is the stream.  Frames go through the decoders and then the
 * session state (a client waiting for request FUZZ_V2_REQUEST_ID, a
 * server channel with a pending challenge), all without randomness.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_v2.h"

struct sides {
	struct vsf_v2_client client;
	struct vsf_v2_server_chan chan;
	uint64_t now_ms;
	int seal;
	int in_v1_list;
};

static void sides_init(struct sides *s, int seal)
{
	memset(s, 0, sizeof(*s));
	s->client.request_id = FUZZ_V2_REQUEST_ID;
	memset(s->client.client_nonce, FUZZ_V2_CLIENT_NONCE_BYTE,
	       VSF_V2_NONCE_LEN);
	s->chan.pending = true;
	s->chan.request_id = FUZZ_V2_REQUEST_ID;
	memset(s->chan.client_nonce, FUZZ_V2_CLIENT_NONCE_BYTE,
	       VSF_V2_NONCE_LEN);
	memset(s->chan.server_nonce, FUZZ_V2_SERVER_NONCE_BYTE,
	       VSF_V2_NONCE_LEN);
	s->seal = seal;
}

static void take_v2(struct sides *s, struct vsf_v2_any *a)
{
	const uint8_t *k = fuzz_key;
	size_t kl = FUZZ_KEYLEN;
	uint8_t sealed[VSF_V2_MAX_FRAME];
	const uint8_t *f = a->frame;
	struct vsf_v2_challenge c;
	struct vsf_v2_request q;
	struct vsf_v2_result_msg res;
	struct vsf_v2_hostrec rec;
	struct vsf_v2_error e;
	struct vsf_v2_hello h;
	uint8_t out[VSF_V2_MAX_FRAME];

	FUZZ_ASSERT(a->len >= VSF_V2_HDR_SIZE && a->len <= VSF_V2_MAX_FRAME);
	FUZZ_ASSERT(vsf_v2_frame_len(a->frame, a->len) == (int)a->len);
	if (s->seal && fuzz_v2_seal_copy(a->frame, a->len, k, kl, sealed) > 0)
		f = sealed;
	s->now_ms += 1000;
	switch (a->type) {
	case VSF_V2_TYPE_HELLO:
		if (vsf_v2_hello_decode(f, a->len, &h) == 0)
			(void)vsf_v2_result_to_v1(h.flags, h.request_id & 7);
		break;
	case VSF_V2_TYPE_CHALLENGE:
		if (vsf_v2_challenge_decode(f, a->len, k, kl, &c) == 0 &&
		    vsf_v2_client_take_challenge(&s->client, &c) == 0) {
			FUZZ_ASSERT(s->client.challenged);
			/* The client can always build its request now. */
			FUZZ_ASSERT(vsf_v2_client_request(&s->client,
				VSF_OP_STATUS, "vm1", k, kl, out,
				sizeof(out)) > 0);
		}
		break;
	case VSF_V2_TYPE_REQUEST:
		if (vsf_v2_request_decode(f, a->len, k, kl, &q) == 0 &&
		    vsf_v2_server_check_request(&s->chan, &q, s->now_ms) == 0)
			/* A nonce is good for one request only. */
			FUZZ_ASSERT(vsf_v2_server_check_request(&s->chan, &q,
						s->now_ms) == -EALREADY);
		break;
	case VSF_V2_TYPE_HOSTREC:
		if (vsf_v2_hostrec_decode(f, a->len, k, kl, &rec) == 0)
			(void)vsf_v2_client_check_hostrec(&s->client, &rec);
		break;
	case VSF_V2_TYPE_RESULT:
		if (vsf_v2_result_decode(f, a->len, k, kl, &res) == 0) {
			(void)vsf_v2_client_check_result(&s->client, &res);
			FUZZ_ASSERT(vsf_v2_result_name(res.code) != NULL);
		}
		break;
	case VSF_V2_TYPE_ERROR:
		if (vsf_v2_error_decode(f, a->len, &e) == 0)
			FUZZ_ASSERT(vsf_v2_result_name(e.code) != NULL);
		break;
	default:
		FUZZ_ASSERT(!"frame_len let an unknown type through");
	}
}

/* Take every whole frame the reader holds. */
static void drain(struct sides *s, struct vsf_frame_reader *r, int kind)
{
	static struct vsf_v2_any a;	/* ~600 bytes; reused, not shared */
	struct vsf_host_record rec;
	int rc;

	for (int guard = 0; guard < 2 * VSF_FRAME_READER_CAP; guard++) {
		size_t before = r->len;

		if (s->in_v1_list) {
			rc = vsf_frame_next_host_record(r, &rec);
			if (rc == 2 || rc < 0)
				s->in_v1_list = 0;
		} else {
			rc = vsf_v2_next_frame(r, kind, &a);
		}
		FUZZ_ASSERT(r->len <= VSF_FRAME_READER_CAP);
		if (rc == 0)
			return;
		FUZZ_ASSERT(r->len < before);
		if (rc != 1 || s->in_v1_list || rc == 2)
			continue;
		if (a.version == 2)
			take_v2(s, &a);
		else if (kind == VSF_V2_V1_SERIAL_RESP &&
			 a.v1_result == VSF_RESULT_HOSTLIST)
			s->in_v1_list = 1;
	}
	FUZZ_ASSERT(!"reader made no progress");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vsf_frame_reader r;
	struct sides s;
	uint32_t seed;
	int kind;

	if (size < 3)
		return 0;
	kind = data[0] & 1 ? VSF_V2_V1_SERIAL_RESP : VSF_V2_V1_SERIAL_REQ;
	seed = data[1] | 0x100u;
	sides_init(&s, data[2] & 1);
	data += 3;
	size -= 3;
	vsf_frame_reader_init(&r);
	while (size > 0) {
		size_t n = 1 + fuzz_next(&seed) % 300, space;
		uint8_t *tail = vsf_frame_reader_tail(&r, &space);

		FUZZ_ASSERT(space > 0);
		if (n > space)
			n = space;
		if (n > size)
			n = size;
		memcpy(tail, data, n);
		vsf_frame_reader_commit(&r, n);
		data += n;
		size -= n;
		drain(&s, &r, kind);
	}
	return 0;
}
