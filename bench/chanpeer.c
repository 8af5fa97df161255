/*
 * chanpeer - stands in for QEMU on N guest channels at once (benchmarks 2, 3).
 *
 *   chanpeer [-r ROUNDS] [-s STALLERS [-Q]] [-H HOSTLISTS] [-t SEC] [-c SEC]
 *            [-R SEC] [-w] [-o FILE] DIR N
 *
 * Binds DIR/g<i>.sock (i < N) in listen mode, as QEMU does for a
 * <channel type='unix'> in bind mode, and waits for a host daemon to connect
 * to every one.  Channel i speaks for domain "g<i>" in protocol v1 (74-byte
 * serial request, 5-byte reply), which stock fence_virtd and ours both serve.
 *
 * After all channels are connected (or -c SEC, default the -t deadline,
 * passes) it prints
 * "connected C T" (C channels, T = CLOCK_REALTIME ns of the last accept) and,
 * with -w, waits for SIGUSR1 so that the caller can measure the idle daemon
 * first.  Then:
 *   - channels 0..STALLERS-1 send HOSTLISTS host-list requests each and never
 *     read a byte: the daemon's replies pile up until its writes block
 *     (with -Q they send nothing and only sit the rounds out: the control);
 *   - ROUNDS times, every other channel sends one status request for its own
 *     domain, all at once; each reply's latency is taken from that channel's
 *     own send.  A round ends when all replied, after -R SEC, or at the
 *     deadline; a round with requests unanswered is the last.
 * Each answered request is one line "round<TAB>channel<TAB>usec<TAB>result"
 * in FILE; stdout gets "round R answered A of M" per round and "done".
 *
 * Every wait has a deadline (-t, default 120 s, for the whole run).  The
 * daemon is never waited for beyond it: a stock daemon blocked on a stalled
 * neighbour shows up as unanswered requests, not as a hang.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vsf_wire.h"

#define REPLY_BUF 256

struct chan {
	int fd;			/* listening socket until accepted, then the
				 * connection; -1 once closed */
	int connected;
	int waiting;		/* a request is out, no reply yet */
	uint64_t sent_ns;	/* CLOCK_MONOTONIC of this round's send */
	uint8_t buf[REPLY_BUF];	/* bytes received, not yet a whole reply */
	size_t len;
};

struct peer {
	const char *dir;
	int n;
	int rounds;
	int stallers;
	int quiet;		/* -Q: stallers send nothing */
	int hostlists;
	int wait_signal;
	uint64_t deadline_ns;	/* CLOCK_MONOTONIC, the whole run */
	uint64_t connect_ns;	/* CLOCK_MONOTONIC, for the daemon to connect */
	int round_sec;		/* -R: longest wait for one round, 0: none */
	FILE *out;
	int ep;
	struct chan *ch;
	uint32_t seqno;
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* Milliseconds left before @deadline, at least 0; for epoll_wait. */
static int ms_until(uint64_t deadline)
{
	uint64_t now = mono_ns();

	if (now >= deadline)
		return 0;
	return (int)((deadline - now) / 1000000u) + 1;
}

static int ms_left(const struct peer *p)
{
	return ms_until(p->deadline_ns);
}

static int parse_int(const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

/* 10,000 channels need more descriptors than the usual soft limit. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int listen_one(const struct peer *p, int i)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/g%d.sock", p->dir, i);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 1) < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	return fd;
}

static int watch(struct peer *p, int fd, int i)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

	return epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int listen_all(struct peer *p)
{
	int i, fd, r;

	for (i = 0; i < p->n; i++) {
		fd = listen_one(p, i);
		if (fd < 0) {
			fprintf(stderr, "chanpeer: %s/g%d.sock: %s\n", p->dir,
				i, strerror(-fd));
			return fd;
		}
		p->ch[i].fd = fd;
		r = watch(p, fd, i);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Swap channel i's listening socket for the daemon's connection. */
static int accept_one(struct peer *p, int i, uint64_t *last_ns)
{
	struct chan *c = &p->ch[i];
	int fd;

	fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return errno == EAGAIN ? 0 : -errno;
	*last_ns = clock_ns(CLOCK_REALTIME);
	(void)epoll_ctl(p->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = fd;
	c->connected = 1;
	return watch(p, fd, i) < 0 ? -EIO : 1;
}

static int accept_all(struct peer *p, uint64_t *last_ns)
{
	struct epoll_event ev[256];
	int done = 0, k, nev, r;

	while (done < p->n) {
		nev = epoll_wait(p->ep, ev, 256, ms_until(p->connect_ns));
		if (nev <= 0) {
			if (nev < 0 && errno == EINTR)
				continue;
			break;
		}
		for (k = 0; k < nev; k++) {
			int i = (int)ev[k].data.u32;

			if (p->ch[i].connected)
				continue;
			r = accept_one(p, i, last_ns);
			if (r < 0)
				return r;
			done += r;
		}
	}
	return done;
}

static int send_req(struct peer *p, int i, int op)
{
	struct vsf_serial_req req = { .op = (uint8_t)op };
	uint8_t frame[VSF_SERIAL_REQ_SIZE];
	char name[VSF_DOMAIN_LEN];
	ssize_t w;

	snprintf(name, sizeof(name), "g%d", i);
	if (vsf_domain_set(req.domain, name) < 0)
		return -EINVAL;
	req.seqno = ++p->seqno;
	if (vsf_serial_req_encode(&req, frame) < 0)
		return -EINVAL;
	w = send(p->ch[i].fd, frame, sizeof(frame), MSG_NOSIGNAL);
	if (w < 0)
		return -errno;
	return w == (ssize_t)sizeof(frame) ? 0 : -EAGAIN;
}

/* The stallers ask for host lists and then never read again. */
static void start_stallers(struct peer *p)
{
	int i, k;

	for (i = 0; i < p->stallers && i < p->n && !p->quiet; i++) {
		if (!p->ch[i].connected)
			continue;
		(void)epoll_ctl(p->ep, EPOLL_CTL_DEL, p->ch[i].fd, NULL);
		for (k = 0; k < p->hostlists; k++)
			if (send_req(p, i, VSF_OP_HOSTLIST) < 0)
				break;
	}
}

/* Bytes the daemon has queued to staller 0 but that nobody reads. */
static int staller_backlog(const struct peer *p)
{
	int q = 0;

	if (p->stallers > 0 && p->ch[0].connected)
		(void)ioctl(p->ch[0].fd, FIONREAD, &q);
	return q;
}

/*
 * Wait until the daemon has filled staller 0's socket (its writes then
 * block or get EAGAIN) or 5 s have passed; reports the backlog.
 */
static void wait_stalled(struct peer *p)
{
	uint64_t until = mono_ns() + 5000000000u;
	struct timespec tick = { 0, 20000000 };
	int q = 0, prev = -1, same = 0;

	while (p->stallers > 0 && !p->quiet && mono_ns() < until) {
		q = staller_backlog(p);
		same = q > 0 && q == prev ? same + 1 : 0;
		if (same == 10)
			break;	/* no growth for 200 ms: the daemon is blocked */
		prev = q;
		nanosleep(&tick, NULL);
	}
	if (p->stallers > 0 && !p->quiet)
		printf("stalled backlog %d bytes\n", q);
}

/* Consume bytes on channel i; 1 when a whole reply was found. */
static int read_reply(struct chan *c, uint8_t *result)
{
	ssize_t r;
	size_t j;

	r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (r <= 0)
		return r == 0 || errno != EAGAIN ? -EPIPE : 0;
	c->len += (size_t)r;
	for (j = 0; j + VSF_SERIAL_RESP_SIZE <= c->len; j++) {
		if (vsf_serial_resp_decode(c->buf + j, VSF_SERIAL_RESP_SIZE,
					   result) == 0) {
			c->len = 0;
			return 1;
		}
	}
	if (c->len == sizeof(c->buf)) {	/* garbage: keep the tail */
		memmove(c->buf, c->buf + c->len - 4, 4);
		c->len = 4;
	}
	return 0;
}

static int burst_send(struct peer *p)
{
	int i, sent = 0;

	for (i = p->stallers; i < p->n; i++) {
		struct chan *c = &p->ch[i];

		if (!c->connected)
			continue;
		c->sent_ns = mono_ns();
		if (send_req(p, i, VSF_OP_STATUS) == 0) {
			c->waiting = 1;
			sent++;
		}
	}
	return sent;
}

static int burst_collect(struct peer *p, int round, int sent)
{
	struct epoll_event ev[256];
	uint64_t until = p->deadline_ns;
	int got = 0, k, nev;
	uint8_t result;

	if (p->round_sec &&
	    mono_ns() + (uint64_t)p->round_sec * 1000000000u < until)
		until = mono_ns() + (uint64_t)p->round_sec * 1000000000u;
	while (got < sent) {
		nev = epoll_wait(p->ep, ev, 256, ms_until(until));
		if (nev < 0 && errno == EINTR)
			continue;
		if (nev <= 0)
			break;
		for (k = 0; k < nev; k++) {
			struct chan *c = &p->ch[ev[k].data.u32];
			int r = read_reply(c, &result);

			if (r < 0) {
				(void)epoll_ctl(p->ep, EPOLL_CTL_DEL, c->fd,
						NULL);
				c->connected = 0;
			}
			if (r <= 0 || !c->waiting)
				continue;
			c->waiting = 0;
			got++;
			fprintf(p->out, "%d\t%u\t%.1f\t%u\n", round,
				ev[k].data.u32,
				(double)(mono_ns() - c->sent_ns) / 1000.0,
				result);
		}
	}
	return got;
}

static void run_rounds(struct peer *p)
{
	int r, sent, got, i;

	for (r = 0; r < p->rounds; r++) {
		sent = burst_send(p);
		got = burst_collect(p, r, sent);
		printf("round %d answered %d of %d\n", r, got, sent);
		fflush(stdout);
		for (i = 0; i < p->n; i++)
			p->ch[i].waiting = 0;
		if (got < sent)
			break;	/* the deadline passed: stop here */
	}
}

static int wait_go(const struct peer *p)
{
	struct timespec ts;
	sigset_t set;
	int ms = ms_left(p);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	return sigtimedwait(&set, NULL, &ts) == SIGUSR1 ? 0 : -ETIMEDOUT;
}

static void usage(void)
{
	fprintf(stderr, "usage: chanpeer [-r ROUNDS] [-s STALLERS [-Q]] "
		"[-H HOSTLISTS] [-t SEC] [-c SEC] [-R SEC] [-w] [-o FILE] DIR N\n");
	exit(2);
}

static void parse_args(struct peer *p, int argc, char **argv)
{
	int c, sec = 120, csec = 0;
	const char *out = "/dev/null";

	p->rounds = 1;
	p->hostlists = 200;
	while ((c = getopt(argc, argv, "r:s:QH:t:c:R:wo:")) != -1) {
		int bad = 0;

		switch (c) {
		case 'r': bad = parse_int(optarg, 0, 100000, &p->rounds); break;
		case 's': bad = parse_int(optarg, 0, 1000, &p->stallers); break;
		case 'H': bad = parse_int(optarg, 1, 100000, &p->hostlists); break;
		case 't': bad = parse_int(optarg, 1, 3600, &sec); break;
		case 'c': bad = parse_int(optarg, 1, 3600, &csec); break;
		case 'R': bad = parse_int(optarg, 1, 3600, &p->round_sec); break;
		case 'Q': p->quiet = 1; break;
		case 'w': p->wait_signal = 1; break;
		case 'o': out = optarg; break;
		default: usage();
		}
		if (bad)
			usage();
	}
	if (argc - optind != 2 || parse_int(argv[optind + 1], 1, 100000, &p->n))
		usage();
	p->dir = argv[optind];
	p->deadline_ns = mono_ns() + (uint64_t)sec * 1000000000u;
	p->connect_ns = csec && csec < sec ?
		mono_ns() + (uint64_t)csec * 1000000000u : p->deadline_ns;
	p->out = fopen(out, "w");
	if (!p->out) {
		perror(out);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct peer p = { 0 };
	uint64_t last_ns = 0;
	sigset_t set;
	int conn, i;

	parse_args(&p, argc, argv);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);	/* taken by sigtimedwait */
	raise_fd_limit();
	p.ch = calloc((size_t)p.n, sizeof(*p.ch));
	p.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!p.ch || p.ep < 0 || listen_all(&p) < 0)
		return 1;
	printf("listening %d\n", p.n);
	fflush(stdout);
	conn = accept_all(&p, &last_ns);
	printf("connected %d %llu\n", conn < 0 ? 0 : conn,
	       (unsigned long long)last_ns);
	fflush(stdout);
	if (p.wait_signal && wait_go(&p) < 0)
		printf("no go signal before the deadline\n");
	start_stallers(&p);
	wait_stalled(&p);
	run_rounds(&p);
	printf("done\n");
	fclose(p.out);
	for (i = 0; i < p.n; i++)
		if (p.ch[i].fd > 0)
			close(p.ch[i].fd);
	free(p.ch);
	return 0;
}
