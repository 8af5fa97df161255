/*
 * net.h - fence_virt's tcp (-T) and vsock (-S) exchange, for mixed sites.
 *
 * On one stream connection:
 *   1. we send the 176-byte request, signed as H(key || request) with
 *      @hash (proto/vsf_auth.h);
 *   2. we challenge the host (64 random bytes) and check its answer: a
 *      wrong answer means the host holds another key (-EBADMSG);
 *   3. the host challenges us and we answer;
 *   4. the host sends one result byte, or 0xFD, host records, an all-zero
 *      record and a final byte.
 * With auth "none" steps 2-3 are skipped; with hash "none" the request is
 * unsigned.  Both settings must match the host's (nothing is negotiated).
 *
 * Errors: -ETIMEDOUT (deadline), -ECONNREFUSED (nobody listens),
 * -EBADMSG (the host's challenge answer is wrong: different key),
 * -ECONNRESET (the host hung up during the handshake: it rejected our
 * signature, hash strength or answer), -EPROTO (malformed host records),
 * or a system call's errno.  Nothing here prints.
 */
#ifndef AGENT_NET_H
#define AGENT_NET_H

#include <stddef.h>
#include <stdint.h>

#include "channel.h"

struct agent_net_cfg {
	int vsock;		/* 0: tcp to @host; 1: vsock to @cid */
	const char *host;	/* tcp: IPv4/IPv6 literal or name */
	unsigned int cid;
	unsigned int port;
	int auth;		/* enum vsf_hash_type of the challenges */
	int hash;		/* enum vsf_hash_type of the request */
	int64_t deadline;
};

/* Connected, non-blocking stream socket, or a negative errno. */
int agent_net_connect(const struct agent_net_cfg *cfg);

/*
 * Run the exchange for @call (op, domain, request_id as seqno, key,
 * on_host, log) on the connected @fd; sets call->code (v1 result byte) and
 * call->version = 1.
 */
int agent_net_call(int fd, const struct agent_net_cfg *cfg,
		   struct agent_call *call);

#endif /* AGENT_NET_H */
