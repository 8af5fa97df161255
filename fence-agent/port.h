/*
 * port.h - find and open the byte stream to the host.
 *
 * Resolution order (agent_port_resolve):
 *   1. an explicit path (serial_device / -D), used as given;
 *   2. the port name through udev's link DEV/virtio-ports/NAME;
 *   3. a scan of SYS/class/virtio-ports/<vportNpM>/name for NAME, giving
 *      DEV/<vportNpM>, for guests without udev (a busybox initramfs).
 *
 * What the path is decides how it is opened (agent_port_open):
 *   - a unix socket: connect(), for tests, benches and host-side relays;
 *   - a tty (/dev/hvcN, /dev/ttySN, a pty): raw mode at serial_params'
 *     speed, queues flushed, fence_virt's whole-file write lock taken so
 *     the stock agent and we never interleave on one line;
 *   - any other character device (a virtio-serial port): opened as is.
 * Everything is opened O_RDWR|O_NONBLOCK|O_CLOEXEC|O_NOCTTY; the channel
 * layer polls.
 *
 * A port someone else holds (virtio-serial allows one opener: EBUSY; a tty
 * whose lock is taken) is retried every AGENT_PORT_RETRY_MS until the
 * deadline, then reported.  A socket nobody listens on is -ENOTCONN at
 * once: "host side not connected" is the caller's wait, as for POLLHUP.  The system calls
 * that decide "busy" go through struct agent_port_sys so that unit tests
 * can make them fail on cue.
 */
#ifndef AGENT_PORT_H
#define AGENT_PORT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_PORT_RETRY_MS 100
#define AGENT_PORT_DRAIN_MAX 65536	/* stale bytes dropped at most */

/* Swappable system calls; return an fd / 0, or a negative errno. */
struct agent_port_sys {
	unsigned int version;	/* 1 */
	int (*open)(void *ctx, const char *path, int flags);
	/* fence_virt's F_SETLK write lock: -EAGAIN or -EACCES when held. */
	int (*lock)(void *ctx, int fd);
	void *ctx;
};

/* The real thing. */
extern const struct agent_port_sys agent_port_sys_real;

struct agent_port_cfg {
	const char *device;	/* explicit path; NULL or "" to use name */
	const char *name;	/* virtio-serial port name */
	const char *dev_root;	/* normally "/dev" */
	const char *sys_root;	/* normally "/sys" */
	const char *serial_params;	/* "115200,8N1"; ttys only */
	const struct agent_port_sys *sys;	/* NULL = agent_port_sys_real */
};

enum agent_port_kind {
	AGENT_PORT_CHAR = 0,	/* virtio-serial port or other char device */
	AGENT_PORT_TTY,
	AGENT_PORT_SOCKET,
};

struct agent_port {
	int fd;			/* -1 when closed */
	int kind;		/* enum agent_port_kind */
	unsigned int busy_retries;	/* opens refused as busy before success */
	char path[PATH_MAX];
};

/*
 * Fill @path with the device to open.  -ENOENT when no port has the name
 * (the message names both places looked in), -ENAMETOOLONG if a path does
 * not fit.
 */
int agent_port_resolve(const struct agent_port_cfg *cfg, char *path,
		       size_t pathlen, char *err, size_t errlen);

/*
 * Open @path, retrying busy and not-yet-listening ports until @deadline
 * (agent_now_ms() clock).  0 with p->fd open, or:
 *   -EBUSY      still held by another opener at the deadline
 *   -ENOTCONN   a socket nobody listens on (not retried here)
 *   -ENOENT     no such path;   -EINVAL  bad serial_params
 *   -ENOTSUP    a path that is neither a char device nor a socket
 *   other       the failing system call's errno
 */
int agent_port_open(const struct agent_port_cfg *cfg, const char *path,
		    int64_t deadline, struct agent_port *p, char *err,
		    size_t errlen);

/* Read and discard whatever is already waiting; returns bytes dropped. */
long agent_port_drain(struct agent_port *p);

void agent_port_close(struct agent_port *p);

/* Baud constant for "115200,8N1"; -EINVAL if the speed is not supported. */
int agent_port_speed(const char *serial_params, unsigned int *speed);

#endif /* AGENT_PORT_H */
