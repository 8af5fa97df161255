/*
 * chan_listener.c - the "serial" listener: guest channels on unix sockets.
 *
 *   listeners { serial {
 *       uri = "qemu:///system";   # libvirt URI for discovery (stock)
 *       path = "/var/run/fence";  # direct parent dir of sockets (stock)
 *       mode = "serial";          # serial | vmchannel (stock); ours: both,
 *                                 #   as "serial vmchannel"
 *       channel_name = "org.vserial.fence.0";  # ours, repeatable: virtio
 *                                 #   ports selected by target name
 *       key_file = "/etc/cluster/fence_xvm.key";  # stock: only checked at
 *                                 #   start-up; ours: the shared v2 key
 *   } }
 *
 * Both protocols share one channel: the reader syncs on "abba" (v1, no
 * authentication, as stock; refused when vserial_fenced/v1 = "deny") and on
 * "VSF2" (v2: HELLO -> CHALLENGE -> REQUEST -> [HOSTREC...] RESULT, MAC'd
 * with the guest's own key from key_dir/<uuid> or else the shared key).
 *
 * For every socket of every running domain (chan_xml.h rules) we connect
 * as the client, without blocking, and read a byte stream of requests.
 * The source of every request is the domain's UUID.  A socket that fails or
 * closes is retried with backoff (stock never retries), logging only when
 * its state changes: down (and libvirt is asked whether the domain still
 * has it), confirmed by libvirt, up again, given up after
 * reconnect_give_up seconds down.  A given-up socket waits until libvirt
 * lists it again (domain start, libvirt reconnect); one that libvirt no
 * longer lists, or whose domain is gone, is forgotten.  Garbage is skipped
 * by resyncing on the magic.
 *
 *       reconnect_give_up = "120";   # ours: seconds down before giving up
 *                                    #   on a socket; 0 = never
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "chan_watch.h"
#include "chan_xml.h"
#include "keyref.h"
#include "listener.h"
#include "util.h"
#include "vsf_frame.h"
#include "vsf_key.h"
#include "vsf_num.h"
#include "vsf_v2.h"
#include "vsf_wire.h"

#define CONNECT_TIMEOUT_MS 3000
#define RETRY_MIN_MS 250
#define RETRY_MAX_MS 10000
#define GIVE_UP_S_DEFAULT 120
#define MAX_PENDING 8			/* requests in flight per socket */
#define OUT_HIGH_WATER (64 * 1024)	/* stop reading above this */
#define MAX_NAMES 16

struct chan_dom;
struct chan_sock;

/* One request in flight on a socket. */
struct chan_call {
	struct chan_sock *s;
	struct vsf_req *req;		/* NULL until submit returns */
	int version;			/* 1 or 2: how to answer */
	uint32_t request_id;		/* v2 */
	uint8_t client_nonce[VSF_V2_NONCE_LEN];	/* v2 */
	struct vsf_keyref *key;		/* v2: verified with, answered with */
	struct chan_call *next;
};

struct chan_sock {
	struct chan_listener *cl;
	struct chan_dom *dom;
	char *path;
	int fd;				/* -1 while waiting to retry */
	bool connected;
	uint64_t timer;			/* connect timeout or retry */
	unsigned int backoff_ms;
	/* an outage: from the first failure until connected again */
	uint64_t down_ms;		/* when it began; 0: not in one */
	unsigned int attempts;		/* failed connects during it */
	char why[64];			/* the latest failure */
	bool rechecking;		/* asked libvirt; no answer yet */
	bool parked;			/* gave up: waits for libvirt's next
					 * listing of the domain */
	struct vsf_frame_reader rd;
	uint8_t *out;			/* replies not yet written */
	size_t out_len, out_cap;
	struct chan_call *calls;
	unsigned int ncalls;
	uint64_t garbage_logged;	/* rd.skipped when last logged */
	bool parsing;			/* in parse_frames(): no re-entry */
	struct vsf_v2_server_chan v2;	/* the outstanding v2 challenge */
	struct vsf_keyref *chal_key;	/* the key it was issued under */
	struct chan_sock *next;
};

struct chan_dom {
	char uuid[40];
	char name[64];
	bool seen;			/* since the last SCAN_BEGIN */
	struct vsf_keyref *key;		/* v2 key, loaded on first HELLO */
	struct vsf_keyref *new_key;	/* during a reload only */
	bool key_failed;		/* logged once */
	struct chan_sock *socks;
	struct chan_dom *next;
};

struct chan_listener {
	struct vsf_listener base;	/* first */
	struct chan_watch *watch;
	struct chan_dom *doms;
	char *path;
	char *key_file;			/* shared v2 key (NULL: default) */
	char *names[MAX_NAMES + 1];
	struct vsf_chan_select sel;
	uint64_t give_up_ms;		/* 0: retry while libvirt lists it */
	bool lost;			/* libvirt connection is down */
};

static struct chan_listener *to_cl(struct vsf_listener *l)
{
	return (struct chan_listener *)l;
}

static const struct vsf_log *log_of(const struct chan_sock *s)
{
	return s->cl->base.ctx->log;
}

static struct vsf_loop *loop_of(const struct chan_sock *s)
{
	return s->cl->base.ctx->loop;
}

static void sock_connect(struct chan_sock *s);

static void call_free(struct chan_call *c)
{
	vsf_keyref_unref(c->key);
	free(c);
}

/* Close the fd and forget pending requests; the sock object stays. */
static void sock_shut(struct chan_sock *s)
{
	while (s->calls) {
		struct chan_call *c = s->calls;

		s->calls = c->next;
		vsf_req_detach(c->req);
		call_free(c);
	}
	s->ncalls = 0;
	s->chal_key = vsf_keyref_unref(s->chal_key);
	if (s->timer)
		(void)vsf_loop_del_timer(loop_of(s), s->timer);
	s->timer = 0;
	if (s->fd >= 0) {
		vsf_loop_del_fd(loop_of(s), s->fd);
		close(s->fd);
	}
	s->fd = -1;
	s->connected = false;
	s->out_len = 0;
	vsf_frame_reader_init(&s->rd);
	vsf_v2_server_chan_init(&s->v2);
}

static void sock_free(struct chan_sock *s)
{
	sock_shut(s);
	free(s->out);
	free(s->path);
	free(s);
}

static void on_retry(struct vsf_loop *loop, uint64_t id, void *data)
{
	struct chan_sock *s = data;

	(void)loop;
	(void)id;
	s->timer = 0;
	sock_connect(s);
}

/* The first failure of an outage: say so once, and ask libvirt. */
static void outage_begins(struct chan_sock *s, uint64_t now)
{
	s->down_ms = now ? now : 1;
	s->attempts = 0;
	s->rechecking = true;
	chan_watch_recheck(s->cl->watch, s->dom->uuid);
	vsf_logf(log_of(s), LOG_INFO, "channel %s (%s): %s; reconnecting in "
		 "the background (backoff up to %u s), asking libvirt whether "
		 "the domain still has it", s->dom->name, s->path, s->why,
		 RETRY_MAX_MS / 1000);
}

/*
 * Drop the connection and try again later, backing off.  Retries are
 * silent: only outage_begins(), giving up and sock_up() log.
 */
static void sock_retry(struct chan_sock *s, const char *why)
{
	uint64_t now = vsf_loop_now(loop_of(s));
	uint64_t give_up = s->cl->give_up_ms;

	sock_shut(s);
	vsf_strlcpy(s->why, why, sizeof(s->why));
	if (!s->down_ms)
		outage_begins(s, now);
	s->attempts++;
	if (give_up && now - s->down_ms >= give_up) {
		vsf_logf(log_of(s), LOG_WARNING, "channel %s (%s): giving up "
			 "after %u attempts in %llu s (%s); it is tried again "
			 "when libvirt lists it again (domain start, libvirt "
			 "reconnect)", s->dom->name, s->path, s->attempts,
			 (unsigned long long)((now - s->down_ms) / 1000),
			 s->why);
		s->parked = true;
		return;
	}
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : RETRY_MIN_MS;
	if (s->backoff_ms > RETRY_MAX_MS)
		s->backoff_ms = RETRY_MAX_MS;
	s->timer = vsf_loop_add_timer(loop_of(s), s->backoff_ms, on_retry, NULL,
				      s);
}

static int out_append(struct chan_sock *s, const void *p, size_t n)
{
	return vsf_buf_append(&s->out, &s->out_len, &s->out_cap, p, n);
}

static void sock_update_events(struct chan_sock *s)
{
	int ev = 0;

	if (s->fd < 0 || !s->connected)
		return;
	if (s->out_len)
		ev |= VSF_LOOP_WRITE;
	if (s->out_len < OUT_HIGH_WATER && s->ncalls < MAX_PENDING)
		ev |= VSF_LOOP_READ;
	(void)vsf_loop_mod_fd(loop_of(s), s->fd, ev);
}

/* Write what we can now; returns <0 if the socket died. */
static int sock_flush(struct chan_sock *s)
{
	while (s->out_len) {
		ssize_t n = send(s->fd, s->out, s->out_len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return -errno;
		memmove(s->out, s->out + n, s->out_len - (size_t)n);
		s->out_len -= (size_t)n;
	}
	sock_update_events(s);
	return 0;
}

static void encode_reply(struct chan_sock *s, int op, int rc,
			 const struct vsf_hostlist *hl)
{
	uint8_t resp[VSF_SERIAL_RESP_SIZE], rec[VSF_HOST_RECORD_SIZE];
	struct vsf_host_record zero;

	if (op != VSF_OP_HOSTLIST || rc < 0) {
		vsf_serial_resp_encode(vsf_v1_result(op, rc), resp);
		(void)out_append(s, resp, sizeof(resp));
		return;
	}
	vsf_serial_resp_encode(VSF_RESULT_HOSTLIST, resp);
	(void)out_append(s, resp, sizeof(resp));
	for (size_t i = 0; hl && i < hl->n; i++)
		if (vsf_host_record_encode(&hl->recs[i], rec) == 0)
			(void)out_append(s, rec, sizeof(rec));
	memset(&zero, 0, sizeof(zero));
	(void)vsf_host_record_encode(&zero, rec);
	(void)out_append(s, rec, sizeof(rec));
	/* stock sends a final result the stock client never reads */
	vsf_serial_resp_encode(VSF_RESULT_SUCCESS, resp);
	(void)out_append(s, resp, sizeof(resp));
}

static int v2_code(int rc)
{
	return rc == VSF_BACKEND_OFF ? VSF_V2_RESULT_OFF
				     : vsf_v2_result_from_errno(rc);
}

/* RESULT (MAC'd) for a v2 request; HOSTRECs first for a host list. */
static void encode_v2_reply(struct chan_sock *s, const struct chan_call *c,
			    int op, int rc, const struct vsf_hostlist *hl)
{
	const struct vsf_key *k = c->key ? &c->key->k : NULL;
	struct vsf_v2_result_msg res = { .request_id = c->request_id };
	uint8_t frame[VSF_V2_MAX_FRAME];
	int n;

	if (!k)
		return;
	memcpy(res.client_nonce, c->client_nonce, VSF_V2_NONCE_LEN);
	for (size_t i = 0; op == VSF_OP_HOSTLIST && rc == 0 && hl &&
			   i < hl->n; i++) {
		struct vsf_v2_hostrec h = { .request_id = c->request_id,
					    .index = res.count,
					    .state = hl->recs[i].state };

		memcpy(h.client_nonce, c->client_nonce, VSF_V2_NONCE_LEN);
		vsf_strlcpy(h.name, hl->recs[i].name, sizeof(h.name));
		vsf_strlcpy(h.uuid, hl->recs[i].uuid, sizeof(h.uuid));
		n = vsf_v2_hostrec_encode(&h, k->bytes, k->len, frame,
					  sizeof(frame));
		if (n > 0 && out_append(s, frame, (size_t)n) == 0)
			res.count++;
	}
	res.code = (uint8_t)v2_code(rc);
	n = vsf_v2_result_encode(&res, k->bytes, k->len, frame, sizeof(frame));
	if (n > 0)
		(void)out_append(s, frame, (size_t)n);
}

/* Unauthenticated ERROR: when we cannot (or must not) MAC an answer. */
static void send_v2_error(struct chan_sock *s, uint32_t request_id, int code)
{
	struct vsf_v2_error e = { .request_id = request_id,
				  .code = (uint8_t)code };
	uint8_t frame[VSF_V2_MAX_FRAME];
	int n = vsf_v2_error_encode(&e, frame, sizeof(frame));

	if (n > 0)
		(void)out_append(s, frame, (size_t)n);
}

static void parse_frames(struct chan_sock *s);

static void on_reply(void *ctx, struct vsf_req *req, int rc,
		     const struct vsf_hostlist *hl)
{
	struct chan_call *c = ctx, **pp;
	struct chan_sock *s = c->s;

	for (pp = &s->calls; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			s->ncalls--;
			break;
		}
	if (c->version == 2)
		encode_v2_reply(s, c, vsf_req_op(req), rc, hl);
	else
		encode_reply(s, vsf_req_op(req), rc, hl);
	call_free(c);
	if (sock_flush(s) < 0) {
		sock_retry(s, "write failed");
		return;
	}
	/* a slot is free: frames already buffered must not wait for more
	 * bytes that may never come */
	if (!s->parsing && s->rd.len)
		parse_frames(s);
}

/* Hand a request to the pipeline; @c says how to answer it. */
static void submit(struct chan_sock *s, struct chan_call *c, int op,
		   const char *target, uint32_t seqno)
{
	struct vsf_fenced_ctx *ctx = s->cl->base.ctx;
	struct vsf_peer peer;
	struct vsf_req *req;

	vsf_strlcpy(peer.src, s->dom->uuid, sizeof(peer.src));
	snprintf(peer.desc, sizeof(peer.desc), "channel %s (%s)%s",
		 s->dom->name, s->path, c->version == 2 ? " v2" : "");
	c->s = s;
	c->next = s->calls;
	s->calls = c;
	s->ncalls++;
	req = vsf_pipeline_submit(ctx->pipeline, &peer, op, target, seqno,
				  c->version == 2 ? VSF_SUBMIT_IN_PROGRESS : 0,
				  on_reply, c);
	if (req)
		c->req = req;	/* still pending, so @c is still alive */
}

static void note_garbage(struct chan_sock *s, int err)
{
	if (err < 0)
		vsf_logf(log_of(s), LOG_WARNING,
			 "channel %s (%s): bad request frame (%s), skipping",
			 s->dom->name, s->path, vsf_v2_strerror(err));
	if (s->rd.skipped > s->garbage_logged) {
		vsf_logf(log_of(s), LOG_WARNING,
			 "channel %s (%s): skipped %llu bytes that were not "
			 "requests", s->dom->name, s->path,
			 (unsigned long long)(s->rd.skipped -
					      s->garbage_logged));
		s->garbage_logged = s->rd.skipped;
	}
}

static void on_v1(struct chan_sock *s, const struct vsf_serial_req *sr)
{
	struct chan_call *c;

	if (!s->cl->base.ctx->v1_allowed) {
		vsf_logf(log_of(s), LOG_WARNING, "channel %s (%s): v1 request %s "
			 "%s refused: unauthenticated v1 is denied by policy "
			 "(vserial_fenced/v1)", s->dom->name, s->path,
			 vsf_op_name(sr->op) ? vsf_op_name(sr->op) : "?",
			 sr->domain);
		encode_reply(s, sr->op, -EACCES, NULL);
		return;
	}
	if (!(c = calloc(1, sizeof(*c))))
		return;
	c->version = 1;
	submit(s, c, sr->op, sr->domain, sr->seqno);
}

/* @d's v2 key from disk: DIR/<uuid> if present, else the shared key. */
static struct vsf_keyref *key_load(struct chan_listener *cl,
				   const struct chan_dom *d, int *source,
				   char *err, size_t errlen)
{
	return vsf_keyref_load_for_guest(cl->base.ctx->key_dir, d->uuid,
					 cl->key_file, source, err, errlen);
}

/* The domain's v2 key, loaded on first use. */
static struct vsf_keyref *dom_key(struct chan_sock *s)
{
	struct chan_dom *d = s->dom;
	char err[512];
	int source;

	if (d->key)
		return d->key;
	d->key = key_load(s->cl, d, &source, err, sizeof(err));
	if (d->key) {
		vsf_logf(log_of(s), LOG_INFO, "domain %s: v2 key %s (%s)",
			 d->name, d->key->k.path,
			 source == VSF_KEY_GUEST ? "its own" : "shared");
		return d->key;
	}
	if (!d->key_failed)
		vsf_logf(log_of(s), LOG_ERR, "domain %s: no usable v2 key: %s",
			 d->name, err);
	d->key_failed = true;
	return NULL;
}

static void on_v2_hello(struct chan_sock *s, const struct vsf_v2_any *f)
{
	struct vsf_v2_hello h;
	struct vsf_keyref *k;
	uint8_t out[VSF_V2_MAX_FRAME];
	int n;

	if ((n = vsf_v2_hello_decode(f->frame, f->len, &h)) < 0) {
		send_v2_error(s, 0, vsf_v2_result_from_errno(n));
		return;
	}
	if (!(k = dom_key(s))) {
		send_v2_error(s, h.request_id, VSF_V2_RESULT_BAD_AUTH);
		return;
	}
	n = vsf_v2_server_issue_challenge(&s->v2, &h, vsf_now_ms(), k->k.bytes,
					  k->k.len, out, sizeof(out));
	if (n > 0) {
		(void)out_append(s, out, (size_t)n);
		vsf_keyref_unref(s->chal_key);
		s->chal_key = vsf_keyref_ref(k);
	}
}

static void on_v2_request(struct chan_sock *s, const struct vsf_v2_any *f)
{
	/* the key the pending challenge was issued under, if any */
	struct vsf_keyref *k = s->chal_key ? s->chal_key : dom_key(s);
	struct vsf_v2_request rq;
	struct chan_call *c;
	int r;

	if (!k) {
		send_v2_error(s, 0, VSF_V2_RESULT_BAD_AUTH);
		return;
	}
	r = vsf_v2_request_decode(f->frame, f->len, k->k.bytes, k->k.len, &rq);
	if (r == 0)
		r = vsf_v2_server_check_request(&s->v2, &rq, vsf_now_ms());
	if (r < 0) {
		vsf_logf(log_of(s), LOG_WARNING, "channel %s (%s): v2 request "
			 "refused: %s", s->dom->name, s->path,
			 vsf_v2_strerror(r));
		send_v2_error(s, r == -EBADMSG ? 0 : rq.request_id,
			      vsf_v2_result_from_errno(r));
		return;
	}
	if (!(c = calloc(1, sizeof(*c))))
		return;
	c->version = 2;
	c->key = vsf_keyref_ref(k);
	c->request_id = rq.request_id;
	memcpy(c->client_nonce, rq.client_nonce, VSF_V2_NONCE_LEN);
	submit(s, c, rq.op, rq.name, rq.request_id);
}

static void parse_frames(struct chan_sock *s)
{
	struct vsf_v2_any f;

	s->parsing = true;
	while (s->ncalls < MAX_PENDING && s->fd >= 0) {
		int r = vsf_v2_next_frame(&s->rd, VSF_V2_V1_SERIAL_REQ, &f);

		if (r == 0)
			break;
		note_garbage(s, r);
		if (r < 0)
			continue;
		if (f.version == 1)
			on_v1(s, &f.v1_req);
		else if (f.type == VSF_V2_TYPE_HELLO)
			on_v2_hello(s, &f);
		else if (f.type == VSF_V2_TYPE_REQUEST)
			on_v2_request(s, &f);
		else
			note_garbage(s, -EBADRQC);
	}
	s->parsing = false;
	note_garbage(s, 0);
	if (s->fd >= 0 && sock_flush(s) < 0)
		sock_retry(s, "write failed");
}

static void on_readable(struct chan_sock *s)
{
	size_t space;
	uint8_t *tail;
	ssize_t n;

	/*
	 * Frames still buffered go first: reading into a full buffer would
	 * make the reader drop bytes as garbage.  Read only with a free slot.
	 */
	if (s->rd.len)
		parse_frames(s);
	if (s->fd < 0 || s->ncalls >= MAX_PENDING) {
		sock_update_events(s);
		return;
	}
	tail = vsf_frame_reader_tail(&s->rd, &space);
	n = recv(s->fd, tail, space, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		sock_retry(s, n == 0 ? "closed by the other end"
				     : "read failed");
		return;
	}
	s->backoff_ms = 0;	/* a working channel, not one that flaps */
	vsf_frame_reader_commit(&s->rd, (size_t)n);
	parse_frames(s);
	if (s->fd >= 0)
		sock_update_events(s);
}

static void sock_up(struct chan_sock *s)
{
	if (s->timer)
		(void)vsf_loop_del_timer(loop_of(s), s->timer);
	s->timer = 0;
	s->connected = true;
	if (s->down_ms)
		vsf_logf(log_of(s), LOG_INFO, "channel %s (%s): connected, "
			 "domain %s (again, after %u attempts)", s->dom->name,
			 s->path, s->dom->uuid, s->attempts + 1);
	else
		vsf_logf(log_of(s), LOG_INFO, "channel %s (%s): connected, "
			 "domain %s", s->dom->name, s->path, s->dom->uuid);
	s->down_ms = 0;
	s->rechecking = false;
	sock_update_events(s);
}

static void on_sock(struct vsf_loop *loop, int fd, int events, void *data)
{
	struct chan_sock *s = data;
	int err = 0;
	socklen_t len = sizeof(err);

	(void)loop;
	if (!s->connected) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			sock_retry(s, strerror(err));
			return;
		}
		sock_up(s);
		return;
	}
	/*
	 * A hang-up is reported whatever events we asked for; with reading
	 * paused (all request slots busy) it would fire forever.  The other
	 * end is gone, so there is nobody to answer: drop the connection.
	 */
	if (events & VSF_LOOP_ERROR && s->ncalls >= MAX_PENDING) {
		sock_retry(s, "hung up");
		return;
	}
	if (events & VSF_LOOP_WRITE && sock_flush(s) < 0) {
		sock_retry(s, "write failed");
		return;
	}
	if (events & (VSF_LOOP_READ | VSF_LOOP_ERROR))
		on_readable(s);
}

static void on_connect_timeout(struct vsf_loop *loop, uint64_t id,
			       void *data)
{
	struct chan_sock *s = data;

	(void)loop;
	(void)id;
	s->timer = 0;
	sock_retry(s, "connect timed out");
}

static void sock_connect(struct chan_sock *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	if (strlen(s->path) >= sizeof(sa.sun_path)) {
		vsf_logf(log_of(s), LOG_ERR, "channel %s: socket path '%s' too "
			 "long, ignoring", s->dom->name, s->path);
		return;
	}
	memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		sock_retry(s, strerror(errno));
		return;
	}
	r = connect(s->fd, (struct sockaddr *)&sa, sizeof(sa));
	if (r < 0 && errno != EINPROGRESS) {
		sock_retry(s, strerror(errno));
		return;
	}
	if (vsf_loop_add_fd(loop_of(s), s->fd, r == 0 ? VSF_LOOP_READ
						   : VSF_LOOP_WRITE,
			    on_sock, s) < 0) {
		sock_retry(s, "cannot watch the socket");
		return;
	}
	if (r == 0)
		sock_up(s);
	else
		s->timer = vsf_loop_add_timer(loop_of(s), CONNECT_TIMEOUT_MS,
					      on_connect_timeout, NULL, s);
}

static struct chan_dom *dom_find(struct chan_listener *cl, const char *uuid)
{
	for (struct chan_dom *d = cl->doms; d; d = d->next)
		if (!strcasecmp(d->uuid, uuid))
			return d;
	return NULL;
}

static void dom_remove(struct chan_listener *cl, struct chan_dom *d)
{
	struct chan_dom **pp;

	for (pp = &cl->doms; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	while (d->socks) {
		struct chan_sock *s = d->socks;

		d->socks = s->next;
		sock_free(s);
	}
	vsf_keyref_unref(d->key);
	vsf_keyref_unref(d->new_key);
	vsf_logf(cl->base.ctx->log, LOG_INFO,
		 "domain %s (%s): channels closed", d->name, d->uuid);
	free(d);
}

static struct chan_sock *dom_sock(const struct chan_dom *d, const char *path)
{
	for (struct chan_sock *s = d->socks; s; s = s->next)
		if (!strcmp(s->path, path))
			return s;
	return NULL;
}

static bool msg_lists(const struct chan_msg *m, const char *path)
{
	for (size_t i = 0; i < m->socks.n; i++)
		if (m->socks.paths[i] && !strcmp(m->socks.paths[i], path))
			return true;
	return false;
}

/* libvirt lists @s (again): wake a parked socket, note a confirmation. */
static void sock_listed(struct chan_sock *s, const struct chan_msg *m)
{
	bool asked = s->rechecking;

	if (m->recheck)
		s->rechecking = false;
	if (s->parked && !m->recheck) {
		vsf_logf(log_of(s), LOG_INFO, "channel %s (%s): listed by "
			 "libvirt again; reconnecting", s->dom->name, s->path);
		s->parked = false;
		s->down_ms = 0;
		s->backoff_ms = 0;
		sock_connect(s);
	} else if (asked && m->recheck && !s->connected && !s->parked) {
		vsf_logf(log_of(s), LOG_INFO, "channel %s (%s): libvirt "
			 "still lists it for the running domain; retrying",
			 s->dom->name, s->path);
	}
}

/* Forget sockets libvirt no longer lists for the domain (hot-unplug). */
static void dom_forget_unlisted(struct chan_dom *d, const struct chan_msg *m)
{
	struct chan_sock **pp = &d->socks, *s;

	while ((s = *pp)) {
		if (msg_lists(m, s->path)) {
			pp = &s->next;
			continue;
		}
		vsf_logf(log_of(s), LOG_INFO, "channel %s (%s): no longer in "
			 "the domain's definition; forgotten", d->name,
			 s->path);
		*pp = s->next;
		sock_free(s);
	}
}

static void dom_up(struct chan_listener *cl, struct chan_msg *m)
{
	struct chan_dom *d = dom_find(cl, m->uuid);

	if (!d) {
		if (!m->socks.n || !(d = calloc(1, sizeof(*d))))
			return;
		vsf_strlcpy(d->uuid, m->uuid, sizeof(d->uuid));
		d->next = cl->doms;
		cl->doms = d;
	}
	vsf_strlcpy(d->name, m->name, sizeof(d->name));
	d->seen = true;
	if (!m->partial)
		dom_forget_unlisted(d, m);
	for (size_t i = 0; i < m->socks.n; i++) {
		struct chan_sock *s = dom_sock(d, m->socks.paths[i]);

		if (s) {
			sock_listed(s, m);
			continue;
		}
		if (!(s = calloc(1, sizeof(*s))))
			continue;
		s->cl = cl;
		s->dom = d;
		s->fd = -1;
		s->path = m->socks.paths[i];
		m->socks.paths[i] = NULL;	/* ownership moved */
		vsf_frame_reader_init(&s->rd);
		vsf_v2_server_chan_init(&s->v2);
		s->next = d->socks;
		d->socks = s;
		sock_connect(s);
	}
	if (!d->socks)
		dom_remove(cl, d);
}

static void handle_msg(struct chan_listener *cl, struct chan_msg *m)
{
	struct chan_dom *d, *next;

	switch (m->type) {
	case CHAN_MSG_SCAN_BEGIN:
		for (d = cl->doms; d; d = d->next)
			d->seen = false;
		break;
	case CHAN_MSG_UP:
		dom_up(cl, m);
		break;
	case CHAN_MSG_DOWN:
		if ((d = dom_find(cl, m->uuid)))
			dom_remove(cl, d);
		break;
	case CHAN_MSG_SCAN_END:
		for (d = cl->doms; d; d = next) {
			next = d->next;
			if (!d->seen)
				dom_remove(cl, d);
		}
		if (cl->lost)
			vsf_logf(cl->base.ctx->log, LOG_NOTICE,
				 "libvirt connection back; domains rescanned");
		cl->lost = false;
		break;
	case CHAN_MSG_LOST:
		vsf_logf(cl->base.ctx->log, cl->lost ? LOG_DEBUG : LOG_WARNING,
			 "%s; open channels keep working, reconnecting",
			 m->text);
		cl->lost = true;
		break;
	}
}

static void on_watch(struct vsf_loop *loop, int fd, int events, void *data)
{
	struct chan_listener *cl = data;
	struct chan_msg *list = chan_watch_take(cl->watch);

	(void)loop;
	(void)fd;
	(void)events;
	for (struct chan_msg *m = list; m; m = m->next)
		handle_msg(cl, m);
	chan_msg_free(list);
}

/* Stock: "serial" (default) or "vmchannel", or a number (0 = serial). */
static int parse_mode(struct chan_listener *cl, const char *mode)
{
	char buf[128], *tok, *save = NULL;

	if (!mode)
		return 0;
	vsf_strlcpy(buf, mode, sizeof(buf));
	for (tok = strtok_r(buf, " ,", &save); tok;
	     tok = strtok_r(NULL, " ,", &save)) {
		if (!strcasecmp(tok, "serial") || !strcmp(tok, "0"))
			cl->sel.serial = true;
		else if (!strcasecmp(tok, "vmchannel") ||
			 strspn(tok, "0123456789") == strlen(tok))
			cl->sel.vmchannel = true;
		else
			return -EINVAL;
	}
	return 0;
}

static int parse_give_up(struct chan_listener *cl, const char *v, char *err,
			 size_t errlen)
{
	unsigned long sec = GIVE_UP_S_DEFAULT;

	if (v && vsf_parse_ulong(v, 86400, &sec) < 0) {
		snprintf(err, errlen, "listeners/serial/reconnect_give_up = "
			 "\"%s\": want seconds, 0 to 86400", v);
		return -EINVAL;
	}
	cl->give_up_ms = (uint64_t)sec * 1000;
	return 0;
}

static int chan_open(struct vsf_listener *l, const struct vsf_conf_node *cfg,
		     char *err, size_t errlen)
{
	struct chan_listener *cl = to_cl(l);
	const char *path = vsf_conf_get(cfg, "path");
	const char *mode = vsf_conf_get(cfg, "mode");
	const struct vsf_conf_node *n;
	int nn = 0;

	if (path && !(cl->path = strdup(path)))
		return -ENOMEM;
	if (vsf_conf_get(cfg, "key_file") &&
	    !(cl->key_file = strdup(vsf_conf_get(cfg, "key_file"))))
		return -ENOMEM;
	cl->sel.path = cl->path;
	for (n = vsf_conf_next(cfg, NULL, "channel_name"); n && nn < MAX_NAMES;
	     n = vsf_conf_next(cfg, n, "channel_name"))
		if (n->value && !(cl->names[nn++] = strdup(n->value)))
			return -ENOMEM;
	cl->sel.names = (const char *const *)cl->names;
	if (parse_mode(cl, mode) < 0) {
		snprintf(err, errlen, "listeners/serial/mode: unknown mode "
			 "'%s'; use \"serial\", \"vmchannel\" or both", mode);
		return -EINVAL;
	}
	if (!mode && !nn)
		cl->sel.serial = true;	/* stock default */
	if (parse_give_up(cl, vsf_conf_get(cfg, "reconnect_give_up"), err,
			  errlen) < 0)
		return -EINVAL;
	cl->watch = chan_watch_start(vsf_conf_get(cfg, "uri"), &cl->sel);
	if (!cl->watch) {
		snprintf(err, errlen, "serial listener: cannot start the "
			 "libvirt watcher thread");
		return -ENOMEM;
	}
	return vsf_loop_add_fd(l->ctx->loop, chan_watch_fd(cl->watch),
			       VSF_LOOP_READ, on_watch, cl);
}

/*
 * SIGHUP: read every key in use again, all or nothing.  A key file that no
 * longer loads leaves every domain on the key it had.  Exchanges under way
 * keep the key they started with (keyref.h); domains with no key
 * yet load theirs on first use, as before.
 */
static int chan_reload(struct vsf_listener *l, char *err, size_t errlen)
{
	struct chan_listener *cl = to_cl(l);
	struct chan_dom *d;
	char why[512];
	int n = 0, source;

	for (d = cl->doms; d; d = d->next) {
		if (!d->key)
			continue;
		d->new_key = key_load(cl, d, &source, why, sizeof(why));
		if (!d->new_key) {
			snprintf(err, errlen, "domain %s: %s", d->name, why);
			for (d = cl->doms; d; d = d->next)
				d->new_key = vsf_keyref_unref(d->new_key);
			return -EKEYREJECTED;
		}
	}
	for (d = cl->doms; d; d = d->next) {
		d->key_failed = false;	/* a fixed file is worth a new try */
		if (!d->new_key)
			continue;
		if (strcmp(d->key->k.path, d->new_key->k.path))
			vsf_logf(cl->base.ctx->log, LOG_INFO, "domain %s: v2 "
				 "key now %s", d->name, d->new_key->k.path);
		vsf_keyref_unref(d->key);
		d->key = d->new_key;
		d->new_key = NULL;
		n++;
	}
	return n;
}

static void chan_close(struct vsf_listener *l)
{
	struct chan_listener *cl = to_cl(l);

	if (cl->watch) {
		vsf_loop_del_fd(l->ctx->loop, chan_watch_fd(cl->watch));
		cl->watch = chan_watch_stop(cl->watch);
	}
	while (cl->doms)
		dom_remove(cl, cl->doms);
	for (int i = 0; cl->names[i]; i++)
		free(cl->names[i]);
	free(cl->path);
	free(cl->key_file);
}

const struct vsf_listener_ops vsf_chan_listener_ops = {
	.version = VSF_LISTENER_OPS_V1,
	.name = "serial",
	.size = sizeof(struct chan_listener),
	.open = chan_open,
	.close = chan_close,
	.reload = chan_reload,
};
