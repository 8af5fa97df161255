/*
 * v2_probe.c - plays QEMU's side of a guest channel to show what the STOCK
 * fence_virtd does with protocol v2 frames.
 *
 *   v2_probe -s SOCK [-w SEC] [-t SEC] STEP...
 *
 * Listens on the unix socket SOCK (as QEMU does for a <channel> with
 * <source mode='bind'>), prints "listening SOCK", waits up to -w seconds
 * (default 15) for the daemon to connect, then runs each STEP, waiting up
 * to -t seconds (default 5) for each answer:
 *
 *   hello          a v2 HELLO from vsf_v2_client_hello()
 *   hello-nosalt   the same with bytes 70..73 zeroed (what HELLO would be
 *                  without its salt: a constant stock v1 seqno)
 *   request:OP:DOM a whole v2 REQUEST frame (fixed key and nonces, so the
 *                  bytes are the same every run), then zero bytes up to the
 *                  next multiple of 74 so that the tail the stock daemon
 *                  reads as a second 74-byte request is complete; every
 *                  answer is read
 *   v1:OP:DOM      a v1 74-byte serial request
 *
 * Each answer prints one line "STEP v1 N" (a v1 response with result N;
 * a host list prints "STEP v1 253 records N trailer M"), "STEP v2 TYPE"
 * (a v2 frame), "STEP timeout" or "STEP error REASON".  Exit status: 0 if
 * every step ran, 1 on a setup error, 64 on bad usage.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "peer_io.h"
#include "vsf_frame.h"
#include "vsf_num.h"
#include "vsf_v2.h"
#include "vsf_wire.h"

static const char probe_key[] = "v2-probe-key";

struct probe {
	int fd;
	int step_ms;
	struct vsf_frame_reader r;
};

/* Read more bytes into the reader before @deadline: 0, -ETIMEDOUT, -errno. */
static int fill(struct probe *p, long long deadline)
{
	int r;

	while ((r = peer_fill_reader(p->fd, &p->r, deadline)) == 0)
		;
	return r < 0 ? r : 0;
}

/* Write a whole frame within one step. */
static int send_all(struct probe *p, const void *buf, size_t len)
{
	return peer_write_full(p->fd, buf, len, peer_now_ms() + p->step_ms);
}

/* The rest of a v1 host list: records, terminator, trailing response. */
static void read_hostlist(struct probe *p, const char *step,
			  long long deadline)
{
	struct vsf_host_record rec;
	struct vsf_v2_any f;
	int records = 0, rc;

	for (;;) {
		rc = vsf_frame_next_host_record(&p->r, &rec);
		if (rc == 1) {
			records++;
			continue;
		}
		if (rc == 2)
			break;
		if (rc < 0 || fill(p, deadline) < 0) {
			printf("%s error host list cut short\n", step);
			return;
		}
	}
	while ((rc = vsf_v2_next_frame(&p->r, VSF_V2_V1_SERIAL_RESP, &f)) != 1)
		if (rc < 0 || fill(p, deadline) < 0) {
			printf("%s error no trailer\n", step);
			return;
		}
	printf("%s v1 253 records %d trailer %d\n", step, records,
	       f.version == 1 ? f.v1_result : -1);
}

/* Wait for one answer (v1 or v2) and print it. */
static void read_answer(struct probe *p, const char *step)
{
	long long deadline = peer_now_ms() + p->step_ms;
	struct vsf_v2_any f;
	int rc;

	while ((rc = vsf_v2_next_frame(&p->r, VSF_V2_V1_SERIAL_RESP, &f)) == 0) {
		rc = fill(p, deadline);
		if (rc < 0) {
			printf("%s %s\n", step, rc == -ETIMEDOUT ? "timeout" :
			       "error connection closed");
			return;
		}
	}
	if (rc < 0)
		printf("%s error %s\n", step, vsf_wire_strerror(rc));
	else if (f.version == 2)
		printf("%s v2 %d\n", step, f.type);
	else if (f.v1_result == VSF_RESULT_HOSTLIST)
		read_hostlist(p, step, deadline);
	else
		printf("%s v1 %d\n", step, f.v1_result);
}

static int send_hello(struct probe *p, int salted)
{
	struct vsf_v2_client c;
	uint8_t buf[VSF_V2_HELLO_SIZE];
	int n = vsf_v2_client_hello(&c, 1, buf, sizeof(buf));

	if (n < 0)
		return n;
	if (!salted)
		memset(buf + 70, 0, 4);
	return send_all(p, buf, (size_t)n);
}

/* Split "OP:DOM" (DOM may be empty) into an op code and a name. */
static int parse_cmd(const char *arg, int *op, char *name, size_t namelen)
{
	const char *colon = strchr(arg, ':');
	char opname[32];
	size_t n = colon ? (size_t)(colon - arg) : strlen(arg);

	if (n >= sizeof(opname))
		return -EINVAL;
	memcpy(opname, arg, n);
	opname[n] = 0;
	*op = vsf_op_from_name(opname);
	snprintf(name, namelen, "%s", colon ? colon + 1 : "");
	return *op < 0 ? *op : 0;
}

/* A v2 REQUEST nobody challenged, as a confused or hostile client might
 * send it, then zeros to realign stock's 74-byte reads.  Returns how many
 * 74-byte requests the stock daemon will read from it. */
static int send_request(struct probe *p, const char *arg)
{
	struct vsf_v2_request m = { .request_id = 0x0badf00d };
	uint8_t buf[2 * VSF_V2_MAX_FRAME] = { 0 };
	int op, n, r;
	size_t total;

	r = parse_cmd(arg, &op, m.name, sizeof(m.name));
	if (r < 0)
		return r;
	m.op = (uint8_t)op;
	memset(m.server_nonce, 0x5a, sizeof(m.server_nonce));
	memset(m.client_nonce, 0xa5, sizeof(m.client_nonce));
	n = vsf_v2_request_encode(&m, probe_key, sizeof(probe_key) - 1, buf,
				  VSF_V2_MAX_FRAME);
	if (n < 0)
		return n;
	total = ((size_t)n + VSF_SERIAL_REQ_SIZE - 1) / VSF_SERIAL_REQ_SIZE *
		VSF_SERIAL_REQ_SIZE;
	printf("request frame %d bytes, padded to %zu; tail op byte %d\n", n,
	       total, buf[VSF_SERIAL_REQ_SIZE + 4]);
	r = send_all(p, buf, total);
	return r < 0 ? r : (int)(total / VSF_SERIAL_REQ_SIZE);
}

static int send_v1(struct probe *p, const char *arg)
{
	struct vsf_serial_req req = { 0 };
	uint8_t buf[VSF_SERIAL_REQ_SIZE];
	char name[VSF_V2_NAME_MAX + 1];
	int op, r;

	r = parse_cmd(arg, &op, name, sizeof(name));
	if (r < 0)
		return r;
	r = vsf_domain_set(req.domain, name);
	if (r < 0)
		return r;
	req.op = (uint8_t)op;
	r = vsf_random_bytes(&req.seqno, sizeof(req.seqno));
	if (r < 0)
		return r;
	vsf_serial_req_encode(&req, buf);
	return send_all(p, buf, sizeof(buf));
}

static int run_step(struct probe *p, const char *step)
{
	int r, answers = 1;

	if (strcmp(step, "hello") == 0)
		r = send_hello(p, 1);
	else if (strcmp(step, "hello-nosalt") == 0)
		r = send_hello(p, 0);
	else if (strncmp(step, "request:", 8) == 0)
		r = answers = send_request(p, step + 8);
	else if (strncmp(step, "v1:", 3) == 0)
		r = send_v1(p, step + 3);
	else
		r = -EINVAL;
	if (r < 0) {
		printf("%s error %s\n", step, strerror(-r));
		return r;
	}
	while (answers-- > 0)
		read_answer(p, step);
	fflush(stdout);
	return 0;
}

/* Listen on @path, then accept one connection within @wait_ms. */
static int accept_daemon(const char *path, int wait_ms)
{
	int lfd = peer_unix_listen(path), fd;

	if (lfd < 0)
		return lfd;
	printf("listening %s\n", path);
	fflush(stdout);
	fd = peer_accept_by(lfd, peer_now_ms() + wait_ms);
	close(lfd);
	return fd;
}

/* A whole number of seconds from 1 to a day. */
static int parse_seconds(const char *s, int *out)
{
	unsigned long v;

	if (vsf_parse_ulong(s, 86400, &v) < 0 || v == 0)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	struct probe p = { .step_ms = 5000 };
	const char *sock = NULL;
	int wait_s = 15, c, rc = 0;

	while ((c = getopt(argc, argv, "s:w:t:")) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'w':
			if (parse_seconds(optarg, &wait_s) < 0)
				return 64;
			break;
		case 't':
			if (parse_seconds(optarg, &p.step_ms) < 0)
				return 64;
			p.step_ms *= 1000;
			break;
		default:
			return 64;
		}
	}
	if (!sock || optind >= argc || wait_s <= 0 || p.step_ms <= 0) {
		fprintf(stderr, "usage: v2_probe -s SOCK [-w SEC] [-t SEC] "
			"STEP...\n");
		return 64;
	}
	if (vsf_hash_init() < 0)
		return 1;
	p.fd = accept_daemon(sock, wait_s * 1000);
	if (p.fd < 0) {
		printf("error accept: %s\n", strerror(-p.fd));
		return 1;
	}
	printf("connected\n");
	vsf_frame_reader_init(&p.r);
	for (int i = optind; i < argc; i++)
		if (run_step(&p, argv[i]) < 0)
			rc = 1;
	close(p.fd);
	return rc;
}
