/*
 * channel_test.c - the agent's exchange against a scripted fake host.
 *
 * The fake host runs on a thread at the other end of a socketpair and
 * speaks v1 and v2 with the real proto/ codecs, misbehaving on cue:
 * garbage and stale frames before the answer, silence, hang-ups, errors.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"
#include "check.h"
#include "deadline.h"
#include "options.h"
#include "stream.h"
#include "vsf_v2.h"
#include "vsf_wire.h"

enum host_mode {
	HOST_V1,		/* answers HELLO with "abba" 1, like stock */
	HOST_V1_SILENT_HELLO,	/* ignores HELLO, answers v1 */
	HOST_V1_SLOW_HELLO,	/* answers HELLO with 1 after 500 ms */
	HOST_V2,		/* our daemon */
	HOST_V2_NOISY,		/* v2 with garbage and stale frames first */
	HOST_V2_ERROR,		/* answers HELLO with an ERROR frame */
	HOST_SILENT,		/* reads, never answers */
	HOST_HUP,		/* closes on the first frame */
};

struct fake_host {
	int fd;
	int mode;
	const char *key;	/* the host's key */
	uint8_t v1_code;	/* v1 answer */
	uint8_t v2_code;	/* v2 answer */
	int records;		/* host list entries to send */
	int busy;		/* answer IN_PROGRESS this many times */
	int drop_hellos;	/* v2: ignore this many HELLOs */
	int drop_requests;	/* ignore this many requests (v1 or v2) */
	int hold_result;	/* v2: send the host records, never the RESULT */
	/* recorded */
	int requests;		/* requests seen, dropped ones included */
	uint32_t first_id;	/* request id (v1 seqno) of the first one */
	int id_changed;		/* a later request carried another id */
	int hellos;
	uint32_t hello_id;
	int got_v1;
	struct vsf_serial_req v1req;
	int got_v2;
	struct vsf_v2_request v2req;
	pthread_t th;
};

static const char key_a[] = "0123456789abcdef0123456789abcdef";
static const char key_b[] = "fedcba9876543210fedcba9876543210";

static void put(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* Count a request; true if it is to be swallowed (no answer). */
static int seen_request(struct fake_host *h, uint32_t id)
{
	if (h->requests++ == 0)
		h->first_id = id;
	else if (id != h->first_id)
		h->id_changed = 1;
	if (h->drop_requests > 0) {
		h->drop_requests--;
		return 1;
	}
	return 0;
}

static void v1_answer(struct fake_host *h)
{
	uint8_t buf[VSF_HOST_RECORD_SIZE];
	struct vsf_host_record rec;

	vsf_serial_resp_encode(h->v1_code, buf);
	put(h->fd, buf, VSF_SERIAL_RESP_SIZE);
	if (h->v1_code != VSF_RESULT_HOSTLIST)
		return;
	for (int i = 0; i < h->records; i++) {
		memset(&rec, 0, sizeof(rec));
		snprintf(rec.name, sizeof(rec.name), "vm%d", i);
		snprintf(rec.uuid, sizeof(rec.uuid), "uuid-%d", i);
		rec.state = (uint8_t)(i ? 5 : 1);
		vsf_host_record_encode(&rec, buf);
		put(h->fd, buf, sizeof(buf));
	}
	memset(&rec, 0, sizeof(rec));
	vsf_host_record_encode(&rec, buf);
	put(h->fd, buf, sizeof(buf));
	vsf_serial_resp_encode(0, buf);	/* the trailer stock sends */
	put(h->fd, buf, VSF_SERIAL_RESP_SIZE);
}

static void v2_noise(struct fake_host *h, const struct vsf_v2_hello *hello)
{
	struct vsf_v2_challenge ch = { .request_id = hello->request_id + 1 };
	uint8_t buf[VSF_V2_MAX_FRAME];
	int n;

	put(h->fd, "garbage VSF abb", 15);
	n = vsf_v2_challenge_encode(&ch, h->key, strlen(h->key), buf,
				    sizeof(buf));
	if (n > 0)
		put(h->fd, buf, (size_t)n);	/* someone else's challenge */
}

static void v2_challenge(struct fake_host *h, struct vsf_v2_server_chan *sc,
			 const struct vsf_v2_any *any)
{
	struct vsf_v2_hello hello;
	struct vsf_v2_error e;
	uint8_t buf[VSF_V2_MAX_FRAME];
	int n;

	if (vsf_v2_hello_decode(any->frame, any->len, &hello) < 0)
		return;
	h->hellos++;
	h->hello_id = hello.request_id;
	if (h->mode == HOST_V2_ERROR) {
		e = (struct vsf_v2_error){ hello.request_id,
					   VSF_V2_RESULT_BAD_AUTH };
		n = vsf_v2_error_encode(&e, buf, sizeof(buf));
		put(h->fd, buf, (size_t)n);
		return;
	}
	if (h->mode == HOST_V2_NOISY)
		v2_noise(h, &hello);
	n = vsf_v2_server_issue_challenge(sc, &hello,
					  (uint64_t)agent_now_ms(), h->key,
					  strlen(h->key), buf, sizeof(buf));
	if (n > 0)
		put(h->fd, buf, (size_t)n);
}

static void v2_result(struct fake_host *h, struct vsf_v2_server_chan *sc,
		      const struct vsf_v2_any *any)
{
	struct vsf_v2_result_msg m = { 0 };
	struct vsf_v2_hostrec rec = { 0 };
	uint8_t buf[VSF_V2_MAX_FRAME];
	size_t kl = strlen(h->key);
	int n;

	if (vsf_v2_request_decode(any->frame, any->len, h->key, kl,
				  &h->v2req) < 0 ||
	    vsf_v2_server_check_request(sc, &h->v2req,
					(uint64_t)agent_now_ms()) < 0)
		return;
	if (seen_request(h, h->v2req.request_id))
		return;
	h->got_v2 = 1;
	m.request_id = h->v2req.request_id;
	memcpy(m.client_nonce, h->v2req.client_nonce, VSF_V2_NONCE_LEN);
	if (h->mode == HOST_V2_NOISY) {	/* a stale result first */
		m.request_id ^= 0x5a5a;
		n = vsf_v2_result_encode(&m, h->key, kl, buf, sizeof(buf));
		put(h->fd, buf, (size_t)n);
		put(h->fd, "\0\0junk", 6);
		m.request_id ^= 0x5a5a;
	}
	for (int i = 0; i < h->records; i++) {
		rec.request_id = m.request_id;
		rec.index = (uint32_t)i;
		rec.state = 1;
		memcpy(rec.client_nonce, m.client_nonce, VSF_V2_NONCE_LEN);
		snprintf(rec.name, sizeof(rec.name), "vm%d", i);
		n = vsf_v2_hostrec_encode(&rec, h->key, kl, buf, sizeof(buf));
		put(h->fd, buf, (size_t)n);
	}
	if (h->hold_result)
		return;
	m.code = h->busy-- > 0 ? VSF_V2_RESULT_IN_PROGRESS : h->v2_code;
	m.count = (uint32_t)h->records;
	n = vsf_v2_result_encode(&m, h->key, kl, buf, sizeof(buf));
	put(h->fd, buf, (size_t)n);
}

static void host_frame(struct fake_host *h, struct vsf_v2_server_chan *sc,
		       const struct vsf_v2_any *any)
{
	if (any->version == 1) {
		h->got_v1 = 1;
		h->v1req = any->v1_req;
		if (!seen_request(h, any->v1_req.seqno))
			v1_answer(h);
		return;
	}
	if (any->type == VSF_V2_TYPE_HELLO && h->drop_hellos > 0) {
		h->drop_hellos--;
		h->hellos++;
	} else if (any->type == VSF_V2_TYPE_HELLO) {
		if (h->mode == HOST_V1) {
			h->hellos++;
			v1_answer(&(struct fake_host){ .fd = h->fd,
						       .v1_code = 1 });
		} else if (h->mode == HOST_V1_SILENT_HELLO) {
			h->hellos++;
		} else if (h->mode == HOST_V1_SLOW_HELLO) {
			h->hellos++;
			usleep(500000);	/* busy with another guest */
			v1_answer(&(struct fake_host){ .fd = h->fd,
						       .v1_code = 1 });
		} else {
			v2_challenge(h, sc, any);
		}
	} else if (any->type == VSF_V2_TYPE_REQUEST) {
		v2_result(h, sc, any);
	}
}

static void *host_main(void *arg)
{
	struct fake_host *h = arg;
	struct vsf_v2_server_chan sc;
	struct vsf_frame_reader rd;
	struct vsf_v2_any any;
	size_t space;
	uint8_t *tail;
	ssize_t n;

	vsf_v2_server_chan_init(&sc);
	vsf_frame_reader_init(&rd);
	for (;;) {
		tail = vsf_frame_reader_tail(&rd, &space);
		n = read(h->fd, tail, space);
		if (n <= 0)
			break;
		vsf_frame_reader_commit(&rd, (size_t)n);
		if (h->mode == HOST_HUP)
			break;
		while (vsf_v2_next_frame(&rd, VSF_V2_V1_SERIAL_REQ, &any) == 1)
			if (h->mode != HOST_SILENT)
				host_frame(h, &sc, &any);
	}
	close(h->fd);
	return NULL;
}

/* Start a host; returns the agent's end of the socketpair. */
static int host_start(struct fake_host *h, int mode)
{
	int sv[2];

	if (!h->key)
		h->key = key_a;
	h->mode = mode;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	h->fd = sv[1];
	pthread_create(&h->th, NULL, host_main, h);
	return sv[0];
}

static void host_join(struct fake_host *h, int agent_fd)
{
	shutdown(agent_fd, SHUT_RDWR);
	close(agent_fd);
	pthread_join(h->th, NULL);
}

static void init_call(struct agent_call *c, int op, const char *dom,
		      int proto)
{
	memset(c, 0, sizeof(*c));
	c->op = op;
	c->domain = dom;
	c->proto = proto;
	c->request_id = 0x1234567;
	c->key = key_a;
	c->keylen = strlen(key_a);
	c->hello_window_ms = 300;
}

static int run(struct fake_host *h, int mode, struct agent_call *c,
	       int timeout_ms)
{
	struct agent_stream s;
	int fd = host_start(h, mode), r;

	agent_stream_init(&s, fd, agent_now_ms() + timeout_ms);
	r = agent_chan_call(&s, c);
	host_join(h, fd);
	return r;
}

TEST(auto_falls_back_to_v1_when_hello_gets_abba)
{
	struct fake_host h = { .v1_code = 2 };
	struct agent_call c;

	init_call(&c, VSF_OP_STATUS, "guest2", AGENT_PROTO_AUTO);
	CHECK_ERR(run(&h, HOST_V1, &c, 2000), 0);
	CHECK_ERR(c.version, 1);
	CHECK_ERR(c.code, 2);
	CHECK(c.fell_back);
	CHECK_ERR(h.hellos, 1);
	CHECK(h.got_v1);
	CHECK_ERR(h.v1req.op, VSF_OP_STATUS);
	CHECK_STR(h.v1req.domain, "guest2");
	CHECK_ERR(h.v1req.seqno, 0x1234567);	/* the request id */
}

TEST(auto_falls_back_to_v1_when_hello_is_ignored)
{
	struct fake_host h = { .v1_code = 0 };
	struct agent_call c;
	int64_t t0 = agent_now_ms();

	init_call(&c, VSF_OP_OFF, "guest2", AGENT_PROTO_AUTO);
	CHECK_ERR(run(&h, HOST_V1_SILENT_HELLO, &c, 3000), 0);
	CHECK_ERR(c.version, 1);
	CHECK_ERR(c.code, 0);
	CHECK(agent_now_ms() - t0 >= 300);	/* waited the window */
	CHECK(agent_now_ms() - t0 < 2000);
}

TEST(late_hello_answer_is_not_taken_for_ours)
{
	struct fake_host h = { .v1_code = 0 };
	struct agent_call c;

	init_call(&c, VSF_OP_OFF, "guest2", AGENT_PROTO_AUTO);
	CHECK_ERR(run(&h, HOST_V1_SLOW_HELLO, &c, 3000), 0);
	CHECK(c.hello_unanswered);
	CHECK_ERR(c.version, 1);
	CHECK_ERR(c.code, 0);	/* not the HELLO's 1 */
}

TEST(dropped_hello_lets_a_real_failure_stand)
{
	struct fake_host h = { .v1_code = 1 };
	struct agent_call c;
	int64_t t0 = agent_now_ms();

	init_call(&c, VSF_OP_OFF, "nosuch", AGENT_PROTO_AUTO);
	CHECK_ERR(run(&h, HOST_V1_SILENT_HELLO, &c, 1000), 0);
	CHECK_ERR(c.code, 1);
	CHECK(agent_now_ms() - t0 >= 990);	/* waited for a second reply */
}

TEST(auto_without_key_speaks_v1_only)
{
	struct fake_host h = { .v1_code = 0 };
	struct agent_call c;

	init_call(&c, VSF_OP_ON, "g", AGENT_PROTO_AUTO);
	c.key = NULL;
	c.keylen = 0;
	CHECK_ERR(run(&h, HOST_V1, &c, 2000), 0);
	CHECK_ERR(h.hellos, 0);
	CHECK(h.got_v1);
}

TEST(v2_exchange_completes)
{
	struct fake_host h = { .v2_code = VSF_V2_RESULT_OK };
	struct agent_call c;

	init_call(&c, VSF_OP_REBOOT, "guest2", AGENT_PROTO_AUTO);
	CHECK_ERR(run(&h, HOST_V2, &c, 2000), 0);
	CHECK_ERR(c.version, 2);
	CHECK_ERR(c.code, VSF_V2_RESULT_OK);
	CHECK(!c.fell_back);
	CHECK(h.got_v2);
	CHECK(!h.got_v1);
	CHECK_ERR(h.v2req.op, VSF_OP_REBOOT);
	CHECK_STR(h.v2req.name, "guest2");
	CHECK_ERR(h.v2req.request_id, 0x1234567);
}

TEST(v2_skips_garbage_and_ignores_other_request_ids)
{
	struct fake_host h = { .v2_code = VSF_V2_RESULT_OFF };
	struct agent_call c;

	init_call(&c, VSF_OP_STATUS, "guest2", AGENT_PROTO_V2);
	CHECK_ERR(run(&h, HOST_V2_NOISY, &c, 2000), 0);
	CHECK_ERR(c.version, 2);
	CHECK_ERR(c.code, VSF_V2_RESULT_OFF);
	CHECK(c.stale >= 2);	/* the foreign challenge and result */
}

TEST(v2_long_names_pass)
{
	struct fake_host h = { .v2_code = VSF_V2_RESULT_NOT_FOUND };
	char name[200];
	struct agent_call c;

	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	init_call(&c, VSF_OP_OFF, name, AGENT_PROTO_V2);
	CHECK_ERR(run(&h, HOST_V2, &c, 2000), 0);
	CHECK_ERR(c.code, VSF_V2_RESULT_NOT_FOUND);
	CHECK_STR(h.v2req.name, name);
}

TEST(v2_host_list_delivers_records)
{
	struct fake_host h = { .v2_code = 0, .records = 3 };
	struct agent_call c;

	init_call(&c, VSF_OP_HOSTLIST, "", AGENT_PROTO_V2);
	CHECK_ERR(run(&h, HOST_V2, &c, 2000), 0);
	CHECK_ERR(c.hosts, 3);
}

TEST(v2_wrong_key_is_ebadmsg)
{
	struct fake_host h = { .key = key_b };
	struct agent_call c;

	init_call(&c, VSF_OP_STATUS, "guest2", AGENT_PROTO_AUTO);
	CHECK_ERR(run(&h, HOST_V2, &c, 2000), -EBADMSG);
	CHECK(!h.got_v2);
}

TEST(v2_error_frame_is_reported_not_trusted)
{
	struct fake_host h = { 0 };
	struct agent_call c;

	init_call(&c, VSF_OP_OFF, "guest2", AGENT_PROTO_AUTO);
	CHECK_ERR(run(&h, HOST_V2_ERROR, &c, 2000), -EREMOTEIO);
	CHECK_ERR(c.code, VSF_V2_RESULT_BAD_AUTH);
	CHECK(!h.got_v1);	/* an ERROR is not a reason to fall back */
}

TEST(forced_v2_refuses_a_v1_host)
{
	struct fake_host h = { 0 };
	struct agent_call c;

	init_call(&c, VSF_OP_OFF, "guest2", AGENT_PROTO_V2);
	CHECK_ERR(run(&h, HOST_V1, &c, 2000), -EPROTONOSUPPORT);
	CHECK(!h.got_v1);
}

TEST(v1_host_list_consumes_trailer)
{
	struct fake_host h = { .v1_code = VSF_RESULT_HOSTLIST, .records = 2 };
	struct agent_stream s;
	struct agent_call c;
	int fd, r;

	init_call(&c, VSF_OP_HOSTLIST, "", AGENT_PROTO_V1);
	fd = host_start(&h, HOST_V1);
	agent_stream_init(&s, fd, agent_now_ms() + 2000);
	r = agent_chan_call(&s, &c);
	CHECK_ERR(r, 0);
	CHECK_ERR(c.hosts, 2);
	CHECK_ERR(s.rd.len, 0);	/* nothing left to pass for a reply */
	host_join(&h, fd);
}

TEST(v1_reply_found_after_garbage_and_stale_v2_frame)
{
	uint8_t buf[VSF_V2_MAX_FRAME];
	struct vsf_v2_result_msg m = { .request_id = 99 };
	struct agent_stream s;
	struct agent_call c;
	int sv[2], n;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	put(sv[1], "abbxab\0VSF", 10);
	n = vsf_v2_result_encode(&m, key_a, strlen(key_a), buf, sizeof(buf));
	put(sv[1], buf, (size_t)n);
	vsf_serial_resp_encode(3, buf);
	put(sv[1], buf, VSF_SERIAL_RESP_SIZE);
	init_call(&c, VSF_OP_OFF, "g", AGENT_PROTO_V1);
	agent_stream_init(&s, sv[0], agent_now_ms() + 1000);
	CHECK_ERR(agent_chan_call(&s, &c), 0);
	CHECK_ERR(c.code, 3);
	CHECK_ERR(c.stale, 1);
	close(sv[0]);
	close(sv[1]);
}

TEST(timeout_bounds_the_call)
{
	struct fake_host h = { 0 };
	struct agent_call c;
	int64_t t0 = agent_now_ms(), took;

	init_call(&c, VSF_OP_OFF, "g", AGENT_PROTO_AUTO);
	CHECK_ERR(run(&h, HOST_SILENT, &c, 700), -ETIMEDOUT);
	took = agent_now_ms() - t0;
	CHECK(took >= 690 && took < 900);
}

TEST(host_hangup_is_enotconn)
{
	struct fake_host h = { 0 };
	struct agent_call c;

	init_call(&c, VSF_OP_OFF, "g", AGENT_PROTO_V2);
	CHECK_ERR(run(&h, HOST_HUP, &c, 2000), -ENOTCONN);
}

/* A write() that hands over one byte at a time between EINTR and EAGAIN. */
struct flaky {
	int calls;
};

static ssize_t flaky_write(void *ctx, int fd, const void *buf, size_t len)
{
	struct flaky *f = ctx;

	switch (f->calls++ % 3) {
	case 0:
		errno = EINTR;
		return -1;
	case 1:
		errno = EAGAIN;
		return -1;
	default:
		return write(fd, buf, 1);
	}
}

TEST(partial_writes_eintr_eagain_still_deliver_the_frame)
{
	struct fake_host h = { .v1_code = 0 };
	struct flaky f = { 0 };
	struct agent_stream_sys sys = agent_stream_sys_real;
	struct agent_stream s;
	struct agent_call c;
	int fd;

	sys.write = flaky_write;
	sys.ctx = &f;
	init_call(&c, VSF_OP_ON, "guest-with-a-name", AGENT_PROTO_V1);
	fd = host_start(&h, HOST_V1);
	agent_stream_init(&s, fd, agent_now_ms() + 2000);
	s.sys = &sys;
	CHECK_ERR(agent_chan_call(&s, &c), 0);
	host_join(&h, fd);
	CHECK_ERR(s.write_calls, 3 * VSF_SERIAL_REQ_SIZE);
	CHECK(h.got_v1);
	CHECK_STR(h.v1req.domain, "guest-with-a-name");
}

TEST(retry_reuses_the_request_id)
{
	struct fake_host h1 = { 0 }, h2 = { .v2_code = 0 };
	struct agent_call c;

	init_call(&c, VSF_OP_OFF, "g", AGENT_PROTO_V2);
	c.request_id = 4242;
	CHECK_ERR(run(&h1, HOST_SILENT, &c, 300), -ETIMEDOUT);
	CHECK_ERR(run(&h2, HOST_V2, &c, 2000), 0);
	CHECK_ERR(h2.v2req.request_id, 4242);
}

TEST(in_progress_is_asked_again_with_the_same_id)
{
	struct fake_host h = { .v2_code = VSF_V2_RESULT_OK, .busy = 2 };
	struct agent_call c;

	init_call(&c, VSF_OP_REBOOT, "guest2", AGENT_PROTO_AUTO);
	CHECK_ERR(run(&h, HOST_V2, &c, 3000), 0);
	CHECK_ERR(c.code, VSF_V2_RESULT_OK);
	CHECK_ERR(c.retries, 2);
	CHECK_ERR(h.hellos, 3);
	CHECK_ERR(h.hello_id, 0x1234567);	/* the last HELLO's id */
	CHECK_ERR(h.v2req.request_id, 0x1234567);
}

TEST(in_progress_until_the_deadline_is_reported)
{
	struct fake_host h = { .v2_code = VSF_V2_RESULT_OK, .busy = 1000 };
	struct agent_call c;

	init_call(&c, VSF_OP_REBOOT, "guest2", AGENT_PROTO_V2);
	CHECK_ERR(run(&h, HOST_V2, &c, 1200), 0);
	CHECK_ERR(c.code, VSF_V2_RESULT_IN_PROGRESS);
	CHECK(c.retries >= 1);
}

/* --- silence: the same request again --------------------------------------- */

TEST(v1_silence_sends_the_same_request_again)
{
	struct fake_host h = { .v1_code = 0, .drop_requests = 1 };
	struct agent_call c;
	int64_t t0 = agent_now_ms(), took;

	init_call(&c, VSF_OP_OFF, "guest2", AGENT_PROTO_V1);
	c.resend_ms = 300;
	CHECK_ERR(run(&h, HOST_V1, &c, 3000), 0);
	took = agent_now_ms() - t0;
	CHECK_ERR(c.code, 0);
	CHECK_ERR(c.resends, 1);
	CHECK_ERR(h.requests, 2);
	CHECK(!h.id_changed);
	CHECK_ERR(h.first_id, 0x1234567);
	CHECK(took >= 290 && took < 1500);
}

TEST(v2_lost_result_is_asked_again_with_the_same_id)
{
	struct fake_host h = { .v2_code = VSF_V2_RESULT_OK, .drop_requests = 1 };
	struct agent_call c;

	init_call(&c, VSF_OP_OFF, "guest2", AGENT_PROTO_V2);
	c.resend_ms = 300;
	CHECK_ERR(run(&h, HOST_V2, &c, 3000), 0);
	CHECK_ERR(c.version, 2);
	CHECK_ERR(c.code, VSF_V2_RESULT_OK);
	CHECK_ERR(c.resends, 1);
	CHECK_ERR(h.hellos, 2);		/* a new HELLO, new nonces */
	CHECK_ERR(h.requests, 2);
	CHECK(!h.id_changed);
	CHECK_ERR(h.v2req.request_id, 0x1234567);
}

TEST(v2_silent_hello_is_sent_again)
{
	struct fake_host h = { .v2_code = VSF_V2_RESULT_OFF, .drop_hellos = 2 };
	struct agent_call c;

	init_call(&c, VSF_OP_STATUS, "guest2", AGENT_PROTO_V2);
	c.resend_ms = 200;
	CHECK_ERR(run(&h, HOST_V2, &c, 3000), 0);
	CHECK_ERR(c.code, VSF_V2_RESULT_OFF);
	CHECK_ERR(c.resends, 2);
	CHECK_ERR(h.hellos, 3);
	CHECK_ERR(h.requests, 1);
}

/* A host that challenged us speaks v2: a resend must not fall back. */
TEST(auto_resend_after_a_challenge_stays_v2)
{
	struct fake_host h = { .v2_code = VSF_V2_RESULT_OK, .drop_requests = 1 };
	struct agent_call c;

	init_call(&c, VSF_OP_OFF, "guest2", AGENT_PROTO_AUTO);
	c.resend_ms = 500;		/* > the 300 ms hello window */
	CHECK_ERR(run(&h, HOST_V2, &c, 3000), 0);
	CHECK_ERR(c.version, 2);
	CHECK(!c.fell_back);
	CHECK_ERR(c.resends, 1);
	CHECK(!h.got_v1);
}

/* Before any CHALLENGE, AUTO's window still ends in the v1 fallback. */
TEST(auto_hello_resent_inside_the_window_still_falls_back)
{
	struct fake_host h = { .v1_code = 0 };
	struct agent_call c;

	init_call(&c, VSF_OP_OFF, "guest2", AGENT_PROTO_AUTO);
	c.hello_window_ms = 300;
	c.resend_ms = 200;
	CHECK_ERR(run(&h, HOST_V1_SILENT_HELLO, &c, 3000), 0);
	CHECK_ERR(c.version, 1);
	CHECK(c.fell_back);
	CHECK_ERR(h.hellos, 2);
	CHECK_ERR(c.resends, 1);
	CHECK(h.got_v1);
}

TEST(resends_stop_at_the_deadline)
{
	struct fake_host h = { .drop_requests = 1000 };
	struct agent_call c;
	int64_t t0 = agent_now_ms(), took;

	init_call(&c, VSF_OP_OFF, "g", AGENT_PROTO_V1);
	c.resend_ms = 200;
	CHECK_ERR(run(&h, HOST_V1, &c, 900), -ETIMEDOUT);
	took = agent_now_ms() - t0;
	CHECK(took >= 890 && took < 1200);
	CHECK(c.resends >= 3 && c.resends <= 4);
	CHECK_ERR(h.requests, (int)c.resends + 1);
	CHECK(!h.id_changed);
}

/* Records have begun: a second attempt would print them again. */
TEST(no_resend_once_host_records_arrive)
{
	struct fake_host h = { .records = 2, .hold_result = 1 };
	struct agent_call c;

	init_call(&c, VSF_OP_HOSTLIST, "", AGENT_PROTO_V2);
	c.resend_ms = 200;
	CHECK_ERR(run(&h, HOST_V2, &c, 1000), -ETIMEDOUT);
	CHECK_ERR(c.hosts, 2);
	CHECK_ERR(c.resends, 0);
	CHECK_ERR(h.hellos, 1);
}

int main(void)
{
	if (vsf_hash_init() < 0)
		return 99;
	return RUN_TESTS();
}
