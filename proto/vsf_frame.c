/* vsf_frame.c - stream reader with magic resync; see vsf_frame.h. */
#include "config.h"

#include <string.h>

#include "vsf_frame.h"

void vsf_frame_reader_init(struct vsf_frame_reader *r)
{
	r->len = 0;
	r->skipped = 0;
}

void vsf_frame_reader_drop(struct vsf_frame_reader *r, size_t n)
{
	if (n > r->len)
		n = r->len;
	memmove(r->buf, r->buf + n, r->len - n);
	r->len -= n;
}

/* Discard the oldest bytes so that @want bytes of space exist. */
static void make_room(struct vsf_frame_reader *r, size_t want)
{
	size_t space = sizeof(r->buf) - r->len;

	if (space >= want)
		return;
	r->skipped += want - space;
	vsf_frame_reader_drop(r, want - space);
}

size_t vsf_frame_reader_feed(struct vsf_frame_reader *r, const void *data,
			     size_t len)
{
	size_t space = sizeof(r->buf) - r->len;

	if (len > space)
		len = space;
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	return len;
}

uint8_t *vsf_frame_reader_tail(struct vsf_frame_reader *r, size_t *space)
{
	/* A full buffer that holds no frame is garbage: make progress. */
	if (r->len == sizeof(r->buf))
		make_room(r, sizeof(r->buf) / 2);
	*space = sizeof(r->buf) - r->len;
	return r->buf + r->len;
}

void vsf_frame_reader_commit(struct vsf_frame_reader *r, size_t n)
{
	if (n > sizeof(r->buf) - r->len)
		n = sizeof(r->buf) - r->len;
	r->len += n;
}

/* Length of the longest prefix of a magic that ends the held bytes at @i. */
static int magic_at(const uint8_t *p, size_t avail, uint32_t magic)
{
	uint8_t m[4];

	vsf_put_le32(m, magic);
	if (avail > 4)
		avail = 4;
	return memcmp(p, m, avail) == 0;
}

int vsf_frame_reader_sync(struct vsf_frame_reader *r, const uint32_t *magics,
			  size_t n)
{
	size_t i;

	for (i = 0; i < r->len; i++) {
		size_t avail = r->len - i;

		for (size_t k = 0; k < n; k++) {
			if (!magic_at(r->buf + i, avail, magics[k]))
				continue;
			r->skipped += i;
			vsf_frame_reader_drop(r, i);
			return avail >= 4 ? (int)k : -1;
		}
	}
	r->skipped += i;
	r->len = 0;
	return -1;
}

int vsf_frame_reader_take(struct vsf_frame_reader *r, void *out, size_t n)
{
	if (r->len < n)
		return 0;
	memcpy(out, r->buf, n);
	vsf_frame_reader_drop(r, n);
	return 1;
}

static const uint32_t serial_magic = VSF_SERIAL_MAGIC;

int vsf_frame_next_serial_req(struct vsf_frame_reader *r,
			      struct vsf_serial_req *req)
{
	int rc;

	if (vsf_frame_reader_sync(r, &serial_magic, 1) < 0 ||
	    r->len < VSF_SERIAL_REQ_SIZE)
		return 0;
	rc = vsf_serial_req_decode(r->buf, VSF_SERIAL_REQ_SIZE, req);
	/*
	 * A bad frame loses only its first byte: "abba" overlaps itself, so
	 * a real magic can start inside a false one ("abb" + "abba...").
	 */
	vsf_frame_reader_drop(r, rc < 0 ? 1 : VSF_SERIAL_REQ_SIZE);
	return rc < 0 ? rc : 1;
}

int vsf_frame_next_serial_resp(struct vsf_frame_reader *r, uint8_t *result)
{
	if (vsf_frame_reader_sync(r, &serial_magic, 1) < 0 ||
	    r->len < VSF_SERIAL_RESP_SIZE)
		return 0;
	*result = r->buf[4];
	vsf_frame_reader_drop(r, VSF_SERIAL_RESP_SIZE);
	return 1;
}

int vsf_frame_next_host_record(struct vsf_frame_reader *r,
			       struct vsf_host_record *rec)
{
	int rc;

	if (r->len < VSF_HOST_RECORD_SIZE)
		return 0;
	rc = vsf_host_record_decode(r->buf, VSF_HOST_RECORD_SIZE, rec);
	vsf_frame_reader_drop(r, VSF_HOST_RECORD_SIZE);
	if (rc < 0)
		return rc;
	return rc == 1 ? 2 : 1;
}
