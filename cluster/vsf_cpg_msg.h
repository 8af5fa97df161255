/*
 * vsf_cpg_msg.h - the messages fenced-host daemons exchange over corosync
 * CPG (group VSF_CPG_GROUP), version 1.  docs/cluster.md describes the
 * layout byte by byte; this header is the contract for code.
 *
 * Every message is little-endian and starts with a 12-byte header:
 *
 *	0  magic   "VSFC"
 *	4  version u8  (VSF_CPG_VERSION)
 *	5  type    u8  (enum vsf_cpg_type)
 *	6  flags   u16 (SYNC: FIRST/LAST; every other type: 0)
 *	8  length  u32 body bytes after the header (== message length - 12)
 *
 * The bytes come from the network: vsf_cpg_msg_decode() checks every
 * length, count, enum and string before it fills anything the caller uses,
 * and gives each kind of rejection its own error.  A decoded message is
 * self-contained (no pointers into the input buffer).
 *
 * The sender's node id is NOT in the message: CPG reports it with the
 * delivery, and only that value is trusted.
 *
 * No I/O, no logging, no allocation.
 */
#ifndef VSF_CPG_MSG_H
#define VSF_CPG_MSG_H

#include <stddef.h>
#include <stdint.h>

#define VSF_CPG_GROUP "vserial-fence-1"	/* the CPG group name */
#define VSF_CPG_MAGIC "VSFC"
#define VSF_CPG_VERSION 1
#define VSF_CPG_HDR_SIZE 12
#define VSF_CPG_NAME_MAX 63	/* domain name / request target, bytes */
#define VSF_CPG_UUID_LEN 16	/* binary UUID */
#define VSF_CPG_SYNC_MAX 128	/* entries in one SYNC message */
#define VSF_CPG_ENTRY_FIXED 24	/* entry bytes before the name */
#define VSF_CPG_MSG_MAX \
	(VSF_CPG_HDR_SIZE + 4 + \
	 VSF_CPG_SYNC_MAX * (VSF_CPG_ENTRY_FIXED + VSF_CPG_NAME_MAX))

enum vsf_cpg_type {
	VSF_CPG_STATE = 1,	/* one of the sender's domains changed */
	VSF_CPG_SYNC = 2,	/* the sender's whole map, in chunks */
	VSF_CPG_REQUEST = 3,	/* please act on / report a domain */
	VSF_CPG_REPLY = 4,	/* one member's answer to one REQUEST */
};

enum {
	VSF_CPG_SYNC_FIRST = 1,	/* receiver drops what the sender said before */
	VSF_CPG_SYNC_LAST = 2,	/* the sender's map is complete */
};

/* A domain's state as its host sees it. */
enum vsf_cpg_dom_state {
	VSF_CPG_DOM_RUNNING = 1,	/* running or paused: it holds resources */
	VSF_CPG_DOM_OFF = 2,		/* defined (or just stopped), not running */
	VSF_CPG_DOM_GONE = 3,		/* undefined: forget it (STATE only) */
};

/* What the sender knows about the entry's owner (SYNC only). */
enum vsf_cpg_owner_status {
	VSF_CPG_OWNER_MEMBER = 0,	/* the owner speaks for itself */
	VSF_CPG_OWNER_LOST = 1,		/* left by NODEDOWN: crashed or cut off */
	VSF_CPG_OWNER_ABSENT = 2,	/* left cleanly: may still run guests */
};

/* One member's answer to a REQUEST. */
enum vsf_cpg_verdict {
	VSF_CPG_V_DONE = 1,	/* I run it and acted (STATUS: it runs) */
	VSF_CPG_V_FAILED = 2,	/* I run it and the action failed (err) */
	VSF_CPG_V_OFF = 3,	/* I know it and it is off as far as I know */
	VSF_CPG_V_UNKNOWN = 4,	/* I have never heard of it */
	VSF_CPG_V_BLOCKED = 5,	/* not here, but a departed host may run it */
};

struct vsf_cpg_entry {
	uint32_t owner;			/* node id of the host */
	uint8_t state;			/* enum vsf_cpg_dom_state */
	uint8_t owner_status;		/* enum vsf_cpg_owner_status */
	uint8_t uuid[VSF_CPG_UUID_LEN];
	char name[VSF_CPG_NAME_MAX + 1];	/* NUL-terminated, non-empty */
};

struct vsf_cpg_request {
	uint64_t id;			/* unique per requester incarnation */
	uint32_t timeout_ms;		/* how long the requester waits */
	uint8_t op;			/* VSF_OP_OFF/ON/REBOOT/STATUS */
	char target[VSF_CPG_NAME_MAX + 1];	/* name or UUID string */
};

struct vsf_cpg_reply {
	uint64_t id;			/* the REQUEST's id */
	uint32_t to_node;		/* the requester's node id */
	uint8_t verdict;		/* enum vsf_cpg_verdict */
	int32_t err;			/* FAILED: positive errno; else 0 */
};

struct vsf_cpg_msg {
	uint8_t type;			/* enum vsf_cpg_type */
	uint16_t flags;
	union {
		struct vsf_cpg_entry state;
		struct {
			uint16_t n;
			struct vsf_cpg_entry e[VSF_CPG_SYNC_MAX];
		} sync;
		struct vsf_cpg_request req;
		struct vsf_cpg_reply reply;
	} u;
};

/*
 * Decode @len bytes.  0 and *@out filled, or:
 *   -EPROTO            shorter than the header or than a field needs
 *   -EBADMSG           wrong magic
 *   -EPROTONOSUPPORT   another version (the whole group must agree)
 *   -EMSGSIZE          length field disagrees with @len, or over the max
 *   -ENOMSG            unknown type
 *   -EINVAL            a field out of range (flags, state, op, verdict...)
 *   -EILSEQ            a bad string (empty, too long, control characters)
 *   -E2BIG             SYNC entry count over VSF_CPG_SYNC_MAX
 *   -ENOTEMPTY         bytes left over after the last field
 */
int vsf_cpg_msg_decode(const void *buf, size_t len, struct vsf_cpg_msg *out);

/*
 * Encode @m into @buf (@cap bytes).  Returns the length, or -ENOBUFS if it
 * does not fit, or the decoder's error for a field it would reject (so we
 * never send what a peer must refuse).
 */
int vsf_cpg_msg_encode(const struct vsf_cpg_msg *m, void *buf, size_t cap);

/* Checks a name or target as the decoder does: 0 or -EILSEQ. */
int vsf_cpg_name_check(const char *s);

/* "xxxxxxxx-xxxx-..." (any case) -> 16 bytes: 0 or -EINVAL. */
int vsf_cpg_uuid_parse(const char *s, uint8_t out[VSF_CPG_UUID_LEN]);
/* 16 bytes -> 36 lower-case characters and a NUL. */
void vsf_cpg_uuid_format(const uint8_t uuid[VSF_CPG_UUID_LEN], char out[37]);

#endif /* VSF_CPG_MSG_H */
