/*
 * history.c - a small array of entry pointers scanned linearly: the window
 * is short and the cap small (hundreds), so a hash table would buy nothing
 * measurable.  Entries are allocated one by one because pending requests
 * hold pointers to them while the array is compacted.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "history.h"

struct vsf_history {
	uint64_t window_ms;
	unsigned int cap, n;
	struct vsf_history_entry **e;
};

struct vsf_history *vsf_history_new(uint64_t window_ms, unsigned int cap)
{
	struct vsf_history *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->e = calloc(cap ? cap : 1, sizeof(*h->e));
	if (!h->e) {
		free(h);
		return NULL;
	}
	h->window_ms = window_ms;
	h->cap = cap ? cap : 1;
	return h;
}

struct vsf_history *vsf_history_free(struct vsf_history *h)
{
	if (h) {
		for (unsigned int i = 0; i < h->n; i++)
			free(h->e[i]);
		free(h->e);
		free(h);
	}
	return NULL;
}

static bool expired(const struct vsf_history *h,
		    const struct vsf_history_entry *e, uint64_t now)
{
	return !e->pending && now >= e->done_ms + h->window_ms;
}

/* Drop expired entries, keeping the array dense. */
static void expire(struct vsf_history *h, uint64_t now)
{
	unsigned int w = 0;

	for (unsigned int r = 0; r < h->n; r++) {
		if (expired(h, h->e[r], now)) {
			free(h->e[r]);
			continue;
		}
		if (w != r)
			h->e[w] = h->e[r];
		w++;
	}
	h->n = w;
}

struct vsf_history_entry *vsf_history_find(struct vsf_history *h,
					   const char *src, int op,
					   uint32_t seqno, const char *target,
					   uint64_t now)
{
	for (unsigned int i = 0; i < h->n; i++) {
		struct vsf_history_entry *e = h->e[i];

		if (e->op == op && e->seqno == seqno &&
		    !expired(h, e, now) && !strcmp(e->src, src) &&
		    !strcasecmp(e->target, target))
			return e;
	}
	return NULL;
}

static bool evict_oldest_done(struct vsf_history *h)
{
	unsigned int best = h->n;

	for (unsigned int i = 0; i < h->n; i++)
		if (!h->e[i]->pending &&
		    (best == h->n || h->e[i]->done_ms < h->e[best]->done_ms))
			best = i;
	if (best == h->n)
		return false;
	free(h->e[best]);
	memmove(&h->e[best], &h->e[best + 1],
		(h->n - best - 1) * sizeof(h->e[0]));
	h->n--;
	return true;
}

struct vsf_history_entry *vsf_history_add(struct vsf_history *h,
					  const char *src, int op,
					  uint32_t seqno, const char *target,
					  void *owner, uint64_t now)
{
	struct vsf_history_entry *e;

	expire(h, now);
	if (h->n == h->cap && !evict_oldest_done(h))
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	h->e[h->n++] = e;
	vsf_strlcpy(e->src, src, sizeof(e->src));
	vsf_strlcpy(e->target, target, sizeof(e->target));
	e->op = op;
	e->seqno = seqno;
	e->pending = true;
	e->owner = owner;
	return e;
}

void vsf_history_done(struct vsf_history_entry *e, int result, uint64_t now)
{
	e->pending = false;
	e->owner = NULL;
	e->result = result;
	e->done_ms = now;
}

unsigned int vsf_history_count(const struct vsf_history *h)
{
	return h->n;
}
