/*
 * vsdev_vring.c - device side of a split virtqueue, reading the guest's
 * rings only through the transport's bounded copy ops.  Every index and
 * length the guest wrote is checked before use; each defect has its own
 * errno (see vsdev.h).
 */
#include <errno.h>
#include <string.h>

#include "vsdev.h"

enum {
	DESC_F_NEXT = 1,
	DESC_F_WRITE = 2,
	DESC_F_INDIRECT = 4,
	DESC_SIZE = 16,
	INDIRECT_MAX = 1024,	/* entries in one indirect table */
};

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static int read_le16(struct vsdev_transport *t, uint64_t gpa, uint16_t *v)
{
	uint8_t b[2];
	int r = t->ops->copy_from_guest(t, gpa, b, sizeof(b));

	if (r < 0)
		return r;
	*v = get_le16(b);
	return 0;
}

static int read_desc(struct vsdev_transport *t, uint64_t table, uint32_t i,
		     struct desc *d)
{
	uint8_t b[DESC_SIZE];
	int r = t->ops->copy_from_guest(t, table + (uint64_t)i * DESC_SIZE, b,
					sizeof(b));

	if (r < 0)
		return r;
	d->addr = (uint64_t)get_le32(b) | (uint64_t)get_le32(b + 4) << 32;
	d->len = get_le32(b + 8);
	d->flags = get_le16(b + 12);
	d->next = get_le16(b + 14);
	return 0;
}

/* Append one segment, keeping readable-before-writable order. */
static int add_seg(struct vsdev_buf *b, const struct desc *d)
{
	bool wr = d->flags & DESC_F_WRITE;

	if (!wr && b->nin)
		return -EPROTO;
	if (b->nout + b->nin >= VSDEV_MAX_SEGS)
		return -E2BIG;
	if (d->len && d->addr + d->len < d->addr)
		return -EFAULT;		/* wraps the address space */
	b->seg[b->nout + b->nin] = (struct vsdev_seg){ d->addr, d->len };
	if (wr)
		b->nin++;
	else
		b->nout++;
	return 0;
}

/* Walk an indirect table: no nesting, bounded length, in-table indices. */
static int walk_indirect(struct vsdev_transport *t, const struct desc *ind,
			 struct vsdev_buf *b)
{
	uint32_t n = ind->len / DESC_SIZE, i = 0, steps = 0;
	struct desc d;
	int r;

	if (ind->len == 0 || ind->len % DESC_SIZE || n > INDIRECT_MAX)
		return -EPROTO;
	for (;;) {
		if (++steps > n)
			return -ELOOP;
		r = read_desc(t, ind->addr, i, &d);
		if (r < 0)
			return r;
		if (d.flags & DESC_F_INDIRECT)
			return -EPROTO;
		r = add_seg(b, &d);
		if (r < 0)
			return r;
		if (!(d.flags & DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return -ERANGE;
		i = d.next;
	}
}

static int walk_chain(struct vsdev_vring *r, struct vsdev_transport *t,
		      uint16_t head, struct vsdev_buf *b)
{
	uint32_t i = head, steps = 0;
	struct desc d;
	int rc;

	for (;;) {
		if (++steps > r->size)
			return -ELOOP;
		rc = read_desc(t, r->desc, i, &d);
		if (rc < 0)
			return rc;
		if (d.flags & DESC_F_INDIRECT) {
			/* An indirect descriptor must be the only one. */
			if (steps != 1 || (d.flags & DESC_F_NEXT))
				return -EPROTO;
			return walk_indirect(t, &d, b);
		}
		rc = add_seg(b, &d);
		if (rc < 0)
			return rc;
		if (!(d.flags & DESC_F_NEXT))
			return 0;
		if (d.next >= r->size)
			return -ERANGE;
		i = d.next;
	}
}

int vsdev_vring_pop(struct vsdev_vring *r, struct vsdev_transport *t,
		    struct vsdev_buf *b)
{
	uint16_t avail_idx, head;
	int rc;

	if (r->size == 0 || (r->size & (r->size - 1)))
		return -ENOENT;		/* queue not set up */
	rc = read_le16(t, r->avail + 2, &avail_idx);
	if (rc < 0)
		return rc;
	if (avail_idx == r->last_avail)
		return -ENOENT;
	if ((uint16_t)(avail_idx - r->last_avail) > r->size)
		return -EOVERFLOW;
	rc = read_le16(t, r->avail + 4 + 2 * (uint64_t)(r->last_avail %
							   r->size), &head);
	if (rc < 0)
		return rc;
	if (head >= r->size)
		return -ERANGE;
	b->head = head;
	b->cookie = NULL;
	b->nout = b->nin = 0;
	rc = walk_chain(r, t, head, b);
	if (rc < 0)
		return rc;
	r->last_avail++;
	return 0;
}

int vsdev_vring_push(struct vsdev_vring *r, struct vsdev_transport *t,
		     uint32_t head, uint32_t written)
{
	uint8_t elem[8], idx[2];
	uint64_t slot = r->used + 4 + 8 * (uint64_t)(r->used_idx % r->size);
	int rc;

	put_le32(elem, head);
	put_le32(elem + 4, written);
	rc = t->ops->copy_to_guest(t, slot, elem, sizeof(elem));
	if (rc < 0)
		return rc;
	r->used_idx++;
	put_le16(idx, r->used_idx);
	return t->ops->copy_to_guest(t, r->used + 2, idx, sizeof(idx));
}
