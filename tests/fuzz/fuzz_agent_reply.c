/*
 * fuzz_agent_reply - the guest agent's reply handling (fence-agent/
 * channel.c + stream.c): whatever a host, or anything else on the port,
 * sends back to fence_vserial.
 *
 * Input: byte 0 picks the protocol (bits 0-1: auto, v1, v2) and the op
 * (bits 2-4), the rest is the host's byte stream.  It is queued in a
 * socketpair whose far end is then shut, so the agent sees the bytes and
 * then EOF: no clock decides the path.  The agent's own HELLO/REQUEST
 * bytes go into the socket buffer unread.
 *
 * Invariants: a completed call has version 1 or 2 and a code that fits a
 * byte; v1 calls never report v2 and forced v2 never reports v1.
 */
#include "config.h"

#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"
#include "deadline.h"
#include "fuzz.h"
#include "options.h"
#include "stream.h"
#include "vsf_wire.h"

#define FUZZ_MAX_INPUT 60000	/* fits the socket buffer without blocking */

static void on_host(void *ctx, const char *name, const char *uuid,
		    int state)
{
	(void)uuid;
	(void)state;
	FUZZ_ASSERT(name != NULL);
	++*(unsigned int *)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_call c = { 0 };
	struct agent_stream s;
	unsigned int seen = 0;
	int sv[2], r, buf = 1 << 20;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	(void)setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (size > 1 && write(sv[1], data + 1, size - 1) != (ssize_t)(size - 1))
		goto out;
	shutdown(sv[1], SHUT_WR);

	c.proto = data[0] & 3;
	if (c.proto == 3)
		c.proto = AGENT_PROTO_AUTO;
	c.op = (data[0] >> 2) % (VSF_OP_WIRE_MAX + 1);
	c.domain = vsf_op_needs_domain(c.op) ? "guest2" : "";
	c.request_id = 0x01020304;
	c.key = fuzz_key;
	c.keylen = FUZZ_KEYLEN;
	c.hello_window_ms = 1000;
	c.on_host = on_host;
	c.host_ctx = &seen;
	agent_stream_init(&s, sv[0], agent_now_ms() + 5000);
	r = agent_chan_call(&s, &c);
	FUZZ_ASSERT(s.rd.len <= sizeof(s.rd.buf));
	FUZZ_ASSERT(seen == c.hosts);
	if (r == 0) {
		FUZZ_ASSERT(c.version == 1 || c.version == 2);
		FUZZ_ASSERT(c.code >= 0 && c.code <= 255);
		if (c.proto == AGENT_PROTO_V1)
			FUZZ_ASSERT(c.version == 1);
		if (c.proto == AGENT_PROTO_V2)
			FUZZ_ASSERT(c.version == 2);
	}
out:
	close(sv[0]);
	close(sv[1]);
	return 0;
}
