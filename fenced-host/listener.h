/*
 * listener.h - something that receives fencing requests: guest channels
 * (unix sockets QEMU binds), tcp, vsock.
 *
 * A listener only moves bytes and names the peer: it decodes (and, where
 * the protocol has it, authenticates) frames, hands each request to the
 * shared pipeline with vsf_pipeline_submit(), and writes the reply it gets
 * back.  All of its callbacks run on the loop thread and never block; if
 * it needs a blocking call (libvirt), it runs a thread of its own that
 * talks to the loop through an fd.
 *
 * Lifetime: vsf_listener_new() -> ops->open() registers fds with the loop
 * -> ... (ops->reload() on SIGHUP) -> vsf_listener_free() calls
 * ops->close(), which unregisters and closes everything and detaches every
 * pending request.
 */
#ifndef VSF_LISTENER_H
#define VSF_LISTENER_H

#include <stddef.h>

#include "conf.h"
#include "log.h"
#include "loop.h"
#include "request.h"

#define VSF_LISTENER_OPS_V1 1

/* What the daemon lends every listener; outlives all listeners. */
struct vsf_fenced_ctx {
	struct vsf_loop *loop;
	struct vsf_pipeline *pipeline;
	const struct vsf_log *log;
	const char *key_dir;	/* per-guest keys (v2), may be NULL */
	bool v1_allowed;	/* policy: unauthenticated v1 channel requests */
};

struct vsf_listener;

struct vsf_listener_ops {
	unsigned int version;	/* VSF_LISTENER_OPS_V1; new members at the end */
	const char *name;	/* "serial", "tcp", "vsock" */
	size_t size;		/* of the implementation's struct */
	/* Read listeners/<name> and start.  Fills @err on failure. */
	int (*open)(struct vsf_listener *l, const struct vsf_conf_node *cfg,
		    char *err, size_t errlen);
	void (*close)(struct vsf_listener *l);
	/*
	 * SIGHUP: read the key material again (may be NULL: nothing to
	 * reload).  All or nothing: on failure the keys in use stay in
	 * force and @err says which file and why.  Exchanges under way
	 * finish with the key they started with.  Returns the number of
	 * keys now in use (>= 0) or a negative errno.
	 */
	int (*reload)(struct vsf_listener *l, char *err, size_t errlen);
};

/* Implementations embed this as their first member. */
struct vsf_listener {
	const struct vsf_listener_ops *ops;
	struct vsf_fenced_ctx *ctx;
};

/* NULL if @name is not compiled in (or on OOM). */
struct vsf_listener *vsf_listener_new(const char *name,
				      struct vsf_fenced_ctx *ctx);
struct vsf_listener *vsf_listener_free(struct vsf_listener *l);
/* ops->reload, or 0 for a listener without one. */
int vsf_listener_reload(struct vsf_listener *l, char *err, size_t errlen);
/* True if @name is a listener we implement. */
bool vsf_listener_known(const char *name);
/* Name of the @i-th listener compiled in, or NULL past the last. */
const char *vsf_listener_name(size_t i);

extern const struct vsf_listener_ops vsf_chan_listener_ops;
extern const struct vsf_listener_ops vsf_tcp_listener_ops;
extern const struct vsf_listener_ops vsf_vsock_listener_ops;
extern const struct vsf_listener_ops vsf_mcast_listener_ops;

#endif /* VSF_LISTENER_H */
