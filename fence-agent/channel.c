/* channel.c - one request over a byte stream, v2 or v1; see channel.h. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "channel.h"
#include "deadline.h"
#include "options.h"
#include "vsf_v2.h"
#include "vsf_wire.h"

/* After the v1 host list terminator the host sends one more 5-byte reply. */
#define V1_TRAILER_WAIT_MS 1000

__attribute__((format(printf, 3, 4)))
static void say(const struct agent_call *c, int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!c->log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->log(c->log_ctx, level, "%s", buf);
}

/*
 * Next v1 or v2 frame from the stream, reading as needed until @until.
 * Frames whose magic matched but did not decode are counted and skipped.
 */
static int next_frame(struct agent_stream *s, struct agent_call *c,
		      int64_t until, struct vsf_v2_any *any)
{
	int r;

	for (;;) {
		r = vsf_v2_next_frame(&s->rd, VSF_V2_V1_SERIAL_RESP, any);
		if (r == 1)
			return 0;
		if (r < 0) {
			c->bad++;
			say(c, 2, "skipping undecodable frame: %s",
			    vsf_wire_strerror(r));
			continue;
		}
		r = agent_stream_fill(s, until);
		if (r < 0)
			return r;
	}
}

/*
 * Silence ends at @since + the resend interval, never past the deadline.
 * A wait bounded by this that times out with time left was silence.
 */
static int64_t resend_at(const struct agent_stream *s,
			 const struct agent_call *c, int64_t since)
{
	int64_t at = since + (c->resend_ms ? c->resend_ms : AGENT_RESEND_MS);

	return at < s->deadline ? at : s->deadline;
}

static int silence(const struct agent_stream *s, int r)
{
	return r == -ETIMEDOUT && agent_ms_left(s->deadline) > 0;
}

static unsigned int resend_ms(const struct agent_call *c)
{
	return c->resend_ms ? c->resend_ms : AGENT_RESEND_MS;
}

/* --- v1 ------------------------------------------------------------------ */

static int v1_host_list(struct agent_stream *s, struct agent_call *c)
{
	struct vsf_host_record rec;
	struct vsf_v2_any any;
	int r;

	for (;;) {
		r = vsf_frame_next_host_record(&s->rd, &rec);
		if (r == 2)
			break;
		if (r == 1) {
			c->hosts++;
			if (c->on_host)
				c->on_host(c->host_ctx, rec.name, rec.uuid,
					   rec.state);
			continue;
		}
		if (r < 0)
			return -EPROTO;
		r = agent_stream_fill(s, s->deadline);
		if (r < 0)
			return r;
	}
	/*
	 * Consume the trailing reply so that it cannot pass for the answer
	 * to the next call on this port.  Its value carries no information.
	 */
	r = next_frame(s, c, agent_now_ms() + V1_TRAILER_WAIT_MS, &any);
	if (r < 0)
		say(c, 2, "no trailing reply after the host list (%s)",
		    strerror(-r));
	return 0;
}

/*
 * We fell back after a silent HELLO, and the first reply is 1.  A stock
 * daemon answers every HELLO (a NULL request) with 1, in order, so this
 * may be the late answer to the HELLO of a daemon that was busy, with
 * ours still to come; or the HELLO was dropped as a repeat and this 1 is
 * ours.  A second reply before the deadline settles it; without one the
 * 1 stands.  Any other first value cannot answer a HELLO.
 */
static int v1_second_reply(struct agent_stream *s, struct agent_call *c)
{
	struct vsf_v2_any any;
	int r;

	say(c, 1, "v1: a 1 may answer the earlier HELLO; waiting for a "
	    "second reply");
	do
		r = next_frame(s, c, s->deadline, &any);
	while (r == 0 && any.version != 1);
	if (r < 0) {
		say(c, 1, "v1: no second reply (%s): the 1 was ours",
		    strerror(-r));
		return 0;
	}
	c->code = any.v1_result;
	say(c, 1, "v1: second reply %u is ours", c->code);
	if (c->code == VSF_RESULT_HOSTLIST)
		return v1_host_list(s, c);
	return 0;
}

int agent_chan_call_v1(struct agent_stream *s, struct agent_call *c)
{
	struct vsf_serial_req req = { .op = (uint8_t)c->op,
				      .seqno = c->request_id };
	uint8_t buf[VSF_SERIAL_REQ_SIZE];
	struct vsf_v2_any any;
	int64_t sent;
	int r;

	r = vsf_domain_set(req.domain, c->domain ? c->domain : "");
	if (r < 0)
		return r;
	vsf_serial_req_encode(&req, buf);
	say(c, 1, "v1: sending %s request for '%s', seqno %u",
	    vsf_op_name(c->op), req.domain, req.seqno);
	r = agent_stream_send(s, buf, sizeof(buf));
	if (r < 0)
		return r;
	sent = agent_now_ms();
	for (;;) {
		r = next_frame(s, c, resend_at(s, c, sent), &any);
		if (silence(s, r)) {
			c->resends++;
			say(c, 1, "v1: no reply for %u ms: sending seqno %u "
			    "again", resend_ms(c), req.seqno);
			r = agent_stream_send(s, buf, sizeof(buf));
			if (r < 0)
				return r;
			sent = agent_now_ms();
			continue;
		}
		if (r < 0)
			return r;
		if (any.version == 1)
			break;
		/* A v2 frame here answers an earlier HELLO: not ours. */
		c->stale++;
		say(c, 2, "v1: ignoring a v2 frame of type %u", any.type);
	}
	c->version = 1;
	c->code = any.v1_result;
	say(c, 1, "v1: host replied %u", c->code);
	if (c->code == VSF_RESULT_HOSTLIST)
		return v1_host_list(s, c);
	if (c->hello_unanswered && c->code == VSF_RESULT_FAIL)
		return v1_second_reply(s, c);
	return 0;
}

/* --- v2 ------------------------------------------------------------------ */

/* An ERROR frame: unauthenticated, so only a message, never a result. */
static int v2_error(struct agent_call *c, const struct vsf_v2_any *any)
{
	struct vsf_v2_error e;

	if (vsf_v2_error_decode(any->frame, any->len, &e) < 0) {
		c->bad++;
		return 0;
	}
	if (e.request_id && e.request_id != c->request_id) {
		c->stale++;
		return 0;
	}
	c->code = e.code;
	say(c, 1, "v2: host sent ERROR %u (%s) for request %u", e.code,
	    vsf_v2_result_name(e.code), e.request_id);
	return -EREMOTEIO;
}

/*
 * Wait for our CHALLENGE.  -ETIME when @hello_until passes first (AUTO's
 * fallback window), -EAGAIN after the resend interval of silence.
 */
static int v2_await_challenge(struct agent_stream *s, struct agent_call *c,
			      struct vsf_v2_client *cl, int64_t hello_until,
			      int *saw_v1)
{
	int64_t quiet = resend_at(s, c, agent_now_ms());
	struct vsf_v2_challenge ch;
	struct vsf_v2_any any;
	int r;

	for (;;) {
		r = next_frame(s, c, hello_until <= quiet ? hello_until : quiet,
			       &any);
		if (silence(s, r))
			return hello_until <= quiet ? -ETIME : -EAGAIN;
		if (r < 0)
			return r;
		if (any.version == 1) {
			*saw_v1 = 1;
			say(c, 1, "v2: HELLO answered with a v1 reply (%u): "
			    "the host is a v1 daemon", any.v1_result);
			return -EPROTONOSUPPORT;
		}
		if (any.type == VSF_V2_TYPE_ERROR) {
			r = v2_error(c, &any);
			if (r < 0)
				return r;
			continue;
		}
		if (any.type != VSF_V2_TYPE_CHALLENGE) {
			c->stale++;
			continue;
		}
		r = vsf_v2_challenge_decode(any.frame, any.len, c->key,
					    c->keylen, &ch);
		if (r == -EBADMSG)
			return -EBADMSG;
		if (r < 0) {
			c->bad++;
			continue;
		}
		r = vsf_v2_client_take_challenge(cl, &ch);
		if (r == 0)
			return 0;
		c->stale++;
		say(c, 2, "v2: ignoring a challenge for request %u",
		    ch.request_id);
	}
}

static int v2_take_hostrec(struct agent_call *c, struct vsf_v2_client *cl,
			   const struct vsf_v2_any *any)
{
	struct vsf_v2_hostrec h;
	int r;

	r = vsf_v2_hostrec_decode(any->frame, any->len, c->key, c->keylen, &h);
	if (r == -EBADMSG)
		return r;
	if (r < 0) {
		c->bad++;
		return 0;
	}
	r = vsf_v2_client_check_hostrec(cl, &h);
	if (r == -ESTALE) {
		c->stale++;
		return 0;
	}
	if (r < 0)
		return -EPROTO;
	c->hosts++;
	if (c->on_host)
		c->on_host(c->host_ctx, h.name, h.uuid, h.state);
	return 0;
}

/* Returns 1 when our RESULT was taken. */
static int v2_take_result(struct agent_call *c, struct vsf_v2_client *cl,
			  const struct vsf_v2_any *any)
{
	struct vsf_v2_result_msg m;
	int r;

	r = vsf_v2_result_decode(any->frame, any->len, c->key, c->keylen, &m);
	if (r == -EBADMSG)
		return r;
	if (r < 0) {
		c->bad++;
		return 0;
	}
	r = vsf_v2_client_check_result(cl, &m);
	if (r == -ESTALE) {
		c->stale++;
		say(c, 2, "v2: ignoring a result for request %u",
		    m.request_id);
		return 0;
	}
	if (r < 0)
		return -EPROTO;
	c->version = 2;
	c->code = m.code;
	say(c, 1, "v2: result %u (%s)", m.code, vsf_v2_result_name(m.code));
	return 1;
}

/*
 * Wait for our RESULT (and host records).  -EAGAIN after the resend
 * interval without a frame of ours, unless records have begun to arrive:
 * a second attempt would deliver them again.
 */
static int v2_await_result(struct agent_stream *s, struct agent_call *c,
			   struct vsf_v2_client *cl)
{
	int64_t quiet = resend_at(s, c, agent_now_ms());
	unsigned int hosts = c->hosts;
	struct vsf_v2_any any;
	int r;

	for (;;) {
		r = next_frame(s, c, c->hosts ? s->deadline : quiet, &any);
		if (silence(s, r))
			return -EAGAIN;
		if (r < 0)
			return r;
		if (c->hosts != hosts) {	/* a record of ours: not silent */
			hosts = c->hosts;
			quiet = resend_at(s, c, agent_now_ms());
		}
		if (any.version == 1) {
			c->stale++;
			continue;
		}
		switch (any.type) {
		case VSF_V2_TYPE_HOSTREC:
			r = v2_take_hostrec(c, cl, &any);
			break;
		case VSF_V2_TYPE_RESULT:
			r = v2_take_result(c, cl, &any);
			if (r == 1)
				return 0;
			break;
		case VSF_V2_TYPE_ERROR:
			r = v2_error(c, &any);
			break;
		default:
			c->stale++;
			r = 0;
		}
		if (r < 0)
			return r;
	}
}

/*
 * One HELLO..RESULT attempt; -EAGAIN: silence, start over.  *challenged
 * is set once the host answered the HELLO.
 */
static int v2_attempt(struct agent_stream *s, struct agent_call *c,
		      int64_t hello_until, int *saw_v1, int *challenged)
{
	uint8_t buf[VSF_V2_MAX_FRAME];
	struct vsf_v2_client cl;
	int n, r;

	n = vsf_v2_client_hello(&cl, c->request_id, buf, sizeof(buf));
	if (n < 0)
		return n;
	say(c, 1, "v2: sending HELLO for request %u", c->request_id);
	r = agent_stream_send(s, buf, (size_t)n);
	if (r < 0)
		return r;
	r = v2_await_challenge(s, c, &cl, hello_until, saw_v1);
	if (r < 0)
		return r;
	*challenged = 1;
	n = vsf_v2_client_request(&cl, (uint8_t)c->op, c->domain, c->key,
				  c->keylen, buf, sizeof(buf));
	if (n < 0)
		return n;
	say(c, 1, "v2: challenged; sending %s request for '%s'",
	    vsf_op_name(c->op), c->domain ? c->domain : "");
	r = agent_stream_send(s, buf, (size_t)n);
	if (r < 0)
		return r;
	return v2_await_result(s, c, &cl);
}

/*
 * Attempts until one ends other than in silence.  Once the host has
 * challenged us it speaks v2, so AUTO's fallback window no longer applies
 * to a resent HELLO.  A late RESULT of an earlier attempt carries that
 * attempt's client nonce and is ignored as stale; the host answers the
 * resend from its history instead.
 */
int agent_chan_call_v2(struct agent_stream *s, struct agent_call *c,
		       int64_t hello_until, int *saw_v1)
{
	int challenged = 0, r;

	*saw_v1 = 0;
	if (!c->key || !c->keylen)
		return -ENOKEY;
	while ((r = v2_attempt(s, c, hello_until, saw_v1, &challenged)) ==
	       -EAGAIN) {
		c->resends++;
		say(c, 1, "v2: no answer for %u ms: asking again for "
		    "request %u", resend_ms(c), c->request_id);
		if (challenged)
			hello_until = s->deadline;
	}
	return r;
}

/* --- protocol choice ----------------------------------------------------- */

static int call_auto(struct agent_stream *s, struct agent_call *c)
{
	unsigned int ms = c->hello_window_ms ? c->hello_window_ms :
					       AGENT_HELLO_WINDOW_MS;
	int64_t window = agent_now_ms() + ms;
	int saw_v1, r;

	if (!c->key) {
		say(c, 1, "no key available: speaking v1");
		c->fell_back = 1;
		return agent_chan_call_v1(s, c);
	}
	r = agent_chan_call_v2(s, c, window < s->deadline ? window :
				     s->deadline, &saw_v1);
	if (r == -EPROTONOSUPPORT && saw_v1) {
		say(c, 1, "host speaks v1 only (stock fence_virtd?): "
		    "falling back to protocol v1");
	} else if (r == -ETIME) {
		say(c, 1, "no answer to HELLO within %u ms (a stock "
		    "fence_virtd ignores a HELLO repeated within 10 s): "
		    "falling back to protocol v1", ms);
		c->hello_unanswered = 1;
	} else {
		return r;
	}
	c->fell_back = 1;
	return agent_chan_call_v1(s, c);
}

static int call_once(struct agent_stream *s, struct agent_call *c, int proto)
{
	int saw_v1;

	c->version = 0;
	c->code = -1;
	c->hosts = 0;
	c->fell_back = 0;
	c->hello_unanswered = 0;
	switch (proto) {
	case AGENT_PROTO_V1:
		return agent_chan_call_v1(s, c);
	case AGENT_PROTO_V2:
		return agent_chan_call_v2(s, c, s->deadline, &saw_v1);
	default:
		return call_auto(s, c);
	}
}

/* Still running on the host: ask again, same request id, until done. */
static int still_running(const struct agent_stream *s,
			 const struct agent_call *c, int r)
{
	return r == 0 && c->version == 2 &&
	       c->code == VSF_V2_RESULT_IN_PROGRESS &&
	       agent_ms_left(s->deadline) > AGENT_IN_PROGRESS_RETRY_MS;
}

int agent_chan_call(struct agent_stream *s, struct agent_call *c)
{
	int proto = c->proto, r;

	c->retries = 0;
	c->resends = 0;
	while (still_running(s, c, r = call_once(s, c, proto))) {
		say(c, 1, "v2: request %u still in progress on the host; "
		    "asking again", c->request_id);
		c->retries++;
		/* it answered in v2: a slow HELLO must not fall back to v1 */
		proto = AGENT_PROTO_V2;
		(void)poll(NULL, 0, AGENT_IN_PROGRESS_RETRY_MS);
	}
	return r;
}
