/*
 * vsf_peer.c - a scriptable fence-virt v1 peer for the interop tests.
 *
 * It is built on libvsfproto alone, so every byte it sends or accepts goes
 * through our codecs; the tests point it at the STOCK fence_virt and
 * fence_virtd programs, which proves our codecs byte-compatible with theirs.
 *
 *   vsf_peer serve-serial [-l SEC] [-L LINK] DOM...
 *	Open a pty, print "pty PATH", answer v1 serial requests written to
 *	the pty slave (stock `fence_virt -D PATH`) from the domain table.
 *   vsf_peer serve-vmchannel [-l SEC] [-p PORT] DOM...
 *	Like serve-serial but on 127.0.0.1:PORT (0 = any, printed as "port N"):
 *	fence_virt's VMChannel mode (no -D) speaks the serial framing over
 *	tcp to -A ADDR -p PORT.
 *   vsf_peer serve-tcp [-l SEC] [-p PORT] -k KEY [-C AUTH] [-c MINHASH] DOM...
 *	Listen on 127.0.0.1:PORT (0 = any free port), print "port N", and
 *	serve stock `fence_virt -T`: 176-byte signed request, then the
 *	client's challenge, then ours, then the result.
 *   vsf_peer client-channel -s SOCK [-w SEC] [-t SEC] [-x] CMD...
 *	Play QEMU: listen on the unix socket SOCK, wait for stock fence_virtd
 *	to connect, then send each CMD as a v1 serial request.
 *   vsf_peer client-tcp [-a ADDR] -p PORT [-k KEY] [-C AUTH] [-c HASH]
 *	[-t SEC] [-x] CMD
 *	Connect to a tcp fence daemon and run one CMD the way fence_virt -T
 *	does.
 *   vsf_peer free-port
 *	Print a tcp port on 127.0.0.1 that was free a moment ago.
 *
 * DOM is NAME:UUID:STATE[:FLAG], STATE "on" or "off", FLAG "deny" (answer 3)
 * or "silent" (never answer, like a duplicate the stock daemon drops).
 * The table behaves like the stock libvirt backend: off/on/reboot of an
 * unknown domain fail (1), status of an unknown domain is off (2), monitor
 * is 0, null is 1, and the host list is sorted by name.
 *
 * CMD is OP[:DOMAIN] with OP one of fence_virt's action names; in
 * client-channel a leading '=' reuses the previous CMD's seqno (to provoke
 * the stock daemon's duplicate suppression).  For each
 * reply a client mode prints "result OP DOMAIN N", one "host NAME UUID
 * STATE" line per host list record (with -x preceded by "raw HEX", the 130
 * bytes as received), and "trailer N" for the result that follows a host
 * list.  Serve modes print "req ..." per request, ending in "reencode=same"
 * when our encoder turns the decoded request back into the exact bytes
 * received.  Failures print "error OP DOMAIN: reason".
 *
 * Exit status: serve modes 0 at the end of their lifetime (-l, default
 * 120 s) or 1 on error; client-tcp exits with the result byte, or 10 if
 * the server closed the connection, 11 if the server failed our
 * challenge, 12 on a timeout, 13 on a protocol error; client-channel exits
 * 0 if every CMD got a reply, else 1.  64 means bad usage.
 *
 * Every blocking step polls with a deadline.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "peer_io.h"
#include "vsf_auth.h"
#include "vsf_frame.h"
#include "vsf_hash.h"
#include "vsf_wire.h"

#define MAX_DOMS 32
#define MAX_KEY 4096		/* fence-virt reads at most this much key */

enum {
	EXIT_CLOSED = 10,
	EXIT_AUTH = 11,
	EXIT_TIMEOUT = 12,
	EXIT_PROTO = 13,
	EXIT_USAGE = 64,
};

struct dom {
	char name[VSF_DOMAIN_LEN];
	char uuid[VSF_DOMAIN_LEN];
	int running;
	int deny;	/* answer VSF_RESULT_DENIED */
	int silent;	/* never answer */
};

struct table {
	struct dom d[MAX_DOMS];
	int n;
};

/* Everything a mode needs, parsed from the command line. */
struct opts {
	int lifetime_ms;	/* serve modes: total run time */
	int step_ms;		/* per-request / per-step deadline */
	int wait_ms;		/* client-channel: wait for the connection */
	int port;
	const char *addr;
	const char *sock;
	const char *link;
	uint8_t key[MAX_KEY];
	size_t keylen;
	int auth;		/* challenge-response hash */
	int hex;		/* -x: print host records' raw bytes too */
	int hash;		/* request hash (client) / minimum (server) */
	struct table tab;
};






static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int load_key(struct opts *o, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, o->key, sizeof(o->key));
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ENODATA;
	o->keylen = (size_t)n;
	return 0;
}

/* ---- domain table, behaving like the stock libvirt backend ---- */

static int parse_dom(struct table *t, char *spec)
{
	char *name = strtok(spec, ":");
	char *uuid = strtok(NULL, ":");
	char *state = strtok(NULL, ":");
	char *flag = strtok(NULL, ":");
	struct dom *d;

	if (!name || !uuid || !state || t->n >= MAX_DOMS)
		return -EINVAL;
	d = &t->d[t->n];
	memset(d, 0, sizeof(*d));
	if (vsf_domain_set(d->name, name) < 0 ||
	    vsf_domain_set(d->uuid, uuid) < 0)
		return -EINVAL;
	if (strcmp(state, "on") == 0)
		d->running = 1;
	else if (strcmp(state, "off") != 0)
		return -EINVAL;
	if (flag && strcmp(flag, "deny") == 0)
		d->deny = 1;
	else if (flag && strcmp(flag, "silent") == 0)
		d->silent = 1;
	else if (flag)
		return -EINVAL;
	t->n++;
	return 0;
}

/* By name, or by UUID in any case, as the libvirt backend looks up. */
static struct dom *find_dom(struct table *t, const char *domain)
{
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->d[i].name, domain) == 0 ||
		    strcasecmp(t->d[i].uuid, domain) == 0)
			return &t->d[i];
	return NULL;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct dom *)a)->name,
		      ((const struct dom *)b)->name);
}

/* The v1 result for @op on @domain; -1 means stay silent. */
static int table_apply(struct table *t, int op, const char *domain)
{
	struct dom *d = find_dom(t, domain);

	if (d && d->silent)
		return -1;
	if (d && d->deny && vsf_op_needs_domain(op))
		return VSF_RESULT_DENIED;
	switch (op) {
	case VSF_OP_NULL:
		return VSF_RESULT_FAIL;
	case VSF_OP_DEVSTATUS:
		return VSF_RESULT_SUCCESS;
	case VSF_OP_HOSTLIST:
		return VSF_RESULT_HOSTLIST;
	case VSF_OP_STATUS:
		return d && d->running ? VSF_RESULT_SUCCESS : VSF_RESULT_OFF;
	case VSF_OP_OFF:
		if (!d)
			return VSF_RESULT_FAIL;
		d->running = 0;
		return VSF_RESULT_SUCCESS;
	case VSF_OP_ON:
		if (!d)
			return VSF_RESULT_FAIL;
		d->running = 1;
		return VSF_RESULT_SUCCESS;
	case VSF_OP_REBOOT:
		/* A shut-off domain "reboots" successfully without starting. */
		return d ? VSF_RESULT_SUCCESS : VSF_RESULT_FAIL;
	default:
		return VSF_RESULT_FAIL;
	}
}

/* Encode the host list records plus the all-zero terminator. */
static int encode_hostlist(struct table *t, uint8_t *out, size_t cap,
			   size_t *len)
{
	struct table sorted = *t;
	struct vsf_host_record rec;
	size_t n = 0;

	qsort(sorted.d, (size_t)sorted.n, sizeof(sorted.d[0]), by_name);
	for (int i = 0; i <= sorted.n; i++) {
		memset(&rec, 0, sizeof(rec));
		if (i < sorted.n) {
			memcpy(rec.name, sorted.d[i].name, sizeof(rec.name));
			memcpy(rec.uuid, sorted.d[i].uuid, sizeof(rec.uuid));
			rec.state = sorted.d[i].running ? 1 : 5;
		}
		if (n + VSF_HOST_RECORD_SIZE > cap)
			return -ENOBUFS;
		if (vsf_host_record_encode(&rec, out + n) < 0)
			return -EINVAL;
		n += VSF_HOST_RECORD_SIZE;
	}
	*len = n;
	return 0;
}

/* ---- serve-serial ---- */

static int open_pty(char *path, size_t pathlen, int *slave)
{
	struct termios tio;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0)
		return -errno;
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, path, pathlen))
		goto err_close;
	/*
	 * Hold the slave open ourselves: the master then never sees a hangup
	 * between clients, and bytes a client leaves unread (the trailer of
	 * a host list) stay queued for the next client's tcflush, as on a
	 * real serial port.
	 */
	*slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		goto err_close;
	if (tcgetattr(*slave, &tio) == 0) {
		cfmakeraw(&tio);
		(void)tcsetattr(*slave, TCSANOW, &tio);
	}
	return m;
err_close:
	close(m);
	return -errno;
}

/* Our encoding of @req against the bytes it was decoded from. */
static const char *reencode_serial(const struct vsf_serial_req *req,
				   const uint8_t raw[VSF_SERIAL_REQ_SIZE])
{
	uint8_t again[VSF_SERIAL_REQ_SIZE];

	if (vsf_serial_req_encode(req, again) < 0)
		return "failed";
	return memcmp(again, raw, sizeof(again)) ? "differs" : "same";
}

/* Answer one request on a serial stream; 0 or -errno. */
static int serial_answer(int fd, struct table *t,
			 const struct vsf_serial_req *req,
			 const uint8_t raw[VSF_SERIAL_REQ_SIZE], int64_t deadline)
{
	uint8_t out[VSF_SERIAL_RESP_SIZE + (MAX_DOMS + 1) * VSF_HOST_RECORD_SIZE
		    + VSF_SERIAL_RESP_SIZE];
	size_t n = VSF_SERIAL_RESP_SIZE, list;
	int res = table_apply(t, req->op, req->domain);

	printf("req op=%s flags=%u domain=%s seqno=%u result=%d reencode=%s\n",
	       vsf_op_name(req->op), req->flags, req->domain, req->seqno, res,
	       reencode_serial(req, raw));
	fflush(stdout);
	if (res < 0)
		return 0;
	vsf_serial_resp_encode((uint8_t)res, out);
	if (res == VSF_RESULT_HOSTLIST) {
		if (encode_hostlist(t, out + n, sizeof(out) - n, &list) < 0)
			return -ENOBUFS;
		n += list;
		/* The trailing result: the libvirt backend's hostlist rc. */
		vsf_serial_resp_encode(VSF_RESULT_SUCCESS, out + n);
		n += VSF_SERIAL_RESP_SIZE;
	}
	return peer_write_full(fd, out, n, deadline);
}

/* vsf_frame_next_serial_req(), keeping a copy of the frame's raw bytes. */
static int next_req_raw(struct vsf_frame_reader *fr,
			struct vsf_serial_req *req,
			uint8_t raw[VSF_SERIAL_REQ_SIZE])
{
	static const uint32_t magic = VSF_SERIAL_MAGIC;

	if (vsf_frame_reader_sync(fr, &magic, 1) < 0 ||
	    fr->len < VSF_SERIAL_REQ_SIZE)
		return 0;
	memcpy(raw, fr->buf, VSF_SERIAL_REQ_SIZE);
	return vsf_frame_next_serial_req(fr, req);
}

/*
 * Answer serial requests on the byte stream @fd until @end: returns
 * -ETIMEDOUT at @end, -ECONNRESET when the peer hangs up, or -errno.
 */
static int serve_stream(int fd, struct opts *o, int64_t end)
{
	struct vsf_frame_reader fr;
	struct vsf_serial_req req;
	uint8_t raw[VSF_SERIAL_REQ_SIZE];
	int r;

	vsf_frame_reader_init(&fr);
	for (;;) {
		r = peer_fill_reader(fd, &fr, end);
		if (r < 0)
			return r;
		while ((r = next_req_raw(&fr, &req, raw)) != 0) {
			if (r < 0) {
				printf("bad frame: %s\n", vsf_wire_strerror(r));
				continue;
			}
			r = serial_answer(fd, &o->tab, &req, raw,
					  peer_now_ms() + o->step_ms);
			if (r < 0)
				return r;
		}
	}
}

static int serve_serial(struct opts *o)
{
	char path[128];
	int slave = -1, r;
	int m = open_pty(path, sizeof(path), &slave);

	if (m < 0) {
		fprintf(stderr, "serve-serial: pty: %s\n", strerror(-m));
		return 1;
	}
	if (o->link && (unlink(o->link), symlink(path, o->link) < 0)) {
		fprintf(stderr, "serve-serial: symlink %s: %m\n", o->link);
		return 1;
	}
	printf("pty %s\n", path);
	fflush(stdout);
	r = serve_stream(m, o, peer_now_ms() + o->lifetime_ms);
	close(slave);
	close(m);
	if (r != -ETIMEDOUT)
		fprintf(stderr, "serve-serial: %s\n", strerror(-r));
	return r == -ETIMEDOUT ? 0 : 1;
}

/* ---- tcp ---- */

static int tcp_listen(const char *addr, int port, int *bound)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int one = 1;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -errno;
	(void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		close(s);
		return -EINVAL;
	}
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s, 8) < 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &sl) < 0) {
		int e = -errno;

		close(s);
		return e;
	}
	*bound = ntohs(sa.sin_port);
	return s;
}


/* Answer the peer's challenge, then challenge the peer: 0 or -errno. */
static int tcp_answer_then_challenge(int c, const struct opts *o,
				     int64_t deadline)
{
	uint8_t ch[VSF_CHALLENGE_LEN], ans[VSF_CHALLENGE_LEN];
	int r = peer_read_full(c, ch, sizeof(ch), deadline);

	if (r < 0)
		return r;
	r = vsf_challenge_answer(o->auth, o->key, o->keylen, ch, ans);
	if (r < 0)
		return r;
	r = peer_write_full(c, ans, sizeof(ans), deadline);
	if (r < 0)
		return r;
	r = vsf_challenge_new(ch);
	if (r < 0)
		return r;
	r = peer_write_full(c, ch, sizeof(ch), deadline);
	if (r < 0)
		return r;
	r = peer_read_full(c, ans, sizeof(ans), deadline);
	if (r < 0)
		return r;
	return vsf_challenge_check(o->auth, o->key, o->keylen, ch, ans);
}

static int tcp_send_result(int c, struct table *t, int res, int64_t deadline)
{
	uint8_t out[1 + (MAX_DOMS + 1) * VSF_HOST_RECORD_SIZE + 1];
	size_t n = 1, list;

	out[0] = (uint8_t)res;
	if (res == VSF_RESULT_HOSTLIST) {
		if (encode_hostlist(t, out + 1, sizeof(out) - 2, &list) < 0)
			return -ENOBUFS;
		n += list;
		out[n++] = VSF_RESULT_SUCCESS;
	}
	return peer_write_full(c, out, n, deadline);
}

/* One connection from fence_virt -T; closes @c. */
static void tcp_serve_one(int c, struct opts *o)
{
	uint8_t buf[VSF_NET_REQ_SIZE], again[VSF_NET_REQ_SIZE];
	struct vsf_net_req req;
	int64_t deadline = peer_now_ms() + o->step_ms;
	int r, res;

	r = peer_read_full(c, buf, sizeof(buf), deadline);
	if (r == 0)
		r = vsf_net_req_decode(buf, sizeof(buf), &req);
	if (r == 0)
		r = vsf_net_req_verify(buf, sizeof(buf), o->hash, o->key,
				       o->keylen);
	if (r < 0) {
		printf("reject request: %s\n", vsf_wire_strerror(r));
		goto out;
	}
	if (o->auth != VSF_HASH_NONE) {
		r = tcp_answer_then_challenge(c, o, deadline);
		if (r < 0) {
			printf("reject handshake: %s\n",
			       r == -EBADMSG ? "client failed our challenge"
					     : strerror(-r));
			goto out;
		}
	}
	res = table_apply(&o->tab, req.op, req.domain);
	printf("req op=%s hashtype=%u domain=%s seqno=%u result=%d reencode=%s\n",
	       vsf_op_name(req.op), req.hashtype, req.domain, req.seqno, res,
	       vsf_net_req_encode(&req, again) < 0 ? "failed" :
	       memcmp(again, buf, sizeof(buf)) ? "differs" : "same");
	if (res >= 0)
		(void)tcp_send_result(c, &o->tab, res, deadline);
out:
	fflush(stdout);
	close(c);
}

static int serve_tcp(struct opts *o)
{
	int64_t end = peer_now_ms() + o->lifetime_ms;
	int port, c;
	int ls = tcp_listen("127.0.0.1", o->port, &port);

	if (ls < 0) {
		fprintf(stderr, "serve-tcp: listen on port %d: %s\n", o->port,
			strerror(-ls));
		return 1;
	}
	printf("port %d\n", port);
	fflush(stdout);
	while ((c = peer_accept_by(ls, end)) != -ETIMEDOUT) {
		if (c >= 0)
			tcp_serve_one(c, o);
	}
	close(ls);
	return 0;
}

/* fence_virt's VMChannel mode: serial framing over a tcp connection. */
static int serve_vmchannel(struct opts *o)
{
	int64_t end = peer_now_ms() + o->lifetime_ms, until;
	int port, c;
	int ls = tcp_listen("127.0.0.1", o->port, &port);

	if (ls < 0) {
		fprintf(stderr, "serve-vmchannel: listen on port %d: %s\n",
			o->port, strerror(-ls));
		return 1;
	}
	printf("port %d\n", port);
	fflush(stdout);
	while ((c = peer_accept_by(ls, end)) != -ETIMEDOUT) {
		if (c < 0)
			continue;
		until = peer_now_ms() + o->step_ms;
		(void)serve_stream(c, o, until < end ? until : end);
		close(c);
	}
	close(ls);
	return 0;
}

/*
 * A port free just now, chosen below the kernel's ephemeral range
 * (32768-60999 by default): a port from that range, once closed, can be
 * taken as the local end of any process's outgoing connection before the
 * test's server binds it.
 */
static int free_port(void)
{
	int port = 0, s = -1, i;

	srandom((unsigned int)(getpid() ^ time(NULL)));
	for (i = 0; i < 200 && s < 0; i++)
		s = tcp_listen("127.0.0.1", 20000 + (int)(random() % 12000),
			       &port);
	if (s < 0)
		s = tcp_listen("127.0.0.1", 0, &port);
	if (s < 0)
		return 1;
	close(s);
	printf("%d\n", port);
	return 0;
}

/* Split "OP[:DOMAIN]"; 0 or -EINVAL. */
static int parse_cmd(char *cmd, int *op, const char **domain)
{
	char *colon = strchr(cmd, ':');

	*domain = "";
	if (colon) {
		*colon = '\0';
		*domain = colon + 1;
	}
	*op = vsf_op_from_name(cmd);
	if (*op < 0 || *op > VSF_OP_WIRE_MAX)
		return -EINVAL;
	return strlen(*domain) < VSF_DOMAIN_LEN ? 0 : -EINVAL;
}

/*
 * "raw HEX match=same|differs": the 130 record bytes as received, and
 * whether our encoding of the decoded @rec (NULL: the terminator) gives the
 * same bytes except 63, 127 and the pad, where the stock daemon leaves
 * stack garbage.
 */
static void print_raw_record(const uint8_t *p, const struct vsf_host_record *rec)
{
	struct vsf_host_record zero = { .state = 0 };
	uint8_t again[VSF_HOST_RECORD_SIZE];
	int same = vsf_host_record_encode(rec ? rec : &zero, again) == 0;

	printf("raw ");
	for (int i = 0; i < VSF_HOST_RECORD_SIZE; i++) {
		printf("%02x", p[i]);
		if (i != 63 && i != 127 && i != 129 && p[i] != again[i])
			same = 0;
	}
	printf(" match=%s\n", same ? "same" : "differs");
}

static void print_record(const struct vsf_host_record *rec)
{
	printf("host %s %s %u\n", rec->name, rec->uuid, rec->state);
}

static int connect_tcp(const char *addr, int port, int64_t deadline)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int err = 0, r;
	socklen_t el = sizeof(err);

	if (s < 0)
		return -errno;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		close(s);
		return -EINVAL;
	}
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno != EINPROGRESS) {
		err = errno;
		close(s);
		return -err;
	}
	r = peer_wait_fd(s, POLLOUT, deadline);
	if (r == 0 && getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) == 0 &&
	    err)
		r = -err;
	if (r < 0)
		close(s);
	return r < 0 ? r : s;
}

/* Our challenge to the server, then its challenge to us. */
static int tcp_challenge_then_answer(int s, const struct opts *o,
				     int64_t deadline)
{
	uint8_t ch[VSF_CHALLENGE_LEN], ans[VSF_CHALLENGE_LEN];
	int r = vsf_challenge_new(ch);

	if (r == 0)
		r = peer_write_full(s, ch, sizeof(ch), deadline);
	if (r == 0)
		r = peer_read_full(s, ans, sizeof(ans), deadline);
	if (r == 0 && vsf_challenge_check(o->auth, o->key, o->keylen, ch,
					  ans) < 0)
		return -EBADMSG;
	if (r == 0)
		r = peer_read_full(s, ch, sizeof(ch), deadline);
	if (r == 0)
		r = vsf_challenge_answer(o->auth, o->key, o->keylen, ch, ans);
	if (r == 0)
		r = peer_write_full(s, ans, sizeof(ans), deadline);
	return r;
}

/* Read a host list stream after 0xFD, then its trailing result byte. */
static int tcp_read_hostlist(int s, int hex, int64_t deadline)
{
	uint8_t buf[VSF_HOST_RECORD_SIZE], trailer;
	struct vsf_host_record rec;
	int r;

	for (int i = 0; i <= 4096; i++) {
		r = peer_read_full(s, buf, sizeof(buf), deadline);
		if (r < 0)
			return r;
		r = vsf_host_record_decode(buf, sizeof(buf), &rec);
		if (r < 0)
			return -EPROTO;
		if (hex)
			print_raw_record(buf, r == 1 ? NULL : &rec);
		if (r == 1)
			break;
		print_record(&rec);
	}
	r = peer_read_full(s, &trailer, 1, deadline);
	if (r < 0)
		return r;
	printf("trailer %u\n", trailer);
	return 0;
}

static int exit_for(int err)
{
	switch (err) {
	case -ECONNRESET:
	case -EPIPE:
		return EXIT_CLOSED;
	case -EBADMSG:
		return EXIT_AUTH;
	case -ETIMEDOUT:
		return EXIT_TIMEOUT;
	default:
		return EXIT_PROTO;
	}
}

static int client_tcp(struct opts *o, char *cmd)
{
	struct vsf_net_req req = { .hashtype = (uint8_t)o->hash };
	uint8_t buf[VSF_NET_REQ_SIZE], res;
	int64_t deadline = peer_now_ms() + o->step_ms;
	const char *domain;
	int op, s, r;

	if (parse_cmd(cmd, &op, &domain) < 0)
		return EXIT_USAGE;
	req.op = (uint8_t)op;
	vsf_domain_set(req.domain, domain);
	(void)vsf_random_bytes(&req.seqno, sizeof(req.seqno));
	req.seqno %= 1000000;	/* fence_virt uses tv_usec */
	r = vsf_net_req_sign(&req, o->key, o->keylen, buf);
	if (r < 0) {
		printf("error %s %s: sign: %s\n", cmd, domain, strerror(-r));
		return EXIT_USAGE;
	}
	s = connect_tcp(o->addr, o->port, deadline);
	if (s < 0) {
		printf("error %s %s: connect: %s\n", cmd, domain,
		       strerror(-s));
		return EXIT_CLOSED;
	}
	r = peer_write_full(s, buf, sizeof(buf), deadline);
	if (r == 0 && o->auth != VSF_HASH_NONE)
		r = tcp_challenge_then_answer(s, o, deadline);
	if (r == 0)
		r = peer_read_full(s, &res, 1, deadline);
	if (r == 0) {
		printf("result %s %s %u\n", cmd, domain, res);
		if (res == VSF_RESULT_HOSTLIST)
			r = tcp_read_hostlist(s, o->hex, deadline);
	}
	close(s);
	if (r < 0) {
		printf("error %s %s: %s\n", cmd, domain,
		       r == -EBADMSG ? "server failed our challenge"
				     : strerror(-r));
		return exit_for(r);
	}
	return res;
}

/* ---- client-channel ---- */


/* Next serial response from the stream: 0 with *res set, or -errno. */
static int channel_resp(int c, struct vsf_frame_reader *fr, uint8_t *res,
			int64_t deadline)
{
	int r;

	while ((r = vsf_frame_next_serial_resp(fr, res)) == 0) {
		r = peer_fill_reader(c, fr, deadline);
		if (r < 0)
			return r;
	}
	return r < 0 ? r : 0;
}

static int channel_hostlist(int c, struct vsf_frame_reader *fr, int hex,
			    int64_t deadline)
{
	struct vsf_host_record rec;
	uint8_t trailer, raw[VSF_HOST_RECORD_SIZE];
	int r;

	for (;;) {
		int whole = fr->len >= VSF_HOST_RECORD_SIZE;

		if (whole)
			memcpy(raw, fr->buf, sizeof(raw));
		r = vsf_frame_next_host_record(fr, &rec);
		if (hex && r > 0 && whole)
			print_raw_record(raw, r == 2 ? NULL : &rec);
		if (r == 2)
			break;
		if (r == 1) {
			print_record(&rec);
			continue;
		}
		if (r < 0)
			return -EPROTO;
		r = peer_fill_reader(c, fr, deadline);
		if (r < 0)
			return r;
	}
	r = channel_resp(c, fr, &trailer, deadline);
	if (r == 0)
		printf("trailer %u\n", trailer);
	return r;
}

/* Send one CMD and print its reply: 0 or -errno. */
static int channel_cmd(int c, struct vsf_frame_reader *fr, char *cmd,
		       uint32_t seqno, int step_ms, int hex)
{
	struct vsf_serial_req req = { .seqno = seqno };
	uint8_t buf[VSF_SERIAL_REQ_SIZE], res;
	int64_t deadline = peer_now_ms() + step_ms;
	const char *domain;
	int op, r;

	if (parse_cmd(cmd, &op, &domain) < 0)
		return -EINVAL;
	req.op = (uint8_t)op;
	vsf_domain_set(req.domain, domain);
	r = vsf_serial_req_encode(&req, buf);
	if (r == 0)
		r = peer_write_full(c, buf, sizeof(buf), deadline);
	if (r == 0)
		r = channel_resp(c, fr, &res, deadline);
	if (r == 0) {
		printf("result %s %s %u\n", cmd, domain, res);
		if (res == VSF_RESULT_HOSTLIST)
			r = channel_hostlist(c, fr, hex, deadline);
	}
	if (r < 0)
		printf("error %s %s: %s\n", cmd, domain, strerror(-r));
	fflush(stdout);
	return r;
}

static int client_channel(struct opts *o, char **cmds, int ncmds)
{
	struct vsf_frame_reader fr;
	uint32_t seqno;
	int failed = 0, c;
	int ls = peer_unix_listen(o->sock);

	if (ls < 0) {
		fprintf(stderr, "client-channel: listen on %s: %s\n", o->sock,
			strerror(-ls));
		return 1;
	}
	printf("listening %s\n", o->sock);
	fflush(stdout);
	c = peer_accept_by(ls, peer_now_ms() + o->wait_ms);
	close(ls);
	if (c < 0) {
		printf("error: no connection on %s: %s\n", o->sock,
		       strerror(-c));
		return 1;
	}
	printf("connected\n");
	fflush(stdout);
	vsf_frame_reader_init(&fr);
	/* Distinct seqnos: the stock daemon drops repeats within 10 s. */
	(void)vsf_random_bytes(&seqno, sizeof(seqno));
	seqno %= 1000000;
	for (int i = 0; i < ncmds; i++) {
		char *cmd = cmds[i];

		if (cmd[0] == '=')	/* resend with the previous seqno */
			cmd++;
		else
			seqno++;
		if (channel_cmd(c, &fr, cmd, seqno, o->step_ms, o->hex) < 0)
			failed = 1;
	}
	close(c);
	(void)unlink(o->sock);
	return failed;
}

/* ---- command line ---- */

static void usage(void)
{
	fprintf(stderr,
		"usage: vsf_peer serve-serial [-l SEC] [-L LINK] DOM...\n"
		"       vsf_peer serve-vmchannel [-l SEC] [-p PORT] DOM...\n"
		"       vsf_peer serve-tcp [-l SEC] [-p PORT] -k KEY [-C AUTH] [-c MINHASH] DOM...\n"
		"       vsf_peer client-channel -s SOCK [-w SEC] [-t SEC] [-x] CMD...\n"
		"       vsf_peer client-tcp [-a ADDR] -p PORT [-k KEY] [-C AUTH] [-c HASH] [-t SEC] [-x] CMD\n"
		"       vsf_peer free-port\n"
		"DOM = NAME:UUID:on|off[:deny|:silent]   CMD = OP[:DOMAIN]\n");
}

static int parse_hash_opt(const char *s, int *out)
{
	int h = vsf_hash_from_name(s);

	if (h < 0)
		return h;
	*out = h;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c, sec, r = 0;

	while (r == 0 && (c = getopt(argc, argv, "l:L:p:k:C:c:s:w:t:a:x")) != -1) {
		switch (c) {
		case 'l':
			r = parse_int(optarg, 1, 3600, &sec);
			o->lifetime_ms = sec * 1000;
			break;
		case 'w':
			r = parse_int(optarg, 1, 3600, &sec);
			o->wait_ms = sec * 1000;
			break;
		case 't':
			r = parse_int(optarg, 1, 3600, &sec);
			o->step_ms = sec * 1000;
			break;
		case 'p':
			r = parse_int(optarg, 0, 65535, &o->port);
			break;
		case 'k':
			r = load_key(o, optarg);
			break;
		case 'C':
			r = parse_hash_opt(optarg, &o->auth);
			break;
		case 'c':
			r = parse_hash_opt(optarg, &o->hash);
			break;
		case 'L':
			o->link = optarg;
			break;
		case 's':
			o->sock = optarg;
			break;
		case 'a':
			o->addr = optarg;
			break;
		case 'x':
			o->hex = 1;
			break;
		default:
			r = -EINVAL;
		}
	}
	if (r < 0)
		fprintf(stderr, "vsf_peer: bad option -%c: %s\n", c,
			strerror(-r));
	return r;
}

static int parse_doms(struct opts *o, int argc, char **argv)
{
	for (int i = optind; i < argc; i++) {
		if (parse_dom(&o->tab, argv[i]) < 0) {
			fprintf(stderr, "vsf_peer: bad domain spec\n");
			return -EINVAL;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct opts o;	/* large (key buffer); not a global */
	const char *mode;

	if (argc < 2) {
		usage();
		return EXIT_USAGE;
	}
	mode = argv[1];
	o.lifetime_ms = 120000;
	o.step_ms = 10000;
	o.wait_ms = 20000;
	o.addr = "127.0.0.1";
	o.auth = VSF_HASH_SHA256;
	o.hash = VSF_HASH_SHA256;
	/* A peer that hangs up early must show up as EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (vsf_hash_init() < 0) {
		fprintf(stderr, "vsf_peer: NSS init failed\n");
		return 1;
	}
	optind = 2;
	if (parse_opts(argc, argv, &o) < 0) {
		usage();
		return EXIT_USAGE;
	}
	if (strcmp(mode, "free-port") == 0)
		return free_port();
	if (strcmp(mode, "client-channel") == 0 && o.sock)
		return client_channel(&o, argv + optind, argc - optind);
	if (strcmp(mode, "client-tcp") == 0 && o.port && optind == argc - 1)
		return client_tcp(&o, argv[optind]);
	if (parse_doms(&o, argc, argv) < 0)
		return EXIT_USAGE;
	if (strcmp(mode, "serve-serial") == 0)
		return serve_serial(&o);
	if (strcmp(mode, "serve-tcp") == 0)
		return serve_tcp(&o);
	if (strcmp(mode, "serve-vmchannel") == 0)
		return serve_vmchannel(&o);
	usage();
	return EXIT_USAGE;
}
