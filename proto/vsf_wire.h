/*
 * vsf_wire.h - fence-virt's v1 wire formats, byte for byte.
 *
 * Layouts follow the stock fence_virt / fence_virtd 4.12.1 programs, which
 * are the ground truth (docs/protocol.md, section "v1").  All multi-byte
 * integers are little-endian on the wire.  Structures here are decoded
 * copies, never overlays of the wire bytes, so they have no packing rules.
 *
 * Decoders take (buf, len), never read past len and return 0 or one of the
 * negative errors below.  Each kind of bad input has its own error so that
 * logs and tests can tell them apart:
 *
 *   -ENODATA          truncated: fewer bytes than the frame needs
 *   -EMSGSIZE         oversized: more bytes than the frame allows
 *   -EPROTO           bad magic
 *   -EPROTONOSUPPORT  unknown hash type
 *   -EBADRQC          unknown or client-local op code
 *   -ENAMETOOLONG     a name field with no NUL terminator
 *   -EINVAL           any other field out of range (e.g. addrlen)
 *
 * Encoders write exactly the frame size into a caller buffer of at least
 * that size and cannot fail except on invalid arguments (-EINVAL).
 */
#ifndef VSF_WIRE_H
#define VSF_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "vsf_hash.h"

/* Operation codes as fence_virt sends them. */
enum vsf_op {
	VSF_OP_NULL = 0,
	VSF_OP_OFF = 1,
	VSF_OP_REBOOT = 2,
	VSF_OP_ON = 3,
	VSF_OP_STATUS = 4,
	VSF_OP_DEVSTATUS = 5,	/* "monitor" */
	VSF_OP_HOSTLIST = 6,	/* "list", "list-status" */
	VSF_OP_METADATA = 7,	/* client-local, never on the wire */
	VSF_OP_VALIDATEALL = 8,	/* client-local, never on the wire */
};
#define VSF_OP_WIRE_MAX VSF_OP_HOSTLIST

/* One-byte v1 results. */
enum vsf_result {
	VSF_RESULT_SUCCESS = 0,	/* for STATUS: the domain is on */
	VSF_RESULT_FAIL = 1,
	VSF_RESULT_OFF = 2,	/* STATUS only */
	VSF_RESULT_DENIED = 3,
	VSF_RESULT_HOSTLIST = 0xfd,	/* host list records follow */
};

#define VSF_DOMAIN_LEN 64	/* name field; the string is at most 63 bytes */
#define VSF_NET_ADDR_LEN 28
#define VSF_NET_RANDOM_LEN 6
#define VSF_CHALLENGE_LEN 64

#define VSF_NET_REQ_SIZE 176
#define VSF_SERIAL_REQ_SIZE 74
#define VSF_SERIAL_RESP_SIZE 5
#define VSF_HOST_RECORD_SIZE 130

#define VSF_SERIAL_MAGIC 0x61626261u	/* "abba" in either byte order */
#define VSF_REQ_FLAG_UUID 0x01		/* fence_xvm -u; informational only */

/* Network request (multicast, tcp, vsock). */
struct vsf_net_req {
	uint8_t op;
	uint8_t hashtype;
	uint8_t addrlen;
	uint8_t flags;
	char domain[VSF_DOMAIN_LEN];	/* always NUL-terminated once decoded */
	uint8_t address[VSF_NET_ADDR_LEN];
	uint16_t port;
	uint8_t random[VSF_NET_RANDOM_LEN];
	uint32_t seqno;
	uint32_t family;
	uint8_t hash[VSF_HASH_MAX_LEN];
};

/* Serial / vmchannel request. */
struct vsf_serial_req {
	uint8_t op;
	uint8_t flags;
	char domain[VSF_DOMAIN_LEN];
	uint32_t seqno;
};

/* One host list record: strings are at most 63 bytes (see decoder). */
struct vsf_host_record {
	char name[VSF_DOMAIN_LEN];
	char uuid[VSF_DOMAIN_LEN];
	uint8_t state;	/* libvirt virDomainState: 1 running, 5 shut off */
};

/* "off", "reboot", ... ; NULL for an unknown op. */
const char *vsf_op_name(int op);
/* Parse an action name as fence_virt does ("monitor" = DEVSTATUS, "list" and
 * "list-status" = HOSTLIST).  -EBADRQC if unknown. */
int vsf_op_from_name(const char *name);
/* True for ops that carry a target domain. */
int vsf_op_needs_domain(int op);

/* Human-readable text for a decoder error (never NULL). */
const char *vsf_wire_strerror(int err);

/* Copy @name into a NUL-padded domain field; -ENAMETOOLONG if >= 64 bytes. */
int vsf_domain_set(char dst[VSF_DOMAIN_LEN], const char *name);

int vsf_net_req_encode(const struct vsf_net_req *req,
		       uint8_t out[VSF_NET_REQ_SIZE]);
/* Accepts exactly VSF_NET_REQ_SIZE bytes. */
int vsf_net_req_decode(const uint8_t *buf, size_t len,
		       struct vsf_net_req *req);

int vsf_serial_req_encode(const struct vsf_serial_req *req,
			  uint8_t out[VSF_SERIAL_REQ_SIZE]);
/* Accepts exactly VSF_SERIAL_REQ_SIZE bytes starting with the magic. */
int vsf_serial_req_decode(const uint8_t *buf, size_t len,
			  struct vsf_serial_req *req);

void vsf_serial_resp_encode(uint8_t result, uint8_t out[VSF_SERIAL_RESP_SIZE]);
/* Accepts exactly VSF_SERIAL_RESP_SIZE bytes starting with the magic. */
int vsf_serial_resp_decode(const uint8_t *buf, size_t len, uint8_t *result);

/* An all-zero @rec (name[0] == 0) encodes the list terminator. */
int vsf_host_record_encode(const struct vsf_host_record *rec,
			   uint8_t out[VSF_HOST_RECORD_SIZE]);
/*
 * Returns 1 for the all-zero terminator, 0 for a record.  Byte 63 of each
 * string and the pad byte are ignored: the stock daemon leaves stack bytes
 * there.  A record whose name is empty but is not all zero is -EINVAL.
 */
int vsf_host_record_decode(const uint8_t *buf, size_t len,
			   struct vsf_host_record *rec);

/* Little-endian helpers shared by the v1 and v2 codecs. */
static inline void vsf_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void vsf_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t vsf_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t vsf_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

#endif /* VSF_WIRE_H */
