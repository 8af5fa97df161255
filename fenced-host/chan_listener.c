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
 *   } }
 *
 * For every socket of every running domain (chan_xml.h rules) we connect
 * as the client, without blocking, and read a byte stream of requests.
 * The source of every request is the domain's UUID.  A socket that fails or
 * closes is retried with backoff while its domain runs (stock never
 * retries).  Garbage is skipped by resyncing on the magic.
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
#include "listener.h"
#include "util.h"
#include "vsf_frame.h"
#include "vsf_wire.h"

#define CONNECT_TIMEOUT_MS 3000
#define RETRY_MIN_MS 250
#define RETRY_MAX_MS 10000
#define MAX_PENDING 8			/* requests in flight per socket */
#define OUT_HIGH_WATER (64 * 1024)	/* stop reading above this */
#define MAX_NAMES 16

struct chan_dom;
struct chan_sock;

/* One request in flight on a socket. */
struct chan_call {
	struct chan_sock *s;
	struct vsf_req *req;		/* NULL until submit returns */
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
	struct vsf_frame_reader rd;
	uint8_t *out;			/* replies not yet written */
	size_t out_len, out_cap;
	struct chan_call *calls;
	unsigned int ncalls;
	uint64_t garbage_logged;	/* rd.skipped when last logged */
	struct chan_sock *next;
};

struct chan_dom {
	char uuid[40];
	char name[64];
	bool seen;			/* since the last SCAN_BEGIN */
	struct chan_sock *socks;
	struct chan_dom *next;
};

struct chan_listener {
	struct vsf_listener base;	/* first */
	struct chan_watch *watch;
	struct chan_dom *doms;
	char *path;
	char *names[MAX_NAMES + 1];
	struct vsf_chan_select sel;
	bool lost;			/* libvirt connection is down */
};

static struct chan_listener *to_cl(struct vsf_listener *l)
{
	return (struct chan_listener *)l;
}

static const struct vsf_log *LOG(const struct chan_sock *s)
{
	return s->cl->base.ctx->log;
}

static struct vsf_loop *LOOP(const struct chan_sock *s)
{
	return s->cl->base.ctx->loop;
}

static void sock_connect(struct chan_sock *s);

/* Close the fd and forget pending requests; the sock object stays. */
static void sock_shut(struct chan_sock *s)
{
	while (s->calls) {
		struct chan_call *c = s->calls;

		s->calls = c->next;
		vsf_req_detach(c->req);
		free(c);
	}
	s->ncalls = 0;
	if (s->timer)
		(void)vsf_loop_del_timer(LOOP(s), s->timer);
	s->timer = 0;
	if (s->fd >= 0) {
		vsf_loop_del_fd(LOOP(s), s->fd);
		close(s->fd);
	}
	s->fd = -1;
	s->connected = false;
	s->out_len = 0;
	vsf_frame_reader_init(&s->rd);
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

/* Drop the connection and try again later, backing off. */
static void sock_retry(struct chan_sock *s, const char *why)
{
	sock_shut(s);
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : RETRY_MIN_MS;
	if (s->backoff_ms > RETRY_MAX_MS)
		s->backoff_ms = RETRY_MAX_MS;
	vsf_logf(LOG(s), s->backoff_ms >= RETRY_MAX_MS ? LOG_DEBUG : LOG_INFO,
		 "channel %s (%s): %s; retrying in %u ms", s->dom->name,
		 s->path, why, s->backoff_ms);
	s->timer = vsf_loop_add_timer(LOOP(s), s->backoff_ms, on_retry, NULL,
				      s);
}

static int out_append(struct chan_sock *s, const void *p, size_t n)
{
	if (s->out_len + n > s->out_cap) {
		size_t cap = s->out_cap ? s->out_cap : 256;
		uint8_t *o;

		while (cap < s->out_len + n)
			cap *= 2;
		if (!(o = realloc(s->out, cap)))
			return -ENOMEM;
		s->out = o;
		s->out_cap = cap;
	}
	memcpy(s->out + s->out_len, p, n);
	s->out_len += n;
	return 0;
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
	(void)vsf_loop_mod_fd(LOOP(s), s->fd, ev);
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
	encode_reply(s, vsf_req_op(req), rc, hl);
	free(c);
	if (sock_flush(s) < 0)
		sock_retry(s, "write failed");
}

static void submit(struct chan_sock *s, const struct vsf_serial_req *sr)
{
	struct vsf_fenced_ctx *ctx = s->cl->base.ctx;
	struct chan_call *c = calloc(1, sizeof(*c));
	struct vsf_peer peer;
	struct vsf_req *req;

	if (!c)
		return;
	vsf_strlcpy(peer.src, s->dom->uuid, sizeof(peer.src));
	snprintf(peer.desc, sizeof(peer.desc), "channel %s (%s)",
		 s->dom->name, s->path);
	c->s = s;
	c->next = s->calls;
	s->calls = c;
	s->ncalls++;
	req = vsf_pipeline_submit(ctx->pipeline, &peer, sr->op, sr->domain,
				  sr->seqno, on_reply, c);
	if (req)
		c->req = req;	/* still pending, so @c is still alive */
}

static void note_garbage(struct chan_sock *s, int err)
{
	if (err < 0)
		vsf_logf(LOG(s), LOG_WARNING,
			 "channel %s (%s): bad request frame (%s), skipping",
			 s->dom->name, s->path, vsf_wire_strerror(err));
	if (s->rd.skipped > s->garbage_logged) {
		vsf_logf(LOG(s), LOG_WARNING,
			 "channel %s (%s): skipped %llu bytes that were not "
			 "requests", s->dom->name, s->path,
			 (unsigned long long)(s->rd.skipped -
					      s->garbage_logged));
		s->garbage_logged = s->rd.skipped;
	}
}

static void parse_frames(struct chan_sock *s)
{
	static const uint32_t magics[] = { VSF_SERIAL_MAGIC };
	struct vsf_serial_req sr;

	while (s->ncalls < MAX_PENDING && s->fd >= 0) {
		int r;

		if (vsf_frame_reader_sync(&s->rd, magics, 1) < 0)
			break;
		r = vsf_frame_next_serial_req(&s->rd, &sr);
		if (r == 0)
			break;
		note_garbage(s, r);
		if (r == 1)
			submit(s, &sr);
	}
	note_garbage(s, 0);
}

static void on_readable(struct chan_sock *s)
{
	size_t space;
	uint8_t *tail = vsf_frame_reader_tail(&s->rd, &space);
	ssize_t n = recv(s->fd, tail, space, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		sock_retry(s, n == 0 ? "closed by the other end"
				     : "read failed");
		return;
	}
	vsf_frame_reader_commit(&s->rd, (size_t)n);
	parse_frames(s);
	if (s->fd >= 0)
		sock_update_events(s);
}

static void sock_up(struct chan_sock *s)
{
	if (s->timer)
		(void)vsf_loop_del_timer(LOOP(s), s->timer);
	s->timer = 0;
	s->connected = true;
	s->backoff_ms = 0;
	vsf_logf(LOG(s), LOG_INFO, "channel %s (%s): connected, domain %s",
		 s->dom->name, s->path, s->dom->uuid);
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
		vsf_logf(LOG(s), LOG_ERR, "channel %s: socket path '%s' too "
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
	if (vsf_loop_add_fd(LOOP(s), s->fd, r == 0 ? VSF_LOOP_READ
						   : VSF_LOOP_WRITE,
			    on_sock, s) < 0) {
		sock_retry(s, "cannot watch the socket");
		return;
	}
	if (r == 0)
		sock_up(s);
	else
		s->timer = vsf_loop_add_timer(LOOP(s), CONNECT_TIMEOUT_MS,
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
	vsf_logf(cl->base.ctx->log, LOG_INFO,
		 "domain %s (%s): channels closed", d->name, d->uuid);
	free(d);
}

static bool dom_has_path(const struct chan_dom *d, const char *path)
{
	for (const struct chan_sock *s = d->socks; s; s = s->next)
		if (!strcmp(s->path, path))
			return true;
	return false;
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
	for (size_t i = 0; i < m->socks.n; i++) {
		struct chan_sock *s;

		if (dom_has_path(d, m->socks.paths[i]))
			continue;
		if (!(s = calloc(1, sizeof(*s))))
			continue;
		s->cl = cl;
		s->dom = d;
		s->fd = -1;
		s->path = m->socks.paths[i];
		m->socks.paths[i] = NULL;	/* ownership moved */
		vsf_frame_reader_init(&s->rd);
		s->next = d->socks;
		d->socks = s;
		sock_connect(s);
	}
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
	cl->watch = chan_watch_start(vsf_conf_get(cfg, "uri"), &cl->sel);
	if (!cl->watch) {
		snprintf(err, errlen, "serial listener: cannot start the "
			 "libvirt watcher thread");
		return -ENOMEM;
	}
	return vsf_loop_add_fd(l->ctx->loop, chan_watch_fd(cl->watch),
			       VSF_LOOP_READ, on_watch, cl);
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
}

const struct vsf_listener_ops vsf_chan_listener_ops = {
	.version = VSF_LISTENER_OPS_V1,
	.name = "serial",
	.size = sizeof(struct chan_listener),
	.open = chan_open,
	.close = chan_close,
};
