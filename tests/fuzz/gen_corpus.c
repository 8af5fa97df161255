/*
 * gen_corpus.c - write the committed seed corpus of the fuzz targets from
 * valid frames made by our own encoders (plus the stock quirks the
 * decoders must tolerate).  Deterministic except for the random bytes the
 * v1 signer draws, so re-running changes only those files.
 *
 *	tests/fuzz/gen_corpus DIR	(DIR = the source tree's tests/fuzz/corpus)
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "fuzz_v2.h"
#include "vsf_auth.h"
#include "vsf_frame.h"
#include "vsf_wire.h"

#define SEED_MAX 4096

/* A seed being assembled; written out by seed_write(). */
struct seed {
	uint8_t b[SEED_MAX];
	size_t n;
};

static void put(struct seed *s, const void *p, size_t n)
{
	if (s->n + n > sizeof(s->b)) {
		fprintf(stderr, "gen_corpus: seed too large\n");
		exit(1);
	}
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void put_byte(struct seed *s, uint8_t v)
{
	put(s, &v, 1);
}

static void seed_write(const char *dir, const char *target, const char *name,
		       const struct seed *s)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->b, 1, s->n, f) != s->n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void add_serial_req(struct seed *s, int op, const char *dom,
			   uint32_t seqno)
{
	struct vsf_serial_req req = { .op = (uint8_t)op, .seqno = seqno };
	uint8_t b[VSF_SERIAL_REQ_SIZE];

	vsf_domain_set(req.domain, dom);
	vsf_serial_req_encode(&req, b);
	put(s, b, sizeof(b));
}

static void add_serial_resp(struct seed *s, uint8_t res)
{
	uint8_t b[VSF_SERIAL_RESP_SIZE];

	vsf_serial_resp_encode(res, b);
	put(s, b, sizeof(b));
}

/* @garbage: fill bytes 63, 127 and the pad as the stock daemon may. */
static void add_record(struct seed *s, const char *name, const char *uuid,
		       uint8_t state, int garbage)
{
	struct vsf_host_record rec = { .state = state };
	uint8_t b[VSF_HOST_RECORD_SIZE];

	vsf_domain_set(rec.name, name);
	vsf_domain_set(rec.uuid, uuid);
	vsf_host_record_encode(&rec, b);
	if (garbage) {
		b[63] = 0xc9;
		b[127] = 0xc9;
		b[129] = 0x7d;
	}
	put(s, b, sizeof(b));
}

static const char long_name[] =
	"a-domain-name-of-exactly-sixty-three-bytes-xxxxxxxxxxxxxxxxxxxx";
static const char uuid1[] = "6695eb01-f6a4-8304-79aa-97f2502e193f";

static void gen_v1(const char *dir)
{
	static const char *const ops[] = { "null", "off", "reboot", "on",
					   "status", "monitor", "list" };
	struct seed s;
	char name[64];

	for (int h = VSF_HASH_NONE; h <= VSF_HASH_SHA512; h++) {
		struct vsf_net_req req = { .op = VSF_OP_OFF,
					   .hashtype = (uint8_t)h,
					   .seqno = 123456 };

		vsf_domain_set(req.domain, h == 3 ? long_name : "guest2");
		s.n = VSF_NET_REQ_SIZE;
		vsf_net_req_sign(&req, fuzz_key, FUZZ_KEYLEN, s.b);
		snprintf(name, sizeof(name), "off-%s", vsf_hash_name(h));
		seed_write(dir, "net_req", name, &s);
	}
	{	/* multicast: IPv4 address, port and family filled in */
		struct vsf_net_req req = { .op = VSF_OP_REBOOT,
					   .hashtype = VSF_HASH_SHA256,
					   .addrlen = 4, .port = 1229,
					   .seqno = 999999, .family = 2 };

		vsf_domain_set(req.domain, uuid1);
		memcpy(req.address, "\x0a\x00\x02\x0f", 4);
		s.n = VSF_NET_REQ_SIZE;
		vsf_net_req_sign(&req, fuzz_key, FUZZ_KEYLEN, s.b);
		seed_write(dir, "net_req", "reboot-multicast", &s);
	}
	for (int op = 0; op <= VSF_OP_WIRE_MAX; op++) {
		s.n = 0;
		add_serial_req(&s, op, vsf_op_needs_domain(op) ? "guest2" : "",
			       (uint32_t)(737648 + op));
		seed_write(dir, "serial_req", ops[op], &s);
	}
	s.n = 0;
	add_serial_req(&s, VSF_OP_OFF, long_name, 1);
	seed_write(dir, "serial_req", "off-longname", &s);
	for (int res = 0; res <= 3; res++) {
		s.n = 0;
		add_serial_resp(&s, (uint8_t)res);
		snprintf(name, sizeof(name), "result-%d", res);
		seed_write(dir, "serial_resp", name, &s);
	}
	s.n = 0;
	add_serial_resp(&s, VSF_RESULT_HOSTLIST);
	seed_write(dir, "serial_resp", "result-hostlist", &s);
	s.n = 0;
	add_record(&s, "guest1", uuid1, 1, 0);
	seed_write(dir, "host_record", "running", &s);
	s.n = 0;
	add_record(&s, long_name, uuid1, 5, 1);
	seed_write(dir, "host_record", "stock-garbage", &s);
	s.n = 0;
	add_record(&s, "", "", 0, 0);
	seed_write(dir, "host_record", "terminator", &s);
}

static void gen_frame_reader(const char *dir)
{
	struct seed s;

	s.n = 0;	/* host side: garbage, a request, a split one */
	put_byte(&s, 0);
	put_byte(&s, 7);
	put(&s, "garbage\0ab", 10);
	add_serial_req(&s, VSF_OP_STATUS, "guest2", 1);
	add_serial_req(&s, VSF_OP_OFF, "guest2", 2);
	add_serial_req(&s, VSF_OP_REBOOT, long_name, 3);
	s.n -= 30;
	seed_write(dir, "frame_reader", "requests", &s);
	s.n = 0;	/* guest side: a stale trailer, then a result */
	put_byte(&s, 1);
	put_byte(&s, 3);
	add_serial_resp(&s, 0);
	put(&s, "xx", 2);
	add_serial_resp(&s, 2);
	seed_write(dir, "frame_reader", "responses", &s);
	s.n = 0;	/* guest side: a whole host list */
	put_byte(&s, 2);
	put_byte(&s, 11);
	add_serial_resp(&s, VSF_RESULT_HOSTLIST);
	add_record(&s, "guest1", uuid1, 1, 1);
	add_record(&s, "guest2", "2b6f6e5c-1d1e-4c6a-9b33-0d7d1d5a7c02", 5, 0);
	add_record(&s, "", "", 0, 0);
	add_serial_resp(&s, 0);
	seed_write(dir, "frame_reader", "hostlist", &s);
}

/* Every v2 frame type, with the session values fuzz_v2_stream expects. */
static int v2_frame(int type, uint8_t *out, size_t cap)
{
	const uint8_t *k = fuzz_key;
	size_t kl = FUZZ_KEYLEN;
	uint8_t cn[VSF_V2_NONCE_LEN], sn[VSF_V2_NONCE_LEN];

	memset(cn, FUZZ_V2_CLIENT_NONCE_BYTE, sizeof(cn));
	memset(sn, FUZZ_V2_SERVER_NONCE_BYTE, sizeof(sn));
	switch (type) {
	case VSF_V2_TYPE_HELLO: {
		struct vsf_v2_hello m = { .request_id = FUZZ_V2_REQUEST_ID };

		memcpy(m.client_nonce, cn, sizeof(cn));
		return vsf_v2_hello_encode(&m, out, cap);
	}
	case VSF_V2_TYPE_CHALLENGE: {
		struct vsf_v2_challenge m = { .request_id = FUZZ_V2_REQUEST_ID };

		memcpy(m.client_nonce, cn, sizeof(cn));
		memcpy(m.server_nonce, sn, sizeof(sn));
		return vsf_v2_challenge_encode(&m, k, kl, out, cap);
	}
	case VSF_V2_TYPE_REQUEST: {
		struct vsf_v2_request m = { .request_id = FUZZ_V2_REQUEST_ID,
					    .op = VSF_OP_OFF };

		memcpy(m.client_nonce, cn, sizeof(cn));
		memcpy(m.server_nonce, sn, sizeof(sn));
		strcpy(m.name, "guest2");
		return vsf_v2_request_encode(&m, k, kl, out, cap);
	}
	case VSF_V2_TYPE_RESULT: {
		struct vsf_v2_result_msg m = { .request_id = FUZZ_V2_REQUEST_ID,
					       .code = VSF_V2_RESULT_OK,
					       .count = 1 };

		memcpy(m.client_nonce, cn, sizeof(cn));
		return vsf_v2_result_encode(&m, k, kl, out, cap);
	}
	case VSF_V2_TYPE_HOSTREC: {
		struct vsf_v2_hostrec m = { .request_id = FUZZ_V2_REQUEST_ID,
					    .state = 1 };

		memcpy(m.client_nonce, cn, sizeof(cn));
		strcpy(m.name, "guest1");
		strcpy(m.uuid, uuid1);
		return vsf_v2_hostrec_encode(&m, k, kl, out, cap);
	}
	default: {
		struct vsf_v2_error m = { .request_id = FUZZ_V2_REQUEST_ID,
					  .code = VSF_V2_RESULT_BAD_AUTH };

		return vsf_v2_error_encode(&m, out, cap);
	}
	}
}

static void put_v2(struct seed *s, int type)
{
	uint8_t f[VSF_V2_MAX_FRAME];
	int n = v2_frame(type, f, sizeof(f));

	if (n < 0) {
		fprintf(stderr, "gen_corpus: v2 type %d: error %d\n", type, n);
		exit(1);
	}
	put(s, f, (size_t)n);
}

static void gen_v2(const char *dir)
{
	static const char *const names[] = { "", "hello", "challenge",
		"request", "result", "hostrec", "error" };
	struct seed s;

	for (int t = VSF_V2_TYPE_HELLO; t <= VSF_V2_TYPE_MAX; t++) {
		s.n = 0;
		put_byte(&s, 0);
		put_v2(&s, t);
		seed_write(dir, "v2_decode", names[t], &s);
	}
	s.n = 0;	/* host reading a guest: v1 and v2 mixed */
	put_byte(&s, 0);
	put_byte(&s, 5);
	put_byte(&s, 0);
	put_v2(&s, VSF_V2_TYPE_HELLO);
	put(&s, "noise", 5);
	put_v2(&s, VSF_V2_TYPE_REQUEST);
	add_serial_req(&s, VSF_OP_STATUS, "guest2", 42);
	put_v2(&s, VSF_V2_TYPE_REQUEST);	/* a replay */
	seed_write(dir, "v2_stream", "host-side", &s);
	s.n = 0;	/* guest reading the host: a v2 host list */
	put_byte(&s, 1);
	put_byte(&s, 9);
	put_byte(&s, 0);
	add_serial_resp(&s, 0);			/* stale v1 trailer */
	put_v2(&s, VSF_V2_TYPE_CHALLENGE);
	put_v2(&s, VSF_V2_TYPE_HOSTREC);
	put_v2(&s, VSF_V2_TYPE_RESULT);
	put_v2(&s, VSF_V2_TYPE_ERROR);
	seed_write(dir, "v2_stream", "guest-side", &s);
	s.n = 0;	/* guest finding a stock daemon: v1 host list */
	put_byte(&s, 1);
	put_byte(&s, 2);
	put_byte(&s, 1);
	add_serial_resp(&s, VSF_RESULT_HOSTLIST);
	add_record(&s, "guest1", uuid1, 1, 1);
	add_record(&s, "", "", 0, 0);
	add_serial_resp(&s, 0);
	put_v2(&s, VSF_V2_TYPE_CHALLENGE);
	seed_write(dir, "v2_stream", "guest-v1-list", &s);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 64;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	if (mkdir(argv[1], 0755) < 0 && errno != EEXIST) {
		perror(argv[1]);
		return 1;
	}
	gen_v1(argv[1]);
	gen_frame_reader(argv[1]);
	gen_v2(argv[1]);
	return 0;
}
