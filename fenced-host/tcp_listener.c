/* tcp_listener.c - placeholder until the tcp listener lands. */
#include <errno.h>
#include <stdio.h>

#include "listener.h"

static int tcp_open(struct vsf_listener *l, const struct vsf_conf_node *cfg,
		    char *err, size_t errlen)
{
	(void)l;
	(void)cfg;
	snprintf(err, errlen, "not implemented yet");
	return -EOPNOTSUPP;
}

static void tcp_close(struct vsf_listener *l)
{
	(void)l;
}

const struct vsf_listener_ops vsf_tcp_listener_ops = {
	.version = VSF_LISTENER_OPS_V1,
	.name = "tcp",
	.size = sizeof(struct vsf_listener),
	.open = tcp_open,
	.close = tcp_close,
};
