/*
 * peer_io.h - deadline-bounded socket I/O for the interop test peers
 * (vsf_peer, v2_probe), which play QEMU, a guest or a host against the
 * stock programs.  Every wait ends by @deadline (peer_now_ms() clock);
 * results are 0 (or a count) or a negative errno: -ETIMEDOUT when the
 * deadline passed, -ECONNRESET when the other end hung up.
 */
#ifndef PEER_IO_H
#define PEER_IO_H

#include <stddef.h>
#include <stdint.h>

#include "vsf_frame.h"
#include "vsf_time.h"

static inline int64_t peer_now_ms(void)
{
	return (int64_t)vsf_monotonic_ms();
}

/* Wait until @fd is ready for @events (POLLIN/POLLOUT): 0 or -errno. */
int peer_wait_fd(int fd, short events, int64_t deadline);
/* Read or write exactly @n bytes. */
int peer_read_full(int fd, void *buf, size_t n, int64_t deadline);
int peer_write_full(int fd, const void *buf, size_t n, int64_t deadline);
/* One read into @fr: > 0 bytes, 0 (interrupted, call again), or -errno. */
int peer_fill_reader(int fd, struct vsf_frame_reader *fr, int64_t deadline);
/* A listening unix socket at @path (replacing a stale one): fd or -errno. */
int peer_unix_listen(const char *path);
/* accept4() one connection on @ls before @deadline: fd or -errno. */
int peer_accept_by(int ls, int64_t deadline);

#endif /* PEER_IO_H */
