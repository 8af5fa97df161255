/*
 * vsdev.c - virtio-serial device core: port table, control protocol,
 * per-port data paths with flow control and round-robin service, hot-plug
 * and migration state.  See vsdev.h for the contract.
 *
 * Invariants:
 *  - ports[id] is NULL or a port whose id is `id`; id < max_ports.
 *  - A port is in the run queue (queued) iff its tx queue may hold work.
 *  - Pending control messages never exceed ctrl_cap (dedupe keeps at most
 *    one of each kind per port and two PORT_OPENs), so a guest that posts
 *    no control buffers cannot make us grow.
 *  - Once broken, no transport op but drop() is called until reset.
 *  - held_ports counts the ports whose held_len is non-zero; a port's held
 *    bytes reach the guest before any byte written later.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vsdev.h"

enum {
	/*
	 * Guest->host bytes reach the backend in pieces of at most this
	 * much.  32 KiB is the largest write of the Linux drivers (stock and
	 * ours), so such a chain is one backend write (one sendmsg on a
	 * socket chardev), as with stock QEMU, which hands over each mapped
	 * segment whole.  It was 4 KiB: 8 writes per chain.
	 */
	BOUNCE_SIZE = 32768,
	ROOM_TARGET = 4096,	/* write_room() stops popping at this much */
};

struct port {
	uint32_t id;
	bool has_name;
	char name[VSDEV_NAME_MAX + 1];
	bool console;
	const struct vsdev_port_ops *ops;
	void *opaque;
	bool guest_ready;	/* PORT_READY(1) seen since reset */
	bool guest_connected;	/* guest has the port open */
	bool host_connected;	/* backend has its end open */
	bool announced;		/* the guest knows the port (ADD delivered);
				 * kept across a reset: a restoring driver
				 * still knows it */
	bool throttled;		/* backend took less than offered */
	bool queued;		/* in the run queue */
	bool tx_held;		/* tx_buf popped, tx_off bytes consumed */
	bool tx_unnotified;	/* tx chains completed, guest not told yet */
	uint32_t tx_off;
	struct vsdev_buf tx_buf;
	uint32_t rx_count;	/* popped receive buffers, oldest first */
	struct vsdev_buf rx_buf[VSDEV_RX_STASH];
	uint8_t *held;		/* host bytes handed over (vsdev_port_hold): */
	uint32_t held_off;	/* held[held_off..held_off+held_len) is still */
	uint32_t held_len;	/* to be delivered; NULL when held_len is 0 */
	uint32_t held_cap;	/* bytes allocated at held */
};

struct vsdev {
	struct vsdev_transport *t;
	uint32_t max_ports;
	bool emerg_write;
	uint64_t acked;
	bool driver_ok;
	bool device_ready;	/* DEVICE_READY(1) seen since reset */
	int broken;		/* 0 or the negative errno that broke us */
	bool ctrl_tx_pending;
	struct port **ports;	/* max_ports slots */
	bool *gone;		/* removed while the guest knew it, REMOVE not
				 * delivered yet (kept across a reset) */
	/* host->guest control messages waiting for a buffer: a ring */
	struct vsdev_ctrl_msg *ctrlq;
	uint32_t ctrl_head, ctrl_len, ctrl_cap;
	/* ports with tx work, served one chain each in turn: a ring */
	uint32_t *runq;
	uint32_t run_head, run_len;
	uint32_t held_ports;	/* ports with held bytes */
	struct vsdev_stats stats;
	struct vsdev_buf scratch;	/* chains handled and completed at once */
	uint8_t bounce[BOUNCE_SIZE];
};

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

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static bool is_multiport(const struct vsdev *dev)
{
	return dev->acked & (1ull << VSDEV_F_MULTIPORT);
}

static struct port *find_port(const struct vsdev *dev, uint32_t id)
{
	return id < dev->max_ports ? dev->ports[id] : NULL;
}

static void fail(struct vsdev *dev, int reason)
{
	if (dev->broken)
		return;
	dev->broken = reason < 0 ? reason : -EIO;
	dev->t->ops->fail(dev->t, dev->broken);
}

/* ---- chains ---------------------------------------------------------- */

static uint64_t seg_total(const struct vsdev_buf *b, unsigned int from,
			  unsigned int n)
{
	uint64_t sum = 0;

	for (unsigned int i = from; i < from + n; i++)
		sum += b->seg[i].len;
	return sum;
}

static uint64_t out_len(const struct vsdev_buf *b)
{
	return seg_total(b, 0, b->nout);
}

static uint64_t in_len(const struct vsdev_buf *b)
{
	return seg_total(b, b->nout, b->nin);
}

/* Gather len bytes at offset off of the chain's readable part. */
static int copy_out(struct vsdev *dev, const struct vsdev_buf *b,
		    uint64_t off, uint8_t *dst, size_t len)
{
	for (unsigned int i = 0; i < b->nout && len; i++) {
		const struct vsdev_seg *s = &b->seg[i];
		size_t n;
		int r;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		n = s->len - off < len ? s->len - off : len;
		r = dev->t->ops->copy_from_guest(dev->t, s->gpa + off, dst, n);
		if (r < 0)
			return r;
		dst += n;
		len -= n;
		off = 0;
	}
	return len ? -EFAULT : 0;
}

/* Scatter len bytes into the chain's writable part, from its start. */
static int copy_in(struct vsdev *dev, const struct vsdev_buf *b,
		   const uint8_t *src, size_t len)
{
	for (unsigned int i = b->nout; i < b->nout + b->nin && len; i++) {
		const struct vsdev_seg *s = &b->seg[i];
		size_t n = s->len < len ? s->len : len;
		int r = dev->t->ops->copy_to_guest(dev->t, s->gpa, src, n);

		if (r < 0)
			return r;
		src += n;
		len -= n;
	}
	return len ? -EMSGSIZE : 0;
}

/*
 * Probe both ends of every segment, so a chain reaching outside guest RAM
 * is refused when popped, not half-way through its data.
 */
static int check_bounds(struct vsdev *dev, const struct vsdev_buf *b)
{
	uint8_t byte;

	for (unsigned int i = 0; i < (unsigned int)b->nout + b->nin; i++) {
		const struct vsdev_seg *s = &b->seg[i];
		int r;

		if (!s->len)
			continue;
		if (s->gpa + s->len - 1 < s->gpa)
			return -EFAULT;
		r = dev->t->ops->copy_from_guest(dev->t, s->gpa, &byte, 1);
		if (r == 0)
			r = dev->t->ops->copy_from_guest(dev->t,
							 s->gpa + s->len - 1,
							 &byte, 1);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Pop from vq and check the chain's direction and bounds.  want_out: a transmit
 * chain (readable only); otherwise a receive chain (writable only, at
 * least one byte).  Returns 0, -ENOENT, or breaks the device.
 */
static int pop_checked(struct vsdev *dev, unsigned int vq,
		       struct vsdev_buf *b, bool want_out)
{
	int r;

	if (dev->broken)
		return dev->broken;
	r = dev->t->ops->pop(dev->t, vq, b);
	if (r == -ENOENT)
		return r;
	if (r == 0 && b->nout + b->nin > VSDEV_MAX_SEGS)
		r = -E2BIG;
	else if (r == 0 && want_out && b->nin)
		r = -EPROTO;
	else if (r == 0 && !want_out && (b->nout || in_len(b) == 0))
		r = -EPROTO;
	if (r == 0)
		r = check_bounds(dev, b);
	if (r < 0) {
		fail(dev, r);
		return dev->broken;
	}
	return 0;
}

/* ---- control messages, host -> guest --------------------------------- */

static struct vsdev_ctrl_msg *ctrl_at(struct vsdev *dev, uint32_t i)
{
	return &dev->ctrlq[(dev->ctrl_head + i) % dev->ctrl_cap];
}

static void ctrl_delete(struct vsdev *dev, uint32_t i)
{
	for (; i + 1 < dev->ctrl_len; i++)
		*ctrl_at(dev, i) = *ctrl_at(dev, i + 1);
	dev->ctrl_len--;
}

/*
 * Queue a message, never dropping one: identical pending messages are
 * merged, and PORT_OPEN keeps at most two pending transitions per port
 * (a third collapses the last two), so the final state always arrives.
 */
static void ctrl_queue(struct vsdev *dev, uint32_t id, uint16_t event,
		       uint16_t value)
{
	int last_open = -1, opens = 0;

	for (uint32_t i = 0; i < dev->ctrl_len; i++) {
		struct vsdev_ctrl_msg *m = ctrl_at(dev, i);

		if (m->id != id)
			continue;
		if (event == VSDEV_PORT_OPEN && m->event == VSDEV_PORT_OPEN) {
			last_open = (int)i;
			opens++;
		} else if (m->event == event && m->value == value) {
			return;
		}
	}
	if (last_open >= 0) {
		if (ctrl_at(dev, (uint32_t)last_open)->value == value)
			return;
		if (opens >= 2) {
			ctrl_delete(dev, (uint32_t)last_open);
			return;
		}
	}
	if (dev->ctrl_len == dev->ctrl_cap)
		return;		/* cannot happen: see ctrl_cap in vsdev_new */
	*ctrl_at(dev, dev->ctrl_len++) =
		(struct vsdev_ctrl_msg){ id, event, value };
}

/* Forget pending messages about a port; true if a PORT_ADD was among them. */
static bool ctrl_purge(struct vsdev *dev, uint32_t id)
{
	bool had_add = false;

	for (uint32_t i = 0; i < dev->ctrl_len;) {
		struct vsdev_ctrl_msg *m = ctrl_at(dev, i);

		if (m->id != id) {
			i++;
			continue;
		}
		if (m->event == VSDEV_PORT_ADD)
			had_add = true;
		ctrl_delete(dev, i);
	}
	return had_add;
}

/* Encode message m into dev->bounce; returns its length. */
static size_t ctrl_encode(struct vsdev *dev, const struct vsdev_ctrl_msg *m)
{
	struct port *p = find_port(dev, m->id);
	size_t len = VSDEV_CTRL_HDR;

	put_le32(dev->bounce, m->id);
	put_le16(dev->bounce + 4, m->event);
	put_le16(dev->bounce + 6, m->value);
	if (m->event == VSDEV_PORT_NAME && p && p->has_name) {
		/* The spec wants no NUL; stock QEMU sends one and drivers
		 * (Linux, Windows) accept it, so we stay wire-identical. */
		size_t n = strlen(p->name) + 1;

		memcpy(dev->bounce + len, p->name, n);
		len += n;
	}
	return len;
}

/* Deliver pending messages while the guest has control buffers. */
static void ctrl_flush(struct vsdev *dev)
{
	bool pushed = false;

	while (dev->ctrl_len && is_multiport(dev) && dev->driver_ok) {
		struct vsdev_ctrl_msg m = *ctrl_at(dev, 0);
		struct vsdev_buf *b = &dev->scratch;
		size_t len = ctrl_encode(dev, &m);
		struct port *p;
		int r;

		if (pop_checked(dev, VSDEV_VQ_CTRL_RX, b, false) < 0)
			break;
		/* A buffer too short for the message is a driver bug, not a
		 * reason to truncate (stock QEMU's known weakness). */
		if (in_len(b) < len) {
			fail(dev, -EMSGSIZE);
			break;
		}
		r = copy_in(dev, b, dev->bounce, len);
		if (r < 0) {
			fail(dev, r);
			break;
		}
		dev->t->ops->push(dev->t, VSDEV_VQ_CTRL_RX, b, (uint32_t)len);
		pushed = true;
		ctrl_delete(dev, 0);
		dev->stats.ctrl_sent++;
		p = find_port(dev, m.id);
		if (p && m.event == VSDEV_PORT_ADD)
			p->announced = true;
		if (m.event == VSDEV_PORT_REMOVE)
			dev->gone[m.id] = false;
	}
	if (pushed)
		dev->t->ops->notify(dev->t, VSDEV_VQ_CTRL_RX);
}

/* ---- control messages, guest -> host --------------------------------- */

static bool can_write(const struct vsdev *dev, const struct port *p)
{
	return !dev->broken && dev->driver_ok && p->host_connected &&
	       (p->guest_connected || !is_multiport(dev));
}

static void set_guest_connected(struct vsdev *dev, struct port *p, bool on)
{
	if (p->guest_connected == on)
		return;
	p->guest_connected = on;
	if (p->ops && p->ops->guest_open)
		p->ops->guest_open(p->opaque, on);
	if (on && can_write(dev, p) && p->ops && p->ops->writable)
		p->ops->writable(p->opaque);
}

static void port_ready(struct vsdev *dev, struct port *p)
{
	p->guest_ready = true;
	p->announced = true;
	if (p->console)
		ctrl_queue(dev, p->id, VSDEV_CONSOLE_PORT, 1);
	if (p->has_name)
		ctrl_queue(dev, p->id, VSDEV_PORT_NAME, 1);
	if (p->host_connected)
		ctrl_queue(dev, p->id, VSDEV_PORT_OPEN, 1);
}

/*
 * A driver that restores after a reset (Linux freeze/restore) sends no
 * DEVICE_READY, only PORT_READY for the ports it remembers.  Tell it what
 * changed meanwhile: removals first (an id may have been re-used), then
 * the ports it has not been told about.
 */
static void restore_ready(struct vsdev *dev)
{
	dev->device_ready = true;
	for (uint32_t i = 0; i < dev->max_ports; i++)
		if (dev->gone[i])
			ctrl_queue(dev, i, VSDEV_PORT_REMOVE, 1);
	for (uint32_t i = 0; i < dev->max_ports; i++)
		if (dev->ports[i] && !dev->ports[i]->announced)
			ctrl_queue(dev, i, VSDEV_PORT_ADD, 1);
}

/* A fresh driver: it knows no port yet. */
static void device_ready(struct vsdev *dev)
{
	dev->device_ready = true;
	for (uint32_t i = 0; i < dev->max_ports; i++) {
		dev->gone[i] = false;
		if (dev->ports[i]) {
			dev->ports[i]->announced = false;
			ctrl_queue(dev, i, VSDEV_PORT_ADD, 1);
		}
	}
}

static void handle_ctrl_msg(struct vsdev *dev, uint32_t id, uint16_t event,
			    uint16_t value)
{
	struct port *p = find_port(dev, id);

	if (event == VSDEV_DEVICE_READY) {
		if (value && !dev->device_ready)
			device_ready(dev);	/* else failure/repeat: no-op */
		return;
	}
	if (!p || (event != VSDEV_PORT_READY && event != VSDEV_PORT_OPEN)) {
		dev->stats.bad_ctrl++;
		return;
	}
	if (event == VSDEV_PORT_READY) {
		if (value && !dev->device_ready)
			restore_ready(dev);
		if (value)
			port_ready(dev, p);
		else
			p->guest_ready = false;
		return;
	}
	set_guest_connected(dev, p, value != 0);
}

/* Handle up to *budget control chains from the guest. */
static void ctrl_tx(struct vsdev *dev, int *budget)
{
	struct vsdev_buf *b = &dev->scratch;
	bool pushed = false;
	uint8_t hdr[VSDEV_CTRL_HDR];

	while (*budget > 0) {
		if (pop_checked(dev, VSDEV_VQ_CTRL_TX, b, true) < 0) {
			if (!dev->broken)
				dev->ctrl_tx_pending = false;
			break;
		}
		(*budget)--;
		/* Only the header is read: the guest picks the length. */
		if (out_len(b) < VSDEV_CTRL_HDR) {
			dev->stats.bad_ctrl++;
		} else if (copy_out(dev, b, 0, hdr, sizeof(hdr)) < 0) {
			fail(dev, -EFAULT);
			break;
		} else {
			handle_ctrl_msg(dev, get_le32(hdr),
					(uint16_t)(hdr[4] | hdr[5] << 8),
					(uint16_t)(hdr[6] | hdr[7] << 8));
		}
		dev->t->ops->push(dev->t, VSDEV_VQ_CTRL_TX, b, 0);
		pushed = true;
	}
	if (pushed && !dev->broken)
		dev->t->ops->notify(dev->t, VSDEV_VQ_CTRL_TX);
}

/* ---- data, guest -> host --------------------------------------------- */

static void rx_drop_all(struct vsdev *dev, struct port *p);
static void held_flush_all(struct vsdev *dev);

static void runq_add(struct vsdev *dev, struct port *p)
{
	if (p->queued)
		return;
	p->queued = true;
	dev->runq[(dev->run_head + dev->run_len++) % dev->max_ports] = p->id;
}

/* Completes the held chain; tx_notify() tells the guest (once per batch). */
static void tx_complete(struct vsdev *dev, struct port *p)
{
	dev->t->ops->push(dev->t, vsdev_tx_vq(p->id), &p->tx_buf, 0);
	p->tx_unnotified = true;
	p->tx_held = false;
	p->tx_off = 0;
}

/*
 * One interrupt per batch of completed chains, not per chain (as stock
 * QEMU's flush): the guest reclaims them all in one callback anyway.
 */
static void tx_notify(struct vsdev *dev, struct port *p)
{
	if (!p->tx_unnotified || dev->broken)
		return;
	p->tx_unnotified = false;
	dev->t->ops->notify(dev->t, vsdev_tx_vq(p->id));
}

/*
 * Feed the held chain to the backend from tx_off on.  Returns 1 when the
 * chain is done (completed), 0 when the port got throttled.
 */
static int tx_flush_held(struct vsdev *dev, struct port *p)
{
	uint64_t total = out_len(&p->tx_buf);

	while (p->tx_off < total) {
		size_t n = total - p->tx_off < BOUNCE_SIZE ?
				   total - p->tx_off : BOUNCE_SIZE;
		ssize_t took;
		int r = copy_out(dev, &p->tx_buf, p->tx_off, dev->bounce, n);

		if (r < 0) {
			fail(dev, r);
			return 0;
		}
		took = p->ops->have_data(p->opaque, dev->bounce, n);
		if (took < 0 || (p->console && (size_t)took < n)) {
			dev->stats.tx_dropped += total - p->tx_off -
						 (took > 0 ? (size_t)took : 0);
			break;
		}
		if ((size_t)took > n)
			took = (ssize_t)n;
		p->tx_off += (uint32_t)took;
		if ((size_t)took < n) {
			p->throttled = true;
			return 0;
		}
	}
	tx_complete(dev, p);
	return 1;
}

/* Serve one chain of port p.  Returns 1 if more may follow, else 0. */
static int tx_step(struct vsdev *dev, struct port *p)
{
	if (p->throttled || dev->broken)
		return 0;
	if (!p->tx_held) {
		if (pop_checked(dev, vsdev_tx_vq(p->id), &p->tx_buf, true) < 0)
			return 0;
		p->tx_held = true;
		p->tx_off = 0;
	}
	if (!p->host_connected || !p->ops || !p->ops->have_data) {
		dev->stats.tx_dropped += out_len(&p->tx_buf);
		tx_complete(dev, p);
		return 1;
	}
	return tx_flush_held(dev, p);
}

/* Complete everything the guest queued on a tx queue, dropping the data. */
static void tx_discard(struct vsdev *dev, struct port *p, unsigned int vq)
{
	struct vsdev_buf *b = &dev->scratch;

	bool pushed = false;

	if (p && p->tx_held) {
		dev->stats.tx_dropped += out_len(&p->tx_buf) - p->tx_off;
		tx_complete(dev, p);
	}
	if (p) {
		p->throttled = false;
		tx_notify(dev, p);
	}
	for (int n = 0; n < VSDEV_BUDGET; n++) {
		if (pop_checked(dev, vq, b, true) < 0)
			break;
		dev->stats.tx_dropped += out_len(b);
		dev->t->ops->push(dev->t, vq, b, 0);
		pushed = true;
	}
	if (pushed && !dev->broken)
		dev->t->ops->notify(dev->t, vq);
}

int vsdev_service(struct vsdev *dev)
{
	int budget = VSDEV_BUDGET;

	if (dev->broken)
		return -EIO;
	held_flush_all(dev);
	if (dev->ctrl_tx_pending)
		ctrl_tx(dev, &budget);
	while (budget > 0 && dev->run_len && !dev->broken) {
		uint32_t id = dev->runq[dev->run_head];
		struct port *p = dev->ports[id];

		dev->run_head = (dev->run_head + 1) % dev->max_ports;
		dev->run_len--;
		if (!p)
			continue;
		p->queued = false;
		budget--;
		if (tx_step(dev, p))
			runq_add(dev, p);	/* back of the line: fairness */
		else
			tx_notify(dev, p);	/* idle or throttled */
	}
	/* Budget spent: the ports still queued report what they completed. */
	for (uint32_t i = 0; i < dev->run_len; i++) {
		struct port *p = dev->ports[dev->runq[(dev->run_head + i) %
						      dev->max_ports]];

		if (p)
			tx_notify(dev, p);
	}
	ctrl_flush(dev);
	if (dev->broken)
		return -EIO;
	return dev->run_len || dev->ctrl_tx_pending ? 1 : 0;
}

/* ---- data, host -> guest --------------------------------------------- */

static void rx_shift(struct port *p)
{
	for (uint32_t i = 1; i < p->rx_count; i++)
		p->rx_buf[i - 1] = p->rx_buf[i];
	p->rx_count--;
}

static uint64_t rx_room(const struct port *p)
{
	uint64_t room = 0;

	for (uint32_t i = 0; i < p->rx_count; i++)
		room += in_len(&p->rx_buf[i]);
	return room;
}

/*
 * Copy up to len bytes into the port's receive buffers, popping more as
 * needed, and complete each buffer used.  Returns the bytes placed; the
 * caller notifies.
 */
static size_t rx_fill(struct vsdev *dev, struct port *p, const uint8_t *src,
		      size_t len)
{
	unsigned int vq = vsdev_rx_vq(p->id);
	size_t done = 0;

	while (done < len) {
		struct vsdev_buf *b = &p->rx_buf[0];
		uint64_t cap;
		size_t n;
		int r;

		if (!p->rx_count) {
			if (pop_checked(dev, vq, b, false) < 0)
				break;
			p->rx_count = 1;
		}
		cap = in_len(b);
		n = len - done < cap ? len - done : (size_t)cap;
		r = copy_in(dev, b, src + done, n);
		if (r < 0) {
			fail(dev, r);
			break;
		}
		dev->t->ops->push(dev->t, vq, b, (uint32_t)n);
		rx_shift(p);
		done += n;
	}
	return done;
}

/* Held bytes need the guest's end open, not the host's (it let go). */
static bool can_deliver_held(const struct vsdev *dev, const struct port *p)
{
	return !dev->broken && dev->driver_ok &&
	       (p->guest_connected || !is_multiport(dev));
}

static void held_drop(struct vsdev *dev, struct port *p)
{
	if (p->held_len)
		dev->held_ports--;
	free(p->held);
	p->held = NULL;
	p->held_off = 0;
	p->held_len = 0;
	p->held_cap = 0;
}

/*
 * Deliver what the guest has room for of the port's held bytes.  Returns
 * true when none are left.
 */
static bool held_flush(struct vsdev *dev, struct port *p)
{
	size_t n;

	if (!p->held_len)
		return true;
	if (!can_deliver_held(dev, p))
		return false;
	n = rx_fill(dev, p, p->held + p->held_off, p->held_len);
	if (n)
		dev->t->ops->notify(dev->t, vsdev_rx_vq(p->id));
	p->held_off += (uint32_t)n;
	p->held_len -= (uint32_t)n;
	if (p->held_len)
		return false;
	held_drop(dev, p);
	return true;
}

/*
 * From the service path: a backend whose bytes were refused while held
 * ones waited hears writable() once they are all out.
 */
static void held_flush_all(struct vsdev *dev)
{
	for (uint32_t i = 0; dev->held_ports && i < dev->max_ports; i++) {
		struct port *p = dev->ports[i];

		if (p && p->held_len && held_flush(dev, p) &&
		    can_write(dev, p) && p->ops && p->ops->writable)
			p->ops->writable(p->opaque);
	}
}

ssize_t vsdev_port_hold(struct vsdev *dev, uint32_t id, const void *buf,
			size_t len)
{
	struct port *p = find_port(dev, id);
	uint8_t *nb;
	size_t n;

	if (!p)
		return -ENOENT;
	n = VSDEV_HELD_MAX - p->held_len;
	if (len < n)
		n = len;
	if (!n)
		return 0;
	if (p->held_off) {	/* keep the bytes at the front */
		memmove(p->held, p->held + p->held_off, p->held_len);
		p->held_off = 0;
	}
	if (p->held_len + n > p->held_cap) {
		/* Doubling: a cut feeds us 4 KiB at a time while the VM is
		 * stopped, and copying grows the migration downtime. */
		size_t cap = p->held_cap ? 2 * (size_t)p->held_cap : 4096;

		while (cap < p->held_len + n)
			cap *= 2;
		if (cap > VSDEV_HELD_MAX)
			cap = VSDEV_HELD_MAX;
		nb = realloc(p->held, cap);
		if (!nb)
			return -ENOMEM;
		p->held = nb;
		p->held_cap = (uint32_t)cap;
	}
	memcpy(p->held + p->held_len, buf, n);
	if (!p->held_len)
		dev->held_ports++;
	p->held_len += (uint32_t)n;
	return (ssize_t)n;
}

ssize_t vsdev_port_write(struct vsdev *dev, uint32_t id, const void *buf,
			 size_t len)
{
	struct port *p = find_port(dev, id);
	size_t done;

	if (!p)
		return -ENOENT;
	if (!held_flush(dev, p) || !can_write(dev, p))
		return 0;
	done = rx_fill(dev, p, buf, len);
	if (done)
		dev->t->ops->notify(dev->t, vsdev_rx_vq(id));
	return (ssize_t)done;
}

size_t vsdev_port_write_room(struct vsdev *dev, uint32_t id)
{
	struct port *p = find_port(dev, id);
	uint64_t room;

	if (!p || !held_flush(dev, p) || !can_write(dev, p))
		return 0;
	while (p->rx_count < VSDEV_RX_STASH && rx_room(p) < ROOM_TARGET) {
		if (pop_checked(dev, vsdev_rx_vq(id), &p->rx_buf[p->rx_count],
				false) < 0)
			break;
		p->rx_count++;
	}
	room = dev->broken ? 0 : rx_room(p);
	return room > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)room;
}

/* ---- queue kicks ----------------------------------------------------- */

static unsigned int nr_queues(const struct vsdev *dev)
{
	return is_multiport(dev) ? 2 * (dev->max_ports + 1) : 2;
}

static uint32_t vq_port(unsigned int vq)
{
	return vq < 2 ? 0 : (vq - 4) / 2 + 1;
}

int vsdev_handle_output(struct vsdev *dev, unsigned int vq)
{
	struct port *p;

	if (dev->broken)
		return -EIO;
	if (vq >= nr_queues(dev)) {
		dev->stats.bad_vq++;
		return -EINVAL;
	}
	if (vq == VSDEV_VQ_CTRL_RX) {
		ctrl_flush(dev);
	} else if (vq == VSDEV_VQ_CTRL_TX) {
		dev->ctrl_tx_pending = true;
	} else {
		p = find_port(dev, vq_port(vq));
		if (vq % 2 == 0 && p && can_write(dev, p) && p->ops &&
		    p->ops->writable)
			p->ops->writable(p->opaque);
		else if (vq % 2 == 1 && p)
			runq_add(dev, p);
		else if (vq % 2 == 1)
			tx_discard(dev, NULL, vq);	/* no port: drop */
	}
	return vsdev_service(dev);
}

int vsdev_queue_reset(struct vsdev *dev, unsigned int vq)
{
	struct port *p;

	if (vq >= 2 * (dev->max_ports + 1))
		return -EINVAL;
	if (vq == VSDEV_VQ_CTRL_TX)
		dev->ctrl_tx_pending = false;
	if (vq == VSDEV_VQ_CTRL_RX || vq == VSDEV_VQ_CTRL_TX)
		return 0;	/* control chains are never held */
	p = find_port(dev, vq_port(vq));
	if (!p)
		return 0;
	if (vq % 2 == 0) {
		rx_drop_all(dev, p);
		return 0;
	}
	if (p->tx_held)
		dev->t->ops->drop(dev->t, vq, &p->tx_buf);
	p->tx_held = false;
	p->tx_unnotified = false;
	p->tx_off = 0;
	p->throttled = false;
	return 0;
}

/* ---- ports ----------------------------------------------------------- */

static int pick_id(const struct vsdev *dev, const struct vsdev_port_config *pc)
{
	if (pc->id != VSDEV_ID_AUTO) {
		if (pc->id >= dev->max_ports || (pc->id == 0 && !pc->console))
			return -EINVAL;
		return dev->ports[pc->id] ? -EEXIST : (int)pc->id;
	}
	/* Port 0 is kept for a console, for guests without MULTIPORT. */
	if (pc->console && !dev->ports[0])
		return 0;
	for (uint32_t i = 1; i < dev->max_ports; i++)
		if (!dev->ports[i])
			return (int)i;
	return -ENOSPC;
}

static bool name_taken(const struct vsdev *dev, const char *name)
{
	for (uint32_t i = 0; i < dev->max_ports; i++) {
		const struct port *p = dev->ports[i];

		if (p && p->has_name && strcmp(p->name, name) == 0)
			return true;
	}
	return false;
}

int vsdev_port_add(struct vsdev *dev, const struct vsdev_port_config *pc)
{
	struct port *p;
	int id;

	if (pc->name && strlen(pc->name) > VSDEV_NAME_MAX)
		return -EINVAL;
	if (pc->name && name_taken(dev, pc->name))
		return -EEXIST;
	id = pick_id(dev, pc);
	if (id < 0)
		return id;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->id = (uint32_t)id;
	p->console = pc->console;
	p->ops = pc->ops;
	p->opaque = pc->opaque;
	if (pc->name) {
		p->has_name = true;
		strcpy(p->name, pc->name);
	}
	dev->ports[id] = p;
	if (!is_multiport(dev) && id == 0 && dev->driver_ok)
		set_guest_connected(dev, p, true);
	if (dev->device_ready) {
		ctrl_queue(dev, p->id, VSDEV_PORT_ADD, 1);
		ctrl_flush(dev);
	}
	return id;
}

static void rx_drop_all(struct vsdev *dev, struct port *p)
{
	for (uint32_t i = 0; i < p->rx_count; i++)
		dev->t->ops->drop(dev->t, vsdev_rx_vq(p->id), &p->rx_buf[i]);
	p->rx_count = 0;
}

int vsdev_port_remove(struct vsdev *dev, uint32_t id)
{
	struct port *p = find_port(dev, id);
	bool add_pending;

	if (!p)
		return -ENOENT;
	if (!dev->broken) {
		tx_discard(dev, p, vsdev_tx_vq(id));
	} else if (p->tx_held) {
		dev->t->ops->drop(dev->t, vsdev_tx_vq(id), &p->tx_buf);
	}
	rx_drop_all(dev, p);
	held_drop(dev, p);
	add_pending = ctrl_purge(dev, id);
	if (p->announced && !add_pending) {
		dev->gone[id] = true;
		if (dev->device_ready)
			ctrl_queue(dev, id, VSDEV_PORT_REMOVE, 1);
	}
	dev->ports[id] = NULL;	/* a stale run queue entry is skipped */
	free(p);
	ctrl_flush(dev);
	return 0;
}

int vsdev_port_set_host_connected(struct vsdev *dev, uint32_t id, bool on)
{
	struct port *p = find_port(dev, id);

	if (!p)
		return -ENOENT;
	if (p->host_connected == on)
		return 0;
	p->host_connected = on;
	if (p->guest_ready && is_multiport(dev)) {
		ctrl_queue(dev, id, VSDEV_PORT_OPEN, on);
		ctrl_flush(dev);
	}
	if (!on) {
		/* Whatever the guest sent to the old connection is dropped. */
		if (!dev->broken)
			tx_discard(dev, p, vsdev_tx_vq(id));
		return 0;
	}
	runq_add(dev, p);
	if (can_write(dev, p) && p->ops && p->ops->writable)
		p->ops->writable(p->opaque);
	(void)vsdev_service(dev);
	return 0;
}

int vsdev_port_unthrottle(struct vsdev *dev, uint32_t id)
{
	struct port *p = find_port(dev, id);

	if (!p)
		return -ENOENT;
	if (!p->throttled)
		return 0;
	p->throttled = false;
	runq_add(dev, p);
	return vsdev_service(dev) < 0 ? -EIO : 0;
}

int vsdev_port_info(const struct vsdev *dev, uint32_t id,
		    struct vsdev_port_info *pi)
{
	const struct port *p = find_port(dev, id);

	if (!p)
		return -ENOENT;
	*pi = (struct vsdev_port_info){
		.guest_ready = p->guest_ready,
		.guest_connected = p->guest_connected,
		.host_connected = p->host_connected,
		.throttled = p->throttled,
		.console = p->console,
		.held = p->held_len,
	};
	return 0;
}

/* ---- device ---------------------------------------------------------- */

int vsdev_new(const struct vsdev_config *cfg, struct vsdev_transport *t,
	      struct vsdev **out)
{
	struct vsdev *dev;

	if (!cfg || !t || !t->ops || cfg->max_ports < 1 ||
	    cfg->max_ports > VSDEV_MAX_PORTS)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->t = t;
	dev->max_ports = cfg->max_ports;
	dev->emerg_write = cfg->emerg_write;
	/* ADD, REMOVE, CONSOLE, NAME, two OPENs per port: ctrl_queue's bound */
	dev->ctrl_cap = 8 * (cfg->max_ports + 1);
	dev->ports = calloc(cfg->max_ports, sizeof(*dev->ports));
	dev->gone = calloc(cfg->max_ports, sizeof(*dev->gone));
	dev->ctrlq = calloc(dev->ctrl_cap, sizeof(*dev->ctrlq));
	dev->runq = calloc(cfg->max_ports, sizeof(*dev->runq));
	if (!dev->ports || !dev->gone || !dev->ctrlq || !dev->runq) {
		vsdev_free(dev);
		return -ENOMEM;
	}
	*out = dev;
	return 0;
}

struct vsdev *vsdev_free(struct vsdev *dev)
{
	if (!dev)
		return NULL;
	for (uint32_t i = 0; dev->ports && i < dev->max_ports; i++) {
		if (dev->ports[i])
			free(dev->ports[i]->held);
		free(dev->ports[i]);
	}
	free(dev->ports);
	free(dev->gone);
	free(dev->ctrlq);
	free(dev->runq);
	free(dev);
	return NULL;
}

uint64_t vsdev_features(const struct vsdev *dev)
{
	uint64_t f = 0;

	if (dev->max_ports > 1)
		f |= 1ull << VSDEV_F_MULTIPORT;
	if (dev->emerg_write)
		f |= 1ull << VSDEV_F_EMERG_WRITE;
	return f;
}

void vsdev_set_features(struct vsdev *dev, uint64_t acked)
{
	dev->acked = acked & vsdev_features(dev);
}

/* Forget every popped chain and all guest-side state. */
static void forget_guest(struct vsdev *dev)
{
	for (uint32_t i = 0; i < dev->max_ports; i++) {
		struct port *p = dev->ports[i];

		if (!p)
			continue;
		if (p->tx_held)
			dev->t->ops->drop(dev->t, vsdev_tx_vq(i), &p->tx_buf);
		p->tx_held = false;
		p->tx_unnotified = false;
		p->tx_off = 0;
		rx_drop_all(dev, p);
		p->throttled = false;
		p->queued = false;
		p->guest_ready = false;
		set_guest_connected(dev, p, false);
	}
	dev->run_len = 0;
	dev->ctrl_len = 0;
	dev->ctrl_tx_pending = false;
	dev->device_ready = false;
}

void vsdev_set_driver_ok(struct vsdev *dev, bool ok)
{
	struct port *p0 = dev->ports[0];

	if (dev->driver_ok == ok)
		return;
	dev->driver_ok = ok;
	if (!ok) {
		forget_guest(dev);
		return;
	}
	/* Without MULTIPORT the guest cannot say PORT_OPEN: port 0 is open. */
	if (!is_multiport(dev) && p0)
		set_guest_connected(dev, p0, true);
}

void vsdev_reset(struct vsdev *dev)
{
	dev->driver_ok = false;
	forget_guest(dev);
	dev->acked = 0;
	dev->broken = 0;
}

int vsdev_broken(const struct vsdev *dev)
{
	return dev->broken;
}

void vsdev_get_stats(const struct vsdev *dev, struct vsdev_stats *st)
{
	*st = dev->stats;
	st->ctrl_pending = dev->ctrl_len;
}

size_t vsdev_get_config(const struct vsdev *dev, uint8_t *cfg, size_t len)
{
	uint8_t c[12] = { 0 };	/* cols, rows: F_SIZE is never offered */
	size_t size = dev->emerg_write ? 12 : 8;

	put_le32(c + 4, dev->max_ports);
	memcpy(cfg, c, len < size ? len : size);
	return size;
}

void vsdev_set_config(struct vsdev *dev, const uint8_t *cfg, size_t len)
{
	uint8_t ch;

	if (!dev->emerg_write || len < 12 || !get_le32(cfg + 8))
		return;
	ch = cfg[8];
	/* The first console whose host end listens gets the byte. */
	for (uint32_t i = 0; i < dev->max_ports; i++) {
		struct port *p = dev->ports[i];

		if (p && p->console && p->host_connected && p->ops &&
		    p->ops->have_data) {
			(void)p->ops->have_data(p->opaque, &ch, 1);
			return;
		}
	}
}

/* ---- migration ------------------------------------------------------- */

struct vsdev_state *vsdev_state_alloc(uint32_t nports, uint32_t nctrl)
{
	struct vsdev_state *st;

	if (nports > VSDEV_MAX_PORTS || nctrl > 8 * (VSDEV_MAX_PORTS + 1))
		return NULL;
	st = calloc(1, sizeof(*st) + nports * sizeof(*st->ports) +
			       nctrl * sizeof(*st->ctrl));
	if (!st)
		return NULL;
	st->version = VSDEV_STATE_VERSION;
	st->nports = nports;
	st->nctrl = nctrl;
	st->ports = (struct vsdev_port_state *)(st + 1);
	st->ctrl = (struct vsdev_ctrl_msg *)(st->ports + nports);
	return st;
}

uint8_t *vsdev_state_held_alloc(struct vsdev_state *st, uint32_t i,
				uint32_t len)
{
	struct vsdev_port_state *ps;

	if (i >= st->nports || len > VSDEV_HELD_MAX)
		return NULL;
	ps = &st->ports[i];
	free(ps->held);
	ps->held = len ? malloc(len) : NULL;
	ps->held_len = ps->held ? len : 0;
	return ps->held;
}

struct vsdev_state *vsdev_state_free(struct vsdev_state *st)
{
	if (!st)
		return NULL;
	for (uint32_t i = 0; i < st->nports; i++)
		free(st->ports[i].held);
	free(st);
	return NULL;
}

struct vsdev_state *vsdev_state_get(const struct vsdev *dev)
{
	uint32_t n = 0;
	struct vsdev_state *st;

	for (uint32_t i = 0; i < dev->max_ports; i++)
		n += dev->ports[i] != NULL;
	st = vsdev_state_alloc(n, dev->ctrl_len);
	if (!st)
		return NULL;
	st->max_ports = dev->max_ports;
	st->features = dev->acked;
	st->driver_ok = dev->driver_ok;
	st->device_ready = dev->device_ready;
	n = 0;
	for (uint32_t i = 0; i < dev->max_ports; i++) {
		const struct port *p = dev->ports[i];
		struct vsdev_port_state *ps;

		if (!p)
			continue;
		ps = &st->ports[n++];
		ps->id = i;
		ps->guest_ready = p->guest_ready;
		ps->guest_connected = p->guest_connected;
		ps->host_connected = p->host_connected;
		ps->announced = p->announced;
		ps->throttled = p->throttled;
		ps->tx_held = p->tx_held;
		ps->tx_off = p->tx_off;
		if (p->tx_held)
			ps->tx_buf = p->tx_buf;
		ps->rx_count = p->rx_count;
		memcpy(ps->rx_buf, p->rx_buf, p->rx_count * sizeof(*p->rx_buf));
		if (p->held_len &&
		    !vsdev_state_held_alloc(st, n - 1, p->held_len))
			return vsdev_state_free(st);
		if (p->held_len)
			memcpy(ps->held, p->held + p->held_off, p->held_len);
	}
	for (uint32_t i = 0; i < dev->ctrl_len; i++)
		st->ctrl[i] = dev->ctrlq[(dev->ctrl_head + i) % dev->ctrl_cap];
	return st;
}

static bool buf_ok(const struct vsdev_buf *b, bool want_out)
{
	if (b->nout + b->nin > VSDEV_MAX_SEGS)
		return false;
	return want_out ? b->nin == 0 : (b->nout == 0 && in_len(b) > 0);
}

static bool flag_ok(uint8_t v)
{
	return v <= 1;
}

/* Check a port's saved state against the wire rules and our port table. */
static int port_state_check(const struct vsdev *dev,
			    const struct vsdev_port_state *ps)
{
	if (ps->id >= dev->max_ports || !dev->ports[ps->id])
		return -EINVAL;
	if (!flag_ok(ps->guest_ready) || !flag_ok(ps->guest_connected) ||
	    !flag_ok(ps->host_connected) || !flag_ok(ps->announced) ||
	    !flag_ok(ps->throttled) || !flag_ok(ps->tx_held))
		return -EPROTO;
	if (ps->tx_held && (!buf_ok(&ps->tx_buf, true) ||
			    ps->tx_off > out_len(&ps->tx_buf)))
		return -EPROTO;
	if (!ps->tx_held && (ps->tx_off || ps->throttled))
		return -EPROTO;
	if (ps->rx_count > VSDEV_RX_STASH)
		return -EPROTO;
	for (uint32_t i = 0; i < ps->rx_count; i++)
		if (!buf_ok(&ps->rx_buf[i], false))
			return -EPROTO;
	if (ps->held_len > VSDEV_HELD_MAX || (ps->held_len && !ps->held))
		return -EPROTO;
	return 0;
}

static int state_check(const struct vsdev *dev, const struct vsdev_state *st)
{
	uint32_t have = 0;
	int r;

	if (st->version != VSDEV_STATE_VERSION)
		return -EOPNOTSUPP;
	if (st->max_ports != dev->max_ports)
		return -EINVAL;
	for (uint32_t i = 0; i < dev->max_ports; i++)
		have += dev->ports[i] != NULL;
	if (st->nports != have)
		return -EINVAL;
	if (st->features & ~vsdev_features(dev) || !flag_ok(st->driver_ok) ||
	    !flag_ok(st->device_ready) || st->nctrl > dev->ctrl_cap)
		return -EPROTO;
	for (uint32_t i = 0; i < st->nports; i++) {
		r = port_state_check(dev, &st->ports[i]);
		if (r < 0)
			return r;
		for (uint32_t j = 0; j < i; j++)
			if (st->ports[j].id == st->ports[i].id)
				return -EINVAL;
	}
	for (uint32_t i = 0; i < st->nctrl; i++)
		if (st->ctrl[i].id >= dev->max_ports ||
		    st->ctrl[i].event > VSDEV_PORT_NAME)
			return -EPROTO;
	return 0;
}

/* Copies of the state's held bytes, made before anything changes. */
static uint8_t **held_copies(const struct vsdev_state *st)
{
	uint8_t **c = calloc(st->nports ? st->nports : 1, sizeof(*c));

	for (uint32_t i = 0; c && i < st->nports; i++) {
		const struct vsdev_port_state *ps = &st->ports[i];

		if (!ps->held_len)
			continue;
		c[i] = malloc(ps->held_len);
		if (!c[i]) {
			while (i--)
				free(c[i]);
			free(c);
			return NULL;
		}
		memcpy(c[i], ps->held, ps->held_len);
	}
	return c;
}

int vsdev_state_set(struct vsdev *dev, const struct vsdev_state *st)
{
	int r = state_check(dev, st);
	uint8_t **held;

	if (r < 0)
		return r;
	held = held_copies(st);
	if (!held)
		return -ENOMEM;
	vsdev_reset(dev);
	dev->acked = st->features;
	dev->driver_ok = st->driver_ok;
	dev->device_ready = st->device_ready;
	for (uint32_t i = 0; i < st->nctrl; i++)
		dev->ctrlq[i] = st->ctrl[i];
	dev->ctrl_head = 0;
	dev->ctrl_len = st->nctrl;
	for (uint32_t i = 0; i < st->nports; i++) {
		const struct vsdev_port_state *ps = &st->ports[i];
		struct port *p = dev->ports[ps->id];

		p->guest_ready = ps->guest_ready;
		p->announced = ps->announced;
		p->tx_held = ps->tx_held;
		p->tx_off = ps->tx_off;
		if (ps->tx_held)
			p->tx_buf = ps->tx_buf;
		p->rx_count = ps->rx_count;
		memcpy(p->rx_buf, ps->rx_buf, ps->rx_count * sizeof(*p->rx_buf));
		/* The source's held bytes replace ours: they come first. */
		held_drop(dev, p);
		if (ps->held_len) {
			p->held = held[i];
			p->held_len = p->held_cap = ps->held_len;
			dev->held_ports++;
		}
		/* Throttle is not carried: the destination retries at once. */
		set_guest_connected(dev, p, ps->guest_connected);
		/* Our backend's state wins; tell the guest if it differs. */
		if (ps->host_connected != p->host_connected && p->guest_ready &&
		    is_multiport(dev))
			ctrl_queue(dev, p->id, VSDEV_PORT_OPEN,
				   p->host_connected);
		runq_add(dev, p);
	}
	free(held);
	return 0;
}
