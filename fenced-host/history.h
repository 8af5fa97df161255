/*
 * history.h - recently seen requests, so a retransmit gets the same answer.
 *
 * Key: (source, op, seqno, target case-insensitive) - what stock uses, plus
 * the source, so two guests that pick the same seqno do not collide.  An
 * entry is "pending" from the first sighting until vsf_history_done() and
 * then holds the result for @window_ms.  The table is bounded: when full,
 * the oldest finished entry is evicted (a pending one never is; if all are
 * pending, vsf_history_add() returns NULL and the caller runs the request
 * without dedupe).  Single-threaded: loop thread only.
 */
#ifndef VSF_HISTORY_H
#define VSF_HISTORY_H

#include <stdbool.h>
#include <stdint.h>

#define VSF_HISTORY_SRC_LEN 80
#define VSF_HISTORY_TARGET_LEN 64

struct vsf_history_entry {
	char src[VSF_HISTORY_SRC_LEN];
	char target[VSF_HISTORY_TARGET_LEN];
	int op;
	uint32_t seqno;
	bool pending;
	int result;		/* valid once !pending */
	uint64_t done_ms;
	void *owner;		/* the pending request, for its duplicates */
};

struct vsf_history;

struct vsf_history *vsf_history_new(uint64_t window_ms, unsigned int cap);
struct vsf_history *vsf_history_free(struct vsf_history *h);

/* The live entry for this key at @now, or NULL. */
struct vsf_history_entry *vsf_history_find(struct vsf_history *h,
					   const char *src, int op,
					   uint32_t seqno, const char *target,
					   uint64_t now);

/* Add a pending entry owned by @owner; NULL if the table is full. */
struct vsf_history_entry *vsf_history_add(struct vsf_history *h,
					  const char *src, int op,
					  uint32_t seqno, const char *target,
					  void *owner, uint64_t now);

/* Record the result; the entry then lives @window_ms from @now. */
void vsf_history_done(struct vsf_history_entry *e, int result, uint64_t now);

unsigned int vsf_history_count(const struct vsf_history *h);

#endif /* VSF_HISTORY_H */
