/*
 * migprobe - guest side of tests/vsdev/migrate_vm_test.sh.
 *
 *	migprobe DEV [DEADLINE_MS [PAD]]
 *
 * Opens the virtio-serial port DEV and, until the host says "STOP N":
 * writes a numbered line "gNNNNNNN<PAD x's>\n" every 20 ms (PAD makes the
 * host's socket fill up so the device holds data; never dropping a line: a
 * write that would block is retried) and checks that the host's numbered
 * lines "hNNNNNNN\n" arrive exactly once and in order: h0, h1, ... hN-1,
 * each exactly 'h' and 7 digits (a byte lost or repeated inside a line
 * makes it "bad").  It reads at most READ_CHUNK bytes per READ_MS, so a
 * busy host writer keeps the source QEMU's socket full and the migration
 * cut has unread bytes to carry.  Then it writes
 * "DONE <g-lines> <dups> <gaps> <gap-from> <gap-to> <h-count> <bad>\n" so
 * the host can check both directions, and prints VMTEST lines for the rig.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { READ_CHUNK = 4096, READ_MS = 10 };	/* ~400 KB/s */

struct probe {
	int fd;
	unsigned int next_g;	/* next g line to write */
	char out[8192];
	size_t out_len, out_off;
	unsigned int expect_h, h_count, dups, gaps, gap_from, gap_to, bad;
	char in[2 * READ_CHUNK];
	size_t in_len;
	long stop_n;		/* -1 until STOP */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Push the pending line out; 0 when done or would block, -1 on error. */
static int flush_out(struct probe *p)
{
	while (p->out_off < p->out_len) {
		ssize_t n = write(p->fd, p->out + p->out_off,
				  p->out_len - p->out_off);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		p->out_off += (size_t)n;
	}
	return 0;
}

/* "h" and exactly 7 digits. */
static bool h_line(const char *line, unsigned int *n)
{
	if (strlen(line) != 8 || line[0] != 'h' ||
	    strspn(line + 1, "0123456789") != 7)
		return false;
	*n = (unsigned int)strtoul(line + 1, NULL, 10);
	return true;
}

static void host_line(struct probe *p, const char *line)
{
	unsigned int n;

	if (sscanf(line, "STOP %u", &n) == 1) {
		p->stop_n = n;
		return;
	}
	if (!h_line(line, &n)) {
		p->bad++;
		return;
	}
	p->h_count++;
	if (n < p->expect_h) {
		p->dups++;
		return;
	}
	if (n > p->expect_h) {
		if (!p->gaps) {
			p->gap_from = p->expect_h;
			p->gap_to = n;
		}
		p->gaps++;
	}
	p->expect_h = n + 1;
}

static int read_in(struct probe *p)
{
	size_t room = sizeof(p->in) - 1 - p->in_len;
	ssize_t n = read(p->fd, p->in + p->in_len,
			 room < READ_CHUNK ? room : READ_CHUNK);
	char *nl, *start;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	p->in_len += (size_t)n;
	p->in[p->in_len] = 0;
	start = p->in;
	while ((nl = strchr(start, '\n'))) {
		*nl = 0;
		host_line(p, start);
		start = nl + 1;
	}
	p->in_len -= (size_t)(start - p->in);
	memmove(p->in, start, p->in_len);
	if (p->in_len == sizeof(p->in) - 1) {
		p->in_len = 0;	/* garbage without newlines: drop it */
		p->bad++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct probe p = { .stop_n = -1 };
	long long deadline, next_tick, next_read;
	char done[96];
	int ok, pad = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: migprobe DEV [DEADLINE_MS]\n");
		return 2;
	}
	deadline = now_ms() + (argc > 2 ? atoll(argv[2]) : 90000);
	if (argc > 3)
		pad = atoi(argv[3]);
	if (pad < 0 || pad > 8000)
		pad = 0;
	p.fd = open(argv[1], O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (p.fd < 0) {
		printf("VMTEST fail mig_open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	next_tick = next_read = now_ms();
	while (p.stop_n < 0 && now_ms() < deadline) {
		bool may_read = now_ms() >= next_read;
		struct pollfd pfd = { p.fd, may_read ? POLLIN : 0, 0 };
		long long until = next_tick < next_read || may_read ?
					  next_tick : next_read;
		int wait = (int)(until - now_ms());

		if (p.out_off == p.out_len && now_ms() >= next_tick) {
			p.out_len = (size_t)snprintf(p.out, sizeof(p.out),
						     "g%07u", p.next_g++);
			memset(p.out + p.out_len, 'x', (size_t)pad);
			p.out_len += (size_t)pad;
			p.out[p.out_len++] = '\n';
			p.out_off = 0;
			next_tick += 20;
		}
		if (p.out_off < p.out_len)
			pfd.events |= POLLOUT;
		if (poll(&pfd, 1, wait < 0 ? 0 : wait > 20 ? 20 : wait) < 0)
			continue;
		if (pfd.revents & POLLIN) {
			if (read_in(&p) < 0)
				break;
			next_read = now_ms() + READ_MS;
		}
		if (flush_out(&p) < 0)
			break;
	}
	/* Finish the line in progress, then report. */
	while (p.out_off < p.out_len && now_ms() < deadline) {
		struct pollfd pfd = { p.fd, POLLOUT, 0 };

		poll(&pfd, 1, 20);
		if (flush_out(&p) < 0)
			break;
	}
	snprintf(done, sizeof(done), "DONE %u %u %u %u %u %u %u\n", p.next_g,
		 p.dups, p.gaps, p.gap_from, p.gap_to, p.h_count, p.bad);
	{
		size_t off = 0;

		while (off < strlen(done) && now_ms() < deadline) {
			ssize_t n = write(p.fd, done + off, strlen(done) - off);
			struct pollfd pfd = { p.fd, POLLOUT, 0 };

			if (n > 0)
				off += (size_t)n;
			else
				poll(&pfd, 1, 20);
		}
	}
	printf("VMTEST info mig_guest g_lines=%u h_lines=%u dups=%u gaps=%u "
	       "gap=%u..%u bad=%u stop=%ld\n", p.next_g, p.h_count, p.dups,
	       p.gaps, p.gap_from, p.gap_to, p.bad, p.stop_n);
	ok = p.stop_n >= 0;
	printf("VMTEST %s mig_stop_received\n", ok ? "ok" : "fail");
	ok = p.stop_n >= 0 && p.dups == 0 && p.gaps == 0 && p.bad == 0 &&
	     p.h_count == (unsigned long)p.stop_n;
	printf("VMTEST %s mig_host_bytes_exactly_once_in_order%s\n",
	       ok ? "ok" : "fail", ok ? "" : " (see mig_guest info)");
	/* Let the host read DONE before the port closes. */
	usleep(200000);
	close(p.fd);
	return 0;
}
