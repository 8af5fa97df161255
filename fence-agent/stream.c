/* stream.c - deadline-bounded byte I/O; see stream.h. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "deadline.h"
#include "stream.h"

static ssize_t real_read(void *ctx, int fd, void *buf, size_t len)
{
	(void)ctx;
	return read(fd, buf, len);
}

static ssize_t real_write(void *ctx, int fd, const void *buf, size_t len)
{
	(void)ctx;
	return write(fd, buf, len);
}

const struct agent_stream_sys agent_stream_sys_real = {
	.version = 1,
	.read = real_read,
	.write = real_write,
};

void agent_stream_init(struct agent_stream *s, int fd, int64_t deadline)
{
	s->fd = fd;
	s->deadline = deadline;
	s->sys = &agent_stream_sys_real;
	s->write_calls = 0;
	s->read_calls = 0;
	vsf_frame_reader_init(&s->rd);
}

/* poll() one fd until @until; returns revents, 0 on timeout, or -errno. */
static int wait_fd(int fd, short events, int64_t until)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r;

	for (;;) {
		r = poll(&pfd, 1, agent_ms_left(until));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		return r == 0 ? 0 : pfd.revents;
	}
}

static int is_hangup_errno(int e)
{
	return e == EPIPE || e == EIO || e == ECONNRESET || e == ENOTCONN;
}

int agent_stream_send(struct agent_stream *s, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;
	int rev;

	while (len > 0) {
		rev = wait_fd(s->fd, POLLOUT, s->deadline);
		if (rev < 0)
			return rev;
		if (rev == 0)
			return -ETIMEDOUT;
		/* virtio-serial: POLLHUP while no host process has it open. */
		if (rev & (POLLHUP | POLLERR))
			return -ENOTCONN;
		s->write_calls++;
		n = s->sys->write(s->sys->ctx, s->fd, p, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return is_hangup_errno(errno) ? -ENOTCONN : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int agent_stream_fill(struct agent_stream *s, int64_t until)
{
	size_t space;
	uint8_t *tail;
	ssize_t n;
	int rev;

	if (until > s->deadline)
		until = s->deadline;
	for (;;) {
		rev = wait_fd(s->fd, POLLIN, until);
		if (rev < 0)
			return rev;
		if (rev == 0)
			return -ETIMEDOUT;
		if (!(rev & POLLIN))	/* HUP/ERR with nothing to read */
			return -ENOTCONN;
		tail = vsf_frame_reader_tail(&s->rd, &space);
		s->read_calls++;
		n = s->sys->read(s->sys->ctx, s->fd, tail, space);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return is_hangup_errno(errno) ? -ENOTCONN : -errno;
		if (n == 0)
			return -ENOTCONN;
		vsf_frame_reader_commit(&s->rd, (size_t)n);
		return (int)n;
	}
}

int agent_stream_host_connected(struct agent_stream *s)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };

	if (poll(&pfd, 1, 0) < 0)
		return 0;
	return !(pfd.revents & (POLLHUP | POLLERR));
}
