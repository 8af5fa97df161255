/*
 * fake_transport.h - an in-memory transport for the vsdev core, playing
 * the guest driver: split virtqueues laid out in a plain byte array that
 * stands for guest RAM, the device side walked by vsdev_vring_*().
 * In the spirit of rust-vmm's virtio-queue mock.rs: device code is tested
 * without a VM.  Tests only; single-threaded; aborts on its own OOM.
 *
 * Guest addresses start at FAKE_RAM_BASE, so gpa 0 and anything outside
 * [base, base + size) is out of bounds (-EFAULT), like unbacked RAM.
 */
#ifndef FAKE_TRANSPORT_H
#define FAKE_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "../vsdev.h"

#define FAKE_RAM_BASE 0x100000ull

enum {
	FAKE_DESC_NEXT = 1,
	FAKE_DESC_WRITE = 2,
	FAKE_DESC_INDIRECT = 4,
};

struct fake_vq {
	struct vsdev_vring ring;	/* device side: what vsdev sees */
	uint16_t avail_idx;		/* driver side */
	uint16_t last_used;
	uint16_t nfree;
	uint16_t free_head;
	uint64_t *buf_gpa;		/* per head: first segment's address */
	uint32_t notified;		/* device->driver interrupts */
};

struct fake {
	struct vsdev_transport t;	/* first: container_of */
	struct vsdev *dev;		/* the device under test */
	uint8_t *mem;
	size_t size;
	uint64_t brk;			/* bump allocator, gpa */
	unsigned int nvq;
	uint16_t qsize;
	struct fake_vq *vq;
	int failed;			/* reason passed to ops->fail, or 0 */
	unsigned int fail_calls;
	unsigned int dropped;		/* chains released by ops->drop */
};

struct fake_seg {
	uint64_t gpa;
	uint32_t len;
	int write;			/* device-writable */
};

struct fake *fake_new(unsigned int nvq, uint16_t qsize, size_t memsize);
struct fake *fake_free(struct fake *f);
uint64_t fake_alloc(struct fake *f, size_t len);	/* 0 when full */
void *fake_ptr(struct fake *f, uint64_t gpa);

/* Driver: post a chain; returns its head or -ENOSPC.  Does not kick. */
int fake_add(struct fake *f, unsigned int vq, const struct fake_seg *segs,
	     unsigned int n);
int fake_add_out(struct fake *f, unsigned int vq, const void *data,
		 size_t len);
int fake_add_in(struct fake *f, unsigned int vq, size_t len);
/* Driver: collect one used chain (-ENOENT if none); frees its slots. */
int fake_get_used(struct fake *f, unsigned int vq, uint32_t *head,
		  uint32_t *len);
/* Driver: kick the device (vsdev_handle_output's result). */
int fake_kick(struct fake *f, unsigned int vq);

/* Hostile driver: raw writes to the rings. */
void fake_write_desc(struct fake *f, unsigned int vq, uint16_t i,
		     uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next);
void fake_publish(struct fake *f, unsigned int vq, uint16_t head);
void fake_set_avail_idx(struct fake *f, unsigned int vq, uint16_t idx);

/* A well-behaved MULTIPORT driver's bring-up: control buffers, DRIVER_OK,
 * DEVICE_READY.  Returns vsdev_handle_output's result. */
int fake_driver_start(struct fake *f, unsigned int ctrl_bufs);
/* Send one control message from the driver and kick. */
int fake_send_ctrl(struct fake *f, uint32_t id, uint16_t event,
		   uint16_t value);
/* Receive one control message: 0, or -ENOENT if none; reposts a buffer.
 * name (>= VSDEV_NAME_MAX + 2 bytes) gets PORT_NAME's payload, or "". */
int fake_recv_ctrl(struct fake *f, uint32_t *id, uint16_t *event,
		   uint16_t *value, char *name);

#endif /* FAKE_TRANSPORT_H */
