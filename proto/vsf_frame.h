/*
 * vsf_frame.h - a byte-stream reader for framed channels.
 *
 * A virtio-serial port or unix socket delivers a byte stream, not frames:
 * a request can arrive in pieces, after garbage, or behind a stale reply
 * from an earlier call.  The reader buffers bytes and hands out whole
 * frames, resynchronising on a 4-byte magic.  It never allocates and has a
 * fixed capacity; a caller that cannot make progress because the buffer is
 * full of non-frames gets its oldest bytes discarded (counted in @skipped).
 *
 * Return conventions of the vsf_frame_next_* functions:
 *   1   a frame was decoded and consumed
 *   0   more bytes are needed
 *  <0   a frame started with the magic but did not decode; its first
 *       byte has been consumed so the next call resynchronises past it
 *       (not the whole magic: "abba" overlaps itself, and a real frame may
 *       start inside a false magic).  The error is one of vsf_wire.h's.
 */
#ifndef VSF_FRAME_H
#define VSF_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "vsf_wire.h"

#define VSF_FRAME_READER_CAP 1024

struct vsf_frame_reader {
	uint8_t buf[VSF_FRAME_READER_CAP];
	size_t len;		/* bytes held in buf */
	uint64_t skipped;	/* bytes discarded while resynchronising */
};

void vsf_frame_reader_init(struct vsf_frame_reader *r);

/* Append bytes; returns how many were taken (less than @len when full). */
size_t vsf_frame_reader_feed(struct vsf_frame_reader *r, const void *data,
			     size_t len);

/* Free space for reading straight into the buffer; then commit @n bytes. */
uint8_t *vsf_frame_reader_tail(struct vsf_frame_reader *r, size_t *space);
void vsf_frame_reader_commit(struct vsf_frame_reader *r, size_t n);

/*
 * Discard bytes until the buffer starts with one of @n magics (each stored
 * as its 4 wire bytes read little-endian).  Returns the index of the magic
 * found, or -1 if more bytes are needed; a trailing partial match is kept.
 */
int vsf_frame_reader_sync(struct vsf_frame_reader *r, const uint32_t *magics,
			  size_t n);

/* Copy out and consume exactly @n bytes if held: 1, else 0. */
int vsf_frame_reader_take(struct vsf_frame_reader *r, void *out, size_t n);

/* Consume @n bytes (at most what is held). */
void vsf_frame_reader_drop(struct vsf_frame_reader *r, size_t n);

int vsf_frame_next_serial_req(struct vsf_frame_reader *r,
			      struct vsf_serial_req *req);
int vsf_frame_next_serial_resp(struct vsf_frame_reader *r, uint8_t *result);
/* Host records carry no magic: 1 = record, 2 = terminator, 0 = need more. */
int vsf_frame_next_host_record(struct vsf_frame_reader *r,
			       struct vsf_host_record *rec);

#endif /* VSF_FRAME_H */
