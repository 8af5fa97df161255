/*
 * channel.h - one fence request over a byte stream to the host daemon.
 *
 * Speaks protocol v2 (proto/vsf_v2.h) when it can and fence-virt's v1
 * serial framing (proto/vsf_wire.h) when the host is a stock fence_virtd:
 *
 *   AUTO: send HELLO (74 bytes, which a stock daemon reads as a v1 NULL
 *         request).  A "VSF2" CHALLENGE continues in v2.  An "abba" reply
 *         means a stock daemon: fall back to v1.  Silence for
 *         AGENT_HELLO_WINDOW_MS also falls back to v1, because a stock
 *         daemon silently drops a HELLO that follows another HELLO within
 *         10 s.  A stock daemon that was merely busy answers the HELLO
 *         late, with 1, just before our answer: after such a fallback a
 *         first reply of 1 is followed by a wait for a second one.
 *   V2:   HELLO, CHALLENGE, REQUEST, HOSTREC*, RESULT; never falls back.
 *   V1:   one 74-byte request, one 5-byte reply (+ host list records).
 *
 * Silence is answered by asking again with the SAME request id: after
 * AGENT_RESEND_MS without a frame of ours, v1 sends its 74 bytes again and
 * v2 starts over with a new HELLO (new nonces).  A request in flight while
 * the guest live-migrates was executed by the old host, whose answer left
 * with the old channel; the resend reaches the new host's daemon.  Our
 * daemon answers a resend from its history (by request id).  A stock
 * fence_virtd drops a repeat that arrives less than 10 s after it handled
 * the request, repeats queued behind a busy daemon included (verified,
 * tests/agent/resend_test.sh), and runs an older one again; that needs an
 * answer lost on the same host, which a migration does not cause (the
 * resend goes to the new host).  Stock fence_virt never resends.  No
 * resend once a host list is arriving (its records would be printed
 * twice): then only the deadline ends the call.
 *
 * Replies are found by scanning for the magic, so garbage or stale bytes
 * ahead of them are skipped.  In v2 a frame carrying another request id
 * or client nonce (a late answer to an earlier attempt) is ignored, and
 * every frame but ERROR is MAC-checked with the key before it is used.
 * v1 replies carry no id: stale bytes are drained before sending (the
 * caller's agent_port_drain) and that is all v1 allows.
 *
 * Nothing here prints: progress goes to c->log (may be NULL), host list
 * entries to c->on_host.
 */
#ifndef AGENT_CHANNEL_H
#define AGENT_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

#define AGENT_HELLO_WINDOW_MS 2000
#define AGENT_IN_PROGRESS_RETRY_MS 500
/* Silence after which a request is sent again (same id); see above. */
#define AGENT_RESEND_MS 5000

typedef void (*agent_log_fn)(void *ctx, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One host list entry; @uuid may be "".  state: libvirt virDomainState. */
typedef void (*agent_host_fn)(void *ctx, const char *name, const char *uuid,
			      int state);

struct agent_call {
	/* in */
	int op;			/* enum vsf_op, NULL..HOSTLIST */
	const char *domain;	/* "" for ops without a target */
	uint32_t request_id;	/* kept across retries of this operation */
	int proto;		/* enum agent_proto */
	const void *key;	/* v2 MAC key (NULL: v2 impossible) */
	unsigned int hello_window_ms;	/* 0 = AGENT_HELLO_WINDOW_MS */
	unsigned int resend_ms;		/* 0 = AGENT_RESEND_MS */
	size_t keylen;
	agent_log_fn log;
	void *log_ctx;
	agent_host_fn on_host;
	void *host_ctx;
	/* out */
	int version;		/* protocol the answer came in: 1 or 2 */
	int code;		/* v1: result byte; v2: enum vsf_v2_result */
	unsigned int hosts;	/* host list entries delivered */
	unsigned int stale;	/* v2 frames ignored as not ours */
	unsigned int bad;	/* frames that failed to decode */
	int fell_back;		/* AUTO went to v1 */
	unsigned int retries;	/* v2 IN_PROGRESS answers asked again */
	unsigned int resends;	/* requests sent again after silence */
	int hello_unanswered;	/* fell back on silence: a late "abba" 1
				 * for the HELLO may still come first */
};

/*
 * Run the exchange on @s (whose fd is open and drained).  A v2 answer of
 * IN_PROGRESS is asked again every AGENT_IN_PROGRESS_RETRY_MS with the same
 * request id (the host answers a retry from its cache, never acting
 * twice) while the deadline allows; so is silence, after AGENT_RESEND_MS
 * (call->resends counts those).  0 with call->version and call->code
 * set, or:
 *   -ETIMEDOUT      no complete answer before the deadline
 *   -ENOTCONN       the host side went away (retry on a fresh open with
 *                   the same request_id)
 *   -EBADMSG        v2: a frame with our ids failed its MAC (wrong key)
 *   -EPROTONOSUPPORT V2 forced but the host answered in v1
 *   -ENOKEY         V2 forced without a key
 *   -EREMOTEIO   v2 ERROR frame from the host; call->code holds its
 *                   (unauthenticated) code
 *   -EPROTO         the host broke the protocol (records out of order)
 */
int agent_chan_call(struct agent_stream *s, struct agent_call *call);

/* The v1 exchange alone (also used by AUTO after fallback). */
int agent_chan_call_v1(struct agent_stream *s, struct agent_call *call);

/* The v2 exchange alone; *saw_v1 set if an "abba" reply came instead. */
int agent_chan_call_v2(struct agent_stream *s, struct agent_call *call,
		       int64_t hello_until, int *saw_v1);

#endif /* AGENT_CHANNEL_H */
