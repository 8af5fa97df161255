/*
 * vsdev.h - a transport-neutral virtio-serial (virtio-console, MULTIPORT)
 * device model.
 *
 * The core knows nothing of QEMU.  It sees virtqueues and guest memory only
 * through struct vsdev_transport_ops (implemented by qemu/ and by fake/),
 * and host backends only through per-port byte-stream callbacks
 * (struct vsdev_port_ops).  It never allocates on the data path, never
 * blocks, never logs and never trusts a value read from the guest.
 *
 * Queue layout (VIRTIO 1.x, console device): 0/1 = rx/tx of port 0,
 * 2/3 = control rx/tx, then 4 + 2*(n-1) / 5 + 2*(n-1) = rx/tx of port n.
 *
 * Error state: a guest that hands us a malformed chain (bad direction, too
 * many segments, out-of-bounds address, a loop, a control-rx buffer too
 * short for the message) puts the device into its "broken" state, the
 * analogue of VIRTIO's DEVICE_NEEDS_RESET.  The core calls ops->fail()
 * once, stops touching the queues, and only vsdev_reset() brings it back.
 * Nothing a guest does makes the core crash, loop or grow without bound.
 *
 * Threading: none.  Every function must be called from one thread (QEMU's
 * main loop / BQL); callbacks are made from inside the calling function
 * and must not call back into the same port's write/remove functions
 * (they may call vsdev_port_unthrottle()).
 */
#ifndef VSDEV_H
#define VSDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
	VSDEV_MAX_PORTS = 511,		/* VIRTIO_QUEUE_MAX / 2 - 1 */
	VSDEV_MAX_SEGS = 64,		/* segments per chain we accept */
	VSDEV_RX_STASH = 2,		/* rx buffers a port may hold popped */
	VSDEV_NAME_MAX = 255,		/* bytes of a port name */
	VSDEV_ID_AUTO = 0xffffffffu,	/* vsdev_port_add(): pick an id */
	VSDEV_BUDGET = 256,		/* chains per vsdev_service() call */
	VSDEV_HELD_MAX = 1 << 20,	/* host->guest bytes a port may hold */
};

/* Control queues and the per-port data queue numbers. */
enum {
	VSDEV_VQ_CTRL_RX = 2,
	VSDEV_VQ_CTRL_TX = 3,
};
static inline unsigned int vsdev_rx_vq(uint32_t id)
{
	return id == 0 ? 0 : 4 + 2 * (id - 1);
}
static inline unsigned int vsdev_tx_vq(uint32_t id)
{
	return vsdev_rx_vq(id) + 1;
}

/* Feature bits and control events, as on the wire. */
enum {
	VSDEV_F_SIZE = 0,
	VSDEV_F_MULTIPORT = 1,
	VSDEV_F_EMERG_WRITE = 2,
};
enum vsdev_event {
	VSDEV_DEVICE_READY = 0,
	VSDEV_PORT_ADD = 1,
	VSDEV_PORT_REMOVE = 2,
	VSDEV_PORT_READY = 3,
	VSDEV_CONSOLE_PORT = 4,
	VSDEV_RESIZE = 5,
	VSDEV_PORT_OPEN = 6,
	VSDEV_PORT_NAME = 7,
};
#define VSDEV_BAD_ID 0xffffffffu
#define VSDEV_CTRL_HDR 8	/* le32 id, le16 event, le16 value */

/*
 * One popped descriptor chain.  Segments 0..nout-1 are device-readable
 * (driver->device), nout..nout+nin-1 device-writable.  Guest physical
 * addresses only: the core reads and writes them through the transport.
 * head and cookie belong to the transport (ring slot, QEMU element) and
 * are handed back unchanged in push() / drop().
 */
struct vsdev_seg {
	uint64_t gpa;
	uint32_t len;
};
struct vsdev_buf {
	uint32_t head;
	void *cookie;
	uint16_t nout, nin;
	struct vsdev_seg seg[VSDEV_MAX_SEGS];
};

struct vsdev_transport;

/*
 * What a transport provides.  Implementations embed struct vsdev_transport
 * first and use container_of.  None of these may block.
 */
#define VSDEV_TRANSPORT_OPS_V1 1
struct vsdev_transport_ops {
	unsigned int version;	/* VSDEV_TRANSPORT_OPS_V1; new ops at the end */
	/*
	 * Pop the next available chain of queue vq into *b.  0 on success,
	 * -ENOENT when the queue is empty or not set up, any other negative
	 * errno when the guest's ring or chain is malformed (the core then
	 * enters its error state).  Segment counts above VSDEV_MAX_SEGS must
	 * be reported as -E2BIG, never truncated.
	 */
	int (*pop)(struct vsdev_transport *t, unsigned int vq,
		   struct vsdev_buf *b);
	/* Return a popped chain to the guest as used, with `written` bytes. */
	void (*push)(struct vsdev_transport *t, unsigned int vq,
		     struct vsdev_buf *b, uint32_t written);
	/*
	 * Release a popped chain without completing it (device reset).  The
	 * guest gets it back only through its own reset.
	 */
	void (*drop)(struct vsdev_transport *t, unsigned int vq,
		     struct vsdev_buf *b);
	/* Bounded guest memory access: -EFAULT if any byte is outside RAM. */
	int (*copy_from_guest)(struct vsdev_transport *t, uint64_t gpa,
			       void *dst, size_t len);
	int (*copy_to_guest)(struct vsdev_transport *t, uint64_t gpa,
			     const void *src, size_t len);
	/* Interrupt the guest for queue vq (after pushes). */
	void (*notify)(struct vsdev_transport *t, unsigned int vq);
	/* The device entered its error state (reason: negative errno). */
	void (*fail)(struct vsdev_transport *t, int reason);
};

struct vsdev_transport {
	const struct vsdev_transport_ops *ops;	/* always first */
};

/*
 * A host backend for one port: a byte stream.  opaque is the backend's own
 * and is passed back unchanged; the core never frees it.
 */
#define VSDEV_PORT_OPS_V1 1
struct vsdev_port_ops {
	unsigned int version;	/* VSDEV_PORT_OPS_V1 */
	/*
	 * Guest->host bytes.  Return how many were taken (0..len).  Taking
	 * fewer than len throttles the port (non-console ports): the core
	 * holds the rest and calls again only after vsdev_port_unthrottle().
	 * Console ports are never throttled; what a console backend does not
	 * take is dropped (the guest's hvc path busy-waits otherwise).
	 * A negative return drops the chain's remaining data.
	 */
	ssize_t (*have_data)(void *opaque, const uint8_t *buf, size_t len);
	/* The guest opened (true) or closed (false) the port. */
	void (*guest_open)(void *opaque, bool open);
	/* The guest posted receive buffers: vsdev_port_write() may succeed. */
	void (*writable)(void *opaque);
};

struct vsdev_port_config {
	uint32_t id;		/* VSDEV_ID_AUTO or 0..max_ports-1 */
	const char *name;	/* copied; NULL for none; unique per device */
	bool console;		/* a virtconsole (hvc) port */
	const struct vsdev_port_ops *ops;	/* NULL: no backend */
	void *opaque;
};

struct vsdev_config {
	uint32_t max_ports;	/* 1..VSDEV_MAX_PORTS */
	bool emerg_write;	/* offer VIRTIO_CONSOLE_F_EMERG_WRITE */
};

/* Counters of things a guest did wrong or that we dropped. */
struct vsdev_stats {
	uint64_t bad_ctrl;	/* short, unknown-event or bad-id control msgs */
	uint64_t bad_vq;	/* kicks of queues that do not exist */
	uint64_t tx_dropped;	/* guest bytes dropped (host closed, console) */
	uint64_t ctrl_sent;	/* control messages delivered */
	uint32_t ctrl_pending;	/* control messages waiting for a buffer */
};

struct vsdev;

/* Lifetime.  vsdev_new returns 0 or -EINVAL (bad config) / -ENOMEM. */
int vsdev_new(const struct vsdev_config *cfg, struct vsdev_transport *t,
	      struct vsdev **out);
struct vsdev *vsdev_free(struct vsdev *dev);	/* accepts NULL */

/* Virtio status plumbing, called by the transport. */
uint64_t vsdev_features(const struct vsdev *dev);	/* offered */
void vsdev_set_features(struct vsdev *dev, uint64_t acked);
void vsdev_set_driver_ok(struct vsdev *dev, bool ok);
void vsdev_reset(struct vsdev *dev);
/* Config space: 12 bytes (8 without emerg_write).  Returns its size. */
size_t vsdev_get_config(const struct vsdev *dev, uint8_t *cfg, size_t len);
void vsdev_set_config(struct vsdev *dev, const uint8_t *cfg, size_t len);

/*
 * The guest kicked queue vq (any queue).  Returns 1 if work is left
 * because the per-call budget ran out (call vsdev_service() again later,
 * e.g. from a bottom half), 0 if idle, -EINVAL for a queue that does not
 * exist (counted and ignored), -EIO if the device is broken.
 */
int vsdev_handle_output(struct vsdev *dev, unsigned int vq);
int vsdev_service(struct vsdev *dev);
/*
 * The driver reset one queue (VIRTIO_F_RING_RESET): chains popped from it
 * are dropped (the transport's ring state is gone), the port's throttle is
 * lifted.  Call before the transport forgets the queue.  -EINVAL for a
 * queue that does not exist.
 */
int vsdev_queue_reset(struct vsdev *dev, unsigned int vq);
/* 0 if healthy, else the negative errno that broke it. */
int vsdev_broken(const struct vsdev *dev);
void vsdev_get_stats(const struct vsdev *dev, struct vsdev_stats *st);

/*
 * Ports.  vsdev_port_add() (cold or hot plug) returns the id, or -EINVAL
 * (id >= max_ports, id 0 for a non-console, name too long), -EEXIST (id or
 * name taken), -ENOSPC (no free id).  A hot-plugged port is announced with
 * PORT_ADD once the driver is ready.  vsdev_port_remove() completes the
 * port's pending guest data with length 0 and announces PORT_REMOVE.
 */
int vsdev_port_add(struct vsdev *dev, const struct vsdev_port_config *pc);
int vsdev_port_remove(struct vsdev *dev, uint32_t id);

/* Host side opened/closed its end (chardev connect/disconnect). */
int vsdev_port_set_host_connected(struct vsdev *dev, uint32_t id, bool on);
/*
 * Host->guest.  write_room() is a lower bound of what the next write will
 * accept (it may pop receive buffers to find out); 0 while the port is not
 * open on both sides or still holds bytes (vsdev_port_hold: they go
 * first, and both calls try to deliver them).  write() returns the bytes
 * accepted (possibly 0), or -ENOENT for an unknown port.  Written bytes
 * are never held back: each write completes the receive buffers it used.
 */
size_t vsdev_port_write_room(struct vsdev *dev, uint32_t id);
ssize_t vsdev_port_write(struct vsdev *dev, uint32_t id, const void *buf,
			 size_t len);
/* The backend can take data again: resume the held chain. */
int vsdev_port_unthrottle(struct vsdev *dev, uint32_t id);
/*
 * Host->guest bytes the backend hands over because it is about to stop
 * taking them (the migration cut in qemu/: unread socket bytes at the
 * moment the device state is saved).  The core holds them and delivers
 * them to the guest before anything later: while any are held,
 * write_room() is 0 and write() takes nothing.  They are delivered once
 * the guest has the port open, whether or not the host end is still
 * connected (the backend already gave them up), survive a device reset
 * like bytes still in a socket would, are dropped with the port, and are
 * part of the migration state.  Returns the bytes taken: fewer than len
 * only when the port would hold more than VSDEV_HELD_MAX; -ENOENT for an
 * unknown port, -ENOMEM.  Allocates (this is not a data-path call).
 */
ssize_t vsdev_port_hold(struct vsdev *dev, uint32_t id, const void *buf,
			size_t len);

struct vsdev_port_info {
	bool guest_ready;	/* guest sent PORT_READY(1) */
	bool guest_connected;	/* guest has it open */
	bool host_connected;
	bool throttled;
	bool console;
	uint32_t held;		/* host->guest bytes held (vsdev_port_hold) */
};
int vsdev_port_info(const struct vsdev *dev, uint32_t id,
		    struct vsdev_port_info *pi);

/*
 * Migration: the whole device state as a plain struct (one allocation,
 * vsdev_state_free() releases it).  Popped chains appear as vsdev_buf with
 * their transport cookie; the transport saves its own element for each
 * cookie and restores it on the destination before vsdev_state_set().
 * vsdev_state_set() validates everything (it comes from the wire):
 * -EINVAL for a different max_ports or port set, -EPROTO for inconsistent
 * fields (a held_len above VSDEV_HELD_MAX, or without its bytes, is one),
 * -EOPNOTSUPP for an unknown version, -ENOMEM; on error the device is
 * unchanged.  Held bytes are copied (st keeps its own).  On the destination, the
 * destination's host connection state wins and is announced if it differs.
 * vsdev_state_set() touches no queue: held data and pending messages move
 * at the transport's next vsdev_service() call (once the VM runs).
 */
#define VSDEV_STATE_VERSION 2	/* 2: held host->guest bytes */
struct vsdev_port_state {
	uint32_t id;
	uint8_t guest_ready, guest_connected, host_connected, announced;
	uint8_t throttled, tx_held;
	uint32_t tx_off;		/* bytes of tx_buf already consumed */
	struct vsdev_buf tx_buf;	/* valid if tx_held */
	uint32_t rx_count;		/* 0..VSDEV_RX_STASH */
	struct vsdev_buf rx_buf[VSDEV_RX_STASH];
	uint32_t held_len;		/* 0..VSDEV_HELD_MAX */
	uint8_t *held;			/* held_len bytes, owned by the state */
};
struct vsdev_ctrl_msg {
	uint32_t id;
	uint16_t event, value;
};
struct vsdev_state {
	uint32_t version;
	uint32_t max_ports;
	uint64_t features;
	uint8_t driver_ok, device_ready;
	uint32_t nports;
	struct vsdev_port_state *ports;	/* nports entries */
	uint32_t nctrl;
	struct vsdev_ctrl_msg *ctrl;	/* pending host->guest messages */
};
struct vsdev_state *vsdev_state_get(const struct vsdev *dev);
struct vsdev_state *vsdev_state_alloc(uint32_t nports, uint32_t nctrl);
/*
 * Give ports[i] a held buffer of len bytes for a loader to fill (its
 * held/held_len); NULL if i >= nports, len > VSDEV_HELD_MAX (a stream
 * asking for more is hostile or not ours), or out of memory.
 * vsdev_state_free() frees it.
 */
uint8_t *vsdev_state_held_alloc(struct vsdev_state *st, uint32_t i,
				uint32_t len);
/* Frees the state and every held buffer in it; accepts NULL. */
struct vsdev_state *vsdev_state_free(struct vsdev_state *st);
int vsdev_state_set(struct vsdev *dev, const struct vsdev_state *st);

/*
 * Split virtqueue, device side, over guest memory reached only through the
 * transport's copy ops.  For transports without ring code of their own
 * (fake/, a vhost-user backend); QEMU's front uses QEMU's.
 * vsdev_vring_pop(): 0, -ENOENT (empty), or a distinct error per defect:
 * -EOVERFLOW avail index ran more than size ahead, -ERANGE head or next
 * index >= size, -ELOOP chain longer than the ring (a loop), -E2BIG more
 * than VSDEV_MAX_SEGS segments, -EPROTO readable segment after a writable
 * one or bad indirect table, -EFAULT address outside guest memory.
 */
struct vsdev_vring {
	uint64_t desc, avail, used;	/* guest addresses */
	uint16_t size;			/* power of two, <= 32768 */
	uint16_t last_avail;
	uint16_t used_idx;
};
int vsdev_vring_pop(struct vsdev_vring *r, struct vsdev_transport *t,
		    struct vsdev_buf *b);
int vsdev_vring_push(struct vsdev_vring *r, struct vsdev_transport *t,
		     uint32_t head, uint32_t written);

#endif /* VSDEV_H */
