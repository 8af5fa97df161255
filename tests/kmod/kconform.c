/*
 * kconform - virtio-serial guest driver conformance checks, run in the guest.
 *
 *	kconform DRIVER            the conformance checks
 *	kconform DRIVER bench MIB  throughput only: MIB MiB each way, 3 times
 *	kconform DRIVER udev       /dev/virtio-ports links made by a real udevd
 *
 * DRIVER is the module that drives the device (vserial or virtio_console);
 * it prefixes every result name, so one suite checks both drivers.  The
 * checks follow the test-virtserial checklist: open/close, one opener,
 * names, read without host, blocking and non-blocking I/O, poll states,
 * lseek, throttling, large transfers both ways, console (a shell on hvc0),
 * threaded I/O, SIGIO; and beyond it: one throttled port not stalling
 * another, an open/close storm, suspend/resume of the devices, hot-plug and
 * unplug with open fds, 31 ports at once, module unload and reload.
 *
 * The host side is tests/kmod/servant.py, commanded over the port named
 * org.vsf.ctl with one text line each way ("conn t1" -> "ok").  Every wait
 * has a deadline.  Results go to stdout as the VM rig's lines:
 *	VMTEST ok NAME | VMTEST fail NAME REASON | VMTEST info KEY VALUE
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define CTL_NAME "org.vsf.ctl"
#define PORT_PREFIX "org.vsf."
#define BLOCK 4080		/* test-virtserial's buffer size */
#define PATTERN_PERIOD 65521	/* prime, so offsets never alias */
#define BIG_BYTES (4u << 20)

struct ctx {
	const char *driver;
	int ctl;			/* fd of the control port */
	char reply[256];		/* last servant reply */
	int cmd_timeout_ms;		/* deadline of one command */
	int reference;			/* the stock driver: see weak() */
	int passed, failed;
};

static volatile sig_atomic_t sigio_count;

/* ------------------------------------------------------------ reporting */

static void ok(struct ctx *c, const char *name)
{
	printf("VMTEST ok %s.%s\n", c->driver, name);
	fflush(stdout);
	c->passed++;
}

/* One "VMTEST KIND DRIVER.NAME text" line on the console. */
static void report(struct ctx *c, const char *kind, const char *name,
		   const char *fmt, va_list ap)
{
	printf("VMTEST %s %s.%s ", kind, c->driver, name);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

static void fail(struct ctx *c, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, "fail", name, fmt, ap);
	va_end(ap);
	c->failed++;
}

static void info(struct ctx *c, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, "info", key, fmt, ap);
	va_end(ap);
}

/*
 * A check of something the stock driver is known to get wrong: on the
 * reference run its failure is recorded as information, not as a failure,
 * so the suite stays green on stock while ours must pass.
 */
#define WEAK(c, name, cond, ...)                                               \
	do {                                                                   \
		if (cond)                                                      \
			ok(c, name);                                           \
		else if ((c)->reference)                                       \
			info(c, "stock_weakness_" name, __VA_ARGS__);          \
		else                                                           \
			fail(c, name, __VA_ARGS__);                            \
	} while (0)

/* expect: ok when COND holds, else fail with the formatted reason. */
#define EXPECT(c, name, cond, ...)                                             \
	do {                                                                   \
		if (cond)                                                      \
			ok(c, name);                                           \
		else                                                           \
			fail(c, name, __VA_ARGS__);                            \
	} while (0)

/* --------------------------------------------------------------- helpers */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static unsigned char pattern(unsigned seed, size_t off)
{
	size_t i = off % PATTERN_PERIOD;

	return (unsigned char)((i * 131 + seed * 7 + (i >> 8)) & 0xff);
}

/* Index of the first byte of BUF (at stream offset OFF) that is wrong. */
static long pattern_check(unsigned seed, size_t off, const unsigned char *buf,
			  size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pattern(seed, off + i))
			return (long)i;
	return -1;
}

static void pattern_fill(unsigned seed, size_t off, unsigned char *buf,
			 size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern(seed, off + i);
}

/* Device node of the port named NAME ("/dev/vportNpM"); 0 or -ENOENT. */
static int port_path(const char *name, char *out, size_t outlen)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *e;
	int ret = -ENOENT;

	if (!d)
		return -ENOENT;
	while ((e = readdir(d))) {
		char p[PATH_MAX], got[256] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/sys/class/virtio-ports/%s/name",
			 e->d_name);
		f = fopen(p, "r");
		if (!f)
			continue;
		if (fgets(got, sizeof(got), f))
			got[strcspn(got, "\n")] = 0;
		fclose(f);
		if (strcmp(got, name) == 0) {
			snprintf(out, outlen, "/dev/%s", e->d_name);
			ret = 0;
			break;
		}
	}
	closedir(d);
	return ret;
}

/* Opens the port named NAME (short name, e.g. "t1"); fd or -errno. */
static int open_port(const char *shortname, int flags)
{
	char name[128], path[PATH_MAX];
	int fd;

	snprintf(name, sizeof(name), PORT_PREFIX "%s", shortname);
	if (port_path(name, path, sizeof(path)) < 0)
		return -ENOENT;
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | flags);
	return fd < 0 ? -errno : fd;
}

/* Polls until (revents & MASK) == WANT or the deadline; returns revents. */
static int poll_until(int fd, short mask, short want, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	struct pollfd p;

	for (;;) {
		p.fd = fd;
		p.events = POLLIN | POLLOUT;
		p.revents = 0;
		if (poll(&p, 1, 20) < 0 && errno != EINTR)
			return -errno;
		if ((p.revents & mask) == want || now_ms() >= end)
			return p.revents;
	}
}

static int poll_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

	if (poll(&p, 1, 0) < 0)
		return -errno;
	return p.revents;
}

static const char *pollstr(int ev)
{
	static char s[64];

	snprintf(s, sizeof(s), "%s%s%s%s(0x%x)", ev & POLLIN ? "IN|" : "",
		 ev & POLLOUT ? "OUT|" : "", ev & POLLHUP ? "HUP|" : "",
		 ev & POLLERR ? "ERR|" : "", ev);
	return s;
}

/* Writes all of BUF to a non-blocking fd by DEADLINE; 0 or -errno. */
static int write_all(int fd, const void *buf, size_t len, long long deadline)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EAGAIN) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };

			if (now_ms() > deadline)
				return -ETIMEDOUT;
			poll(&pf, 1, 50);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Sends one command line to the servant and waits for its one-line reply.
 * Returns 0 when the reply starts with "ok".  A write that cannot go out
 * (the host side seems absent) also times out.
 */
static int cmd(struct ctx *c, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	size_t n = 0;
	long long end = now_ms() + c->cmd_timeout_ms;
	int r;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	r = write_all(c->ctl, line, strlen(line), end);
	if (r < 0) {
		snprintf(c->reply, sizeof(c->reply), "ctl write: %s",
			 strerror(-r));
		return -1;
	}
	while (n < sizeof(c->reply) - 1) {
		struct pollfd p = { .fd = c->ctl, .events = POLLIN };
		ssize_t rd;

		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			break;
		if (now_ms() > end) {
			snprintf(c->reply, sizeof(c->reply), "ctl timeout");
			return -1;
		}
		if (!(p.revents & POLLIN))
			continue;
		rd = read(c->ctl, c->reply + n, 1);
		if (rd < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (rd <= 0)
			break;
		if (c->reply[n] == '\n') {
			c->reply[n] = 0;
			return strncmp(c->reply, "ok", 2) == 0 ? 0 : -1;
		}
		n++;
	}
	c->reply[n] = 0;
	return -1;
}

/* Connects the host side of a port and waits until the guest sees it. */
static int host_conn(struct ctx *c, int fd, const char *port)
{
	if (cmd(c, "conn %s", port))
		return -1;
	return (poll_until(fd, POLLOUT | POLLHUP, POLLOUT, 5000) &
		(POLLOUT | POLLHUP)) == POLLOUT ? 0 : -1;
}

static int host_disc(struct ctx *c, int fd, const char *port)
{
	if (cmd(c, "disc %s", port))
		return -1;
	if (fd < 0)
		return 0;
	return poll_until(fd, POLLHUP, POLLHUP, 5000) & POLLHUP ? 0 : -1;
}

/* ------------------------------------------------------- blocking thread */

struct bg_io {
	pthread_t tid;
	int fd;
	int write;		/* 0 = read, 1 = write */
	size_t len;
	unsigned char *buf;
	ssize_t ret;
	int err;
	volatile int done;
};

static void *bg_io_main(void *arg)
{
	struct bg_io *b = arg;

	if (b->write)
		b->ret = write(b->fd, b->buf, b->len);
	else
		b->ret = read(b->fd, b->buf, b->len);
	b->err = errno;
	__atomic_store_n(&b->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int bg_start(struct bg_io *b, int fd, int is_write, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->fd = fd;
	b->write = is_write;
	b->len = len;
	b->buf = calloc(1, len);
	if (!b->buf)
		return -1;
	if (is_write)
		pattern_fill(9, 0, b->buf, len);
	return pthread_create(&b->tid, NULL, bg_io_main, b);
}

static int bg_done(struct bg_io *b, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;

	while (!__atomic_load_n(&b->done, __ATOMIC_SEQ_CST)) {
		if (now_ms() >= end)
			return 0;
		sleep_ms(5);
	}
	return 1;
}

static void bg_finish(struct bg_io *b)
{
	pthread_join(b->tid, NULL);
	free(b->buf);
}

/* ----------------------------------------------------------------- tests */

static void t_open_close(struct ctx *c)
{
	int fd = open_port("t1", 0), fd2;

	if (fd < 0) {
		fail(c, "open_close", "open: %s", strerror(-fd));
		return;
	}
	EXPECT(c, "open_close", close(fd) == 0, "close: %s", strerror(errno));

	fd = open_port("t1", 0);
	fd2 = open_port("t1", 0);
	EXPECT(c, "multiple_open_ebusy", fd >= 0 && fd2 == -EBUSY,
	       "first %d, second %d (%s)", fd, fd2,
	       fd2 < 0 ? strerror(-fd2) : "opened");
	if (fd2 >= 0)
		close(fd2);
	if (fd >= 0)
		close(fd);
	fd = open_port("t1", 0);
	EXPECT(c, "reopen_after_close", fd >= 0, "%s", strerror(-fd));
	if (fd >= 0)
		close(fd);
}

/*
 * Negotiated features (sysfs shows one '0'/'1' per bit): MULTIPORT (1) on,
 * SIZE (0) and EMERG_WRITE (2) off; QEMU offers MULTIPORT and EMERG_WRITE.
 */
static void t_features(struct ctx *c)
{
	char f[128] = "";
	FILE *fp = fopen("/sys/bus/virtio/devices/virtio0/features", "r");

	if (fp) {
		if (!fgets(f, sizeof(f), fp))
			f[0] = 0;
		fclose(fp);
	}
	EXPECT(c, "features_multiport_only",
	       strlen(f) > 2 && f[0] == '0' && f[1] == '1' && f[2] == '0',
	       "features '%.8s'", f);
}

static void t_names(struct ctx *c)
{
	static const char *const names[] = { "ctl", "t1", "t2", "t3" };
	char name[64], path[PATH_MAX], link[PATH_MAX], sys[PATH_MAX + 64];
	unsigned int dev, port;
	struct stat a, b;
	int bad = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(name, sizeof(name), PORT_PREFIX "%s", names[i]);
		if (port_path(name, path, sizeof(path)) < 0 ||
		    stat(path, &a) < 0 || !S_ISCHR(a.st_mode)) {
			fail(c, "sysfs_name", "%s: no char device", name);
			bad = 1;
			continue;
		}
		snprintf(link, sizeof(link), "/dev/virtio-ports/%s", name);
		if (stat(link, &b) < 0 || a.st_rdev != b.st_rdev) {
			fail(c, "udev_link", "%s does not lead to %s", link,
			     path);
			bad = 1;
		}
		if (sscanf(path, "/dev/vport%up%u", &dev, &port) != 2) {
			fail(c, "node_name", "%s is not /dev/vportNpM", path);
			bad = 1;
			continue;
		}
		/* N in vportNpM is the virtio device's index. */
		snprintf(sys, sizeof(sys),
			 "/sys/bus/virtio/devices/virtio%u/virtio-ports/%s",
			 dev, path + 5);
		if (access(sys, F_OK) < 0) {
			fail(c, "sysfs_parent", "%s missing", sys);
			bad = 1;
		}
	}
	if (!bad)
		ok(c, "sysfs_name_and_link");
	t_features(c);
}

static void t_no_host(struct ctx *c)
{
	char buf[16];
	ssize_t n;
	int fd = open_port("t1", 0), ev;

	if (fd < 0) {
		fail(c, "read_without_host", "open: %s", strerror(-fd));
		return;
	}
	n = read(fd, buf, sizeof(buf));
	EXPECT(c, "read_without_host", n == 0, "read gave %zd (%s)", n,
	       n < 0 ? strerror(errno) : "data");
	ev = poll_now(fd);
	EXPECT(c, "poll_without_host", (ev & POLLHUP) && !(ev & POLLOUT),
	       "revents %s", pollstr(ev));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	n = write(fd, "x", 1);
	EXPECT(c, "nonblock_write_without_host", n < 0 && errno == EAGAIN,
	       "write gave %zd (%s)", n, n < 0 ? strerror(errno) : "sent");
	EXPECT(c, "lseek_espipe",
	       lseek(fd, 0, SEEK_SET) < 0 && errno == ESPIPE, "lseek: %s",
	       strerror(errno));
	close(fd);
}

static void t_blocking_read(struct ctx *c)
{
	int fd = open_port("t1", 0);
	struct bg_io b;
	int ev;

	if (fd < 0 || host_conn(c, fd, "t1")) {
		fail(c, "blocking_read", "setup: fd %d, %s", fd, c->reply);
		goto out;
	}
	ev = poll_now(fd);
	EXPECT(c, "poll_host_connected", ev == POLLOUT, "revents %s",
	       pollstr(ev));
	if (bg_start(&b, fd, 0, BLOCK)) {
		fail(c, "blocking_read", "thread");
		goto out;
	}
	if (bg_done(&b, 500)) {
		fail(c, "blocking_read", "read returned %zd without data",
		     b.ret);
	} else if (cmd(c, "send t1 100 3")) {
		fail(c, "blocking_read", "servant: %s", c->reply);
	} else if (!bg_done(&b, 5000)) {
		fail(c, "blocking_read", "still blocked 5 s after host wrote");
	} else {
		EXPECT(c, "blocking_read",
		       b.ret > 0 && b.ret <= 100 &&
			       pattern_check(3, 0, b.buf, (size_t)b.ret) < 0,
		       "read %zd (%s)", b.ret, strerror(b.err));
	}
	/* A disconnect ends any read still waiting. */
	host_disc(c, fd, "t1");
	bg_done(&b, 5000);
	bg_finish(&b);
out:
	if (fd >= 0)
		close(fd);
}

static void t_nonblocking_read_and_poll(struct ctx *c)
{
	unsigned char buf[BLOCK];
	int fd = open_port("t1", O_NONBLOCK), ev;
	size_t got = 0;
	ssize_t n;

	if (fd < 0 || host_conn(c, fd, "t1")) {
		fail(c, "nonblocking_read", "setup: fd %d, %s", fd, c->reply);
		goto out;
	}
	n = read(fd, buf, sizeof(buf));
	EXPECT(c, "nonblocking_read_eagain", n < 0 && errno == EAGAIN,
	       "read %zd (%s)", n, strerror(errno));
	if (cmd(c, "send t1 50 4")) {
		fail(c, "nonblocking_read", "servant: %s", c->reply);
		goto out;
	}
	ev = poll_until(fd, POLLIN, POLLIN, 5000);
	EXPECT(c, "poll_host_data", (ev & (POLLIN | POLLOUT | POLLHUP)) ==
	       (POLLIN | POLLOUT), "revents %s", pollstr(ev));
	while (got < 50) {
		n = read(fd, buf + got, sizeof(buf) - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	EXPECT(c, "nonblocking_read",
	       got == 50 && pattern_check(4, 0, buf, got) < 0,
	       "got %zu bytes, last read %zd (%s)", got, n, strerror(errno));
	if (host_disc(c, fd, "t1")) {
		fail(c, "poll_host_gone", "no POLLHUP after disconnect");
	} else {
		ev = poll_now(fd);
		n = read(fd, buf, sizeof(buf));
		EXPECT(c, "poll_host_gone", (ev & POLLHUP) && !(ev & POLLOUT) &&
		       n == 0, "revents %s, read %zd", pollstr(ev), n);
	}
out:
	if (fd >= 0)
		close(fd);
}

/*
 * Writes 4080-byte blocks to a non-blocking fd until it stays full.  QEMU
 * takes buffers off the ring asynchronously (ioeventfd), so one EAGAIN is
 * not enough: fill until a whole 300 ms pass adds nothing.  Returns the
 * number of blocks written; *last is the last write's result.
 */
static int fill_until_full(int fd, ssize_t *last)
{
	unsigned char buf[BLOCK];
	int blocks = 0;

	pattern_fill(5, 0, buf, sizeof(buf));
	for (int round = 0; round < 20; round++) {
		int added = 0;

		while (blocks < 100000) {
			*last = write(fd, buf, sizeof(buf));
			if (*last < 0)
				break;
			blocks++;
			added++;
		}
		if (!added && round > 0)
			break;
		sleep_ms(300);
	}
	return blocks;
}

/*
 * Throttling: the host connects but does not read.  Non-blocking writes of
 * 4080 bytes succeed until the ring (and QEMU's chardev) is full, then give
 * EAGAIN and POLLOUT drops; a blocking write waits; draining the host side
 * brings POLLOUT back and releases the writer.
 */
static void t_throttle(struct ctx *c)
{
	int fd = open_port("t1", O_NONBLOCK), ev, blocks = 0;
	struct bg_io b;
	ssize_t n = 0;

	if (fd < 0 || host_conn(c, fd, "t1") || cmd(c, "hold t1")) {
		fail(c, "nonblocking_write", "setup: fd %d, %s", fd, c->reply);
		goto out;
	}
	blocks = fill_until_full(fd, &n);
	info(c, "blocks_until_full", "%d", blocks);
	ev = poll_now(fd);
	EXPECT(c, "nonblocking_write", n < 0 && errno == EAGAIN &&
	       blocks >= 16 && !(ev & POLLOUT),
	       "%d blocks, last %zd (%s), revents %s", blocks, n,
	       strerror(errno), pollstr(ev));
	fcntl(fd, F_SETFL, 0);
	if (bg_start(&b, fd, 1, BLOCK)) {
		fail(c, "blocking_write", "thread");
		goto out;
	}
	if (bg_done(&b, 500)) {
		fail(c, "blocking_write", "write returned %zd on a full ring",
		     b.ret);
	} else if (cmd(c, "drain t1")) {
		fail(c, "blocking_write", "servant: %s", c->reply);
	} else {
		EXPECT(c, "blocking_write", bg_done(&b, 10000) &&
		       b.ret == BLOCK, "after drain: done %d ret %zd (%s)",
		       b.done, b.ret, strerror(b.err));
		ev = poll_until(fd, POLLOUT, POLLOUT, 5000);
		EXPECT(c, "pollout_after_drain", ev & POLLOUT, "revents %s",
		       pollstr(ev));
	}
	host_disc(c, fd, "t1");
	bg_done(&b, 5000);
	bg_finish(&b);
out:
	if (fd >= 0)
		close(fd);
}

/* Host data left unread when the guest closes is gone after reopen. */
static void t_guest_caching(struct ctx *c)
{
	unsigned char buf[64];
	int fd = open_port("t1", O_NONBLOCK), ev;
	ssize_t n;

	if (fd < 0 || host_conn(c, fd, "t1") || cmd(c, "send t1 30 6")) {
		fail(c, "guest_caching", "setup: fd %d, %s", fd, c->reply);
		goto out;
	}
	ev = poll_until(fd, POLLIN, POLLIN, 5000);
	if (!(ev & POLLIN)) {
		fail(c, "guest_caching", "data never came: %s", pollstr(ev));
		goto out;
	}
	close(fd);
	fd = open_port("t1", O_NONBLOCK);
	n = fd < 0 ? -2 : read(fd, buf, sizeof(buf));
	EXPECT(c, "guest_caching", n < 0 && errno == EAGAIN,
	       "read after reopen gave %zd", n);
	host_disc(c, fd, "t1");
out:
	if (fd >= 0)
		close(fd);
}

static void t_large_host_to_guest(struct ctx *c)
{
	size_t got = 0;
	unsigned char *buf = malloc(65536);
	int fd = open_port("t1", 0);
	long bad = -1;
	long long t0;
	ssize_t n = 0;

	if (!buf || fd < 0 || host_conn(c, fd, "t1")) {
		fail(c, "host_file_send", "setup: fd %d, %s", fd, c->reply);
		goto out;
	}
	t0 = now_ms();
	if (cmd(c, "send t1 %u 7", BIG_BYTES)) {
		fail(c, "host_file_send", "servant: %s", c->reply);
		goto out;
	}
	while (got < BIG_BYTES) {
		if (!(poll_until(fd, POLLIN, POLLIN, 10000) & POLLIN))
			break;
		n = read(fd, buf, 65536);
		if (n <= 0)
			break;
		bad = pattern_check(7, got, buf, (size_t)n);
		if (bad >= 0)
			break;
		got += (size_t)n;
	}
	info(c, "host_to_guest_ms", "%lld for %u bytes", now_ms() - t0,
	     BIG_BYTES);
	EXPECT(c, "host_file_send", got == BIG_BYTES && bad < 0,
	       "got %zu of %u, bad byte at %ld, last read %zd", got,
	       BIG_BYTES, bad >= 0 ? (long)got + bad : -1L, n);
	host_disc(c, fd, "t1");
out:
	if (fd >= 0)
		close(fd);
	free(buf);
}

static void t_large_guest_to_host(struct ctx *c)
{
	unsigned char *buf = malloc(100000);
	int fd = open_port("t1", 0);
	size_t sent = 0;
	long long t0;
	ssize_t n;

	if (!buf || fd < 0 || host_conn(c, fd, "t1") ||
	    cmd(c, "recv t1 %u 8", BIG_BYTES)) {
		fail(c, "guest_file_send", "setup: fd %d, %s", fd, c->reply);
		goto out;
	}
	t0 = now_ms();
	pattern_fill(8, 0, buf, 100000);
	n = write(fd, buf, 100000);
	/* One write moves at most 32 KiB: a short write, not an error. */
	EXPECT(c, "large_write_partial", n > 0 && n <= 32768,
	       "write(100000) gave %zd", n);
	if (n > 0)
		sent = (size_t)n;
	while (sent < BIG_BYTES) {
		size_t len = BIG_BYTES - sent < 65536 ? BIG_BYTES - sent : 65536;

		pattern_fill(8, sent, buf, len);
		n = write(fd, buf, len);
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	if (cmd(c, "wait t1")) {
		fail(c, "guest_file_send", "sent %zu; host: %s", sent,
		     c->reply);
	} else {
		ok(c, "guest_file_send");
		info(c, "guest_to_host_ms", "%lld for %u bytes",
		     now_ms() - t0, BIG_BYTES);
	}
	host_disc(c, fd, "t1");
out:
	if (fd >= 0)
		close(fd);
	free(buf);
}

/*
 * sendfile() and writev() into a port: tools use them (stock supports
 * splice_write), so a drop-in must too.  100000 pattern bytes from a file,
 * then two iovecs in one writev.
 */
static void t_sendfile(struct ctx *c)
{
	static unsigned char data[100000];
	const char *tmp = "/tmp/kconform-sendfile";
	int fd = open_port("t1", 0), in = -1;
	struct iovec iov[2];
	off_t off = 0;
	ssize_t n = 0;

	pattern_fill(30, 0, data, sizeof(data));
	in = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || in < 0 || write_all(in, data, sizeof(data), now_ms()) ||
	    host_conn(c, fd, "t1") ||
	    cmd(c, "recv t1 %zu 30", sizeof(data) + 3000)) {
		fail(c, "sendfile_to_port", "setup: fd %d in %d %s", fd, in,
		     c->reply);
		goto out;
	}
	while (off < (off_t)sizeof(data)) {
		n = sendfile(fd, in, &off, sizeof(data) - (size_t)off);
		if (n <= 0)
			break;
	}
	EXPECT(c, "sendfile_to_port", off == (off_t)sizeof(data),
	       "sent %lld, last %zd (%s)", (long long)off, n, strerror(errno));
	/* The stream continues with bytes 100000..102999, in two pieces. */
	pattern_fill(30, sizeof(data), data, 3000);
	iov[0] = (struct iovec){ data, 1000 };
	iov[1] = (struct iovec){ data + 1000, 2000 };
	n = writev(fd, iov, 2);
	EXPECT(c, "writev_to_port", n == 3000 && cmd(c, "wait t1") == 0,
	       "writev %zd, host: %s", n, c->reply);
	host_disc(c, fd, "t1");
out:
	if (in >= 0)
		close(in);
	unlink(tmp);
	if (fd >= 0)
		close(fd);
}

/* A read blocked in one thread does not hold up a write in another. */
static void t_threaded(struct ctx *c)
{
	unsigned char buf[200];
	int fd = open_port("t1", 0);
	struct bg_io b;
	ssize_t n;

	if (fd < 0 || host_conn(c, fd, "t1") || cmd(c, "recv t1 200 10")) {
		fail(c, "threaded_read_write", "setup: fd %d, %s", fd,
		     c->reply);
		goto out;
	}
	if (bg_start(&b, fd, 0, BLOCK)) {
		fail(c, "threaded_read_write", "thread");
		goto out;
	}
	sleep_ms(100);
	pattern_fill(10, 0, buf, sizeof(buf));
	n = write(fd, buf, sizeof(buf));
	EXPECT(c, "threaded_read_write",
	       n == (ssize_t)sizeof(buf) && !b.done && cmd(c, "wait t1") == 0,
	       "write %zd, reader done %d, host: %s", n, b.done, c->reply);
	host_disc(c, fd, "t1");
	bg_done(&b, 5000);
	EXPECT(c, "disconnect_ends_blocked_read", b.done && b.ret == 0,
	       "done %d ret %zd", b.done, b.ret);
	bg_finish(&b);
out:
	if (fd >= 0)
		close(fd);
}

static void on_sigio(int sig)
{
	(void)sig;
	sigio_count++;
}

static int wait_sigio(int before, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;

	while (sigio_count == before && now_ms() < end)
		sleep_ms(5);
	return sigio_count != before;
}

static int set_async(int fd)
{
	if (fcntl(fd, F_SETOWN, getpid()) < 0)
		return -1;
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC);
}

static void t_sigio(struct ctx *c)
{
	static const char *const ports[] = { "t1", "t2", "t3" };
	int fd[3] = { -1, -1, -1 }, before, ev, i, good;
	char buf[64];

	signal(SIGIO, on_sigio);
	for (i = 0; i < 3; i++) {
		fd[i] = open_port(ports[i], O_NONBLOCK);
		if (fd[i] < 0 || set_async(fd[i]) < 0) {
			fail(c, "sigio", "setup %s: %d", ports[i], fd[i]);
			goto out;
		}
	}
	before = sigio_count;
	cmd(c, "conn t1");
	EXPECT(c, "sigio_host_connect", wait_sigio(before, 5000) &&
	       (ev = poll_until(fd[0], POLLOUT | POLLHUP, POLLOUT, 1000)) ==
	       POLLOUT, "sigio %d, revents %s", sigio_count - before,
	       pollstr(poll_now(fd[0])));
	before = sigio_count;
	cmd(c, "send t1 10 11");
	EXPECT(c, "sigio_host_data", wait_sigio(before, 5000) &&
	       poll_until(fd[0], POLLIN, POLLIN, 1000) == (POLLIN | POLLOUT),
	       "sigio %d, revents %s", sigio_count - before,
	       pollstr(poll_now(fd[0])));
	while (read(fd[0], buf, sizeof(buf)) > 0)
		;
	before = sigio_count;
	cmd(c, "disc t1");
	EXPECT(c, "sigio_host_disconnect", wait_sigio(before, 5000) &&
	       (poll_until(fd[0], POLLHUP, POLLHUP, 1000) & POLLHUP),
	       "sigio %d, revents %s", sigio_count - before,
	       pollstr(poll_now(fd[0])));

	/* Three ports at once. */
	before = sigio_count;
	good = 1;
	for (i = 0; i < 3; i++)
		if (cmd(c, "conn %s", ports[i]))
			good = 0;
	good = good && wait_sigio(before, 5000);
	for (i = 0; i < 3; i++)
		if ((poll_until(fd[i], POLLOUT | POLLHUP, POLLOUT, 5000) &
		     (POLLOUT | POLLHUP)) != POLLOUT)
			good = 0;
	EXPECT(c, "sigio_three_ports", good, "sigio %d, revents %s",
	       sigio_count - before, pollstr(poll_now(fd[2])));
	for (i = 0; i < 3; i++)
		host_disc(c, fd[i], ports[i]);
out:
	for (i = 0; i < 3; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	signal(SIGIO, SIG_IGN);
}

static int make_raw(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		return -1;
	cfmakeraw(&t);
	return tcsetattr(fd, TCSANOW, &t);
}

static void t_console(struct ctx *c)
{
	char path[PATH_MAX], buf[64], msg[64];
	int fd, hvc;
	size_t got = 0;

	if (port_path(PORT_PREFIX "console", path, sizeof(path)) < 0) {
		fail(c, "console_named", "no port named " PORT_PREFIX
		     "console");
		return;
	}
	fd = open(path, O_RDWR | O_NOCTTY);
	EXPECT(c, "console_vport_enxio", fd < 0 && errno == ENXIO,
	       "open %s: %d (%s)", path, fd, strerror(errno));
	if (fd >= 0)
		close(fd);
	hvc = open("/dev/hvc0", O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (hvc < 0 || make_raw(hvc) < 0) {
		fail(c, "console_hvc", "/dev/hvc0: %s", strerror(errno));
		if (hvc >= 0)
			close(hvc);
		return;
	}
	snprintf(msg, sizeof(msg), "hvc-out-%s\n", c->driver);
	write_all(hvc, msg, strlen(msg), now_ms() + 5000);
	EXPECT(c, "console_guest_to_host",
	       cmd(c, "con_expect hvc-out-%s", c->driver) == 0, "host: %s",
	       c->reply);
	if (cmd(c, "con_send hvc-in-%s", c->driver)) {
		fail(c, "console_host_to_guest", "host: %s", c->reply);
	} else {
		snprintf(msg, sizeof(msg), "hvc-in-%s", c->driver);
		while (got < strlen(msg) &&
		       (poll_until(hvc, POLLIN, POLLIN, 5000) & POLLIN)) {
			ssize_t n = read(hvc, buf + got, sizeof(buf) - 1 - got);

			if (n <= 0)
				break;
			got += (size_t)n;
		}
		buf[got] = 0;
		EXPECT(c, "console_host_to_guest", strstr(buf, msg) != NULL,
		       "read '%s'", buf);
	}
	close(hvc);
}

/* Waits for a "change" uevent naming a vport whose name attribute is NAME. */
static int wait_name_uevent(int nl, const char *name, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	char buf[4096], path[PATH_MAX], got[128];

	while (now_ms() < end) {
		struct pollfd p = { .fd = nl, .events = POLLIN };
		ssize_t n;
		char *devpath = NULL, *action = NULL;
		FILE *f;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(nl, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = 0;
		for (char *s = buf; s < buf + n; s += strlen(s) + 1) {
			if (strncmp(s, "ACTION=", 7) == 0)
				action = s + 7;
			else if (strncmp(s, "DEVPATH=", 8) == 0)
				devpath = s + 8;
		}
		if (!action || !devpath || strcmp(action, "change") ||
		    !strstr(devpath, "/vport"))
			continue;
		snprintf(path, sizeof(path), "/sys%s/name", devpath);
		f = fopen(path, "r");
		if (!f)
			continue;
		got[0] = 0;
		if (fgets(got, sizeof(got), f))
			got[strcspn(got, "\n")] = 0;
		fclose(f);
		if (strcmp(got, name) == 0)
			return 0;
	}
	return -1;
}

static int wait_port(const char *name, int present, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	char path[PATH_MAX];

	for (;;) {
		int have = port_path(name, path, sizeof(path)) == 0 &&
			   access(path, F_OK) == 0;

		if (have == present)
			return 0;
		if (now_ms() >= end)
			return -1;
		sleep_ms(20);
	}
}

static void t_hotplug(struct ctx *c)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	char path[PATH_MAX], buf[64];
	int nl, fd = -1, before, ev;
	struct bg_io b;
	ssize_t n;

	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
		    NETLINK_KOBJECT_UEVENT);
	if (nl < 0 || bind(nl, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fail(c, "hotplug", "uevent socket: %s", strerror(errno));
		goto out;
	}
	if (cmd(c, "plug hot1 5")) {
		fail(c, "hotplug", "servant: %s", c->reply);
		goto out;
	}
	EXPECT(c, "hotplug_name_uevent",
	       wait_name_uevent(nl, PORT_PREFIX "hot1", 10000) == 0,
	       "no change uevent with name " PORT_PREFIX "hot1");
	EXPECT(c, "hotplug_port_appears",
	       wait_port(PORT_PREFIX "hot1", 1, 5000) == 0, "no node");
	fd = open_port("hot1", 0);
	if (fd < 0 || host_conn(c, fd, "hot1") || set_async(fd) < 0) {
		fail(c, "hotplug_io", "open %d, %s", fd, c->reply);
		goto out;
	}
	EXPECT(c, "hotplug_io", write(fd, "ping", 4) == 4 &&
	       cmd(c, "send hot1 20 12") == 0 &&
	       (poll_until(fd, POLLIN, POLLIN, 5000) & POLLIN) &&
	       read(fd, buf, sizeof(buf)) == 20, "%s", c->reply);
	/* Unplug with the fd open and a reader blocked in it. */
	signal(SIGIO, on_sigio);
	if (bg_start(&b, fd, 0, BLOCK)) {
		fail(c, "hotunplug", "thread");
		goto out;
	}
	sleep_ms(100);
	before = sigio_count;
	if (cmd(c, "unplug hot1")) {
		fail(c, "hotunplug", "servant: %s", c->reply);
		goto out;
	}
	EXPECT(c, "hotunplug_wakes_reader", bg_done(&b, 5000) &&
	       (b.ret == 0 || (b.ret < 0 && b.err == ENODEV)),
	       "done %d ret %zd (%s)", b.done, b.ret, strerror(b.err));
	info(c, "read_after_unplug", "%zd %s", b.ret,
	     b.ret < 0 ? strerror(b.err) : "");
	bg_finish(&b);
	EXPECT(c, "hotunplug_sigio", wait_sigio(before, 2000), "no SIGIO");
	ev = poll_now(fd);
	EXPECT(c, "hotunplug_pollhup", ev & POLLHUP, "revents %s",
	       pollstr(ev));
	n = write(fd, "x", 1);
	EXPECT(c, "hotunplug_write_enodev", n < 0 && errno == ENODEV,
	       "write %zd (%s)", n, strerror(errno));
	n = read(fd, buf, sizeof(buf));
	info(c, "read_after_unplug_again", "%zd %s", n,
	     n < 0 ? strerror(errno) : "");
	EXPECT(c, "hotunplug_node_gone",
	       wait_port(PORT_PREFIX "hot1", 0, 5000) == 0, "still there");
	EXPECT(c, "hotunplug_close", close(fd) == 0, "%s", strerror(errno));
	fd = -1;
	signal(SIGIO, SIG_IGN);

	/* The same name again, at the same port number. */
	if (cmd(c, "plug hot1 5") || wait_port(PORT_PREFIX "hot1", 1, 10000)) {
		fail(c, "hotplug_again", "%s", c->reply);
		goto out;
	}
	fd = open_port("hot1", 0);
	EXPECT(c, "hotplug_again", fd >= 0 && host_conn(c, fd, "hot1") == 0 &&
	       write(fd, "pong", 4) == 4, "fd %d %s", fd, c->reply);
	if (port_path(PORT_PREFIX "hot1", path, sizeof(path)) == 0)
		info(c, "hotplug_node", "%s", path);
out:
	if (fd >= 0)
		close(fd);
	if (nl >= 0)
		close(nl);
}

/*
 * The console test of test-virtserial: a shell on /dev/hvc0, driven from
 * the host; `find /` makes plenty of output.  $((...)) proves the shell ran
 * the line (the tty's echo only shows it unexpanded).
 */
static void t_console_shell(struct ctx *c)
{
	long long end;
	pid_t pid;
	int st = -1;

	pid = fork();
	if (pid == 0) {
		int fd;

		setsid();
		fd = open("/dev/hvc0", O_RDWR);
		if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) < 0)
			_exit(127);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execl("/bin/sh", "sh", "-i", (char *)NULL);
		_exit(127);
	}
	if (pid < 0) {
		fail(c, "console_shell", "fork: %s", strerror(errno));
		return;
	}
	EXPECT(c, "console_shell",
	       cmd(c, "con_send echo M$((6*7))M") == 0 &&
	       cmd(c, "con_expect M42M") == 0, "host: %s", c->reply);
	EXPECT(c, "console_shell_find",
	       cmd(c, "con_send find / -xdev | wc -l; echo F$((2+3))F") == 0 &&
	       cmd(c, "con_expect F5F") == 0, "host: %s", c->reply);
	cmd(c, "con_send exit");
	end = now_ms() + 5000;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		sleep_ms(20);
	}
	EXPECT(c, "console_shell_exit", WIFEXITED(st), "status 0x%x", st);
}

/* Writes LEN pattern bytes with non-blocking writes and a deadline. */
static int write_pattern(int fd, unsigned seed, size_t len, int timeout_ms)
{
	unsigned char buf[32768];
	long long end = now_ms() + timeout_ms;
	size_t off = 0;

	while (off < len) {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		ssize_t w;

		pattern_fill(seed, off, buf, n);
		w = write(fd, buf, n);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN)
			return -errno;
		if (now_ms() > end)
			return -ETIMEDOUT;
		poll_until(fd, POLLOUT, POLLOUT, 1000);
	}
	return 0;
}

/* Reads LEN pattern bytes with a deadline; 0, -EILSEQ or -ETIMEDOUT. */
static int read_pattern(int fd, unsigned seed, size_t len, int timeout_ms)
{
	unsigned char buf[32768];
	long long end = now_ms() + timeout_ms;
	size_t off = 0;

	while (off < len) {
		ssize_t n;

		if (now_ms() > end)
			return -ETIMEDOUT;
		if (!(poll_until(fd, POLLIN, POLLIN, 1000) & POLLIN))
			continue;
		n = read(fd, buf, sizeof(buf) < len - off ? sizeof(buf) :
			 len - off);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		if (pattern_check(seed, off, buf, (size_t)n) >= 0)
			return -EILSEQ;
		off += (size_t)n;
	}
	return 0;
}

/* A port whose host stops reading must not hold up another port. */
static void t_fairness(struct ctx *c)
{
	ssize_t n;
	int f1 = open_port("t1", O_NONBLOCK), f2 = open_port("t2", O_NONBLOCK);
	int blocks = 0, r;

	if (f1 < 0 || f2 < 0 || host_conn(c, f1, "t1") ||
	    host_conn(c, f2, "t2")) {
		fail(c, "blocked_port_isolated", "setup: %d %d %s", f1, f2,
		     c->reply);
		goto out;
	}
	blocks = fill_until_full(f1, &n);
	if (cmd(c, "recv t2 %u 13", 1u << 20)) {
		fail(c, "blocked_port_isolated", "host: %s", c->reply);
		goto out;
	}
	r = write_pattern(f2, 13, 1u << 20, 20000);
	EXPECT(c, "blocked_port_isolated", r == 0 && cmd(c, "wait t2") == 0,
	       "t1 full after %d blocks; t2 write %d, host: %s", blocks, r,
	       c->reply);
	r = cmd(c, "send t2 %u 14", 1u << 20);
	r = r ? -1 : read_pattern(f2, 14, 1u << 20, 20000);
	EXPECT(c, "blocked_port_isolated_rx", r == 0, "t2 read %d (%s)", r,
	       strerror(-r));
	EXPECT(c, "blocked_port_still_full", !(poll_now(f1) & POLLOUT),
	       "t1 revents %s", pollstr(poll_now(f1)));
	host_disc(c, f1, "t1");
	host_disc(c, f2, "t2");
out:
	if (f1 >= 0)
		close(f1);
	if (f2 >= 0)
		close(f2);
}

static void on_sigusr1(int sig)
{
	(void)sig;
}

struct writer {
	pthread_t tid;
	int fd;
	unsigned seed;
	size_t len, done;
	volatile int finished;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	unsigned char buf[BLOCK];

	while (w->done < w->len) {
		size_t n = w->len - w->done < BLOCK ? w->len - w->done : BLOCK;
		ssize_t r;

		pattern_fill(w->seed, w->done, buf, n);
		r = write(w->fd, buf, n);
		if (r <= 0)
			break;
		w->done += (size_t)r;
	}
	__atomic_store_n(&w->finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * Writers that wait for ring space thousands of times: the host reads in
 * 4 KiB pieces with pauses, two ports at once, blocking 4080-byte writes.
 * A lost wake-up leaves a writer asleep with free space: the deadline
 * catches it.
 */
static void t_writer_wakeups(struct ctx *c)
{
	static const char *const ports[] = { "t1", "t2" };
	struct writer w[2];
	size_t len = 4u << 20;
	long long t0, end;
	int i, started = 0, good = 1;

	struct sigaction sa = { .sa_handler = on_sigusr1 };

	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART: EINTR ends a write */
	memset(w, 0, sizeof(w));
	w[0].fd = w[1].fd = -1;
	for (i = 0; i < 2; i++) {
		w[i].fd = open_port(ports[i], 0);
		w[i].seed = 20 + (unsigned)i;
		w[i].len = len;
		if (w[i].fd < 0 || host_conn(c, w[i].fd, ports[i]) ||
		    cmd(c, "slowrecv %s %zu %u", ports[i], len, w[i].seed)) {
			fail(c, "writer_wakeups", "setup %s: %d %s", ports[i],
			     w[i].fd, c->reply);
			goto out;
		}
	}
	t0 = now_ms();
	for (i = 0; i < 2; i++)
		if (pthread_create(&w[i].tid, NULL, writer_main, &w[i]) == 0)
			started |= 1 << i;
	end = now_ms() + 60000;
	while (now_ms() < end && !(w[0].finished && w[1].finished))
		sleep_ms(20);
	for (i = 0; i < 2; i++)
		if (!w[i].finished || w[i].done != len ||
		    cmd(c, "wait %s", ports[i]))
			good = 0;
	info(c, "writer_wakeups_ms", "%lld", now_ms() - t0);
	EXPECT(c, "writer_wakeups", good,
	       "t1 %zu/%zu done %d, t2 %zu/%zu done %d, host: %s", w[0].done,
	       len, w[0].finished, w[1].done, len, w[1].finished, c->reply);
out:
	for (i = 0; i < 2; i++) {
		/* A writer still blocked is woken by a signal (EINTR). */
		while ((started & (1 << i)) && !w[i].finished) {
			pthread_kill(w[i].tid, SIGUSR1);
			sleep_ms(20);
		}
		if (started & (1 << i))
			pthread_join(w[i].tid, NULL);
		if (w[i].fd >= 0) {
			host_disc(c, w[i].fd, ports[i]);
			close(w[i].fd);
		}
	}
	signal(SIGUSR1, SIG_DFL);
}

/*
 * Hundreds of open/close pairs queue hundreds of PORT_OPEN messages; the
 * device must end up seeing the last one (open), or host data never comes.
 */
static void t_open_storm(struct ctx *c)
{
	int fd, i, bad = 0, r;

	for (i = 0; i < 300; i++) {
		fd = open_port("t1", 0);
		if (fd < 0 || close(fd) < 0)
			bad++;
	}
	fd = open_port("t1", O_NONBLOCK);
	if (fd < 0 || bad || host_conn(c, fd, "t1") ||
	    cmd(c, "send t1 1000 15")) {
		fail(c, "open_close_storm", "fd %d, %d bad opens, %s", fd, bad,
		     c->reply);
		goto out;
	}
	r = read_pattern(fd, 15, 1000, 5000);
	EXPECT(c, "open_close_storm", r == 0, "read %d (%s)", r, strerror(-r));
	host_disc(c, fd, "t1");
out:
	if (fd >= 0)
		close(fd);
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/*
 * Suspend and resume the devices (pm_test=devices stops short of sleeping)
 * with a port open and its host connected: the driver's freeze and restore
 * run; afterwards the port must still be open on both sides and carry data.
 */
static void t_suspend(struct ctx *c)
{
	int fd = open_port("t1", O_NONBLOCK), r;
	long long t0;

	if (fd < 0 || host_conn(c, fd, "t1")) {
		fail(c, "suspend_resume", "setup: fd %d, %s", fd, c->reply);
		goto out;
	}
	if (write_file("/sys/power/pm_test", "devices") < 0) {
		fail(c, "suspend_resume", "pm_test: %s", strerror(errno));
		goto out;
	}
	t0 = now_ms();
	r = write_file("/sys/power/state", "freeze");
	write_file("/sys/power/pm_test", "none");
	info(c, "suspend_ms", "%lld", now_ms() - t0);
	if (r < 0) {
		fail(c, "suspend_resume", "state: %s", strerror(-r));
		goto out;
	}
	EXPECT(c, "suspend_ctl_alive", cmd(c, "ping") == 0, "%s", c->reply);
	EXPECT(c, "suspend_host_still_connected",
	       (poll_until(fd, POLLOUT | POLLHUP, POLLOUT, 5000) &
		(POLLOUT | POLLHUP)) == POLLOUT, "revents %s",
	       pollstr(poll_now(fd)));
	r = cmd(c, "send t1 5000 16") ? -1 : read_pattern(fd, 16, 5000, 5000);
	EXPECT(c, "suspend_rx", r == 0, "%d %s", r, c->reply);
	r = cmd(c, "recv t1 5000 17") ? -1 : write_pattern(fd, 17, 5000, 5000);
	EXPECT(c, "suspend_tx", r == 0 && cmd(c, "wait t1") == 0, "%d %s", r,
	       c->reply);
	host_disc(c, fd, "t1");
out:
	if (fd >= 0)
		close(fd);
}

/* Waits until a tty opens (hvc devices come and go with their consoles). */
static int open_tty(const char *path, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	int fd;

	for (;;) {
		fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
		if (fd >= 0 || now_ms() >= end)
			return fd;
		sleep_ms(20);
	}
}

/*
 * A console hot-plugged and unplugged while the first console (hvc0) is in
 * use: the new one works as /dev/hvc1, and removing it leaves hvc0 working.
 */
static void t_console_hotplug(struct ctx *c)
{
	char path[PATH_MAX];
	int fd = -1, hvc0 = -1, r;

	if (cmd(c, "plugcon hcon 6") ||
	    wait_port(PORT_PREFIX "hcon", 1, 10000)) {
		fail(c, "console_hotplug", "host: %s", c->reply);
		return;
	}
	if (port_path(PORT_PREFIX "hcon", path, sizeof(path)) == 0) {
		fd = open(path, O_RDWR | O_NOCTTY);
		EXPECT(c, "console_hotplug_vport_enxio",
		       fd < 0 && errno == ENXIO, "open %s: %d (%s)", path, fd,
		       strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	hvc0 = open_tty("/dev/hvc0", 1000);
	fd = open_tty("/dev/hvc1", 5000);
	if (fd < 0 || hvc0 < 0 || make_raw(fd) < 0 || make_raw(hvc0) < 0) {
		fail(c, "console_hotplug", "hvc0 %d, hvc1 %d: %s", hvc0, fd,
		     strerror(errno));
		goto out;
	}
	r = write_all(fd, "hvc1-out\n", 9, now_ms() + 5000);
	EXPECT(c, "console_hotplug", r == 0 && cmd(c, "expect hcon hvc1-out") == 0,
	       "write %d, host: %s", r, c->reply);
	close(fd);
	fd = -1;
	EXPECT(c, "console_hotunplug", cmd(c, "unplug hcon") == 0 &&
	       wait_port(PORT_PREFIX "hcon", 0, 5000) == 0, "host: %s",
	       c->reply);
	r = write_all(hvc0, "hvc0-still\n", 11, now_ms() + 5000);
	EXPECT(c, "console_hotunplug_hvc0_alive",
	       r == 0 && cmd(c, "con_expect hvc0-still") == 0,
	       "write %d, host: %s", r, c->reply);
out:
	if (fd >= 0)
		close(fd);
	if (hvc0 >= 0)
		close(hvc0);
}

struct hammer {
	pthread_t tid;
	int fd;
	volatile int stop;
	long writes, errors;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	char buf[512];

	memset(buf, 'h', sizeof(buf));
	while (!h->stop) {
		ssize_t n = write(h->fd, buf, sizeof(buf));

		if (n > 0) {
			h->writes++;
		} else {
			h->errors++;
			if (errno == ENODEV)
				break;
		}
	}
	return NULL;
}

/*
 * Unplug racing I/O: ten rounds of plug, open, a reader blocked in read(), a
 * writer hammering write() while the host echoes, then unplug under both.
 * Every round both threads must come back (ENODEV or EOF) and the port must
 * reappear; the kernel must survive.
 */
static void t_unplug_storm(struct ctx *c)
{
	int round, bad = 0;
	char why[320] = "";

	for (round = 0; round < 10 && !bad; round++) {
		struct hammer h = { .fd = -1 };
		struct bg_io rd;
		int fd;

		if (cmd(c, "plugcon_echo storm 6") ||
		    wait_port(PORT_PREFIX "storm", 1, 10000)) {
			snprintf(why, sizeof(why), "round %d plug: %s", round,
				 c->reply);
			bad = 1;
			break;
		}
		fd = open_port("storm", O_NONBLOCK);
		if (fd < 0 || (poll_until(fd, POLLOUT | POLLHUP, POLLOUT, 5000) &
			       (POLLOUT | POLLHUP)) != POLLOUT) {
			snprintf(why, sizeof(why), "round %d open %d", round, fd);
			bad = 1;
		} else {
			fcntl(fd, F_SETFL, 0);
			h.fd = fd;
			bg_start(&rd, fd, 0, BLOCK);
			pthread_create(&h.tid, NULL, hammer_main, &h);
			sleep_ms(50 + 20 * round);
			if (cmd(c, "unplug storm")) {
				snprintf(why, sizeof(why), "round %d unplug: %s",
					 round, c->reply);
				bad = 1;
			}
			if (!bg_done(&rd, 5000)) {
				snprintf(why, sizeof(why),
					 "round %d: reader still blocked", round);
				bad = 1;
				h.stop = 1;
			}
			h.stop = 1;
			pthread_join(h.tid, NULL);
			if (!bad)
				bg_finish(&rd);
			if (wait_port(PORT_PREFIX "storm", 0, 5000)) {
				snprintf(why, sizeof(why),
					 "round %d: node still there", round);
				bad = 1;
			}
		}
		if (fd >= 0)
			close(fd);
	}
	EXPECT(c, "unplug_storm", !bad, "%s", why);
}

/*
 * A name longer than a control buffer: QEMU copies what fits into the
 * driver's 4 KiB buffer but reports the whole message length as used.  The
 * driver must clamp that length (the CVE-2021-38160 class) and end up with
 * the first 4096 - 8 bytes of the name, nothing from beyond the buffer.
 */
static void t_long_name(struct ctx *c)
{
	enum { XS = 5000, WANT = 4096 - 8 };
	static char got[8192];
	const char *prefix = PORT_PREFIX "long.";
	DIR *d;
	struct dirent *e;
	size_t len = 0, i;
	int found = 0, clean = 1;
	long long end;

	if (cmd(c, "plugname long 6 %d", XS)) {
		fail(c, "long_name_clamped", "host: %s", c->reply);
		return;
	}
	end = now_ms() + 10000;
	while (!found && now_ms() < end) {
		d = opendir("/sys/class/virtio-ports");
		while (d && (e = readdir(d))) {
			char p[PATH_MAX];
			FILE *f;

			snprintf(p, sizeof(p), "/sys/class/virtio-ports/%s/name",
				 e->d_name);
			f = fopen(p, "r");
			if (!f)
				continue;
			if (fgets(got, sizeof(got), f) &&
			    strncmp(got, prefix, strlen(prefix)) == 0)
				found = 1;
			fclose(f);
			if (found)
				break;
		}
		if (d)
			closedir(d);
		if (!found)
			sleep_ms(20);
	}
	if (found) {
		got[strcspn(got, "\n")] = 0;
		len = strlen(got);
		for (i = strlen(prefix); i < len; i++)
			if (got[i] != 'x')
				clean = 0;
	}
	EXPECT(c, "long_name_clamped", found && len == WANT && clean,
	       "found %d, name length %zu (want %d), only x: %d", found, len,
	       WANT, clean);
	EXPECT(c, "long_name_unplug", cmd(c, "unplug long") == 0, "host: %s",
	       c->reply);
}

/* 31 ports (QEMU's default max_ports) at once, each echoing its own line. */
static void t_many_ports(struct ctx *c)
{
	enum { FIRST = 6, LAST = 30, N = LAST - FIRST + 1 };
	int fd[N], i, bad = 0, total = 0;
	char name[32], path[PATH_MAX], msg[32], buf[64];
	DIR *d;
	struct dirent *e;

	for (i = 0; i < N; i++)
		fd[i] = -1;
	if (cmd(c, "plugmany %d %d", FIRST, LAST)) {
		fail(c, "ports_31", "host: %s", c->reply);
		return;
	}
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), PORT_PREFIX "m%d", FIRST + i);
		if (wait_port(name, 1, 10000) < 0)
			bad++;
	}
	d = opendir("/sys/class/virtio-ports");
	while (d && (e = readdir(d)))
		if (strncmp(e->d_name, "vport", 5) == 0)
			total++;
	if (d)
		closedir(d);
	EXPECT(c, "ports_31_appear", !bad && total == 31,
	       "%d missing, %d in sysfs", bad, total);
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "m%d", FIRST + i);
		fd[i] = open_port(name, O_NONBLOCK);
		if (fd[i] < 0)
			bad++;
	}
	if (bad || cmd(c, "echoall %d %d", FIRST, LAST)) {
		fail(c, "ports_31_echo", "%d opens failed, %s", bad, c->reply);
		goto out;
	}
	for (i = 0; i < N; i++) {
		if ((poll_until(fd[i], POLLOUT | POLLHUP, POLLOUT, 5000) &
		     (POLLOUT | POLLHUP)) != POLLOUT)
			bad++;
		snprintf(msg, sizeof(msg), "port-%d\n", FIRST + i);
		if (write(fd[i], msg, strlen(msg)) != (ssize_t)strlen(msg))
			bad++;
	}
	for (i = 0; i < N; i++) {
		size_t got = 0;

		snprintf(msg, sizeof(msg), "port-%d\n", FIRST + i);
		while (got < strlen(msg) &&
		       (poll_until(fd[i], POLLIN, POLLIN, 5000) & POLLIN)) {
			ssize_t n = read(fd[i], buf + got,
					 sizeof(buf) - 1 - got);

			if (n <= 0)
				break;
			got += (size_t)n;
		}
		buf[got] = 0;
		if (strcmp(buf, msg))
			bad++;
	}
	EXPECT(c, "ports_31_echo", !bad, "%d ports wrong", bad);
	if (port_path(PORT_PREFIX "m30", path, sizeof(path)) == 0)
		info(c, "last_port", "%s", path);
out:
	for (i = 0; i < N; i++)
		if (fd[i] >= 0)
			close(fd[i]);
}

/*
 * Only one of the two drivers can be loaded: both own the "virtio-ports"
 * class.  With stock loaded, vserial must refuse with EBUSY (and say why in
 * dmesg); with vserial loaded, stock's own init fails.  Either way the
 * loaded driver keeps working.
 */
static void t_other_driver(struct ctx *c)
{
	const char *other = c->reference ? "vserial" : "virtio_console";
	char path[PATH_MAX];
	int fd, r, err;

	snprintf(path, sizeof(path), "/lib/modules/%s.ko", other);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail(c, "other_driver_refused", "%s: %s", path,
		     strerror(errno));
		return;
	}
	r = (int)syscall(SYS_finit_module, fd, "", 0);
	err = errno;
	close(fd);
	if (r == 0)
		syscall(SYS_delete_module, other, O_NONBLOCK);
	EXPECT(c, "other_driver_refused",
	       r < 0 && (!c->reference || err == EBUSY),
	       "loading %s gave %d (%s)", other, r, strerror(err));
	info(c, "other_driver_errno", "%s: %s", other, strerror(err));
	EXPECT(c, "works_after_other_driver", cmd(c, "ping") == 0, "%s",
	       c->reply);
}

static void t_unload(struct ctx *c)
{
	char path[PATH_MAX];
	int fd = open_port("t1", 0), mfd, r;
	long long t0;

	if (fd < 0) {
		fail(c, "rmmod_busy", "open: %s", strerror(-fd));
		return;
	}
	r = (int)syscall(SYS_delete_module, c->driver, O_NONBLOCK);
	EXPECT(c, "rmmod_refused_while_open",
	       r < 0 && (errno == EWOULDBLOCK || errno == EBUSY),
	       "delete_module gave %d (%s)", r, strerror(errno));
	if (r == 0)
		return;
	close(fd);
	/*
	 * An open hvc tty calls into the driver too.  Stock holds no module
	 * reference for it and would unload under the open tty, so only ours
	 * is asked.
	 */
	fd = open("/dev/hvc0", O_RDWR | O_NOCTTY);
	if (!c->reference) {
		r = (int)syscall(SYS_delete_module, c->driver, O_NONBLOCK);
		EXPECT(c, "rmmod_refused_while_hvc_open", fd >= 0 && r < 0 &&
		       (errno == EWOULDBLOCK || errno == EBUSY),
		       "hvc0 fd %d, delete_module gave %d (%s)", fd, r,
		       strerror(errno));
		if (r == 0)
			return;
	}
	if (fd >= 0)
		close(fd);
	close(c->ctl);
	c->ctl = -1;
	r = (int)syscall(SYS_delete_module, c->driver, O_NONBLOCK);
	EXPECT(c, "rmmod_after_close", r == 0 &&
	       access("/sys/class/virtio-ports", F_OK) < 0, "%d (%s)", r,
	       strerror(errno));
	snprintf(path, sizeof(path), "/lib/modules/%s.ko", c->driver);
	mfd = open(path, O_RDONLY | O_CLOEXEC);
	r = mfd < 0 ? -1 : (int)syscall(SYS_finit_module, mfd, "", 0);
	t0 = now_ms();
	EXPECT(c, "reload", r == 0 && wait_port(CTL_NAME, 1, 10000) == 0,
	       "finit_module %d (%s)", r, strerror(errno));
	info(c, "reload_ms", "%lld", now_ms() - t0);
	if (mfd >= 0)
		close(mfd);
	/*
	 * 31 ports come back at once: QEMU sends their control messages
	 * faster than a driver may give back receive buffers and drops what
	 * does not fit, e.g. the ctl port's PORT_OPEN.
	 */
	c->ctl = open_port("ctl", O_NONBLOCK);
	c->cmd_timeout_ms = 10000;
	r = c->ctl >= 0 ? cmd(c, "ping") : -1;
	WEAK(c, "ctl_after_reload", r == 0, "ctl %d: %s", c->ctl, c->reply);
	c->cmd_timeout_ms = 60000;
	if (r && c->ctl >= 0) {
		close(c->ctl);
		c->ctl = -1;
	}
}

/*
 * Throughput of one port, each way: zero bytes, no checking (the pattern
 * check would measure the guest's CPU under TCG, not the driver).  Guest
 * clock, from the command to the last byte.
 */
static void bench(struct ctx *c, unsigned int mib)
{
	size_t total = (size_t)mib << 20, done;
	static unsigned char buf[65536];
	int fd = open_port("t1", 0), rep;
	long long t0, ms;
	ssize_t n;

	if (fd < 0 || host_conn(c, fd, "t1")) {
		fail(c, "bench", "setup: fd %d, %s", fd, c->reply);
		goto out;
	}
	for (rep = 0; rep < 3; rep++) {
		t0 = now_ms();
		if (cmd(c, "source t1 %zu", total))
			break;
		for (done = 0; done < total; done += (size_t)n) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				break;
		}
		ms = now_ms() - t0;
		info(c, "bench_h2g", "%zu bytes %lld ms %.1f MB/s", done, ms,
		     ms ? done / 1e3 / (double)ms : 0.0);
		if (cmd(c, "sink t1 %zu", total))
			break;
		t0 = now_ms();
		for (done = 0; done < total; done += (size_t)n) {
			n = write(fd, buf, sizeof(buf) < total - done ?
				  sizeof(buf) : total - done);
			if (n <= 0)
				break;
		}
		cmd(c, "wait t1");
		ms = now_ms() - t0;
		info(c, "bench_g2h", "%zu bytes %lld ms %.1f MB/s (host: %s)",
		     done, ms, ms ? done / 1e3 / (double)ms : 0.0, c->reply);
	}
	EXPECT(c, "bench", rep == 3, "stopped in round %d: %s", rep, c->reply);
	host_disc(c, fd, "t1");
out:
	if (fd >= 0)
		close(fd);
}

/* Waits until /dev/virtio-ports/NAME leads to NAME's node (or is gone). */
static int wait_link(const char *name, int present, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	char link[PATH_MAX], path[PATH_MAX];
	struct stat a, b;

	snprintf(link, sizeof(link), "/dev/virtio-ports/%s", name);
	for (;;) {
		int ok_now;

		if (present)
			ok_now = port_path(name, path, sizeof(path)) == 0 &&
				 stat(path, &a) == 0 && stat(link, &b) == 0 &&
				 a.st_rdev == b.st_rdev;
		else
			ok_now = lstat(link, &b) < 0 && errno == ENOENT;
		if (ok_now)
			return 0;
		if (now_ms() >= end)
			return -1;
		sleep_ms(20);
	}
}

/*
 * Debian's udev rule (SUBSYSTEM=="virtio-ports", ATTR{name}=="?*" ->
 * SYMLINK virtio-ports/$attr{name}) run by a real systemd-udevd: links for
 * the ports present at boot, and for a hot-plugged port, whose name comes
 * after its "add" event, so only the driver's "change" event can make the
 * link.  Unplug removes it.
 */
static void udev_checks(struct ctx *c)
{
	static const char *const names[] = { "ctl", "t1", "t2", "t3" };
	char name[64];
	int bad = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(name, sizeof(name), PORT_PREFIX "%s", names[i]);
		if (wait_link(name, 1, 5000))
			bad++;
	}
	EXPECT(c, "udev_boot_links", !bad, "%d of 4 links missing or wrong",
	       bad);
	if (cmd(c, "plug uhot 5")) {
		fail(c, "udev_hotplug_link", "host: %s", c->reply);
		return;
	}
	EXPECT(c, "udev_hotplug_link",
	       wait_link(PORT_PREFIX "uhot", 1, 10000) == 0,
	       "no /dev/virtio-ports/" PORT_PREFIX "uhot");
	EXPECT(c, "udev_unplug_link_removed", cmd(c, "unplug uhot") == 0 &&
	       wait_link(PORT_PREFIX "uhot", 0, 10000) == 0, "host: %s",
	       c->reply);
}

int main(int argc, char **argv)
{
	struct ctx c = { .driver = argc > 1 ? argv[1] : "unknown", .ctl = -1,
			 .cmd_timeout_ms = 60000 };
	long long t0 = now_ms();

	signal(SIGIO, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	c.reference = strcmp(c.driver, "virtio_console") == 0;
	c.ctl = open_port("ctl", O_NONBLOCK);
	if (c.ctl < 0 || cmd(&c, "ping")) {
		fail(&c, "ctl", "control port: %d %s", c.ctl, c.reply);
		return 1;
	}
	if (argc > 2 && strcmp(argv[2], "udev") == 0) {
		udev_checks(&c);
		cmd(&c, "bye");
		return c.failed ? 1 : 0;
	}
	if (argc > 3 && strcmp(argv[2], "bench") == 0) {
		bench(&c, (unsigned int)atoi(argv[3]));
		cmd(&c, "bye");
		return c.failed ? 1 : 0;
	}
	t_open_close(&c);
	t_names(&c);
	t_no_host(&c);
	t_blocking_read(&c);
	t_nonblocking_read_and_poll(&c);
	t_throttle(&c);
	t_guest_caching(&c);
	t_large_host_to_guest(&c);
	t_large_guest_to_host(&c);
	t_sendfile(&c);
	t_threaded(&c);
	t_sigio(&c);
	t_console(&c);
	t_console_shell(&c);
	t_fairness(&c);
	t_writer_wakeups(&c);
	t_open_storm(&c);
	t_suspend(&c);
	t_hotplug(&c);
	t_console_hotplug(&c);
	t_unplug_storm(&c);
	t_long_name(&c);
	t_many_ports(&c);
	t_other_driver(&c);
	t_unload(&c);
	if (c.ctl >= 0)
		cmd(&c, "bye");
	info(&c, "suite_ms", "%lld", now_ms() - t0);
	printf("kconform %s: %d passed, %d failed\n", c.driver, c.passed,
	       c.failed);
	return c.failed ? 1 : 0;
}
