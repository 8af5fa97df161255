/* net.c - fence_virt's tcp/vsock exchange; see net.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deadline.h"
#include "net.h"
#include "stream.h"
#include "vsf_auth.h"
#include "vsf_wire.h"

/* Non-blocking connect bounded by the deadline. */
static int connect_addr(int family, const struct sockaddr *sa, socklen_t len,
			int64_t deadline)
{
	struct pollfd pfd = { .events = POLLOUT };
	int fd, r, soerr = 0;
	socklen_t sl = sizeof(soerr);

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	pfd.fd = fd;
	if (connect(fd, sa, len) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		r = -errno;
		goto out_close;
	}
	do
		r = poll(&pfd, 1, agent_ms_left(deadline));
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		r = r == 0 ? -ETIMEDOUT : -errno;
		goto out_close;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		r = soerr ? -soerr : -errno;
		goto out_close;
	}
	return fd;
out_close:
	close(fd);
	return r;
}

static int connect_tcp(const struct agent_net_cfg *cfg)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	char port[16];
	int r = -EHOSTUNREACH;

	snprintf(port, sizeof(port), "%u", cfg->port);
	if (getaddrinfo(cfg->host, port, &hints, &res) != 0)
		return -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		r = connect_addr(ai->ai_family, ai->ai_addr, ai->ai_addrlen,
				 cfg->deadline);
		if (r >= 0 || r == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	return r;
}

int agent_net_connect(const struct agent_net_cfg *cfg)
{
	struct sockaddr_vm svm = {
		.svm_family = AF_VSOCK,
		.svm_cid = cfg->cid,
		.svm_port = cfg->port,
	};

	if (!cfg->vsock)
		return connect_tcp(cfg);
	return connect_addr(AF_VSOCK, (struct sockaddr *)&svm, sizeof(svm),
			    cfg->deadline);
}

/* Read exactly @n bytes; a hang-up mid-exchange is -ECONNRESET. */
static int read_exact(struct agent_stream *s, void *out, size_t n)
{
	int r;

	while (!vsf_frame_reader_take(&s->rd, out, n)) {
		r = agent_stream_fill(s, s->deadline);
		if (r == -ENOTCONN)
			return -ECONNRESET;
		if (r < 0)
			return r;
	}
	return 0;
}

static int send_all(struct agent_stream *s, const void *buf, size_t n)
{
	int r = agent_stream_send(s, buf, n);

	return r == -ENOTCONN ? -ECONNRESET : r;
}

/* Steps 2 and 3 of the exchange: we challenge first, then the host. */
static int handshake(struct agent_stream *s, const struct agent_net_cfg *cfg,
		     const struct agent_call *c)
{
	uint8_t ours[VSF_CHALLENGE_LEN], theirs[VSF_CHALLENGE_LEN];
	uint8_t answer[VSF_CHALLENGE_LEN];
	int r;

	if (cfg->auth == VSF_HASH_NONE)
		return 0;
	r = vsf_challenge_new(ours);
	if (r < 0)
		return r;
	r = send_all(s, ours, sizeof(ours));
	if (r < 0)
		return r;
	r = read_exact(s, answer, sizeof(answer));
	if (r < 0)
		return r;
	r = vsf_challenge_check(cfg->auth, c->key, c->keylen, ours, answer);
	if (r < 0)
		return r;
	r = read_exact(s, theirs, sizeof(theirs));
	if (r < 0)
		return r;
	r = vsf_challenge_answer(cfg->auth, c->key, c->keylen, theirs, answer);
	if (r < 0)
		return r;
	return send_all(s, answer, sizeof(answer));
}

static int host_list(struct agent_stream *s, struct agent_call *c)
{
	uint8_t raw[VSF_HOST_RECORD_SIZE];
	struct vsf_host_record rec;
	int r;

	for (;;) {
		r = read_exact(s, raw, sizeof(raw));
		if (r < 0)
			return r;
		r = vsf_host_record_decode(raw, sizeof(raw), &rec);
		if (r < 0)
			return -EPROTO;
		if (r == 1)
			return 0;	/* the final byte is not needed */
		c->hosts++;
		if (c->on_host)
			c->on_host(c->host_ctx, rec.name, rec.uuid, rec.state);
	}
}

int agent_net_call(int fd, const struct agent_net_cfg *cfg,
		   struct agent_call *c)
{
	struct vsf_net_req req = {
		.op = (uint8_t)c->op,
		.hashtype = (uint8_t)cfg->hash,
		.seqno = c->request_id,
	};
	uint8_t buf[VSF_NET_REQ_SIZE], result;
	struct agent_stream s;
	int r;

	r = vsf_domain_set(req.domain, c->domain ? c->domain : "");
	if (r < 0)
		return r;
	r = vsf_net_req_sign(&req, c->key, c->keylen, buf);
	if (r < 0)
		return r;
	agent_stream_init(&s, fd, cfg->deadline);
	r = send_all(&s, buf, sizeof(buf));
	if (r < 0)
		return r;
	r = handshake(&s, cfg, c);
	if (r < 0)
		return r;
	r = read_exact(&s, &result, 1);
	if (r < 0)
		return r;
	c->version = 1;
	c->code = result;
	if (result == VSF_RESULT_HOSTLIST)
		return host_list(&s, c);
	return 0;
}
