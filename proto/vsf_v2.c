/* vsf_v2.c - protocol v2 codecs and session checks; see vsf_v2.h. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "vsf_v2.h"

/* Header offsets. */
enum {
	H_MAGIC = 0, H_ZERO4 = 4, H_VERSION = 5, H_ZERO6 = 6, H_TYPE = 7,
	H_LEN = 8, H_RESERVED = 10,
};

/* Payload offsets, relative to the payload start. */
enum {
	HELLO_NONCE = 0, HELLO_ID = 16, HELLO_FLAGS = 20, HELLO_PAD = 21,
	HELLO_SALT = 58,	/* frame bytes 70..73: stock's v1 seqno */
	HELLO_SALT_LEN = 4,

	CHAL_ID = 0, CHAL_CNONCE = 4, CHAL_SNONCE = 20, CHAL_SIZE = 36,

	REQ_ID = 0, REQ_OP = 4, REQ_FLAGS = 5, REQ_NAMELEN = 6,
	REQ_SNONCE = 7, REQ_CNONCE = 23, REQ_NAME = 39,

	RES_ID = 0, RES_CODE = 4, RES_CNONCE = 5, RES_COUNT = 21, RES_SIZE = 25,

	REC_ID = 0, REC_INDEX = 4, REC_STATE = 8, REC_NAMELEN = 9,
	REC_UUIDLEN = 10, REC_CNONCE = 11, REC_NAME = 27,

	ERR_ID = 0, ERR_CODE = 4, ERR_SIZE = 5,
};

static int has_mac(int type)
{
	return type != VSF_V2_TYPE_HELLO;
}

static int all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int vsf_v2_frame_len(const uint8_t *buf, size_t len)
{
	unsigned int n;

	if (len < VSF_V2_HDR_SIZE)
		return -ENODATA;
	if (vsf_get_le32(buf + H_MAGIC) != VSF_V2_MAGIC)
		return -EPROTO;
	if (buf[H_VERSION] != VSF_V2_VERSION)
		return -EPROTONOSUPPORT;
	if (buf[H_TYPE] < VSF_V2_TYPE_HELLO || buf[H_TYPE] > VSF_V2_TYPE_MAX)
		return -EBADRQC;
	/* Bytes 4 and 6 keep a stock daemon harmless; see the header. */
	if (buf[H_ZERO4] || buf[H_ZERO6] || vsf_get_le16(buf + H_RESERVED))
		return -EINVAL;
	n = vsf_get_le16(buf + H_LEN);
	if (n > VSF_V2_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (buf[H_TYPE] == VSF_V2_TYPE_HELLO && n != VSF_V2_HELLO_PAYLOAD)
		return -EINVAL;
	return (int)(VSF_V2_HDR_SIZE + n + (has_mac(buf[H_TYPE]) ?
					    VSF_V2_MAC_SIZE : 0));
}

int vsf_v2_mac(const void *key, size_t keylen, const uint8_t *frame,
	       size_t body_len, uint8_t mac[VSF_V2_MAC_SIZE])
{
	if (!key || !keylen)
		return -ENOKEY;
	return vsf_hmac_sha256(key, keylen, frame, body_len, NULL, 0, mac);
}

int vsf_v2_seal(const void *key, size_t keylen, uint8_t *frame,
		size_t frame_len)
{
	if (frame_len < VSF_V2_HDR_SIZE + VSF_V2_MAC_SIZE)
		return -EINVAL;
	return vsf_v2_mac(key, keylen, frame, frame_len - VSF_V2_MAC_SIZE,
			  frame + frame_len - VSF_V2_MAC_SIZE);
}

int vsf_v2_verify(const void *key, size_t keylen, const uint8_t *frame,
		  size_t frame_len)
{
	uint8_t mac[VSF_V2_MAC_SIZE];
	int r;

	if (frame_len < VSF_V2_HDR_SIZE + VSF_V2_MAC_SIZE)
		return -ENODATA;
	r = vsf_v2_mac(key, keylen, frame, frame_len - VSF_V2_MAC_SIZE, mac);
	if (r < 0)
		return r;
	if (vsf_memeq_ct(mac, frame + frame_len - VSF_V2_MAC_SIZE,
			 VSF_V2_MAC_SIZE))
		return -EBADMSG;
	return 0;
}

/* --- Framing helpers ----------------------------------------------------- */

/* Write the header of a @type frame with @n payload bytes; returns the
 * payload pointer or NULL when @outlen cannot hold the whole frame. */
static uint8_t *frame_start(uint8_t *out, size_t outlen, int type, size_t n)
{
	size_t total = VSF_V2_HDR_SIZE + n + (has_mac(type) ?
					      VSF_V2_MAC_SIZE : 0);

	if (n > VSF_V2_MAX_PAYLOAD || outlen < total)
		return NULL;
	memset(out, 0, total);
	vsf_put_le32(out + H_MAGIC, VSF_V2_MAGIC);
	out[H_VERSION] = VSF_V2_VERSION;
	out[H_TYPE] = (uint8_t)type;
	vsf_put_le16(out + H_LEN, (uint16_t)n);
	return out + VSF_V2_HDR_SIZE;
}

/* Finish a MAC'd frame of @n payload bytes: returns its length. */
static int frame_seal(uint8_t *out, size_t n, const void *key, size_t keylen)
{
	size_t total = VSF_V2_HDR_SIZE + n + VSF_V2_MAC_SIZE;
	int r = vsf_v2_seal(key, keylen, out, total);

	return r < 0 ? r : (int)total;
}

/*
 * Common decoder entry: @buf must be exactly one frame of @type; the MAC is
 * verified when the type has one.  Returns the payload length.
 */
static int frame_open(const uint8_t *buf, size_t len, int type,
		      const void *key, size_t keylen)
{
	int total = vsf_v2_frame_len(buf, len);
	int r;

	if (total < 0)
		return total;
	if (len < (size_t)total)
		return -ENODATA;
	if (len > (size_t)total)
		return -EMSGSIZE;
	if (buf[H_TYPE] != type)
		return -EBADRQC;
	if (has_mac(type)) {
		r = vsf_v2_verify(key, keylen, buf, len);
		if (r < 0)
			return r;
	}
	return vsf_get_le16(buf + H_LEN);
}

/* Fixed-size payloads: anything else is malformed. */
static int fixed_size(int n, int want)
{
	if (n < 0)
		return n;
	if (n < want)
		return -ENODATA;
	if (n > want)
		return -EMSGSIZE;
	return 0;
}

/* Copy a length-prefixed string out of a payload; no NUL inside. */
static int string_take(char *dst, const uint8_t *src, size_t n)
{
	if (memchr(src, '\0', n))
		return -EINVAL;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/* --- HELLO --------------------------------------------------------------- */

int vsf_v2_hello_encode(const struct vsf_v2_hello *m, uint8_t *out,
			size_t outlen)
{
	uint8_t *p = frame_start(out, outlen, VSF_V2_TYPE_HELLO,
				 VSF_V2_HELLO_PAYLOAD);

	if (!p)
		return -ENOBUFS;
	memcpy(p + HELLO_NONCE, m->client_nonce, VSF_V2_NONCE_LEN);
	vsf_put_le32(p + HELLO_ID, m->request_id);
	p[HELLO_FLAGS] = m->flags;
	/* A fresh value where stock keeps its seqno, so a stock daemon's
	 * 10 s duplicate filter never swallows a second HELLO. */
	memcpy(p + HELLO_SALT, m->client_nonce, HELLO_SALT_LEN);
	return VSF_V2_HELLO_SIZE;
}

int vsf_v2_hello_decode(const uint8_t *buf, size_t len,
			struct vsf_v2_hello *m)
{
	int n = frame_open(buf, len, VSF_V2_TYPE_HELLO, NULL, 0);
	const uint8_t *p = buf + VSF_V2_HDR_SIZE;

	if (n < 0)
		return n;
	if (!all_zero(p + HELLO_PAD, HELLO_SALT - HELLO_PAD) ||
	    memcmp(p + HELLO_SALT, p + HELLO_NONCE, HELLO_SALT_LEN))
		return -EINVAL;
	memcpy(m->client_nonce, p + HELLO_NONCE, VSF_V2_NONCE_LEN);
	m->request_id = vsf_get_le32(p + HELLO_ID);
	m->flags = p[HELLO_FLAGS];
	return 0;
}

/* --- CHALLENGE ----------------------------------------------------------- */

int vsf_v2_challenge_encode(const struct vsf_v2_challenge *m,
			    const void *key, size_t keylen, uint8_t *out,
			    size_t outlen)
{
	uint8_t *p = frame_start(out, outlen, VSF_V2_TYPE_CHALLENGE,
				 CHAL_SIZE);

	if (!p)
		return -ENOBUFS;
	vsf_put_le32(p + CHAL_ID, m->request_id);
	memcpy(p + CHAL_CNONCE, m->client_nonce, VSF_V2_NONCE_LEN);
	memcpy(p + CHAL_SNONCE, m->server_nonce, VSF_V2_NONCE_LEN);
	return frame_seal(out, CHAL_SIZE, key, keylen);
}

int vsf_v2_challenge_decode(const uint8_t *buf, size_t len, const void *key,
			    size_t keylen, struct vsf_v2_challenge *m)
{
	int r = fixed_size(frame_open(buf, len, VSF_V2_TYPE_CHALLENGE, key,
				      keylen), CHAL_SIZE);
	const uint8_t *p = buf + VSF_V2_HDR_SIZE;

	if (r < 0)
		return r;
	m->request_id = vsf_get_le32(p + CHAL_ID);
	memcpy(m->client_nonce, p + CHAL_CNONCE, VSF_V2_NONCE_LEN);
	memcpy(m->server_nonce, p + CHAL_SNONCE, VSF_V2_NONCE_LEN);
	return 0;
}

/* --- REQUEST ------------------------------------------------------------- */

/* Ops on the wire; a target is required exactly for ops that act on one. */
static int request_target_ok(uint8_t op, size_t name_len)
{
	if (op > VSF_OP_WIRE_MAX)
		return -EBADRQC;
	if (vsf_op_needs_domain(op) && name_len == 0)
		return -EINVAL;
	return 0;
}

int vsf_v2_request_encode(const struct vsf_v2_request *m, const void *key,
			  size_t keylen, uint8_t *out, size_t outlen)
{
	size_t nl = strnlen(m->name, sizeof(m->name));
	uint8_t *p;
	int r;

	if (nl > VSF_V2_NAME_MAX)
		return -ENAMETOOLONG;
	r = request_target_ok(m->op, nl);
	if (r < 0)
		return r;
	p = frame_start(out, outlen, VSF_V2_TYPE_REQUEST, REQ_NAME + nl);
	if (!p)
		return -ENOBUFS;
	vsf_put_le32(p + REQ_ID, m->request_id);
	p[REQ_OP] = m->op;
	p[REQ_FLAGS] = m->flags;
	p[REQ_NAMELEN] = (uint8_t)nl;
	memcpy(p + REQ_SNONCE, m->server_nonce, VSF_V2_NONCE_LEN);
	memcpy(p + REQ_CNONCE, m->client_nonce, VSF_V2_NONCE_LEN);
	memcpy(p + REQ_NAME, m->name, nl);
	return frame_seal(out, REQ_NAME + nl, key, keylen);
}

/* A payload of @n bytes = @fixed bytes + @strings: which error if not. */
static int var_size(int n, size_t fixed, size_t strings)
{
	if (n < 0)
		return n;
	if ((size_t)n < fixed)
		return -ENODATA;
	if ((size_t)n < fixed + strings)
		return -ENAMETOOLONG;
	if ((size_t)n > fixed + strings)
		return -EMSGSIZE;
	return 0;
}

int vsf_v2_request_decode(const uint8_t *buf, size_t len, const void *key,
			  size_t keylen, struct vsf_v2_request *m)
{
	int n = frame_open(buf, len, VSF_V2_TYPE_REQUEST, key, keylen);
	const uint8_t *p = buf + VSF_V2_HDR_SIZE;
	int r = var_size(n, REQ_NAME, n >= REQ_NAME ? p[REQ_NAMELEN] : 0);

	if (r < 0)
		return r;
	r = request_target_ok(p[REQ_OP], p[REQ_NAMELEN]);
	if (r < 0)
		return r;
	r = string_take(m->name, p + REQ_NAME, p[REQ_NAMELEN]);
	if (r < 0)
		return r;
	m->request_id = vsf_get_le32(p + REQ_ID);
	m->op = p[REQ_OP];
	m->flags = p[REQ_FLAGS];
	memcpy(m->server_nonce, p + REQ_SNONCE, VSF_V2_NONCE_LEN);
	memcpy(m->client_nonce, p + REQ_CNONCE, VSF_V2_NONCE_LEN);
	return 0;
}

/* --- RESULT -------------------------------------------------------------- */

int vsf_v2_result_encode(const struct vsf_v2_result_msg *m, const void *key,
			 size_t keylen, uint8_t *out, size_t outlen)
{
	uint8_t *p = frame_start(out, outlen, VSF_V2_TYPE_RESULT, RES_SIZE);

	if (!p)
		return -ENOBUFS;
	vsf_put_le32(p + RES_ID, m->request_id);
	p[RES_CODE] = m->code;
	memcpy(p + RES_CNONCE, m->client_nonce, VSF_V2_NONCE_LEN);
	vsf_put_le32(p + RES_COUNT, m->count);
	return frame_seal(out, RES_SIZE, key, keylen);
}

int vsf_v2_result_decode(const uint8_t *buf, size_t len, const void *key,
			 size_t keylen, struct vsf_v2_result_msg *m)
{
	int r = fixed_size(frame_open(buf, len, VSF_V2_TYPE_RESULT, key,
				      keylen), RES_SIZE);
	const uint8_t *p = buf + VSF_V2_HDR_SIZE;

	if (r < 0)
		return r;
	m->request_id = vsf_get_le32(p + RES_ID);
	m->code = p[RES_CODE];
	memcpy(m->client_nonce, p + RES_CNONCE, VSF_V2_NONCE_LEN);
	m->count = vsf_get_le32(p + RES_COUNT);
	return 0;
}

/* --- HOSTREC ------------------------------------------------------------- */

int vsf_v2_hostrec_encode(const struct vsf_v2_hostrec *m, const void *key,
			  size_t keylen, uint8_t *out, size_t outlen)
{
	size_t nl = strnlen(m->name, sizeof(m->name));
	size_t ul = strnlen(m->uuid, sizeof(m->uuid));
	uint8_t *p;

	if (nl > VSF_V2_NAME_MAX || ul > VSF_V2_UUID_MAX)
		return -ENAMETOOLONG;
	if (nl == 0)
		return -EINVAL;
	p = frame_start(out, outlen, VSF_V2_TYPE_HOSTREC, REC_NAME + nl + ul);
	if (!p)
		return -ENOBUFS;
	vsf_put_le32(p + REC_ID, m->request_id);
	vsf_put_le32(p + REC_INDEX, m->index);
	p[REC_STATE] = m->state;
	p[REC_NAMELEN] = (uint8_t)nl;
	p[REC_UUIDLEN] = (uint8_t)ul;
	memcpy(p + REC_CNONCE, m->client_nonce, VSF_V2_NONCE_LEN);
	memcpy(p + REC_NAME, m->name, nl);
	memcpy(p + REC_NAME + nl, m->uuid, ul);
	return frame_seal(out, REC_NAME + nl + ul, key, keylen);
}

int vsf_v2_hostrec_decode(const uint8_t *buf, size_t len, const void *key,
			  size_t keylen, struct vsf_v2_hostrec *m)
{
	int n = frame_open(buf, len, VSF_V2_TYPE_HOSTREC, key, keylen);
	const uint8_t *p = buf + VSF_V2_HDR_SIZE;
	size_t nl = n >= REC_NAME ? p[REC_NAMELEN] : 0;
	size_t ul = n >= REC_NAME ? p[REC_UUIDLEN] : 0;
	int r = var_size(n, REC_NAME, nl + ul);

	if (r < 0)
		return r;
	if (ul > VSF_V2_UUID_MAX)
		return -ENAMETOOLONG;
	if (nl == 0)
		return -EINVAL;
	r = string_take(m->name, p + REC_NAME, nl);
	if (r == 0)
		r = string_take(m->uuid, p + REC_NAME + nl, ul);
	if (r < 0)
		return r;
	m->request_id = vsf_get_le32(p + REC_ID);
	m->index = vsf_get_le32(p + REC_INDEX);
	m->state = p[REC_STATE];
	memcpy(m->client_nonce, p + REC_CNONCE, VSF_V2_NONCE_LEN);
	return 0;
}

/* --- ERROR --------------------------------------------------------------- */

int vsf_v2_error_encode(const struct vsf_v2_error *m, uint8_t *out,
			size_t outlen)
{
	uint8_t *p = frame_start(out, outlen, VSF_V2_TYPE_ERROR, ERR_SIZE);

	if (!p)
		return -ENOBUFS;
	vsf_put_le32(p + ERR_ID, m->request_id);
	p[ERR_CODE] = m->code;
	return VSF_V2_HDR_SIZE + ERR_SIZE + VSF_V2_MAC_SIZE;	/* MAC zero */
}

int vsf_v2_error_decode(const uint8_t *buf, size_t len,
			struct vsf_v2_error *m)
{
	/* No key: the MAC is skipped here and must be all zero instead. */
	int total = vsf_v2_frame_len(buf, len);
	int r;

	if (total >= 0 && buf[H_TYPE] != VSF_V2_TYPE_ERROR)
		return -EBADRQC;
	r = fixed_size(total < 0 ? total :
		       total - VSF_V2_HDR_SIZE - VSF_V2_MAC_SIZE, ERR_SIZE);
	if (r < 0)
		return r;
	if (len < (size_t)total)
		return -ENODATA;
	if (len > (size_t)total)
		return -EMSGSIZE;
	if (!all_zero(buf + total - VSF_V2_MAC_SIZE, VSF_V2_MAC_SIZE))
		return -EINVAL;
	m->request_id = vsf_get_le32(buf + VSF_V2_HDR_SIZE + ERR_ID);
	m->code = buf[VSF_V2_HDR_SIZE + ERR_CODE];
	return 0;
}

/* --- Stream reader ------------------------------------------------------- */

static int next_v1(struct vsf_frame_reader *r, int v1_kind,
		   struct vsf_v2_any *out)
{
	int rc;

	if (v1_kind == VSF_V2_V1_SERIAL_REQ)
		rc = vsf_frame_next_serial_req(r, &out->v1_req);
	else
		rc = vsf_frame_next_serial_resp(r, &out->v1_result);
	if (rc == 1)
		out->version = 1;
	return rc;
}

static int next_v2(struct vsf_frame_reader *r, struct vsf_v2_any *out)
{
	int total;

	if (r->len < VSF_V2_HDR_SIZE)
		return 0;
	total = vsf_v2_frame_len(r->buf, r->len);
	if (total < 0) {
		/* Lose only the magic: a real frame may start inside. */
		vsf_frame_reader_drop(r, 4);
		return total;
	}
	if (r->len < (size_t)total)
		return 0;
	out->version = 2;
	out->type = r->buf[H_TYPE];
	out->len = (size_t)total;
	memcpy(out->frame, r->buf, (size_t)total);
	vsf_frame_reader_drop(r, (size_t)total);
	return 1;
}

int vsf_v2_next_frame(struct vsf_frame_reader *r, int v1_kind,
		      struct vsf_v2_any *out)
{
	static const uint32_t magics[2] = { VSF_SERIAL_MAGIC, VSF_V2_MAGIC };
	int which;

	if (v1_kind != VSF_V2_V1_SERIAL_REQ && v1_kind != VSF_V2_V1_SERIAL_RESP)
		return -EINVAL;
	which = vsf_frame_reader_sync(r, magics, 2);
	if (which < 0)
		return 0;
	return which == 0 ? next_v1(r, v1_kind, out) : next_v2(r, out);
}

/* --- Server session ------------------------------------------------------ */

void vsf_v2_server_chan_init(struct vsf_v2_server_chan *ch)
{
	memset(ch, 0, sizeof(*ch));
}

int vsf_v2_server_issue_challenge(struct vsf_v2_server_chan *ch,
				  const struct vsf_v2_hello *hello,
				  uint64_t now_ms, const void *key,
				  size_t keylen, uint8_t *out, size_t outlen)
{
	struct vsf_v2_challenge c = { .request_id = hello->request_id };
	int r;

	/* The previous challenge dies first, even if this one fails. */
	ch->pending = false;
	r = vsf_random_bytes(c.server_nonce, sizeof(c.server_nonce));
	if (r < 0)
		return r;
	memcpy(c.client_nonce, hello->client_nonce, VSF_V2_NONCE_LEN);
	r = vsf_v2_challenge_encode(&c, key, keylen, out, outlen);
	if (r < 0)
		return r;
	ch->request_id = c.request_id;
	memcpy(ch->client_nonce, c.client_nonce, VSF_V2_NONCE_LEN);
	memcpy(ch->server_nonce, c.server_nonce, VSF_V2_NONCE_LEN);
	ch->issued_ms = now_ms;
	ch->pending = true;
	return r;
}

int vsf_v2_server_check_request(struct vsf_v2_server_chan *ch,
				const struct vsf_v2_request *req,
				uint64_t now_ms)
{
	if (!ch->pending || vsf_memeq_ct(ch->server_nonce, req->server_nonce,
					 VSF_V2_NONCE_LEN))
		return -EALREADY;
	/* Unsigned difference: a clock going backwards counts as stale. */
	if (now_ms - ch->issued_ms > VSF_V2_NONCE_TTL_MS) {
		ch->pending = false;
		return -ESTALE;
	}
	if (req->request_id != ch->request_id ||
	    memcmp(req->client_nonce, ch->client_nonce, VSF_V2_NONCE_LEN))
		return -EPROTO;
	ch->pending = false;
	return 0;
}

/* --- Client session ------------------------------------------------------ */

int vsf_v2_client_hello(struct vsf_v2_client *c, uint32_t request_id,
			uint8_t *out, size_t outlen)
{
	struct vsf_v2_hello h = { .request_id = request_id };
	int r;

	memset(c, 0, sizeof(*c));
	c->request_id = request_id;
	r = vsf_random_bytes(c->client_nonce, VSF_V2_NONCE_LEN);
	if (r < 0)
		return r;
	memcpy(h.client_nonce, c->client_nonce, VSF_V2_NONCE_LEN);
	return vsf_v2_hello_encode(&h, out, outlen);
}

/* Does a server frame belong to this attempt? */
static int is_ours(const struct vsf_v2_client *c, uint32_t request_id,
		   const uint8_t nonce[VSF_V2_NONCE_LEN])
{
	return request_id == c->request_id &&
	       memcmp(nonce, c->client_nonce, VSF_V2_NONCE_LEN) == 0;
}

int vsf_v2_client_take_challenge(struct vsf_v2_client *c,
				 const struct vsf_v2_challenge *m)
{
	if (!is_ours(c, m->request_id, m->client_nonce))
		return -ESTALE;
	/* A second challenge for one HELLO is a confused or hostile server. */
	if (c->challenged)
		return -EPROTO;
	memcpy(c->server_nonce, m->server_nonce, VSF_V2_NONCE_LEN);
	c->challenged = true;
	return 0;
}

int vsf_v2_client_request(const struct vsf_v2_client *c, uint8_t op,
			  const char *name, const void *key, size_t keylen,
			  uint8_t *out, size_t outlen)
{
	struct vsf_v2_request req = { .request_id = c->request_id, .op = op };
	size_t nl = name ? strlen(name) : 0;

	if (!c->challenged)
		return -EINVAL;
	if (nl > VSF_V2_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(req.name, name ? name : "", nl + 1);
	memcpy(req.server_nonce, c->server_nonce, VSF_V2_NONCE_LEN);
	memcpy(req.client_nonce, c->client_nonce, VSF_V2_NONCE_LEN);
	return vsf_v2_request_encode(&req, key, keylen, out, outlen);
}

int vsf_v2_client_check_hostrec(struct vsf_v2_client *c,
				const struct vsf_v2_hostrec *m)
{
	if (!is_ours(c, m->request_id, m->client_nonce))
		return -ESTALE;
	if (!c->challenged || m->index != c->records)
		return -EPROTO;
	c->records++;
	return 0;
}

int vsf_v2_client_check_result(const struct vsf_v2_client *c,
			       const struct vsf_v2_result_msg *m)
{
	if (!is_ours(c, m->request_id, m->client_nonce))
		return -ESTALE;
	if (!c->challenged || m->count != c->records)
		return -EPROTO;
	return 0;
}

/* --- Result codes -------------------------------------------------------- */

int vsf_v2_result_from_errno(int err)
{
	switch (err) {
	case 0:
		return VSF_V2_RESULT_OK;
	case -EHOSTDOWN:
		return VSF_V2_RESULT_OFF;
	case -EACCES:
		return VSF_V2_RESULT_DENIED;
	case -ENOENT:
		return VSF_V2_RESULT_NOT_FOUND;
	case -ETIMEDOUT:
		return VSF_V2_RESULT_TIMED_OUT;
	case -EINPROGRESS:
		return VSF_V2_RESULT_IN_PROGRESS;
	case -EBADMSG:
	case -ENOKEY:
	case -EKEYREJECTED:
		return VSF_V2_RESULT_BAD_AUTH;
	case -EOPNOTSUPP:
	case -EBADRQC:
	case -EPROTONOSUPPORT:
		return VSF_V2_RESULT_UNSUPPORTED;
	case -EPROTO:
	case -ENODATA:
	case -EMSGSIZE:
	case -ENAMETOOLONG:
	case -EINVAL:
		return VSF_V2_RESULT_BAD_FRAME;
	case -EALREADY:
	case -ESTALE:
		return VSF_V2_RESULT_REPLAY;
	default:
		return VSF_V2_RESULT_FAIL;
	}
}

const char *vsf_v2_strerror(int err)
{
	switch (err) {
	case -EPROTONOSUPPORT:
		return "unsupported protocol version";
	case -EBADRQC:
		return "unknown frame type or operation";
	case -ENAMETOOLONG:
		return "name length out of range";
	case -EBADMSG:
		return "MAC mismatch";
	case -ENOBUFS:
		return "output buffer too small";
	case -EALREADY:
		return "server nonce not pending (replay)";
	case -ESTALE:
		return "server nonce expired";
	case -EPROTO:
		return "bad magic or mismatched exchange";
	default:
		return vsf_wire_strerror(err);
	}
}

static const char *const result_names[] = {
	[VSF_V2_RESULT_OK] = "ok",
	[VSF_V2_RESULT_FAIL] = "fail",
	[VSF_V2_RESULT_OFF] = "off",
	[VSF_V2_RESULT_DENIED] = "denied",
	[VSF_V2_RESULT_NOT_FOUND] = "not-found",
	[VSF_V2_RESULT_TIMED_OUT] = "timed-out",
	[VSF_V2_RESULT_IN_PROGRESS] = "in-progress",
	[VSF_V2_RESULT_BAD_AUTH] = "bad-auth",
	[VSF_V2_RESULT_UNSUPPORTED] = "unsupported",
	[VSF_V2_RESULT_BAD_FRAME] = "bad-frame",
	[VSF_V2_RESULT_REPLAY] = "replay",
};

const char *vsf_v2_result_name(int code)
{
	if (code < 0 || code > VSF_V2_RESULT_MAX)
		return "unknown";
	return result_names[code];
}

uint8_t vsf_v2_result_to_v1(int code, int op)
{
	switch (code) {
	case VSF_V2_RESULT_OK:
		return VSF_RESULT_SUCCESS;
	case VSF_V2_RESULT_OFF:
		return VSF_RESULT_OFF;
	case VSF_V2_RESULT_DENIED:
		return VSF_RESULT_DENIED;
	case VSF_V2_RESULT_NOT_FOUND:
		/* Stock's libvirt backend: status of an unknown domain = off. */
		return op == VSF_OP_STATUS ? VSF_RESULT_OFF : VSF_RESULT_FAIL;
	default:
		return VSF_RESULT_FAIL;
	}
}
