/*
 * stream.h - deadline-bounded byte I/O on a non-blocking fd.
 *
 * The one place that calls poll/read/write for the serial path.  Writes
 * complete or fail as a whole: partial writes, EINTR and EAGAIN are
 * absorbed here.  Reads append to a vsf_frame_reader, whose magic resync
 * does the framing.  Every wait is bounded by s->deadline.
 *
 * Errors:
 *   -ETIMEDOUT  the deadline passed
 *   -ENOTCONN   the host side is not there: POLLHUP, EOF, EIO or EPIPE.
 *               On a virtio-serial port this is "no host process has the
 *               port open" and clears when one does; on a socket or pty it
 *               is final for this fd.
 *   other       the failing call's errno
 */
#ifndef AGENT_STREAM_H
#define AGENT_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vsf_frame.h"

/* Swappable calls (tests inject short writes, EINTR, EAGAIN). */
struct agent_stream_sys {
	unsigned int version;	/* 1 */
	ssize_t (*read)(void *ctx, int fd, void *buf, size_t len);
	ssize_t (*write)(void *ctx, int fd, const void *buf, size_t len);
	void *ctx;
};

extern const struct agent_stream_sys agent_stream_sys_real;

struct agent_stream {
	int fd;				/* not owned */
	int64_t deadline;		/* agent_now_ms() clock */
	const struct agent_stream_sys *sys;	/* NULL = real */
	struct vsf_frame_reader rd;	/* bytes read, not yet framed */
	unsigned int write_calls;	/* stats for debug output and tests */
	unsigned int read_calls;
};

void agent_stream_init(struct agent_stream *s, int fd, int64_t deadline);

/* Write all @len bytes before the deadline. */
int agent_stream_send(struct agent_stream *s, const void *buf, size_t len);

/*
 * Wait (at most until @until, and never past the deadline) for bytes and
 * append what one read returns to s->rd.  Returns the count (> 0),
 * -ETIMEDOUT when @until or the deadline passes first, or -ENOTCONN.
 */
int agent_stream_fill(struct agent_stream *s, int64_t until);

/*
 * Is the other side there?  1 connected, 0 not (POLLHUP).  For a
 * virtio-serial port whose host side is closed.  Does not wait.
 */
int agent_stream_host_connected(struct agent_stream *s);

#endif /* AGENT_STREAM_H */
