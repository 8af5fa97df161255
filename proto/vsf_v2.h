/*
 * vsf_v2.h - protocol v2: authenticated, replay-proof fencing over a byte
 * stream (virtio-serial port, unix socket), next to fence-virt's v1.
 *
 * docs/protocol.md explains the design and the reasons for it; this header
 * is the contract for code.  Everything here is pure: no I/O, no logging,
 * no allocation.  The only system call is getrandom() for nonces.
 *
 * Frame (all integers little-endian):
 *
 *   off size
 *   0   4    magic "VSF2" (56 53 46 32)
 *   4   1    0   a stock fence_virtd reads byte 4 as its op: 0 = NULL
 *   5   1    version = 2
 *   6   1    0   stock reads its domain name from byte 6: empty
 *   7   1    type (enum vsf_v2_type)
 *   8   2    payload length n, <= VSF_V2_MAX_PAYLOAD
 *   10  2    reserved, 0
 *   12  n    payload
 *   12+n 32  HMAC-SHA-256(key, bytes [0, 12+n))   every type but HELLO;
 *            all zero in ERROR, which is unauthenticated
 *
 * Exchange:  HELLO -> CHALLENGE -> REQUEST -> HOSTREC* -> RESULT
 * A HELLO answered by a v1 "abba" response means a stock daemon (fall back
 * to v1); any other failure may be answered with ERROR.
 *
 * Error returns of the decoders and the stream reader, one per kind:
 *
 *   -ENODATA          truncated: fewer bytes than the frame needs
 *   -EMSGSIZE         oversized: more bytes than the frame holds, or a
 *                     length field beyond VSF_V2_MAX_PAYLOAD
 *   -EPROTO           bad magic
 *   -EPROTONOSUPPORT  version other than 2
 *   -EBADRQC          unknown frame type, wrong type for this decoder,
 *                     or unknown op code in a REQUEST
 *   -ENAMETOOLONG     a name or uuid length reaching past the payload, or
 *                     longer than the field allows (encoders)
 *   -EINVAL           any other field out of range: nonzero byte 4, 6 or
 *                     10..11, HELLO padding or salt wrong, a HELLO length
 *                     field other than 62, empty name where one is
 *                     required, NUL inside a name, nonzero ERROR MAC field
 *   -EBADMSG          MAC mismatch (wrong key or tampered bytes)
 *   -ENOKEY           no key given for a MAC'd type
 *   -ENOBUFS          (encoders) output buffer too small
 *
 * Decoders check the header and total length first, then the MAC, and only
 * then look inside the payload, so bytes from a peer without the key never
 * reach the field parsers.  Decoded strings are NUL-terminated.
 */
#ifndef VSF_V2_H
#define VSF_V2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsf_frame.h"
#include "vsf_hash.h"
#include "vsf_wire.h"

#define VSF_V2_MAGIC 0x32465356u	/* bytes "VSF2" read little-endian */
#define VSF_V2_VERSION 2
#define VSF_V2_HDR_SIZE 12
#define VSF_V2_MAC_SIZE VSF_HMAC_SHA256_LEN	/* 32 */
#define VSF_V2_MAX_PAYLOAD 512
#define VSF_V2_MAX_FRAME (VSF_V2_HDR_SIZE + VSF_V2_MAX_PAYLOAD + VSF_V2_MAC_SIZE)
#define VSF_V2_NONCE_LEN 16
#define VSF_V2_NAME_MAX 255	/* REQUEST target and HOSTREC name */
#define VSF_V2_UUID_MAX 63	/* HOSTREC uuid string */

/* HELLO is exactly one stock serial request long, so a stock daemon that
 * reads 74-byte requests consumes it whole and nothing more. */
#define VSF_V2_HELLO_SIZE VSF_SERIAL_REQ_SIZE	/* 74 */
#define VSF_V2_HELLO_PAYLOAD (VSF_V2_HELLO_SIZE - VSF_V2_HDR_SIZE)	/* 62 */

/* How long an issued server nonce may be answered. */
#define VSF_V2_NONCE_TTL_MS 30000

enum vsf_v2_type {
	VSF_V2_TYPE_HELLO = 1,		/* c->s, no MAC */
	VSF_V2_TYPE_CHALLENGE = 2,	/* s->c */
	VSF_V2_TYPE_REQUEST = 3,	/* c->s */
	VSF_V2_TYPE_RESULT = 4,		/* s->c, last frame of an exchange */
	VSF_V2_TYPE_HOSTREC = 5,	/* s->c, before RESULT of a HOSTLIST */
	VSF_V2_TYPE_ERROR = 6,		/* s->c, MAC field all zero */
};
#define VSF_V2_TYPE_MAX VSF_V2_TYPE_ERROR

/* Result codes carried by RESULT and ERROR. */
enum vsf_v2_result {
	VSF_V2_RESULT_OK = 0,		/* for STATUS: the domain is on */
	VSF_V2_RESULT_FAIL = 1,
	VSF_V2_RESULT_OFF = 2,		/* STATUS only */
	VSF_V2_RESULT_DENIED = 3,
	VSF_V2_RESULT_NOT_FOUND = 4,
	VSF_V2_RESULT_TIMED_OUT = 5,
	VSF_V2_RESULT_IN_PROGRESS = 6,	/* a retry arrived while still running */
	VSF_V2_RESULT_BAD_AUTH = 7,
	VSF_V2_RESULT_UNSUPPORTED = 8,
	VSF_V2_RESULT_BAD_FRAME = 9,
	VSF_V2_RESULT_REPLAY = 10,	/* nonce unknown, used or expired */
};
#define VSF_V2_RESULT_MAX VSF_V2_RESULT_REPLAY

/* Decoded payloads.  Field meanings: docs/protocol.md, "v2 frame types". */
struct vsf_v2_hello {
	uint8_t client_nonce[VSF_V2_NONCE_LEN];
	uint32_t request_id;	/* kept across retries of one operation */
	uint8_t flags;		/* none defined; sent 0, unknown bits ignored */
};

struct vsf_v2_challenge {
	uint32_t request_id;
	uint8_t client_nonce[VSF_V2_NONCE_LEN];	/* echoed from HELLO */
	uint8_t server_nonce[VSF_V2_NONCE_LEN];	/* fresh, single use */
};

struct vsf_v2_request {
	uint32_t request_id;
	uint8_t op;		/* enum vsf_op, NULL..HOSTLIST */
	uint8_t flags;		/* none defined; sent 0, unknown bits ignored */
	uint8_t server_nonce[VSF_V2_NONCE_LEN];
	uint8_t client_nonce[VSF_V2_NONCE_LEN];
	char name[VSF_V2_NAME_MAX + 1];	/* target; "" only for ops without one */
};

struct vsf_v2_result_msg {
	uint32_t request_id;
	uint8_t code;		/* enum vsf_v2_result; unknown codes pass */
	uint8_t client_nonce[VSF_V2_NONCE_LEN];
	uint32_t count;		/* HOSTREC frames sent before this one */
};

struct vsf_v2_hostrec {
	uint32_t request_id;
	uint32_t index;		/* 0, 1, 2, ... in sending order */
	uint8_t state;		/* libvirt virDomainState: 1 running, 5 off */
	uint8_t client_nonce[VSF_V2_NONCE_LEN];
	char name[VSF_V2_NAME_MAX + 1];	/* not empty */
	char uuid[VSF_V2_UUID_MAX + 1];	/* may be empty */
};

struct vsf_v2_error {
	uint32_t request_id;	/* 0 if the server could not parse one */
	uint8_t code;
};

/* --- Frame level --------------------------------------------------------- */

/*
 * Given at least VSF_V2_HDR_SIZE bytes of a frame start, the total frame
 * size (header + payload + MAC if any), or a negative error from the header
 * alone: -ENODATA if @len < 12, -EPROTO, -EPROTONOSUPPORT, -EBADRQC,
 * -EINVAL (nonzero byte 4, 6 or 10..11, or a HELLO whose length is not 62),
 * -EMSGSIZE (payload length > VSF_V2_MAX_PAYLOAD).  Stream readers call it
 * once 12 bytes are buffered and then wait for that many.
 */
int vsf_v2_frame_len(const uint8_t *buf, size_t len);

/* MAC over the first @body_len bytes (header + payload) of a frame. */
int vsf_v2_mac(const void *key, size_t keylen, const uint8_t *frame,
	       size_t body_len, uint8_t mac[VSF_V2_MAC_SIZE]);

/* Write the MAC of a whole frame of @frame_len bytes into its last 32. */
int vsf_v2_seal(const void *key, size_t keylen, uint8_t *frame,
		size_t frame_len);

/* Check the MAC of a whole frame in constant time: 0 or -EBADMSG. */
int vsf_v2_verify(const void *key, size_t keylen, const uint8_t *frame,
		  size_t frame_len);

/* --- Per-type codecs ----------------------------------------------------- */

/*
 * Encoders write one whole frame into @out (MAC included) and return its
 * length, or -ENOBUFS, -ENAMETOOLONG, -EINVAL, -EBADRQC, -ENOKEY.
 * Decoders take exactly one whole frame (@len must equal its size) and
 * return 0 or an error listed at the top of this file.  MAC'd types need
 * a non-empty key.
 */
int vsf_v2_hello_encode(const struct vsf_v2_hello *m, uint8_t *out,
			size_t outlen);
int vsf_v2_hello_decode(const uint8_t *buf, size_t len,
			struct vsf_v2_hello *m);

int vsf_v2_challenge_encode(const struct vsf_v2_challenge *m,
			    const void *key, size_t keylen, uint8_t *out,
			    size_t outlen);
int vsf_v2_challenge_decode(const uint8_t *buf, size_t len, const void *key,
			    size_t keylen, struct vsf_v2_challenge *m);

/* An empty name is allowed only for ops without a target (NULL,
 * DEVSTATUS, HOSTLIST). */
int vsf_v2_request_encode(const struct vsf_v2_request *m, const void *key,
			  size_t keylen, uint8_t *out, size_t outlen);
int vsf_v2_request_decode(const uint8_t *buf, size_t len, const void *key,
			  size_t keylen, struct vsf_v2_request *m);

int vsf_v2_result_encode(const struct vsf_v2_result_msg *m, const void *key,
			 size_t keylen, uint8_t *out, size_t outlen);
int vsf_v2_result_decode(const uint8_t *buf, size_t len, const void *key,
			 size_t keylen, struct vsf_v2_result_msg *m);

int vsf_v2_hostrec_encode(const struct vsf_v2_hostrec *m, const void *key,
			  size_t keylen, uint8_t *out, size_t outlen);
int vsf_v2_hostrec_decode(const uint8_t *buf, size_t len, const void *key,
			  size_t keylen, struct vsf_v2_hostrec *m);

/* ERROR carries no MAC (the field is zero; a nonzero field is -EINVAL).
 * A client may show its code but must not act on it. */
int vsf_v2_error_encode(const struct vsf_v2_error *m, uint8_t *out,
			size_t outlen);
int vsf_v2_error_decode(const uint8_t *buf, size_t len,
			struct vsf_v2_error *m);

/* --- Stream reading: v1 and v2 on one channel ---------------------------- */

/* Which v1 frame the reader expects besides v2 frames. */
enum vsf_v2_v1_kind {
	VSF_V2_V1_SERIAL_REQ = 1,	/* the host reading a guest: 74 bytes */
	VSF_V2_V1_SERIAL_RESP = 2,	/* the guest reading a host: 5 bytes */
};

/* One frame out of the stream.  Only the members of @version are set. */
struct vsf_v2_any {
	int version;			/* 1 or 2 */
	struct vsf_serial_req v1_req;	/* v1, VSF_V2_V1_SERIAL_REQ */
	uint8_t v1_result;		/* v1, VSF_V2_V1_SERIAL_RESP */
	uint8_t type;			/* v2: enum vsf_v2_type */
	size_t len;			/* v2: bytes in @frame */
	uint8_t frame[VSF_V2_MAX_FRAME];	/* v2: header-checked, raw;
						 * decode with the type's
						 * decoder (checks the MAC) */
};

/*
 * Pull the next v1 or v2 frame, skipping bytes until "abba" or "VSF2"
 * (counted in r->skipped).  Returns 1 with @out filled, 0 if more bytes are
 * needed, or a negative error for a frame whose magic matched but whose
 * header (v2) or body (v1) did not decode; only the 4 magic bytes are then
 * consumed, so the next call resynchronises past them.  Host list records
 * of v1 carry no magic: after a v1 result of VSF_RESULT_HOSTLIST read them
 * with vsf_frame_next_host_record().
 */
int vsf_v2_next_frame(struct vsf_frame_reader *r, int v1_kind,
		      struct vsf_v2_any *out);

/* --- Server session (one per channel; no I/O) ---------------------------- */

/*
 * The single outstanding challenge of one channel.  Issuing a new one
 * replaces the old (a client that retries sends a fresh HELLO).  Times are
 * caller-supplied milliseconds of a monotonic clock.
 */
struct vsf_v2_server_chan {
	bool pending;		/* issued and not yet used or expired */
	uint32_t request_id;
	uint8_t client_nonce[VSF_V2_NONCE_LEN];
	uint8_t server_nonce[VSF_V2_NONCE_LEN];
	uint64_t issued_ms;
};

void vsf_v2_server_chan_init(struct vsf_v2_server_chan *ch);

/* Draw a fresh server nonce for @hello, remember it, and encode the
 * CHALLENGE into @out.  Returns the frame length or a negative error. */
int vsf_v2_server_issue_challenge(struct vsf_v2_server_chan *ch,
				  const struct vsf_v2_hello *hello,
				  uint64_t now_ms, const void *key,
				  size_t keylen, uint8_t *out, size_t outlen);

/*
 * Accept a decoded (so MAC-checked) REQUEST only if it answers the pending
 * challenge.  0 = accepted, and the nonce is now used up;
 *   -EALREADY  no challenge pending or a different server nonce: a replay
 *              of a captured request, or a second use of this one
 *   -ESTALE    the nonce is older than VSF_V2_NONCE_TTL_MS (now used up)
 *   -EPROTO    right nonce but other request_id or client nonce
 */
int vsf_v2_server_check_request(struct vsf_v2_server_chan *ch,
				const struct vsf_v2_request *req,
				uint64_t now_ms);

/* --- Client session (one per exchange attempt; no I/O) ------------------- */

struct vsf_v2_client {
	uint32_t request_id;
	uint8_t client_nonce[VSF_V2_NONCE_LEN];
	uint8_t server_nonce[VSF_V2_NONCE_LEN];
	bool challenged;	/* a matching CHALLENGE was taken */
	uint32_t records;	/* HOSTREC frames accepted so far */
};

/* Start an attempt: fresh client nonce, HELLO into @out (returns 74).
 * A retry of the same operation passes the same @request_id. */
int vsf_v2_client_hello(struct vsf_v2_client *c, uint32_t request_id,
			uint8_t *out, size_t outlen);

/* Frames that do not carry this attempt's request_id and client nonce
 * belong to an earlier attempt: -ESTALE, read on.  -EPROTO: a record out
 * of order, a RESULT whose count differs from the records seen, or a
 * frame arriving before its CHALLENGE. */
int vsf_v2_client_take_challenge(struct vsf_v2_client *c,
				 const struct vsf_v2_challenge *m);
int vsf_v2_client_check_hostrec(struct vsf_v2_client *c,
				const struct vsf_v2_hostrec *m);
int vsf_v2_client_check_result(const struct vsf_v2_client *c,
			       const struct vsf_v2_result_msg *m);

/* REQUEST for @op on @name (NULL or "" for ops without a target) bound to
 * the taken challenge; -EINVAL if none was taken. */
int vsf_v2_client_request(const struct vsf_v2_client *c, uint8_t op,
			  const char *name, const void *key, size_t keylen,
			  uint8_t *out, size_t outlen);

/* --- Result codes -------------------------------------------------------- */

/*
 * The one bridge from internal errors to v2 result codes:
 *   0 OK, -EHOSTDOWN OFF (status: domain is off), -EACCES DENIED,
 *   -ENOENT NOT_FOUND, -ETIMEDOUT TIMED_OUT, -EINPROGRESS IN_PROGRESS,
 *   -EBADMSG/-ENOKEY/-EKEYREJECTED BAD_AUTH,
 *   -EOPNOTSUPP/-EBADRQC/-EPROTONOSUPPORT UNSUPPORTED,
 *   -EPROTO/-ENODATA/-EMSGSIZE/-ENAMETOOLONG/-EINVAL BAD_FRAME,
 *   -EALREADY/-ESTALE REPLAY; anything else FAIL.
 */
int vsf_v2_result_from_errno(int err);

/* Text for any error returned by this module (never NULL). */
const char *vsf_v2_strerror(int err);

/* "ok", "fail", "off", ... ; "unknown" for codes beyond the table. */
const char *vsf_v2_result_name(int code);

/*
 * The v1 one-byte result a v1 listener sends for @code in answer to @op,
 * matching what the stock daemon with the libvirt backend says: OK 0,
 * OFF 2, DENIED 3, NOT_FOUND 2 for STATUS (stock: unknown domain = off)
 * and 1 otherwise, everything else 1.
 */
uint8_t vsf_v2_result_to_v1(int code, int op);

#endif /* VSF_V2_H */
