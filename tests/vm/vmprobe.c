/*
 * vmprobe - guest-side probes of a virtio-serial port for tests/vm.
 *
 * busybox cannot poll(), see an errno or time a read, so the guest scripts
 * ask this program.  Every subcommand exits 0 when the behaviour matches and
 * 1 with one line on stderr saying what was seen instead.  Every wait has a
 * deadline (-t MS, default 20000: a loaded 2-core host slows TCG guests).
 *
 *	vmprobe echo DEV MSG      wait for the host, write MSG\n, read it back
 *	vmprobe busy DEV          a second open() while one is held gets EBUSY
 *	vmprobe hup DEV           no host: poll() shows POLLHUP, read() returns 0
 *	vmprobe eof DEV           write CLOSE\n; the host hangs up; POLLHUP, read 0
 *	vmprobe enxio DEV         open() fails with ENXIO (a console port)
 *	vmprobe tty DEV           DEV opens and is a tty
 *	vmprobe expect DEV WORD   read lines from DEV until one is WORD
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MSG_MAX 512

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(long long deadline)
{
	long long d = deadline - now_ms();

	return d > 0 ? (int)d : 0;
}

static int open_port(const char *dev, int flags)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC | O_NOCTTY | flags);

	if (fd < 0)
		return -errno;
	return fd;
}

/* A hvc port is a tty: make it raw so bytes pass unchanged both ways. */
static int make_raw(int fd)
{
	struct termios t;

	if (!isatty(fd))
		return 0;
	if (tcgetattr(fd, &t) < 0)
		return -errno;
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	return 0;
}

/*
 * Wait until the host side is connected.  A generic port reports POLLHUP
 * while the host is away; the state changes by a control message, so poll
 * again until it clears.  A console (tty) has no such state: only POLLOUT.
 */
static int wait_host(int fd, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int n = poll(&p, 1, 20);

		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && (p.revents & POLLOUT) && !(p.revents & POLLHUP))
			return 0;
		if (left_ms(deadline) == 0)
			return -ETIMEDOUT;
		if (n > 0)
			usleep(20000);	/* POLLHUP returns at once: don't spin */
	}
}

static int write_all(int fd, const char *buf, size_t len, long long deadline)
{
	while (len > 0) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t n;

		if (poll(&p, 1, left_ms(deadline)) == 0)
			return -ETIMEDOUT;
		n = write(fd, buf, len);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

/* Read exactly len bytes (or until EOF/deadline); returns bytes read. */
static int read_n(int fd, char *buf, size_t len, long long deadline)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, left_ms(deadline)) == 0)
			return -ETIMEDOUT;
		n = read(fd, buf + got, len - got);
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (n > 0)
			got += (size_t)n;
	}
	return (int)got;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s\n", what, strerror(-err));
	return 1;
}

static int cmd_echo(const char *dev, const char *msg, int timeout)
{
	long long deadline = now_ms() + timeout;
	char out[MSG_MAX + 2], in[MSG_MAX + 2];
	size_t len = strlen(msg);
	int fd, r;

	if (len > MSG_MAX)
		return fail("message too long", -EMSGSIZE);
	snprintf(out, sizeof(out), "%s\n", msg);
	len++;
	fd = open_port(dev, 0);
	if (fd < 0)
		return fail(dev, fd);
	r = make_raw(fd);
	if (r < 0)
		return fail("tcsetattr", r);
	r = wait_host(fd, deadline);
	if (r < 0)
		return fail("waiting for the host side", r);
	r = write_all(fd, out, len, deadline);
	if (r < 0)
		return fail("write", r);
	r = read_n(fd, in, len, deadline);
	if (r < 0)
		return fail("reading the echo", r);
	if ((size_t)r != len || memcmp(in, out, len) != 0) {
		fprintf(stderr, "echo: got %d bytes '%.*s', want '%s'\n", r, r,
			in, msg);
		return 1;
	}
	close(fd);
	return 0;
}

static int cmd_busy(const char *dev)
{
	int fd = open_port(dev, 0), fd2;

	if (fd < 0)
		return fail(dev, fd);
	fd2 = open_port(dev, 0);
	if (fd2 >= 0) {
		fprintf(stderr, "second open succeeded, want EBUSY\n");
		return 1;
	}
	if (fd2 != -EBUSY)
		return fail("second open: want EBUSY, got", fd2);
	close(fd);
	fd2 = open_port(dev, 0);	/* released on close: opens again */
	if (fd2 < 0)
		return fail("open after close", fd2);
	close(fd2);
	return 0;
}

/* Both POLLHUP and read() == 0, within the deadline (host may close late). */
static int expect_hangup(int fd, long long deadline)
{
	char buf[256];
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	ssize_t n;

	for (;;) {
		p.revents = 0;
		if (poll(&p, 1, 20) < 0 && errno != EINTR)
			return fail("poll", -errno);
		if (p.revents & POLLHUP)
			break;
		if (p.revents & POLLIN) {	/* stale echo data: drain it */
			n = read(fd, buf, sizeof(buf));
			(void)n;
		} else if (p.revents) {
			usleep(20000);
		}
		if (left_ms(deadline) == 0) {
			fprintf(stderr, "no POLLHUP, revents=0x%x\n", p.revents);
			return 1;
		}
	}
	do
		n = read(fd, buf, sizeof(buf));
	while (n > 0);
	if (n < 0)
		return fail("read after POLLHUP, want 0", -errno);
	return 0;
}

static int cmd_hup(const char *dev, int timeout)
{
	int fd = open_port(dev, O_NONBLOCK), r;

	if (fd < 0)
		return fail(dev, fd);
	r = expect_hangup(fd, now_ms() + timeout);
	close(fd);
	return r;
}

static int cmd_eof(const char *dev, int timeout)
{
	long long deadline = now_ms() + timeout;
	int fd = open_port(dev, O_NONBLOCK), r;

	if (fd < 0)
		return fail(dev, fd);
	r = wait_host(fd, deadline);
	if (r < 0)
		return fail("waiting for the host side", r);
	r = write_all(fd, "CLOSE\n", 6, deadline);
	if (r < 0)
		return fail("write", r);
	r = expect_hangup(fd, deadline);
	close(fd);
	return r;
}

static int cmd_enxio(const char *dev)
{
	int fd = open_port(dev, 0);

	if (fd >= 0) {
		fprintf(stderr, "open succeeded, want ENXIO\n");
		return 1;
	}
	if (fd != -ENXIO)
		return fail("open: want ENXIO, got", fd);
	return 0;
}

static int cmd_tty(const char *dev)
{
	int fd = open_port(dev, 0);

	if (fd < 0)
		return fail(dev, fd);
	if (!isatty(fd)) {
		fprintf(stderr, "%s is not a tty\n", dev);
		return 1;
	}
	close(fd);
	return 0;
}

/* Host-to-guest cues: the harness writes WORD\n when the guest may go on. */
static int cmd_expect(const char *dev, const char *word, int timeout)
{
	long long deadline = now_ms() + timeout;
	char line[MSG_MAX + 1];
	size_t len = 0;
	int fd = open_port(dev, O_NONBLOCK);

	if (fd < 0)
		return fail(dev, fd);
	for (;;) {
		char c;
		int r = read_n(fd, &c, 1, deadline);

		if (r < 0)
			return fail("waiting for the cue", r);
		if (r == 0) {	/* host not connected yet: POLLHUP, read 0 */
			if (left_ms(deadline) == 0)
				return fail("waiting for the cue", -ETIMEDOUT);
			usleep(20000);
			continue;
		}
		if (c != '\n') {
			if (len < MSG_MAX)
				line[len++] = c;
			continue;
		}
		line[len] = '\0';
		len = 0;
		if (strcmp(line, word) == 0)
			break;
	}
	close(fd);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: vmprobe [-t MS] echo|busy|hup|eof|enxio|tty|expect DEV [MSG|WORD]\n");
	return 2;
}

int main(int argc, char **argv)
{
	int timeout = 20000, i = 1;
	const char *cmd, *dev;

	if (argc > 2 && strcmp(argv[1], "-t") == 0) {
		char *end;
		long t = strtol(argv[2], &end, 10);

		if (*end || t <= 0 || t > 600000)
			return usage();
		timeout = (int)t;
		i = 3;
	}
	if (argc - i < 2)
		return usage();
	cmd = argv[i];
	dev = argv[i + 1];
	if (strcmp(cmd, "echo") == 0 && argc - i == 3)
		return cmd_echo(dev, argv[i + 2], timeout);
	if (strcmp(cmd, "busy") == 0)
		return cmd_busy(dev);
	if (strcmp(cmd, "hup") == 0)
		return cmd_hup(dev, timeout);
	if (strcmp(cmd, "eof") == 0)
		return cmd_eof(dev, timeout);
	if (strcmp(cmd, "enxio") == 0)
		return cmd_enxio(dev);
	if (strcmp(cmd, "tty") == 0)
		return cmd_tty(dev);
	if (strcmp(cmd, "expect") == 0 && argc - i == 3)
		return cmd_expect(dev, argv[i + 2], timeout);
	return usage();
}
