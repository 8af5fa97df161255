/* vsf_wire.c - v1 frame codecs; see vsf_wire.h for the contract. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "vsf_wire.h"

/* Field offsets of the 176-byte network request. */
enum {
	NET_OP = 0, NET_HASHTYPE = 1, NET_ADDRLEN = 2, NET_FLAGS = 3,
	NET_DOMAIN = 4, NET_ADDRESS = 68, NET_PORT = 96, NET_RANDOM = 98,
	NET_SEQNO = 104, NET_FAMILY = 108, NET_HASH = 112,
};

/* Field offsets of the 74-byte serial request. */
enum {
	SER_MAGIC = 0, SER_OP = 4, SER_FLAGS = 5, SER_DOMAIN = 6, SER_SEQNO = 70,
};

static const char *const op_names[] = {
	[VSF_OP_NULL] = "null",
	[VSF_OP_OFF] = "off",
	[VSF_OP_REBOOT] = "reboot",
	[VSF_OP_ON] = "on",
	[VSF_OP_STATUS] = "status",
	[VSF_OP_DEVSTATUS] = "monitor",
	[VSF_OP_HOSTLIST] = "list",
	[VSF_OP_METADATA] = "metadata",
	[VSF_OP_VALIDATEALL] = "validate-all",
};

const char *vsf_op_name(int op)
{
	if (op < 0 || op > VSF_OP_VALIDATEALL)
		return NULL;
	return op_names[op];
}

int vsf_op_from_name(const char *name)
{
	if (!name)
		return -EBADRQC;
	if (strcasecmp(name, "list-status") == 0)
		return VSF_OP_HOSTLIST;
	for (int i = 0; i <= VSF_OP_VALIDATEALL; i++)
		if (strcasecmp(name, op_names[i]) == 0)
			return i;
	return -EBADRQC;
}

int vsf_op_needs_domain(int op)
{
	return op == VSF_OP_OFF || op == VSF_OP_REBOOT || op == VSF_OP_ON ||
	       op == VSF_OP_STATUS;
}

const char *vsf_wire_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case -ENODATA:
		return "truncated frame";
	case -EMSGSIZE:
		return "oversized frame";
	case -EPROTO:
		return "bad magic";
	case -EPROTONOSUPPORT:
		return "unknown hash type";
	case -EBADRQC:
		return "unknown operation";
	case -ENAMETOOLONG:
		return "name not NUL-terminated";
	case -EBADMSG:
		return "signature mismatch";
	case -EKEYREJECTED:
		return "hash type weaker than required";
	case -ENOKEY:
		return "no key configured";
	case -EINVAL:
		return "field out of range";
	default:
		return "malformed frame";
	}
}

int vsf_domain_set(char dst[VSF_DOMAIN_LEN], const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n >= VSF_DOMAIN_LEN)
		return -ENAMETOOLONG;
	memset(dst, 0, VSF_DOMAIN_LEN);
	if (n)
		memcpy(dst, name, n);
	return 0;
}

/* Copy a fixed name field; it must hold a NUL within its length. */
static int name_decode(char dst[VSF_DOMAIN_LEN], const uint8_t *src)
{
	if (!memchr(src, '\0', VSF_DOMAIN_LEN))
		return -ENAMETOOLONG;
	memcpy(dst, src, VSF_DOMAIN_LEN);
	return 0;
}

static int exact_size(size_t len, size_t want)
{
	if (len < want)
		return -ENODATA;
	if (len > want)
		return -EMSGSIZE;
	return 0;
}

static int op_on_wire(uint8_t op)
{
	return op <= VSF_OP_WIRE_MAX ? 0 : -EBADRQC;
}

int vsf_net_req_encode(const struct vsf_net_req *req,
		       uint8_t out[VSF_NET_REQ_SIZE])
{
	if (!memchr(req->domain, '\0', VSF_DOMAIN_LEN))
		return -EINVAL;
	memset(out, 0, VSF_NET_REQ_SIZE);
	out[NET_OP] = req->op;
	out[NET_HASHTYPE] = req->hashtype;
	out[NET_ADDRLEN] = req->addrlen;
	out[NET_FLAGS] = req->flags;
	memcpy(out + NET_DOMAIN, req->domain, VSF_DOMAIN_LEN);
	memcpy(out + NET_ADDRESS, req->address, VSF_NET_ADDR_LEN);
	vsf_put_le16(out + NET_PORT, req->port);
	memcpy(out + NET_RANDOM, req->random, VSF_NET_RANDOM_LEN);
	vsf_put_le32(out + NET_SEQNO, req->seqno);
	vsf_put_le32(out + NET_FAMILY, req->family);
	memcpy(out + NET_HASH, req->hash, VSF_HASH_MAX_LEN);
	return 0;
}

int vsf_net_req_decode(const uint8_t *buf, size_t len,
		       struct vsf_net_req *req)
{
	int r = exact_size(len, VSF_NET_REQ_SIZE);

	if (r < 0)
		return r;
	if (vsf_hash_len(buf[NET_HASHTYPE]) < 0)
		return -EPROTONOSUPPORT;
	r = op_on_wire(buf[NET_OP]);
	if (r < 0)
		return r;
	if (buf[NET_ADDRLEN] > VSF_NET_ADDR_LEN)
		return -EINVAL;
	r = name_decode(req->domain, buf + NET_DOMAIN);
	if (r < 0)
		return r;
	req->op = buf[NET_OP];
	req->hashtype = buf[NET_HASHTYPE];
	req->addrlen = buf[NET_ADDRLEN];
	req->flags = buf[NET_FLAGS];
	memcpy(req->address, buf + NET_ADDRESS, VSF_NET_ADDR_LEN);
	req->port = vsf_get_le16(buf + NET_PORT);
	memcpy(req->random, buf + NET_RANDOM, VSF_NET_RANDOM_LEN);
	req->seqno = vsf_get_le32(buf + NET_SEQNO);
	req->family = vsf_get_le32(buf + NET_FAMILY);
	memcpy(req->hash, buf + NET_HASH, VSF_HASH_MAX_LEN);
	return 0;
}

int vsf_serial_req_encode(const struct vsf_serial_req *req,
			  uint8_t out[VSF_SERIAL_REQ_SIZE])
{
	if (!memchr(req->domain, '\0', VSF_DOMAIN_LEN))
		return -EINVAL;
	vsf_put_le32(out + SER_MAGIC, VSF_SERIAL_MAGIC);
	out[SER_OP] = req->op;
	out[SER_FLAGS] = req->flags;
	memcpy(out + SER_DOMAIN, req->domain, VSF_DOMAIN_LEN);
	vsf_put_le32(out + SER_SEQNO, req->seqno);
	return 0;
}

int vsf_serial_req_decode(const uint8_t *buf, size_t len,
			  struct vsf_serial_req *req)
{
	int r = exact_size(len, VSF_SERIAL_REQ_SIZE);

	if (r < 0)
		return r;
	if (vsf_get_le32(buf + SER_MAGIC) != VSF_SERIAL_MAGIC)
		return -EPROTO;
	r = op_on_wire(buf[SER_OP]);
	if (r < 0)
		return r;
	r = name_decode(req->domain, buf + SER_DOMAIN);
	if (r < 0)
		return r;
	req->op = buf[SER_OP];
	req->flags = buf[SER_FLAGS];
	req->seqno = vsf_get_le32(buf + SER_SEQNO);
	return 0;
}

void vsf_serial_resp_encode(uint8_t result, uint8_t out[VSF_SERIAL_RESP_SIZE])
{
	vsf_put_le32(out, VSF_SERIAL_MAGIC);
	out[4] = result;
}

int vsf_serial_resp_decode(const uint8_t *buf, size_t len, uint8_t *result)
{
	int r = exact_size(len, VSF_SERIAL_RESP_SIZE);

	if (r < 0)
		return r;
	if (vsf_get_le32(buf) != VSF_SERIAL_MAGIC)
		return -EPROTO;
	*result = buf[4];
	return 0;
}

int vsf_host_record_encode(const struct vsf_host_record *rec,
			   uint8_t out[VSF_HOST_RECORD_SIZE])
{
	if (!memchr(rec->name, '\0', VSF_DOMAIN_LEN) ||
	    !memchr(rec->uuid, '\0', VSF_DOMAIN_LEN))
		return -EINVAL;
	memset(out, 0, VSF_HOST_RECORD_SIZE);
	memcpy(out, rec->name, strlen(rec->name));
	memcpy(out + VSF_DOMAIN_LEN, rec->uuid, strlen(rec->uuid));
	out[2 * VSF_DOMAIN_LEN] = rec->state;
	return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Take at most 63 bytes of a record string; byte 63 may be stack garbage. */
static void record_string(char dst[VSF_DOMAIN_LEN], const uint8_t *src)
{
	size_t n = strnlen((const char *)src, VSF_DOMAIN_LEN - 1);

	memcpy(dst, src, n);
	memset(dst + n, 0, VSF_DOMAIN_LEN - n);
}

int vsf_host_record_decode(const uint8_t *buf, size_t len,
			   struct vsf_host_record *rec)
{
	int r = exact_size(len, VSF_HOST_RECORD_SIZE);

	if (r < 0)
		return r;
	memset(rec, 0, sizeof(*rec));
	/*
	 * The terminator is all zero in the fields the stock daemon fills;
	 * bytes 63, 127 and the pad may carry garbage, so they are skipped.
	 */
	if (all_zero(buf, VSF_DOMAIN_LEN - 1) &&
	    all_zero(buf + VSF_DOMAIN_LEN, VSF_DOMAIN_LEN - 1) &&
	    buf[2 * VSF_DOMAIN_LEN] == 0)
		return 1;
	if (buf[0] == 0)
		return -EINVAL;
	record_string(rec->name, buf);
	record_string(rec->uuid, buf + VSF_DOMAIN_LEN);
	rec->state = buf[2 * VSF_DOMAIN_LEN];
	return 0;
}
