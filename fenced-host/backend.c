/* backend.c - host list helpers, the clock, and the backend table. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "backend.h"
#include "vsf_time.h"

int vsf_hostlist_add(struct vsf_hostlist *hl, const char *name,
		     const char *uuid, uint8_t state)
{
	struct vsf_host_record *r = realloc(hl->recs,
					    (hl->n + 1) * sizeof(*r));

	if (!r)
		return -ENOMEM;
	hl->recs = r;
	r = &hl->recs[hl->n++];
	memset(r, 0, sizeof(*r));
	/* the wire keeps 63 bytes of each string */
	vsf_strlcpy(r->name, name ? name : "", sizeof(r->name));
	vsf_strlcpy(r->uuid, uuid ? uuid : "", sizeof(r->uuid));
	r->state = state;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	const struct vsf_host_record *x = a, *y = b;

	return strcmp(x->name, y->name);
}

void vsf_hostlist_sort(struct vsf_hostlist *hl)
{
	if (hl->n > 1)
		qsort(hl->recs, hl->n, sizeof(*hl->recs), by_name);
}

void vsf_hostlist_done(struct vsf_hostlist *hl)
{
	free(hl->recs);
	hl->recs = NULL;
	hl->n = 0;
}

uint64_t vsf_now_ms(void)
{
	return vsf_monotonic_ms();
}

void vsf_backend_set_log(struct vsf_backend *b, const struct vsf_log *log)
{
	b->log = log;
}
