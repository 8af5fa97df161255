/*
 * vsf_cpg_msg.c - encode and strictly decode the CPG messages (v1).
 *
 * Layouts (offsets inside the body, after the 12-byte header):
 *   entry   owner u32 @0, state u8 @4, owner_status u8 @5, name_len u8 @6,
 *           reserved u8 @7 (0), uuid[16] @8, name @24 (name_len bytes)
 *   STATE   one entry
 *   SYNC    count u16 @0, reserved u16 @2 (0), then count entries
 *   REQUEST id u64 @0, timeout_ms u32 @8, op u8 @12, target_len u8 @13,
 *           reserved u16 @14 (0), target @16
 *   REPLY   id u64 @0, to_node u32 @8, verdict u8 @12, reserved u8 @13,
 *           reserved u16 @14 (0), err i32 @16
 */
#include "vsf_cpg_msg.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "vsf_wire.h"

#define REQ_FIXED 16
#define REPLY_SIZE 20
#define ERR_MAX 4095

/* A bounds-checked reader over the body. */
struct rd {
	const uint8_t *p;
	size_t left;
};

static bool rd_has(const struct rd *r, size_t n)
{
	return r->left >= n;
}

static uint8_t rd_u8(struct rd *r)
{
	uint8_t v = r->p[0];

	r->p++;
	r->left--;
	return v;
}

static uint16_t rd_u16(struct rd *r)
{
	uint16_t v = (uint16_t)(r->p[0] | r->p[1] << 8);

	r->p += 2;
	r->left -= 2;
	return v;
}

static uint32_t rd_u32(struct rd *r)
{
	uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 |
		     (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;

	r->p += 4;
	r->left -= 4;
	return v;
}

static uint64_t rd_u64(struct rd *r)
{
	uint64_t lo = rd_u32(r);

	return lo | (uint64_t)rd_u32(r) << 32;
}

static void rd_bytes(struct rd *r, void *dst, size_t n)
{
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
}

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)v);
	put_u32(p + 4, (uint32_t)(v >> 32));
}

static int check_bytes(const char *s, size_t n)
{
	if (n == 0 || n > VSF_CPG_NAME_MAX)
		return -EILSEQ;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return -EILSEQ;
	}
	return 0;
}

int vsf_cpg_name_check(const char *s)
{
	size_t n = strnlen(s, VSF_CPG_NAME_MAX + 1);

	return check_bytes(s, n);
}

static bool op_ok(uint8_t op)
{
	return op == VSF_OP_OFF || op == VSF_OP_ON || op == VSF_OP_REBOOT ||
	       op == VSF_OP_STATUS;
}

static bool entry_fields_bad(const struct vsf_cpg_entry *e, bool in_sync)
{
	if (e->owner == 0 || e->state < VSF_CPG_DOM_RUNNING ||
	    e->state > VSF_CPG_DOM_GONE ||
	    e->owner_status > VSF_CPG_OWNER_ABSENT)
		return true;
	/* GONE is an event, never part of a map; a STATE is always first-hand. */
	return in_sync ? e->state == VSF_CPG_DOM_GONE
		       : e->owner_status != VSF_CPG_OWNER_MEMBER;
}

static int entry_check(const struct vsf_cpg_entry *e, bool in_sync)
{
	if (entry_fields_bad(e, in_sync))
		return -EINVAL;
	return vsf_cpg_name_check(e->name);
}

static int reply_check(const struct vsf_cpg_reply *a)
{
	if (a->to_node == 0 || a->verdict < VSF_CPG_V_DONE ||
	    a->verdict > VSF_CPG_V_BLOCKED)
		return -EINVAL;
	if (a->verdict == VSF_CPG_V_FAILED ? (a->err <= 0 || a->err > ERR_MAX)
					   : a->err != 0)
		return -EINVAL;
	return 0;
}

/* The decoder's rules, applied to what we are about to send. */
static int precheck(const struct vsf_cpg_msg *m)
{
	int rc = 0;

	if (m->type != VSF_CPG_SYNC && m->flags != 0)
		return -EINVAL;
	switch (m->type) {
	case VSF_CPG_STATE:
		return entry_check(&m->u.state, false);
	case VSF_CPG_SYNC:
		if (m->flags & ~(VSF_CPG_SYNC_FIRST | VSF_CPG_SYNC_LAST))
			return -EINVAL;
		if (m->u.sync.n > VSF_CPG_SYNC_MAX)
			return -E2BIG;
		for (uint16_t i = 0; i < m->u.sync.n && rc == 0; i++)
			rc = entry_check(&m->u.sync.e[i], true);
		return rc;
	case VSF_CPG_REQUEST:
		if (!op_ok(m->u.req.op) || m->u.req.timeout_ms == 0)
			return -EINVAL;
		return vsf_cpg_name_check(m->u.req.target);
	case VSF_CPG_REPLY:
		return reply_check(&m->u.reply);
	}
	return -ENOMSG;
}

/* Reads a length-prefixed string whose length byte was already read. */
static int rd_string(struct rd *r, uint8_t n, char dst[VSF_CPG_NAME_MAX + 1])
{
	if (!rd_has(r, n))
		return -EPROTO;
	if (check_bytes((const char *)r->p, n) < 0)
		return -EILSEQ;
	rd_bytes(r, dst, n);
	dst[n] = '\0';
	return 0;
}

static int rd_entry(struct rd *r, struct vsf_cpg_entry *e, bool in_sync)
{
	uint8_t nlen;

	if (!rd_has(r, VSF_CPG_ENTRY_FIXED))
		return -EPROTO;
	e->owner = rd_u32(r);
	e->state = rd_u8(r);
	e->owner_status = rd_u8(r);
	nlen = rd_u8(r);
	if (rd_u8(r) != 0)
		return -EINVAL;
	rd_bytes(r, e->uuid, VSF_CPG_UUID_LEN);
	e->name[0] = '\0';
	if (entry_fields_bad(e, in_sync))
		return -EINVAL;
	return rd_string(r, nlen, e->name);
}

static int rd_sync(struct rd *r, struct vsf_cpg_msg *m)
{
	uint16_t n;
	int rc;

	if (m->flags & ~(VSF_CPG_SYNC_FIRST | VSF_CPG_SYNC_LAST))
		return -EINVAL;
	if (!rd_has(r, 4))
		return -EPROTO;
	n = rd_u16(r);
	if (rd_u16(r) != 0)
		return -EINVAL;
	if (n > VSF_CPG_SYNC_MAX)
		return -E2BIG;
	/* Each entry needs its fixed part: refuse a count past the buffer early. */
	if (r->left / VSF_CPG_ENTRY_FIXED < n)
		return -EPROTO;
	for (uint16_t i = 0; i < n; i++) {
		rc = rd_entry(r, &m->u.sync.e[i], true);
		if (rc < 0)
			return rc;
	}
	m->u.sync.n = n;
	return 0;
}

static int rd_request(struct rd *r, struct vsf_cpg_request *q)
{
	uint8_t tlen;

	if (!rd_has(r, REQ_FIXED))
		return -EPROTO;
	q->id = rd_u64(r);
	q->timeout_ms = rd_u32(r);
	q->op = rd_u8(r);
	tlen = rd_u8(r);
	if (rd_u16(r) != 0 || !op_ok(q->op) || q->timeout_ms == 0)
		return -EINVAL;
	return rd_string(r, tlen, q->target);
}

static int rd_reply(struct rd *r, struct vsf_cpg_reply *a)
{
	if (!rd_has(r, REPLY_SIZE))
		return -EPROTO;
	a->id = rd_u64(r);
	a->to_node = rd_u32(r);
	a->verdict = rd_u8(r);
	if (rd_u8(r) != 0 || rd_u16(r) != 0)
		return -EINVAL;
	a->err = (int32_t)rd_u32(r);
	return reply_check(a);
}

static int rd_body(struct rd *r, struct vsf_cpg_msg *m)
{
	if (m->type != VSF_CPG_SYNC && m->flags != 0)
		return -EINVAL;
	switch (m->type) {
	case VSF_CPG_STATE:
		return rd_entry(r, &m->u.state, false);
	case VSF_CPG_SYNC:
		return rd_sync(r, m);
	case VSF_CPG_REQUEST:
		return rd_request(r, &m->u.req);
	case VSF_CPG_REPLY:
		return rd_reply(r, &m->u.reply);
	}
	return -ENOMSG;
}

int vsf_cpg_msg_decode(const void *buf, size_t len, struct vsf_cpg_msg *out)
{
	struct rd r = { buf, len };
	uint32_t blen;
	int rc;

	if (len < VSF_CPG_HDR_SIZE)
		return -EPROTO;
	if (memcmp(buf, VSF_CPG_MAGIC, 4) != 0)
		return -EBADMSG;
	r.p += 4;
	r.left -= 4;
	if (rd_u8(&r) != VSF_CPG_VERSION)
		return -EPROTONOSUPPORT;
	memset(out, 0, offsetof(struct vsf_cpg_msg, u));
	out->type = rd_u8(&r);
	out->flags = rd_u16(&r);
	blen = rd_u32(&r);
	if (len > VSF_CPG_MSG_MAX || blen != r.left)
		return -EMSGSIZE;
	if (out->type < VSF_CPG_STATE || out->type > VSF_CPG_REPLY)
		return -ENOMSG;
	rc = rd_body(&r, out);
	if (rc < 0)
		return rc;
	return r.left ? -ENOTEMPTY : 0;
}

/* Encoder: writes the entry and returns its size; the caller checked room. */
static size_t put_entry(uint8_t *p, const struct vsf_cpg_entry *e)
{
	size_t n = strlen(e->name);

	put_u32(p, e->owner);
	p[4] = e->state;
	p[5] = e->owner_status;
	p[6] = (uint8_t)n;
	p[7] = 0;
	memcpy(p + 8, e->uuid, VSF_CPG_UUID_LEN);
	memcpy(p + VSF_CPG_ENTRY_FIXED, e->name, n);
	return VSF_CPG_ENTRY_FIXED + n;
}

static size_t body_size(const struct vsf_cpg_msg *m)
{
	size_t n = 0;

	switch (m->type) {
	case VSF_CPG_STATE:
		return VSF_CPG_ENTRY_FIXED + strlen(m->u.state.name);
	case VSF_CPG_SYNC:
		for (uint16_t i = 0; i < m->u.sync.n; i++)
			n += VSF_CPG_ENTRY_FIXED + strlen(m->u.sync.e[i].name);
		return 4 + n;
	case VSF_CPG_REQUEST:
		return REQ_FIXED + strlen(m->u.req.target);
	default:
		return REPLY_SIZE;
	}
}

static void put_body(uint8_t *p, const struct vsf_cpg_msg *m)
{
	const struct vsf_cpg_request *q = &m->u.req;
	const struct vsf_cpg_reply *a = &m->u.reply;

	switch (m->type) {
	case VSF_CPG_STATE:
		put_entry(p, &m->u.state);
		return;
	case VSF_CPG_SYNC:
		put_u16(p, m->u.sync.n);
		put_u16(p + 2, 0);
		p += 4;
		for (uint16_t i = 0; i < m->u.sync.n; i++)
			p += put_entry(p, &m->u.sync.e[i]);
		return;
	case VSF_CPG_REQUEST:
		put_u64(p, q->id);
		put_u32(p + 8, q->timeout_ms);
		p[12] = q->op;
		p[13] = (uint8_t)strlen(q->target);
		put_u16(p + 14, 0);
		memcpy(p + REQ_FIXED, q->target, p[13]);
		return;
	default:
		put_u64(p, a->id);
		put_u32(p + 8, a->to_node);
		p[12] = a->verdict;
		p[13] = 0;
		put_u16(p + 14, 0);
		put_u32(p + 16, (uint32_t)a->err);
		return;
	}
}

int vsf_cpg_msg_encode(const struct vsf_cpg_msg *m, void *buf, size_t cap)
{
	uint8_t *p = buf;
	size_t blen;
	int rc = precheck(m);

	if (rc < 0)
		return rc;
	blen = body_size(m);
	if (cap < VSF_CPG_HDR_SIZE + blen)
		return -ENOBUFS;
	memcpy(p, VSF_CPG_MAGIC, 4);
	p[4] = VSF_CPG_VERSION;
	p[5] = m->type;
	put_u16(p + 6, m->flags);
	put_u32(p + 8, (uint32_t)blen);
	put_body(p + VSF_CPG_HDR_SIZE, m);
	return (int)(VSF_CPG_HDR_SIZE + blen);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int vsf_cpg_uuid_parse(const char *s, uint8_t out[VSF_CPG_UUID_LEN])
{
	int k = 0;

	if (strlen(s) != 36)
		return -EINVAL;
	for (int i = 0; i < 36; i++) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		hi = hexval(s[i]);
		lo = hexval(s[++i]);
		if (hi < 0 || lo < 0 || i == 8 || i == 13 || i == 18 || i == 23)
			return -EINVAL;
		out[k++] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void vsf_cpg_uuid_format(const uint8_t u[VSF_CPG_UUID_LEN], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	char *p = out;

	for (int i = 0; i < VSF_CPG_UUID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[u[i] >> 4];
		*p++ = hex[u[i] & 15];
	}
	*p = '\0';
}
