/*
 * fake_transport.c - see fake_transport.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_transport.h"

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

static struct fake *to_fake(struct vsdev_transport *t)
{
	return container_of(t, struct fake, t);
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p) {
		fprintf(stderr, "fake_transport: out of memory\n");
		abort();
	}
	return p;
}

static int in_ram(const struct fake *f, uint64_t gpa, size_t len)
{
	return gpa >= FAKE_RAM_BASE && gpa - FAKE_RAM_BASE <= f->size &&
	       len <= f->size - (gpa - FAKE_RAM_BASE);
}

static int op_copy_from(struct vsdev_transport *t, uint64_t gpa, void *dst,
			size_t len)
{
	struct fake *f = to_fake(t);

	if (!in_ram(f, gpa, len))
		return -EFAULT;
	memcpy(dst, f->mem + (gpa - FAKE_RAM_BASE), len);
	return 0;
}

static int op_copy_to(struct vsdev_transport *t, uint64_t gpa,
		      const void *src, size_t len)
{
	struct fake *f = to_fake(t);

	if (!in_ram(f, gpa, len))
		return -EFAULT;
	memcpy(f->mem + (gpa - FAKE_RAM_BASE), src, len);
	return 0;
}

static int op_pop(struct vsdev_transport *t, unsigned int vq,
		  struct vsdev_buf *b)
{
	struct fake *f = to_fake(t);

	if (vq >= f->nvq)
		return -ENOENT;
	return vsdev_vring_pop(&f->vq[vq].ring, t, b);
}

static void op_push(struct vsdev_transport *t, unsigned int vq,
		    struct vsdev_buf *b, uint32_t written)
{
	struct fake *f = to_fake(t);

	if (vq < f->nvq)
		(void)vsdev_vring_push(&f->vq[vq].ring, t, b->head, written);
}

static void op_drop(struct vsdev_transport *t, unsigned int vq,
		    struct vsdev_buf *b)
{
	(void)vq;
	(void)b;
	to_fake(t)->dropped++;
}

static void op_notify(struct vsdev_transport *t, unsigned int vq)
{
	struct fake *f = to_fake(t);

	if (vq < f->nvq)
		f->vq[vq].notified++;
}

static void op_fail(struct vsdev_transport *t, int reason)
{
	struct fake *f = to_fake(t);

	f->failed = reason;
	f->fail_calls++;
}

static const struct vsdev_transport_ops fake_ops = {
	.version = VSDEV_TRANSPORT_OPS_V1,
	.pop = op_pop,
	.push = op_push,
	.drop = op_drop,
	.copy_from_guest = op_copy_from,
	.copy_to_guest = op_copy_to,
	.notify = op_notify,
	.fail = op_fail,
};

uint64_t fake_alloc(struct fake *f, size_t len)
{
	uint64_t gpa = (f->brk + 15) & ~15ull;

	if (!in_ram(f, gpa, len))
		return 0;
	f->brk = gpa + len;
	return gpa;
}

void *fake_ptr(struct fake *f, uint64_t gpa)
{
	return in_ram(f, gpa, 1) ? f->mem + (gpa - FAKE_RAM_BASE) : NULL;
}

static void put16(struct fake *f, uint64_t gpa, uint16_t v)
{
	uint8_t *p = fake_ptr(f, gpa);

	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint16_t get16(struct fake *f, uint64_t gpa)
{
	const uint8_t *p = fake_ptr(f, gpa);

	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(struct fake *f, uint64_t gpa)
{
	return get16(f, gpa) | (uint32_t)get16(f, gpa + 2) << 16;
}

struct fake *fake_new(unsigned int nvq, uint16_t qsize, size_t memsize)
{
	struct fake *f = xcalloc(1, sizeof(*f));

	f->t.ops = &fake_ops;
	f->mem = xcalloc(1, memsize);
	f->size = memsize;
	f->brk = FAKE_RAM_BASE;
	f->nvq = nvq;
	f->qsize = qsize;
	f->vq = xcalloc(nvq, sizeof(*f->vq));
	for (unsigned int i = 0; i < nvq; i++) {
		struct fake_vq *q = &f->vq[i];

		q->ring.size = qsize;
		q->ring.desc = fake_alloc(f, 16u * qsize);
		q->ring.avail = fake_alloc(f, 6u + 2u * qsize);
		q->ring.used = fake_alloc(f, 6u + 8u * qsize);
		if (!q->ring.desc || !q->ring.avail || !q->ring.used) {
			fprintf(stderr, "fake_transport: RAM too small\n");
			abort();
		}
		q->buf_gpa = xcalloc(qsize, sizeof(*q->buf_gpa));
		/* Free descriptors are chained through their next fields. */
		for (uint16_t d = 0; d < qsize; d++)
			fake_write_desc(f, i, d, 0, 0, 0,
					(uint16_t)((d + 1) % qsize));
		q->nfree = qsize;
		q->free_head = 0;
	}
	return f;
}

struct fake *fake_free(struct fake *f)
{
	if (!f)
		return NULL;
	for (unsigned int i = 0; i < f->nvq; i++)
		free(f->vq[i].buf_gpa);
	free(f->vq);
	free(f->mem);
	free(f);
	return NULL;
}

void fake_write_desc(struct fake *f, unsigned int vq, uint16_t i,
		     uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint64_t d = f->vq[vq].ring.desc + 16ull * i;

	put16(f, d, (uint16_t)addr);
	put16(f, d + 2, (uint16_t)(addr >> 16));
	put16(f, d + 4, (uint16_t)(addr >> 32));
	put16(f, d + 6, (uint16_t)(addr >> 48));
	put16(f, d + 8, (uint16_t)len);
	put16(f, d + 10, (uint16_t)(len >> 16));
	put16(f, d + 12, flags);
	put16(f, d + 14, next);
}

static uint16_t desc_next(struct fake *f, unsigned int vq, uint16_t i)
{
	return get16(f, f->vq[vq].ring.desc + 16ull * i + 14);
}

static uint16_t desc_flags(struct fake *f, unsigned int vq, uint16_t i)
{
	return get16(f, f->vq[vq].ring.desc + 16ull * i + 12);
}

void fake_publish(struct fake *f, unsigned int vq, uint16_t head)
{
	struct fake_vq *q = &f->vq[vq];

	put16(f, q->ring.avail + 4 + 2ull * (q->avail_idx % f->qsize), head);
	q->avail_idx++;
	put16(f, q->ring.avail + 2, q->avail_idx);
}

void fake_set_avail_idx(struct fake *f, unsigned int vq, uint16_t idx)
{
	f->vq[vq].avail_idx = idx;
	put16(f, f->vq[vq].ring.avail + 2, idx);
}

int fake_add(struct fake *f, unsigned int vq, const struct fake_seg *segs,
	     unsigned int n)
{
	struct fake_vq *q = &f->vq[vq];
	uint16_t head = q->free_head, i = head;

	if (n == 0 || n > q->nfree)
		return -ENOSPC;
	for (unsigned int k = 0; k < n; k++) {
		/* % qsize: a hostile test may have scribbled on the table */
		uint16_t next = desc_next(f, vq, i) % f->qsize;
		uint16_t flags = (uint16_t)((segs[k].write ? FAKE_DESC_WRITE : 0) |
					    (k + 1 < n ? FAKE_DESC_NEXT : 0));

		fake_write_desc(f, vq, i, segs[k].gpa, segs[k].len, flags,
				next);
		if (k + 1 < n)
			i = next;
		else
			q->free_head = next;
	}
	q->nfree = (uint16_t)(q->nfree - n);
	q->buf_gpa[head] = segs[0].gpa;
	fake_publish(f, vq, head);
	return head;
}

int fake_add_out(struct fake *f, unsigned int vq, const void *data,
		 size_t len)
{
	struct fake_seg s = { fake_alloc(f, len), (uint32_t)len, 0 };

	if (!s.gpa)
		return -ENOMEM;
	if (len)	/* an empty segment may sit at the very end of RAM */
		memcpy(fake_ptr(f, s.gpa), data, len);
	return fake_add(f, vq, &s, 1);
}

int fake_add_in(struct fake *f, unsigned int vq, size_t len)
{
	struct fake_seg s = { fake_alloc(f, len), (uint32_t)len, 1 };

	if (!s.gpa)
		return -ENOMEM;
	return fake_add(f, vq, &s, 1);
}

int fake_get_used(struct fake *f, unsigned int vq, uint32_t *head,
		  uint32_t *len)
{
	struct fake_vq *q = &f->vq[vq];
	uint64_t e;
	uint16_t i, n = 1;

	if (get16(f, q->ring.used + 2) == q->last_used)
		return -ENOENT;
	e = q->ring.used + 4 + 8ull * (q->last_used % f->qsize);
	*head = get32(f, e) % f->qsize;
	*len = get32(f, e + 4);
	q->last_used++;
	/* Give the chain's descriptors back to the free list. */
	i = (uint16_t)(*head % f->qsize);
	while (desc_flags(f, vq, i) & FAKE_DESC_NEXT && n < f->qsize) {
		i = desc_next(f, vq, i) % f->qsize;
		n++;
	}
	fake_write_desc(f, vq, i, 0, 0, 0, q->free_head);
	q->free_head = (uint16_t)(*head % f->qsize);
	q->nfree = (uint16_t)(q->nfree + n);
	return 0;
}

int fake_kick(struct fake *f, unsigned int vq)
{
	return vsdev_handle_output(f->dev, vq);
}

int fake_driver_start(struct fake *f, unsigned int ctrl_bufs)
{
	vsdev_set_features(f->dev, vsdev_features(f->dev));
	vsdev_set_driver_ok(f->dev, true);
	for (unsigned int i = 0; i < ctrl_bufs; i++)
		(void)fake_add_in(f, VSDEV_VQ_CTRL_RX, 4096);
	return fake_send_ctrl(f, VSDEV_BAD_ID, VSDEV_DEVICE_READY, 1);
}

int fake_send_ctrl(struct fake *f, uint32_t id, uint16_t event,
		   uint16_t value)
{
	uint8_t m[8] = {
		(uint8_t)id, (uint8_t)(id >> 8), (uint8_t)(id >> 16),
		(uint8_t)(id >> 24), (uint8_t)event, (uint8_t)(event >> 8),
		(uint8_t)value, (uint8_t)(value >> 8),
	};
	uint32_t h, l;
	int r = fake_add_out(f, VSDEV_VQ_CTRL_TX, m, sizeof(m));

	if (r < 0)
		return r;
	r = fake_kick(f, VSDEV_VQ_CTRL_TX);
	/* Like Linux, reclaim control-tx buffers at once. */
	while (fake_get_used(f, VSDEV_VQ_CTRL_TX, &h, &l) == 0)
		;
	return r;
}

int fake_recv_ctrl(struct fake *f, uint32_t *id, uint16_t *event,
		   uint16_t *value, char *name)
{
	uint32_t head, len;
	const uint8_t *p;
	int r = fake_get_used(f, VSDEV_VQ_CTRL_RX, &head, &len);

	if (r < 0)
		return r;
	p = fake_ptr(f, f->vq[VSDEV_VQ_CTRL_RX].buf_gpa[head]);
	if (!p)
		return -EFAULT;
	if (len > 4096)
		len = 4096;	/* clamp, as CVE-2021-38160 taught */
	*id = len >= 4 ? (uint32_t)p[0] | (uint32_t)p[1] << 8 |
			 (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24 : 0;
	*event = len >= 6 ? (uint16_t)(p[4] | p[5] << 8) : 0xffff;
	*value = len >= 8 ? (uint16_t)(p[6] | p[7] << 8) : 0;
	if (name) {
		size_t n = len > 8 ? len - 8 : 0;

		if (n > VSDEV_NAME_MAX + 1)
			n = VSDEV_NAME_MAX + 1;
		memcpy(name, p + 8, n);
		name[n] = 0;
	}
	/* Repost the same buffer, as the Linux driver does. */
	{
		struct fake_seg s = {
			f->vq[VSDEV_VQ_CTRL_RX].buf_gpa[head], 4096, 1
		};
		(void)fake_add(f, VSDEV_VQ_CTRL_RX, &s, 1);
	}
	(void)fake_kick(f, VSDEV_VQ_CTRL_RX);
	return 0;
}
