/*
 * tcp_listener_test.c - the tcp listener's state machine with the fake
 * backend and real loopback sockets (auth and hash "none", so no key):
 * a normal exchange, a client that hangs up while its request runs (must
 * not spin the loop), a silent client that does not block another, and
 * running out of fds (must not spin the loop either).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "fake_backend.h"
#include "listener.h"
#include "vsf_auth.h"

struct rig {
	struct fake_rig base;		/* pipeline on the fake backend */
	struct vsf_fenced_ctx ctx;
	struct vsf_listener *l;
	int port;
};

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &len);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void rig_up(struct rig *r, unsigned int delay_ms)
{
	struct vsf_conf_node *root = NULL;
	char text[256], err[256];

	memset(r, 0, sizeof(*r));
	CHECK_ERR(fake_rig_up(&r->base, NULL, 5000), 0);
	fake_backend_add(&r->base.fb, "g1",
			 "11111111-2222-3333-4444-555555555555", 1);
	r->base.fb.delay_ms = delay_ms;
	r->ctx.loop = r->base.loop;
	r->ctx.pipeline = r->base.p;
	r->ctx.log = &r->base.log;
	r->port = free_port();
	snprintf(text, sizeof(text), "tcp { hash = \"none\"; auth = \"none\";"
		 " port = \"%d\"; }", r->port);
	CHECK_ERR(vsf_conf_parse(text, strlen(text), "t", &root, err,
				 sizeof(err)), 0);
	r->l = vsf_listener_new("tcp", &r->ctx);
	CHECK_ERR(r->l->ops->open(r->l, vsf_conf_find(root, "tcp"), err,
				  sizeof(err)), 0);
	vsf_conf_free(root);
}

static void rig_down(struct rig *r)
{
	vsf_pipeline_stop(r->base.p);
	vsf_listener_free(r->l);
	fake_rig_down(&r->base);
}

static int client(struct rig *r, int op, uint32_t seqno)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)r->port) };
	struct vsf_net_req req = { .op = (uint8_t)op,
				   .hashtype = VSF_HASH_NONE,
				   .seqno = seqno };
	uint8_t buf[VSF_NET_REQ_SIZE];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	vsf_domain_set(req.domain, "g1");
	CHECK_ERR(vsf_net_req_sign(&req, NULL, 0, buf), 0);
	CHECK_ERR(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK(write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
	return fd;
}

/* Run the loop for @ms of real time; return how many callbacks ran. */
static int spin(struct rig *r, unsigned int ms)
{
	uint64_t end = vsf_now_ms() + ms;
	int n = 0;

	while (vsf_now_ms() < end) {
		int k = vsf_loop_run_once(r->base.loop, 10);

		if (k > 0)
			n += k;
	}
	return n;
}

TEST(exchange_without_auth_returns_the_result_byte)
{
	struct rig r;
	uint8_t b = 0xff;
	int fd;

	rig_up(&r, 0);
	fd = client(&r, VSF_OP_STATUS, 1);
	spin(&r, 100);
	CHECK(read(fd, &b, 1) == 1);
	CHECK_ERR(b, 0);
	close(fd);
	rig_down(&r);
}

TEST(client_hanging_up_during_the_request_does_not_spin_the_loop)
{
	struct rig r;
	int fd, n;

	rig_up(&r, 400);
	fd = client(&r, VSF_OP_OFF, 2);
	spin(&r, 50);			/* request now runs in the backend */
	close(fd);
	n = spin(&r, 200);		/* the backend is still busy */
	CHECK(n < 20);
	if (n >= 20)
		fprintf(stderr, "%d callbacks in 200 ms\n", n);
	while (vsf_pipeline_inflight(r.base.p))
		vsf_loop_run_once(r.base.loop, 100);
	CHECK_ERR(fake_backend_vm(&r.base.fb, "g1")->running, 0);	/* still done */
	rig_down(&r);
}

TEST(silent_client_does_not_block_another)
{
	struct rig r;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	uint8_t b = 0xff;
	int silent, fd;

	rig_up(&r, 0);
	sa.sin_port = htons((uint16_t)r.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	silent = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_ERR(connect(silent, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK(write(silent, "abc", 3) == 3);	/* a third of nothing */
	fd = client(&r, VSF_OP_STATUS, 3);
	spin(&r, 100);
	CHECK(read(fd, &b, 1) == 1);
	CHECK_ERR(b, 0);
	close(fd);
	close(silent);
	rig_down(&r);
}

TEST(accept_out_of_fds_pauses_instead_of_spinning)
{
	struct rig r;
	struct rlimit saved, low;
	uint8_t b = 0xff;
	int fd, lowest, n;

	rig_up(&r, 0);
	fd = client(&r, VSF_OP_STATUS, 4);	/* queued in the backlog */
	lowest = dup(0);
	close(lowest);
	CHECK_ERR(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = (rlim_t)lowest;		/* no fd can be made now */
	CHECK_ERR(setrlimit(RLIMIT_NOFILE, &low), 0);
	n = spin(&r, 200);
	CHECK_ERR(setrlimit(RLIMIT_NOFILE, &saved), 0);
	CHECK(n < 20);
	if (n >= 20)
		fprintf(stderr, "%d callbacks in 200 ms with accept failing\n",
			n);
	spin(&r, 700);				/* past the pause */
	CHECK(read(fd, &b, 1) == 1);		/* then served */
	CHECK_ERR(b, 0);
	close(fd);
	rig_down(&r);
}

TEST(connection_limit_refuses_and_names_the_client)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct rig r;
	int fds[257], n = 0;
	uint8_t b;

	rig_up(&r, 0);
	sa.sin_port = htons((uint16_t)r.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (; n < 257; n++) {			/* 256 silent, one more */
		fds[n] = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fds[n], (struct sockaddr *)&sa, sizeof(sa)) < 0)
			break;
		vsf_loop_run_once(r.base.loop, 0);
	}
	CHECK_ERR(n, 257);
	spin(&r, 100);
	CHECK(read(fds[n - 1], &b, 1) == 0);	/* the last one was closed */
	fflush(r.base.logf);
	CHECK(strstr(r.base.logbuf, "listener 'tcp': 256 connections open "
		     "(limit 256), refusing tcp 127.0.0.1 port ") != NULL);
	while (n-- > 0)
		close(fds[n]);
	rig_down(&r);
}

int main(void)
{
	vsf_hash_init();
	return RUN_TESTS();
}
