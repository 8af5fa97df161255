/*
 * tcp_listener.c - fence_virt's tcp mode (`fence_virt -T <ip>`).
 *
 *   listeners { tcp {
 *       key_file = "/etc/cluster/fence_xvm.key";
 *       hash = "sha256";	# minimum request hash (stock)
 *       auth = "sha256";	# challenge-response type (stock parses this
 *				#   into hash by mistake; we honour it)
 *       family = "ipv4";	# or ipv6
 *       address = "127.0.0.1";
 *       port = "1229";
 *   } }
 *
 * Per connection, a non-blocking state machine with a deadline per step,
 * so one slow or silent client never delays another:
 *
 *   READ_REQ   176-byte signed request; checked (hash type, signature)
 *   READ_CHAL  the client's 64-byte challenge     } only when auth != none
 *   WRITE_*    our answer + our 64-byte challenge  }
 *   READ_RESP  the client's answer, checked        }
 *   WAIT       the pipeline runs the request
 *   FLUSH      1 result byte, or 0xFD + host records + terminator + result
 *
 * Unlike stock, a missing or unreadable key is an error at start-up, not a
 * silent switch to "no authentication".  SIGHUP reads key_file again; a
 * file that no longer loads leaves the running key in force, and a
 * connection keeps the key it began with (keyref.h).
 *
 * The "vsock" listener (`fence_virt -S`) is the same exchange on AF_VSOCK:
 *   listeners { vsock { key_file; hash; auth; port = "1229"; } }
 * and names the peer by its CID, which groups match as an "ip" entry.
 *
 * The "multicast" listener serves fence_xvm (IPv4):
 *   listeners { multicast { key_file; hash; auth; address = "225.0.0.12";
 *                           port = "1229"; interface = "virbr0"; } }
 * A signed request arrives as a datagram; we verify it, then call the
 * client back over tcp at the address and port inside the request (which
 * is also the source for groups, as stock) and run the same exchange from
 * READ_CHAL on.  Retransmits of a request already called back are ignored
 * for RECENT_MS, unless the callback failed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "keyref.h"
#include "listener.h"
#include "util.h"
#include "vsf_auth.h"
#include "vsf_key.h"
#include "vsf_wire.h"

#define STEP_TIMEOUT_MS 10000	/* stock: 10 s per handshake step */
#define MAX_CONNS 256
#define BACKLOG 64
#define ACCEPT_PAUSE_MS 500	/* out of fds: wait before accepting again */

enum tcp_state {
	ST_CONNECTING,		/* multicast: calling the client back */
	ST_READ_REQ,
	ST_READ_CHAL,
	ST_READ_RESP,
	ST_WAIT,
	ST_FLUSH,
};

struct tcp_conn {
	struct tcp_listener *tl;
	int fd;
	enum tcp_state state;
	uint8_t in[VSF_NET_REQ_SIZE];
	size_t in_len, in_want;
	uint8_t *out;
	size_t out_len, out_off, out_cap;
	uint8_t challenge[VSF_CHALLENGE_LEN];	/* the one we sent */
	struct vsf_net_req req;
	struct vsf_peer peer;
	struct vsf_req *pending;
	struct vsf_keyref *key;	/* the listener's key when it began */
	uint64_t timer;
	bool answered;		/* the result went out (multicast dedupe) */
	struct tcp_conn *next;
};

struct tcp_listener {
	struct vsf_listener base;	/* first */
	int fd;
	struct vsf_keyref *key;	/* NULL: hash and auth are "none" */
	char *key_file;		/* NULL: VSF_KEY_DEFAULT_PATH */
	int min_hash;
	int auth;
	struct tcp_conn *conns;
	unsigned int nconns;
	int ufd;		/* multicast: the UDP socket, else -1 */
	struct recent *recent;	/* multicast: callbacks made lately */
	uint64_t accept_timer;	/* accepting paused (out of fds), else 0 */
};

/* A multicast request already called back: retransmits are ignored. */
struct recent {
	char src[VSF_HISTORY_SRC_LEN];
	uint32_t seqno;
	uint16_t port;
	uint64_t until_ms;	/* 0 while the callback runs */
	struct tcp_conn *conn;	/* while it runs */
	struct recent *next;
};

#define RECENT_MS 10000

static struct tcp_listener *to_tl(struct vsf_listener *l)
{
	return (struct tcp_listener *)l;
}

static const struct vsf_log *log_of(const struct tcp_conn *c)
{
	return c->tl->base.ctx->log;
}

static struct vsf_loop *loop_of(const struct tcp_conn *c)
{
	return c->tl->base.ctx->loop;
}

static void conn_free(struct tcp_conn *c)
{
	struct tcp_listener *tl = c->tl;
	struct tcp_conn **pp;

	for (pp = &tl->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			tl->nconns--;
			break;
		}
	for (struct recent *r = tl->recent; r; r = r->next)
		if (r->conn == c) {
			r->conn = NULL;
			/* failed callbacks may be retried by a retransmit */
			r->until_ms = c->answered ? vsf_now_ms() + RECENT_MS : 1;
		}
	vsf_req_detach(c->pending);
	if (c->timer)
		(void)vsf_loop_del_timer(loop_of(c), c->timer);
	vsf_loop_del_fd(loop_of(c), c->fd);
	close(c->fd);
	vsf_keyref_unref(c->key);
	free(c->out);
	free(c);
}

/* The key bytes of @k, or NULL/0 without a key. */
static const uint8_t *key_bytes(const struct vsf_keyref *k, size_t *len)
{
	*len = k ? k->k.len : 0;
	return k ? k->k.bytes : NULL;
}

static void conn_drop(struct tcp_conn *c, const char *why)
{
	vsf_logf(log_of(c), LOG_WARNING, "%s: %s, closing", c->peer.desc, why);
	conn_free(c);
}

static void on_step_timeout(struct vsf_loop *loop, uint64_t id, void *data)
{
	struct tcp_conn *c = data;

	(void)loop;
	(void)id;
	c->timer = 0;
	conn_drop(c, "no progress for 10 s");
}

static void arm_step(struct tcp_conn *c)
{
	if (c->timer)
		(void)vsf_loop_del_timer(loop_of(c), c->timer);
	c->timer = vsf_loop_add_timer(loop_of(c), STEP_TIMEOUT_MS,
				      on_step_timeout, NULL, c);
}

static int out_append(struct tcp_conn *c, const void *p, size_t n)
{
	return vsf_buf_append(&c->out, &c->out_len, &c->out_cap, p, n);
}

static void set_events(struct tcp_conn *c)
{
	int ev = c->out_off < c->out_len ? VSF_LOOP_WRITE : 0;

	if (c->state == ST_CONNECTING)
		ev = VSF_LOOP_WRITE;
	else if (c->state != ST_WAIT && c->state != ST_FLUSH)
		ev |= VSF_LOOP_READ;
	(void)vsf_loop_mod_fd(loop_of(c), c->fd, ev);
}

static void expect(struct tcp_conn *c, enum tcp_state st, size_t n)
{
	c->state = st;
	c->in_len = 0;
	c->in_want = n;
	arm_step(c);
}

static void on_reply(void *ctx, struct vsf_req *req, int rc,
		     const struct vsf_hostlist *hl)
{
	struct tcp_conn *c = ctx;
	uint8_t b, rec[VSF_HOST_RECORD_SIZE];
	struct vsf_host_record zero = { { 0 }, { 0 }, 0 };
	int op = vsf_req_op(req);

	c->pending = NULL;
	if (op == VSF_OP_HOSTLIST && rc == 0) {
		b = VSF_RESULT_HOSTLIST;
		(void)out_append(c, &b, 1);
		for (size_t i = 0; hl && i < hl->n; i++)
			if (vsf_host_record_encode(&hl->recs[i], rec) == 0)
				(void)out_append(c, rec, sizeof(rec));
		(void)vsf_host_record_encode(&zero, rec);
		(void)out_append(c, rec, sizeof(rec));
		b = VSF_RESULT_SUCCESS;
	} else {
		b = vsf_v1_result(op < 0 ? c->req.op : op, rc);
	}
	(void)out_append(c, &b, 1);
	c->state = ST_FLUSH;
	arm_step(c);
	set_events(c);
}

static void submit(struct tcp_conn *c)
{
	struct vsf_req *r;

	c->state = ST_WAIT;
	if (c->timer)
		(void)vsf_loop_del_timer(loop_of(c), c->timer);
	c->timer = 0;	/* the pipeline has its own deadline */
	set_events(c);
	r = vsf_pipeline_submit(c->tl->base.ctx->pipeline, &c->peer,
				c->req.op, c->req.domain, c->req.seqno, 0,
				on_reply, c);
	if (r)
		c->pending = r;
}

static int got_request(struct tcp_conn *c)
{
	struct tcp_listener *tl = c->tl;
	const uint8_t *kb;
	size_t klen;
	int r;

	r = vsf_net_req_decode(c->in, VSF_NET_REQ_SIZE, &c->req);
	if (r < 0) {
		conn_drop(c, vsf_wire_strerror(r));
		return -1;
	}
	kb = key_bytes(c->key, &klen);
	r = vsf_net_req_verify(c->in, VSF_NET_REQ_SIZE, tl->min_hash, kb, klen);
	if (r < 0) {
		vsf_logf(log_of(c), LOG_WARNING, "%s: request for %s %s refused: "
			 "%s", c->peer.desc, vsf_op_name(c->req.op),
			 c->req.domain,
			 r == -EKEYREJECTED ? "hash type weaker than "
					      "the configured minimum"
			 : r == -EBADMSG ? "bad signature (wrong key?)"
					 : strerror(-r));
		conn_free(c);
		return -1;
	}
	if (tl->auth == VSF_HASH_NONE) {
		submit(c);
		return 0;
	}
	expect(c, ST_READ_CHAL, VSF_CHALLENGE_LEN);
	return 0;
}

static int got_challenge(struct tcp_conn *c)
{
	struct tcp_listener *tl = c->tl;
	uint8_t answer[VSF_CHALLENGE_LEN];
	size_t klen;
	const uint8_t *kb = key_bytes(c->key, &klen);

	if (vsf_challenge_answer(tl->auth, kb, klen, c->in, answer) < 0 ||
	    vsf_challenge_new(c->challenge) < 0 ||
	    out_append(c, answer, sizeof(answer)) < 0 ||
	    out_append(c, c->challenge, sizeof(c->challenge)) < 0) {
		conn_drop(c, "cannot answer the challenge");
		return -1;
	}
	expect(c, ST_READ_RESP, VSF_CHALLENGE_LEN);
	set_events(c);
	return 0;
}

static int got_response(struct tcp_conn *c)
{
	struct tcp_listener *tl = c->tl;
	size_t klen;
	const uint8_t *kb = key_bytes(c->key, &klen);

	if (vsf_challenge_check(tl->auth, kb, klen, c->challenge, c->in) < 0) {
		conn_drop(c, "wrong answer to our challenge (wrong key or "
			  "auth type?)");
		return -1;
	}
	submit(c);
	return 0;
}

/* Read towards in_want; run the step when complete.  <0: conn is gone. */
static int conn_read(struct tcp_conn *c)
{
	while (c->in_len < c->in_want) {
		ssize_t n = recv(c->fd, c->in + c->in_len,
				 c->in_want - c->in_len, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			conn_drop(c, n == 0 ? "client closed the connection"
					    : strerror(errno));
			return -1;
		}
		c->in_len += (size_t)n;
	}
	switch (c->state) {
	case ST_READ_REQ: return got_request(c);
	case ST_READ_CHAL: return got_challenge(c);
	case ST_READ_RESP: return got_response(c);
	case ST_CONNECTING: return 0;
	default: return 0;
	}
}

/* <0: conn is gone. */
static int conn_write(struct tcp_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			conn_drop(c, "write failed");
			return -1;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->state == ST_FLUSH) {
			c->answered = true;
			conn_free(c);	/* done: stock closes after the result */
			return -1;
		}
	}
	set_events(c);
	return 0;
}

static void on_conn(struct vsf_loop *loop, int fd, int events, void *data)
{
	struct tcp_conn *c = data;

	(void)loop;
	(void)fd;
	if (c->state == ST_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			conn_drop(c, strerror(err));
			return;
		}
		expect(c, ST_READ_CHAL, VSF_CHALLENGE_LEN);
		set_events(c);
		return;
	}
	if (events & VSF_LOOP_WRITE && conn_write(c) < 0)
		return;
	if (events & (VSF_LOOP_READ | VSF_LOOP_ERROR)) {
		if (c->state == ST_WAIT || c->state == ST_FLUSH) {
			/* reading is off here, so this is a hang-up that would
			 * otherwise be reported again and again */
			conn_drop(c, "client left before the result");
			return;
		}
		(void)conn_read(c);
	}
}

static void name_peer(struct tcp_conn *c, const struct sockaddr_storage *ss)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
	} else if (ss->ss_family == AF_VSOCK) {
		const struct sockaddr_vm *a = (const void *)ss;

		snprintf(ip, sizeof(ip), "%u", a->svm_cid);
		port = a->svm_port;
		vsf_strlcpy(c->peer.src, ip, sizeof(c->peer.src));
		snprintf(c->peer.desc, sizeof(c->peer.desc),
			 "vsock cid %s port %u", ip, port);
		return;
	}
	vsf_strlcpy(c->peer.src, ip, sizeof(c->peer.src));
	snprintf(c->peer.desc, sizeof(c->peer.desc), "tcp %s port %u", ip,
		 port);
}

static void on_accept_resume(struct vsf_loop *loop, uint64_t id, void *data)
{
	struct tcp_listener *tl = data;

	(void)id;
	tl->accept_timer = 0;
	(void)vsf_loop_mod_fd(loop, tl->fd, VSF_LOOP_READ);
}

/*
 * Out of fds or memory: the pending connection stays queued and the
 * (level-triggered) listening socket stays readable, so calling accept
 * again at once would spin the loop.  Stop watching it for a while.
 */
static void pause_accepting(struct tcp_listener *tl, int err)
{
	struct vsf_loop *loop = tl->base.ctx->loop;

	vsf_logf(tl->base.ctx->log, LOG_WARNING, "listener '%s': accept "
		 "failed: %s; not accepting for %d ms (raise the open file "
		 "limit?)", tl->base.ops->name, strerror(err), ACCEPT_PAUSE_MS);
	tl->accept_timer = vsf_loop_add_timer(loop, ACCEPT_PAUSE_MS,
					      on_accept_resume, NULL, tl);
	if (tl->accept_timer)
		(void)vsf_loop_mod_fd(loop, tl->fd, 0);
}

static bool is_out_of_resources(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS ||
	       err == ENOMEM;
}

/* Too many connections (or no memory for one more): name who is turned
 * away, and why. */
static void refuse(struct tcp_listener *tl, int cfd,
		   const struct sockaddr_storage *ss)
{
	struct tcp_conn who = { .tl = tl };

	name_peer(&who, ss);
	vsf_logf(tl->base.ctx->log, LOG_WARNING, "listener '%s': %u "
		 "connections open (limit %d), refusing %s",
		 tl->base.ops->name, tl->nconns, MAX_CONNS, who.peer.desc);
	close(cfd);
}

static void on_accept(struct vsf_loop *loop, int fd, int events, void *data)
{
	struct tcp_listener *tl = data;

	(void)events;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct tcp_conn *c;
		int cfd = accept4(fd, (struct sockaddr *)&ss, &len,
				  SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0 && is_out_of_resources(errno)) {
			pause_accepting(tl, errno);
			return;
		}
		if (cfd < 0)
			return;	/* EAGAIN, or the client already left */
		if (tl->nconns >= MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
			refuse(tl, cfd, &ss);
			continue;
		}
		c->tl = tl;
		c->fd = cfd;
		name_peer(c, &ss);
		if (vsf_loop_add_fd(loop, cfd, VSF_LOOP_READ, on_conn, c) < 0) {
			close(cfd);
			free(c);
			continue;
		}
		c->key = vsf_keyref_ref(tl->key);
		c->next = tl->conns;
		tl->conns = c;
		tl->nconns++;
		expect(c, ST_READ_REQ, VSF_NET_REQ_SIZE);
	}
}

static int get_hash(const struct vsf_conf_node *cfg, const char *key,
		    int *out, char *err, size_t errlen)
{
	const char *v = vsf_conf_get(cfg, key);

	*out = VSF_HASH_SHA256;
	if (!v)
		return 0;
	*out = vsf_hash_from_name(v);
	if (*out < 0) {
		snprintf(err, errlen, "%s = \"%s\": unknown hash", key, v);
		return -EINVAL;
	}
	return 0;
}

static int bind_socket(struct tcp_listener *tl, const struct vsf_conf_node *cfg,
		       char *err, size_t errlen)
{
	const char *fam = vsf_conf_get(cfg, "family");
	bool v6 = fam && !strcasecmp(fam, "ipv6");
	const char *addr = vsf_conf_get(cfg, "address");
	const char *port_s = vsf_conf_get(cfg, "port");
	unsigned long port = 1229;
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int one = 1, r;

	if (port_s && vsf_conf_parse_uint(port_s, 65535, &port) < 0) {
		snprintf(err, errlen, "port = \"%s\": not a port", port_s);
		return -EINVAL;
	}
	if (!addr)
		addr = v6 ? "::1" : "127.0.0.1";
	if (v6) {
		struct sockaddr_in6 *a = (void *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		r = inet_pton(AF_INET6, addr, &a->sin6_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		r = inet_pton(AF_INET, addr, &a->sin_addr);
		len = sizeof(*a);
	}
	if (r != 1) {
		snprintf(err, errlen, "address = \"%s\": not an IPv%c address",
			 addr, v6 ? '6' : '4');
		return -EINVAL;
	}
	tl->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
			SOCK_CLOEXEC, 0);
	if (tl->fd < 0)
		return -errno;
	(void)setsockopt(tl->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(tl->fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(tl->fd, BACKLOG) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s port %lu: %s; is fence_virtd still "
			 "running? stop it or set listeners/tcp/port", addr,
			 port, strerror(-r));
		return r;
	}
	return 0;
}

static int bind_vsock(struct tcp_listener *tl,
		      const struct vsf_conf_node *cfg, char *err,
		      size_t errlen)
{
	const char *port_s = vsf_conf_get(cfg, "port");
	unsigned long port = 1229;
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK,
				  .svm_cid = VMADDR_CID_ANY };
	int r;

	if (port_s && vsf_conf_parse_uint(port_s, 0xffffffffUL, &port) < 0) {
		snprintf(err, errlen, "port = \"%s\": not a port", port_s);
		return -EINVAL;
	}
	sa.svm_port = (unsigned int)port;
	tl->fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);
	if (tl->fd < 0) {
		r = -errno;
		snprintf(err, errlen, "AF_VSOCK socket: %s; is the vsock "
			 "kernel module loaded?", strerror(-r));
		return r;
	}
	if (bind(tl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(tl->fd, BACKLOG) < 0) {
		r = -errno;
		snprintf(err, errlen, "vsock port %lu: %s; is fence_virtd "
			 "still running? stop it or set listeners/vsock/port",
			 port, strerror(-r));
		return r;
	}
	return 0;
}

static struct recent *recent_find(struct tcp_listener *tl, const char *src,
				  uint32_t seqno, uint16_t port)
{
	uint64_t now = vsf_now_ms();
	struct recent **pp = &tl->recent, *r;

	while ((r = *pp)) {
		if (!r->conn && r->until_ms <= now) {	/* expired */
			*pp = r->next;
			free(r);
			continue;
		}
		if (r->seqno == seqno && r->port == port && !strcmp(r->src, src))
			return r;
		pp = &r->next;
	}
	return NULL;
}

static void call_back(struct tcp_listener *tl, const struct vsf_net_req *req,
		      const char *ip)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(req->port) };
	struct recent *rec = recent_find(tl, ip, req->seqno, req->port);
	struct tcp_conn *c;
	int fd;

	if (rec)
		return;	/* a retransmit: stock ignores these as well */
	if (tl->nconns >= MAX_CONNS || !(c = calloc(1, sizeof(*c))))
		return;
	if (!(rec = calloc(1, sizeof(*rec)))) {
		free(c);
		return;
	}
	memcpy(&sa.sin_addr, req->address, 4);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
		       errno != EINPROGRESS) ||
	    vsf_loop_add_fd(tl->base.ctx->loop, fd, VSF_LOOP_WRITE, on_conn,
			    c) < 0) {
		vsf_logf(tl->base.ctx->log, LOG_WARNING, "multicast: cannot "
			 "call %s port %u back: %s", ip, req->port,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		free(c);
		free(rec);
		return;
	}
	c->tl = tl;
	c->fd = fd;
	c->key = vsf_keyref_ref(tl->key);	/* verified @req just now */
	c->req = *req;
	vsf_strlcpy(c->peer.src, ip, sizeof(c->peer.src));
	snprintf(c->peer.desc, sizeof(c->peer.desc), "multicast %s port %u",
		 ip, req->port);
	c->next = tl->conns;
	tl->conns = c;
	tl->nconns++;
	c->state = ST_CONNECTING;
	arm_step(c);
	vsf_strlcpy(rec->src, ip, sizeof(rec->src));
	rec->seqno = req->seqno;
	rec->port = req->port;
	rec->conn = c;
	rec->next = tl->recent;
	tl->recent = rec;
}

static void on_datagram(struct vsf_loop *loop, int fd, int events,
			void *data)
{
	struct tcp_listener *tl = data;
	uint8_t buf[VSF_NET_REQ_SIZE + 1];
	struct vsf_net_req req;
	char ip[INET_ADDRSTRLEN];
	ssize_t n;
	int r;

	(void)loop;
	(void)events;
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
		if (n != VSF_NET_REQ_SIZE ||
		    vsf_net_req_decode(buf, (size_t)n, &req) < 0 ||
		    req.family != AF_INET || req.addrlen != 4)
			continue;	/* not a fence_xvm IPv4 request */
		r = vsf_net_req_verify(buf, (size_t)n, tl->min_hash,
				       tl->key ? tl->key->k.bytes : NULL,
				       tl->key ? tl->key->k.len : 0);
		inet_ntop(AF_INET, req.address, ip, sizeof(ip));
		if (r < 0) {
			vsf_logf(tl->base.ctx->log, LOG_INFO, "multicast: "
				 "request from %s refused: %s", ip,
				 r == -EBADMSG ? "bad signature (wrong key?)"
					       : strerror(-r));
			continue;
		}
		call_back(tl, &req, ip);
	}
}

static int bind_mcast(struct tcp_listener *tl,
		      const struct vsf_conf_node *cfg, char *err,
		      size_t errlen)
{
	const char *fam = vsf_conf_get(cfg, "family");
	const char *addr = vsf_conf_get(cfg, "address");
	const char *ifname = vsf_conf_get(cfg, "interface");
	const char *port_s = vsf_conf_get(cfg, "port");
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct ip_mreqn mr = { 0 };
	unsigned long port = 1229;
	int one = 1, r;

	if (fam && strcasecmp(fam, "ipv4")) {
		snprintf(err, errlen, "family = \"%s\": only ipv4 multicast "
			 "is implemented", fam);
		return -EOPNOTSUPP;
	}
	if (port_s && vsf_conf_parse_uint(port_s, 65535, &port) < 0) {
		snprintf(err, errlen, "port = \"%s\": not a port", port_s);
		return -EINVAL;
	}
	if (!addr)
		addr = "225.0.0.12";
	if (inet_pton(AF_INET, addr, &mr.imr_multiaddr) != 1) {
		snprintf(err, errlen, "address = \"%s\": not an IPv4 address",
			 addr);
		return -EINVAL;
	}
	if (ifname && !(mr.imr_ifindex = (int)if_nametoindex(ifname))) {
		snprintf(err, errlen, "interface = \"%s\": no such interface",
			 ifname);
		return -ENODEV;
	}
	sa.sin_port = htons((uint16_t)port);
	tl->ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (tl->ufd < 0)
		return -errno;
	(void)setsockopt(tl->ufd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(tl->ufd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(tl->ufd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr,
		       sizeof(mr)) < 0) {
		r = -errno;
		snprintf(err, errlen, "multicast %s port %lu%s%s: %s", addr,
			 port, ifname ? " on " : "", ifname ? ifname : "",
			 strerror(-r));
		return r;
	}
	return vsf_loop_add_fd(tl->base.ctx->loop, tl->ufd, VSF_LOOP_READ,
			       on_datagram, tl);
}

enum kind { KIND_TCP, KIND_VSOCK, KIND_MCAST };

static int open_common(struct vsf_listener *l,
		       const struct vsf_conf_node *cfg, enum kind kind,
		       char *err, size_t errlen)
{
	struct tcp_listener *tl = to_tl(l);
	const char *kf = vsf_conf_get(cfg, "key_file");
	char kerr[512];
	int r;

	tl->fd = -1;
	tl->ufd = -1;
	if ((r = get_hash(cfg, "hash", &tl->min_hash, err, errlen)) < 0 ||
	    (r = get_hash(cfg, "auth", &tl->auth, err, errlen)) < 0)
		return r;
	if (kf && !(tl->key_file = strdup(kf)))
		return -ENOMEM;
	if (tl->min_hash != VSF_HASH_NONE || tl->auth != VSF_HASH_NONE) {
		tl->key = vsf_keyref_load(kf, kerr, sizeof(kerr));
		if (!tl->key) {
			snprintf(err, errlen, "%s (set hash = \"none\" and "
				 "auth = \"none\" to run without a key)", kerr);
			return -EKEYREJECTED;
		}
	}
	if (kind == KIND_MCAST)
		return bind_mcast(tl, cfg, err, errlen);
	r = kind == KIND_VSOCK ? bind_vsock(tl, cfg, err, errlen)
			       : bind_socket(tl, cfg, err, errlen);
	if (r < 0)
		return r;
	return vsf_loop_add_fd(l->ctx->loop, tl->fd, VSF_LOOP_READ, on_accept,
			       tl);
}

static int tcp_open(struct vsf_listener *l, const struct vsf_conf_node *cfg,
		    char *err, size_t errlen)
{
	return open_common(l, cfg, KIND_TCP, err, errlen);
}

static int vsock_open(struct vsf_listener *l, const struct vsf_conf_node *cfg,
		      char *err, size_t errlen)
{
	return open_common(l, cfg, KIND_VSOCK, err, errlen);
}

static int mcast_open(struct vsf_listener *l, const struct vsf_conf_node *cfg,
		      char *err, size_t errlen)
{
	return open_common(l, cfg, KIND_MCAST, err, errlen);
}

static void tcp_close(struct vsf_listener *l)
{
	struct tcp_listener *tl = to_tl(l);

	while (tl->conns)
		conn_free(tl->conns);
	while (tl->recent) {
		struct recent *r = tl->recent;

		tl->recent = r->next;
		free(r);
	}
	if (tl->ufd >= 0) {
		vsf_loop_del_fd(l->ctx->loop, tl->ufd);
		close(tl->ufd);
		tl->ufd = -1;
	}
	if (tl->accept_timer)
		(void)vsf_loop_del_timer(l->ctx->loop, tl->accept_timer);
	tl->accept_timer = 0;
	if (tl->fd >= 0) {
		vsf_loop_del_fd(l->ctx->loop, tl->fd);
		close(tl->fd);
		tl->fd = -1;
	}
	tl->key = vsf_keyref_unref(tl->key);
	free(tl->key_file);
	tl->key_file = NULL;
}

/* SIGHUP: key_file again, if we use one; the old key stays on failure. */
static int tcp_reload(struct vsf_listener *l, char *err, size_t errlen)
{
	struct tcp_listener *tl = to_tl(l);
	struct vsf_keyref *k;

	if (!tl->key)
		return 0;
	k = vsf_keyref_load(tl->key_file, err, errlen);
	if (!k)
		return -EKEYREJECTED;
	vsf_keyref_unref(tl->key);
	tl->key = k;
	return 1;
}

const struct vsf_listener_ops vsf_tcp_listener_ops = {
	.version = VSF_LISTENER_OPS_V1,
	.name = "tcp",
	.size = sizeof(struct tcp_listener),
	.open = tcp_open,
	.close = tcp_close,
	.reload = tcp_reload,
};

const struct vsf_listener_ops vsf_vsock_listener_ops = {
	.version = VSF_LISTENER_OPS_V1,
	.name = "vsock",
	.size = sizeof(struct tcp_listener),
	.open = vsock_open,
	.close = tcp_close,
	.reload = tcp_reload,
};

const struct vsf_listener_ops vsf_mcast_listener_ops = {
	.version = VSF_LISTENER_OPS_V1,
	.name = "multicast",
	.size = sizeof(struct tcp_listener),
	.open = mcast_open,
	.close = tcp_close,
	.reload = tcp_reload,
};
