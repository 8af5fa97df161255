/* peer_io.c - see peer_io.h. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "peer_io.h"

/* Wait until @fd is ready for @events or @deadline passes: 0 or -errno. */
int peer_wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - peer_now_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, left > 1000 ? 1000 : (int)left);
		if (r > 0)
			return 0;	/* errors and hangups show up in read */
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* Read exactly @n bytes: 0, -ETIMEDOUT, -ECONNRESET on EOF, or -errno. */
int peer_read_full(int fd, void *buf, size_t n, int64_t deadline)
{
	uint8_t *p = buf;

	while (n > 0) {
		int r = peer_wait_fd(fd, POLLIN, deadline);
		ssize_t got;

		if (r < 0)
			return r;
		got = read(fd, p, n);
		if (got == 0)
			return -ECONNRESET;
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == EIO ? -ECONNRESET : -errno;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

int peer_write_full(int fd, const void *buf, size_t n, int64_t deadline)
{
	const uint8_t *p = buf;

	while (n > 0) {
		int r = peer_wait_fd(fd, POLLOUT, deadline);
		ssize_t put;

		if (r < 0)
			return r;
		put = write(fd, p, n);
		if (put < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		p += put;
		n -= (size_t)put;
	}
	return 0;
}

/* Read what is available into the frame reader: >0 bytes, or -errno. */
int peer_fill_reader(int fd, struct vsf_frame_reader *fr, int64_t deadline)
{
	size_t space;
	uint8_t *tail = vsf_frame_reader_tail(fr, &space);
	int r = peer_wait_fd(fd, POLLIN, deadline);
	ssize_t got;

	if (r < 0)
		return r;
	got = read(fd, tail, space);
	if (got == 0)
		return -ECONNRESET;
	if (got < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		return errno == EIO ? -ECONNRESET : -errno;
	}
	vsf_frame_reader_commit(fr, (size_t)got);
	return (int)got;
}

int peer_accept_by(int ls, int64_t deadline)
{
	int r = peer_wait_fd(ls, POLLIN, deadline);
	int c;

	if (r < 0)
		return r;
	c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	return c < 0 ? -errno : c;
}

int peer_unix_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	(void)unlink(path);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s, 1) < 0) {
		int e = -errno;

		close(s);
		return e;
	}
	return s;
}
