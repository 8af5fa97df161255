/* listener.c - the static table of listeners (no dlopen, see STYLE §5.7). */
#include "config.h"

#include <stdlib.h>
#include <strings.h>

#include "listener.h"
#include "util.h"

static const struct vsf_listener_ops *const table[] = {
	&vsf_chan_listener_ops,
	&vsf_tcp_listener_ops,
	&vsf_vsock_listener_ops,
	&vsf_mcast_listener_ops,
};

static const struct vsf_listener_ops *find(const char *name)
{
	for (size_t i = 0; i < VSF_ARRAY_SIZE(table); i++)
		if (!strcasecmp(table[i]->name, name))
			return table[i];
	return NULL;
}

bool vsf_listener_known(const char *name)
{
	return find(name) != NULL;
}

const char *vsf_listener_name(size_t i)
{
	return i < VSF_ARRAY_SIZE(table) ? table[i]->name : NULL;
}

struct vsf_listener *vsf_listener_new(const char *name,
				      struct vsf_fenced_ctx *ctx)
{
	const struct vsf_listener_ops *ops = find(name);
	struct vsf_listener *l;

	if (!ops || !(l = calloc(1, ops->size)))
		return NULL;
	l->ops = ops;
	l->ctx = ctx;
	return l;
}

struct vsf_listener *vsf_listener_free(struct vsf_listener *l)
{
	if (l) {
		l->ops->close(l);
		free(l);
	}
	return NULL;
}

int vsf_listener_reload(struct vsf_listener *l, char *err, size_t errlen)
{
	return l->ops->reload ? l->ops->reload(l, err, errlen) : 0;
}
