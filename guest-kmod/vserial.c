// SPDX-License-Identifier: GPL-2.0-only
/*
 * vserial: a guest driver for the virtio-serial device (virtio console,
 * device id 3, with the MULTIPORT feature).
 *
 * It is a drop-in for the in-tree virtio_console driver: the same
 * /dev/vportNpM nodes, the same "virtio-ports" class with its "name"
 * attribute (so udev's /dev/virtio-ports/NAME links keep working), and the
 * same open/read/write/poll/SIGIO behaviour.  Deliberate differences:
 *  - F_SIZE is never negotiated, so RESIZE messages are ignored;
 *  - nothing busy-waits on the device: control messages that do not fit the
 *    control ring wait in a FIFO, console output that does not fit is left
 *    to hvc to retry;
 *  - every length the device reports is clamped to the buffer it names.
 *
 * Locking, outermost first:
 *   port->lock (mutex)      portdev, guest_connected, name, console state
 *   port->read_mutex        the contents of port->inbuf while copying out
 *   port->inbuf_lock (spin) inbuf, in_vq
 *   port->outvq_lock (spin) out_vq, tx buffers
 *   portdev->ports_lock     the port list
 *   portdev->c_ovq_lock     control tx ring and its backlog
 * The spinlocks are taken from virtqueue callbacks, so with irqs off.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/freezer.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "vserial_ctl.h"
#include "vserial_hvc.h"

/* One write() moves at most this much, as the stock driver does. */
#define VSP_MAX_WRITE		(32 * 1024)
#define VSP_RXBUF_SIZE		PAGE_SIZE
#define VSP_CLASS_NAME		"virtio-ports"
/* A device that stops taking control messages must not eat all memory. */
#define VSP_CTRL_BACKLOG_MAX	4096

/*
 * A receive or transmit buffer; the device sees only data[0..size).  The
 * data is a separate allocation so that a 4 KiB or 32 KiB buffer stays one
 * power-of-two slab object.
 */
struct vsp_buf {
	size_t size;		/* bytes allocated for data */
	size_t len;		/* rx: bytes the device filled (clamped) */
	size_t off;		/* rx: bytes already handed to the reader */
	char *data;
};

/* A host->guest control message, copied off the ring (see ctrl_collect). */
struct vsp_ctrl_in {
	struct list_head node;
	size_t len;
	char data[];
};

/* A guest->host control message, queued while the control ring is full. */
struct vsp_ctrl {
	struct list_head node;
	struct virtio_console_control msg;
};

struct vsp_dev {
	struct virtio_device *vdev;
	struct list_head node;		/* in vsp_devs */
	spinlock_t c_ivq_lock;		/* c_ivq: ctrl_work vs refills */
	struct virtqueue *c_ivq;
	struct virtqueue *c_ovq;
	struct virtqueue **in_vqs;
	struct virtqueue **out_vqs;

	spinlock_t ports_lock;		/* ports; taken in vq callbacks */
	struct list_head ports;
	spinlock_t orphan_lock;		/* out_vqs no port owns: see out_done */

	spinlock_t c_ovq_lock;		/* c_ovq, c_backlog, stopped */
	struct list_head c_backlog;	/* messages not yet on the ring */
	unsigned int c_backlog_len;
	bool stopped;			/* reset/frozen: send nothing */

	struct work_struct ctrl_work;
	struct list_head ctrl_inbox;	/* vsp_ctrl_in; only ctrl_work */
	u32 max_nr_ports;
	bool multiport;
	dev_t devt;			/* minor = port id */
};

struct vsp_port {
	struct kref kref;		/* one for the device, one per open */
	struct list_head node;		/* in portdev->ports */
	u32 id;

	struct mutex lock;		/* portdev, guest_connected, name */
	struct vsp_dev *portdev;	/* NULL once unplugged */
	bool guest_connected;
	char *name;

	struct mutex read_mutex;	/* inbuf contents while copied out */
	spinlock_t inbuf_lock;		/* inbuf, in_vq; irq context too */
	struct virtqueue *in_vq;	/* NULL while unplugged or frozen */
	struct vsp_buf *inbuf;		/* the buffer being read, if any */

	spinlock_t outvq_lock;		/* out_vq, tx_full; irq context too */
	struct virtqueue *out_vq;	/* NULL while unplugged or frozen */
	bool tx_full;			/* last add found no free slot */

	bool unplugged;			/* written under both spinlocks */
	bool host_connected;
	wait_queue_head_t waitq;	/* readers, writers and pollers */
	struct fasync_struct *async;

	struct cdev *cdev;
	struct device *dev;
	dev_t devt;

	/* Console (hvc) ports only. */
	bool is_console;
	u32 vtermno;
	struct hvc_struct *hvc;		/* under vsp_cons_lock */
	bool hvc_pinned;		/* holds a module ref; vsp_cons_lock */
	struct list_head cons_node;	/* in vsp_consoles */
};

/*
 * Module state.  The class and the lists are shared by every device: open()
 * finds a port by its dev_t and hvc calls back with a vterm number only.
 */
static struct class *vsp_class;
static DEFINE_SPINLOCK(vsp_devs_lock);
static LIST_HEAD(vsp_devs);
static DEFINE_SPINLOCK(vsp_cons_lock);
static LIST_HEAD(vsp_consoles);
static u32 vsp_next_vtermno;

/* ---------------------------------------------------------------- buffers */

static struct vsp_buf *vsp_buf_alloc(size_t size, gfp_t gfp)
{
	struct vsp_buf *buf = kmalloc(sizeof(*buf), gfp);

	if (!buf)
		return NULL;
	buf->data = kmalloc(size, gfp);
	if (!buf->data) {
		kfree(buf);
		return NULL;
	}
	buf->size = size;
	buf->len = 0;
	buf->off = 0;
	return buf;
}

static void vsp_buf_free(struct vsp_buf *buf)
{
	if (!buf)
		return;
	kfree(buf->data);
	kfree(buf);
}

/* Gives an empty receive buffer to the device.  Frees it on failure. */
static int vsp_add_inbuf(struct virtqueue *vq, struct vsp_buf *buf)
{
	struct scatterlist sg;
	int ret;

	sg_init_one(&sg, buf->data, buf->size);
	ret = virtqueue_add_inbuf(vq, &sg, 1, buf, GFP_ATOMIC);
	if (ret < 0)
		vsp_buf_free(buf);
	return ret;
}

/* Fills a receive queue; returns the number of buffers added. */
static unsigned int vsp_fill_rxq(struct virtqueue *vq, spinlock_t *lock)
{
	unsigned int n = 0;
	struct vsp_buf *buf;
	int ret;

	for (;;) {
		buf = vsp_buf_alloc(VSP_RXBUF_SIZE, GFP_KERNEL);
		if (!buf)
			break;
		spin_lock_irq(lock);
		ret = vsp_add_inbuf(vq, buf);
		spin_unlock_irq(lock);
		if (ret < 0)
			break;
		n++;
	}
	if (n)
		virtqueue_kick(vq);
	return n;
}

/*
 * Takes the next filled buffer off a receive queue.  The device's length is
 * not trusted: it is clamped to what the buffer can hold (CVE-2021-38160).
 */
static struct vsp_buf *vsp_get_inbuf(struct virtqueue *vq)
{
	struct vsp_buf *buf;
	unsigned int len;

	buf = virtqueue_get_buf(vq, &len);
	if (!buf)
		return NULL;
	if (unlikely(len > buf->size))
		dev_warn_ratelimited(&vq->vdev->dev,
				     "%s: device reported %u bytes for a %zu-byte buffer, clamped\n",
				     vq->name, len, buf->size);
	buf->len = vsp_used_len(len, buf->size);
	buf->off = 0;
	return buf;
}

/* Frees every buffer the device has handed back or never used. */
static void vsp_drain_vq(struct virtqueue *vq)
{
	struct vsp_buf *buf;
	unsigned int len;

	while ((buf = virtqueue_get_buf(vq, &len)))
		vsp_buf_free(buf);
	while ((buf = virtqueue_detach_unused_buf(vq)))
		vsp_buf_free(buf);
}

/* The same for the control transmit ring, which holds struct vsp_ctrl. */
static void vsp_drain_ctrl_vq(struct virtqueue *vq)
{
	unsigned int len;
	void *c;

	while ((c = virtqueue_get_buf(vq, &len)))
		kfree(c);
	while ((c = virtqueue_detach_unused_buf(vq)))
		kfree(c);
}

/* --------------------------------------------------------- control sends */

/* Moves backlog onto the control ring.  Caller holds c_ovq_lock. */
static void vsp_ctrl_flush_locked(struct vsp_dev *portdev)
{
	struct scatterlist sg;
	struct vsp_ctrl *c;
	unsigned int len;
	bool added = false;

	while ((c = virtqueue_get_buf(portdev->c_ovq, &len)))
		kfree(c);

	while (!list_empty(&portdev->c_backlog)) {
		c = list_first_entry(&portdev->c_backlog, struct vsp_ctrl, node);
		sg_init_one(&sg, &c->msg, sizeof(c->msg));
		if (virtqueue_add_outbuf(portdev->c_ovq, &sg, 1, c, GFP_ATOMIC))
			break;	/* ring full: the c_ovq callback retries */
		list_del_init(&c->node);
		portdev->c_backlog_len--;
		added = true;
	}
	if (added)
		virtqueue_kick(portdev->c_ovq);
}

/*
 * Queues one control message for the device.  Never waits for the device:
 * a full ring leaves the message in the backlog, in order.
 */
static void vsp_send_ctrl(struct vsp_dev *portdev, u32 id, u16 event,
			  u16 value)
{
	struct virtio_device *vdev = portdev->vdev;
	unsigned long flags;
	struct vsp_ctrl *c;

	if (!portdev->multiport)
		return;
	c = kmalloc(sizeof(*c), GFP_KERNEL);
	if (!c) {
		dev_err(&vdev->dev, "no memory for control event %u\n", event);
		return;
	}
	c->msg.id = cpu_to_virtio32(vdev, id);
	c->msg.event = cpu_to_virtio16(vdev, event);
	c->msg.value = cpu_to_virtio16(vdev, value);

	spin_lock_irqsave(&portdev->c_ovq_lock, flags);
	if (portdev->stopped ||
	    portdev->c_backlog_len >= VSP_CTRL_BACKLOG_MAX) {
		if (!portdev->stopped)
			dev_err_ratelimited(&vdev->dev,
					    "device takes no control messages: event %u dropped\n",
					    event);
		spin_unlock_irqrestore(&portdev->c_ovq_lock, flags);
		kfree(c);
		return;
	}
	list_add_tail(&c->node, &portdev->c_backlog);
	portdev->c_backlog_len++;
	vsp_ctrl_flush_locked(portdev);
	spin_unlock_irqrestore(&portdev->c_ovq_lock, flags);
}

static void vsp_ctrl_out_done(struct virtqueue *vq)
{
	struct vsp_dev *portdev = vq->vdev->priv;
	unsigned long flags;

	spin_lock_irqsave(&portdev->c_ovq_lock, flags);
	if (!portdev->stopped)
		vsp_ctrl_flush_locked(portdev);
	spin_unlock_irqrestore(&portdev->c_ovq_lock, flags);
}

/* -------------------------------------------------------------- port I/O */

static void vsp_port_release(struct kref *kref)
{
	struct vsp_port *port = container_of(kref, struct vsp_port, kref);

	kfree(port->name);
	kfree(port);
}

/* Frees transmit buffers the device is done with.  Holds outvq_lock. */
static void vsp_reclaim_tx_locked(struct vsp_port *port)
{
	struct vsp_buf *buf;
	unsigned int len;

	if (!port->out_vq)
		return;
	while ((buf = virtqueue_get_buf(port->out_vq, &len))) {
		vsp_buf_free(buf);
		port->tx_full = false;
	}
}

static void vsp_reclaim_tx(struct vsp_port *port)
{
	spin_lock_irq(&port->outvq_lock);
	vsp_reclaim_tx_locked(port);
	spin_unlock_irq(&port->outvq_lock);
}

/* Gives every received byte back to the device unread.  Holds inbuf_lock. */
static void vsp_discard_rx_locked(struct vsp_port *port)
{
	bool requeued = false;

	if (!port->in_vq)
		return;
	while (port->inbuf) {
		vsp_add_inbuf(port->in_vq, port->inbuf);
		requeued = true;
		port->inbuf = vsp_get_inbuf(port->in_vq);
	}
	if (requeued)
		virtqueue_kick(port->in_vq);
}

static bool vsp_has_data(struct vsp_port *port)
{
	unsigned long flags;
	bool ret;

	spin_lock_irqsave(&port->inbuf_lock, flags);
	ret = port->inbuf || port->unplugged;
	spin_unlock_irqrestore(&port->inbuf_lock, flags);
	return ret;
}

static bool vsp_read_would_block(struct vsp_port *port)
{
	return !vsp_has_data(port) && READ_ONCE(port->host_connected);
}

/*
 * A write blocks while the host is away or the ring has no free slot.  When
 * the ring looks full, callbacks are re-armed and the ring checked again, so
 * a buffer completed in between cannot be missed (no lost wake-up).
 */
static bool vsp_write_would_block(struct vsp_port *port)
{
	bool ret;

	spin_lock_irq(&port->outvq_lock);
	if (port->unplugged || !port->out_vq) {
		ret = !port->unplugged;
		goto out;
	}
	if (!READ_ONCE(port->host_connected)) {
		ret = true;
		goto out;
	}
	vsp_reclaim_tx_locked(port);
	if (port->out_vq->num_free == 0 && !virtqueue_enable_cb(port->out_vq))
		vsp_reclaim_tx_locked(port);
	ret = port->out_vq->num_free == 0;
	port->tx_full = ret;
out:
	spin_unlock_irq(&port->outvq_lock);
	return ret;
}

/* Finds the port that owns a data queue and takes a reference on it. */
static struct vsp_port *vsp_get_port_by_vq(struct virtqueue *vq)
{
	struct vsp_dev *portdev = vq->vdev->priv;
	struct vsp_port *found = NULL, *port;
	unsigned long flags;

	spin_lock_irqsave(&portdev->ports_lock, flags);
	list_for_each_entry(port, &portdev->ports, node) {
		if (port->in_vq == vq || port->out_vq == vq) {
			kref_get(&port->kref);
			found = port;
			break;
		}
	}
	spin_unlock_irqrestore(&portdev->ports_lock, flags);
	return found;
}

static void vsp_port_rx(struct vsp_port *port)
{
	unsigned long flags;

	spin_lock_irqsave(&port->inbuf_lock, flags);
	if (port->in_vq && !port->inbuf)
		port->inbuf = vsp_get_inbuf(port->in_vq);
	/* Host data only counts while the guest has the port open. */
	if (!port->is_console && !READ_ONCE(port->guest_connected))
		vsp_discard_rx_locked(port);
	spin_unlock_irqrestore(&port->inbuf_lock, flags);

	wake_up_interruptible(&port->waitq);
	if (READ_ONCE(port->guest_connected))
		kill_fasync(&port->async, SIGIO, POLL_IN);
	if (port->is_console && port->hvc && hvc_poll(port->hvc))
		hvc_kick();
}

static void vsp_in_done(struct virtqueue *vq)
{
	struct vsp_port *port = vsp_get_port_by_vq(vq);

	if (!port)
		return;
	vsp_port_rx(port);
	kref_put(&port->kref, vsp_port_release);
}

/*
 * A transmit queue with no port: its port was unplugged while the device
 * still held buffers on it.  They cannot be detached from a live queue (the
 * device may be using them), so they are freed here as it hands them back.
 */
static void vsp_reclaim_orphan(struct virtqueue *vq)
{
	struct vsp_dev *portdev = vq->vdev->priv;
	struct vsp_buf *buf;
	unsigned long flags;
	unsigned int len;

	spin_lock_irqsave(&portdev->orphan_lock, flags);
	while ((buf = virtqueue_get_buf(vq, &len)))
		vsp_buf_free(buf);
	spin_unlock_irqrestore(&portdev->orphan_lock, flags);
}

static void vsp_out_done(struct virtqueue *vq)
{
	struct vsp_port *port = vsp_get_port_by_vq(vq);
	unsigned long flags;

	if (!port) {
		vsp_reclaim_orphan(vq);
		return;
	}
	spin_lock_irqsave(&port->outvq_lock, flags);
	vsp_reclaim_tx_locked(port);
	spin_unlock_irqrestore(&port->outvq_lock, flags);
	wake_up_interruptible(&port->waitq);
	if (port->is_console)
		hvc_kick();
	kref_put(&port->kref, vsp_port_release);
}

/* Queues one transmit buffer; the buffer is owned by the ring on success. */
static int vsp_queue_tx(struct vsp_port *port, struct vsp_buf *buf)
{
	struct scatterlist sg;
	unsigned long flags;
	int ret;

	spin_lock_irqsave(&port->outvq_lock, flags);
	if (port->unplugged) {
		ret = -ENODEV;
		goto out;
	}
	if (!port->out_vq) {
		ret = -EAGAIN;
		goto out;
	}
	vsp_reclaim_tx_locked(port);
	sg_init_one(&sg, buf->data, buf->len);
	ret = virtqueue_add_outbuf(port->out_vq, &sg, 1, buf, GFP_ATOMIC);
	if (ret == -ENOSPC) {
		port->tx_full = true;
		ret = -EAGAIN;
		goto out;
	}
	if (ret == 0) {
		virtqueue_kick(port->out_vq);
		port->tx_full = port->out_vq->num_free == 0;
	}
out:
	spin_unlock_irqrestore(&port->outvq_lock, flags);
	return ret;
}

/* --------------------------------------------------------- file interface */

static struct vsp_port *vsp_find_port_by_devt(dev_t devt)
{
	struct vsp_port *found = NULL, *port;
	struct vsp_dev *portdev;
	unsigned long flags;

	spin_lock(&vsp_devs_lock);
	list_for_each_entry(portdev, &vsp_devs, node) {
		spin_lock_irqsave(&portdev->ports_lock, flags);
		list_for_each_entry(port, &portdev->ports, node) {
			if (port->devt == devt) {
				kref_get(&port->kref);
				found = port;
				break;
			}
		}
		spin_unlock_irqrestore(&portdev->ports_lock, flags);
		if (found)
			break;
	}
	spin_unlock(&vsp_devs_lock);
	return found;
}

static int vsp_open(struct inode *inode, struct file *filp)
{
	struct vsp_port *port;
	struct vsp_dev *portdev;
	int ret = 0;

	port = vsp_find_port_by_devt(inode->i_rdev);
	if (!port)
		return -ENXIO;

	mutex_lock(&port->lock);
	portdev = port->portdev;
	if (!portdev || port->is_console)
		ret = -ENXIO;
	else if (port->guest_connected)
		ret = -EBUSY;
	else
		WRITE_ONCE(port->guest_connected, true);
	mutex_unlock(&port->lock);
	if (ret) {
		kref_put(&port->kref, vsp_port_release);
		return ret;
	}

	filp->private_data = port;
	vsp_reclaim_tx(port);
	mutex_lock(&port->lock);
	if (port->portdev)
		vsp_send_ctrl(port->portdev, port->id,
			      VIRTIO_CONSOLE_PORT_OPEN, 1);
	mutex_unlock(&port->lock);
	return stream_open(inode, filp);
}

static int vsp_release(struct inode *inode, struct file *filp)
{
	struct vsp_port *port = filp->private_data;

	mutex_lock(&port->lock);
	WRITE_ONCE(port->guest_connected, false);
	if (port->portdev)
		vsp_send_ctrl(port->portdev, port->id,
			      VIRTIO_CONSOLE_PORT_OPEN, 0);
	mutex_unlock(&port->lock);

	/* Unread host data does not survive a close. */
	mutex_lock(&port->read_mutex);
	spin_lock_irq(&port->inbuf_lock);
	vsp_discard_rx_locked(port);
	spin_unlock_irq(&port->inbuf_lock);
	mutex_unlock(&port->read_mutex);

	vsp_reclaim_tx(port);
	kref_put(&port->kref, vsp_port_release);
	return 0;
}

/*
 * Copies from the current receive buffer.  Returns bytes copied, 0 if
 * another reader emptied it first, or a negative errno.
 */
static ssize_t vsp_copy_out(struct vsp_port *port, char __user *ubuf,
			    size_t count)
{
	struct vsp_buf *buf;
	ssize_t ret;
	size_t n;

	mutex_lock(&port->read_mutex);
	spin_lock_irq(&port->inbuf_lock);
	buf = port->inbuf;
	spin_unlock_irq(&port->inbuf_lock);
	if (!buf) {
		ret = port->unplugged ? -ENODEV : 0;
		goto out;
	}
	/* The irq path only fills inbuf when it is NULL: buf stays ours. */
	n = vsp_rx_chunk(buf->len, buf->off, count);
	if (copy_to_user(ubuf, buf->data + buf->off, n)) {
		ret = -EFAULT;
		goto out;
	}
	ret = n;
	spin_lock_irq(&port->inbuf_lock);
	buf->off += n;
	if (buf->off >= buf->len) {
		port->inbuf = NULL;
		if (port->in_vq) {
			if (vsp_add_inbuf(port->in_vq, buf) == 0)
				virtqueue_kick(port->in_vq);
			port->inbuf = vsp_get_inbuf(port->in_vq);
		} else {
			vsp_buf_free(buf);
		}
	}
	spin_unlock_irq(&port->inbuf_lock);
out:
	mutex_unlock(&port->read_mutex);
	return ret;
}

static ssize_t vsp_read(struct file *filp, char __user *ubuf, size_t count,
			loff_t *offp)
{
	struct vsp_port *port = filp->private_data;
	ssize_t ret;

	if (!count)
		return 0;
	for (;;) {
		if (port->unplugged)
			return -ENODEV;
		if (vsp_has_data(port)) {
			ret = vsp_copy_out(port, ubuf, count);
			if (ret)
				return ret;
			continue;
		}
		/* No data and nobody on the host side: end of file. */
		if (!READ_ONCE(port->host_connected))
			return 0;
		if (filp->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_event_freezable(port->waitq,
					   !vsp_read_would_block(port));
		if (ret < 0)
			return ret;
	}
}

/*
 * write(), writev() and, through iter_file_splice_write(), splice() and
 * sendfile() into the port.  One call moves at most VSP_MAX_WRITE bytes.
 */
static ssize_t vsp_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *filp = iocb->ki_filp;
	struct vsp_port *port = filp->private_data;
	bool nonblock = (filp->f_flags & O_NONBLOCK) ||
			(iocb->ki_flags & IOCB_NOWAIT);
	size_t count = iov_iter_count(from);
	struct vsp_buf *buf;
	ssize_t ret;

	if (!count)
		return 0;
	count = min_t(size_t, count, VSP_MAX_WRITE);
	buf = vsp_buf_alloc(count, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	if (copy_from_iter(buf->data, count, from) != count) {
		vsp_buf_free(buf);
		return -EFAULT;
	}
	buf->len = count;

	for (;;) {
		if (vsp_write_would_block(port)) {
			if (nonblock) {
				ret = -EAGAIN;
				break;
			}
			ret = wait_event_freezable(port->waitq,
						   !vsp_write_would_block(port));
			if (ret < 0)
				break;
			continue;
		}
		ret = vsp_queue_tx(port, buf);
		if (ret == 0)
			return count;
		if (ret != -EAGAIN)
			break;
	}
	vsp_buf_free(buf);
	iov_iter_revert(from, count);	/* nothing was written */
	return ret;
}

static __poll_t vsp_poll(struct file *filp, poll_table *wait)
{
	struct vsp_port *port = filp->private_data;
	__poll_t mask = 0;

	poll_wait(filp, &port->waitq, wait);
	if (port->unplugged)
		return EPOLLHUP;
	if (!vsp_read_would_block(port))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (!vsp_write_would_block(port))
		mask |= EPOLLOUT;
	if (!READ_ONCE(port->host_connected))
		mask |= EPOLLHUP;
	return mask;
}

static int vsp_fasync(int fd, struct file *filp, int on)
{
	struct vsp_port *port = filp->private_data;

	return fasync_helper(fd, filp, on, &port->async);
}

static const struct file_operations vsp_fops = {
	.owner = THIS_MODULE,
	.open = vsp_open,
	.release = vsp_release,
	.read = vsp_read,
	.write_iter = vsp_write_iter,
	.splice_write = iter_file_splice_write,
	.poll = vsp_poll,
	.fasync = vsp_fasync,
	.llseek = no_llseek,
};

/* --------------------------------------------------------- hvc consoles */

static struct vsp_port *vsp_find_console(u32 vtermno)
{
	struct vsp_port *found = NULL, *port;
	unsigned long flags;

	spin_lock_irqsave(&vsp_cons_lock, flags);
	list_for_each_entry(port, &vsp_consoles, cons_node) {
		if (port->vtermno == vtermno) {
			found = port;
			break;
		}
	}
	spin_unlock_irqrestore(&vsp_cons_lock, flags);
	return found;
}

/* hvc output: queue and return; a full ring makes hvc retry later. */
static int vsp_put_chars(u32 vtermno, const char *data, int count)
{
	struct vsp_port *port = vsp_find_console(vtermno);
	struct vsp_buf *buf;

	if (!port)
		return -EPIPE;
	if (count <= 0)
		return 0;
	buf = vsp_buf_alloc(count, GFP_ATOMIC);
	if (!buf)
		return 0;
	memcpy(buf->data, data, count);
	buf->len = count;
	if (vsp_queue_tx(port, buf)) {
		vsp_buf_free(buf);
		return 0;
	}
	return count;
}

static int vsp_get_chars(u32 vtermno, char *data, int count)
{
	struct vsp_port *port = vsp_find_console(vtermno);
	struct vsp_buf *buf;
	unsigned long flags;
	size_t chunk;
	int n = 0;

	if (!port)
		return -EPIPE;
	spin_lock_irqsave(&port->inbuf_lock, flags);
	while (n < count && port->inbuf && port->in_vq) {
		buf = port->inbuf;
		chunk = vsp_rx_chunk(buf->len, buf->off, count - n);
		memcpy(data + n, buf->data + buf->off, chunk);
		buf->off += chunk;
		n += chunk;
		if (buf->off >= buf->len) {
			if (vsp_add_inbuf(port->in_vq, buf) == 0)
				virtqueue_kick(port->in_vq);
			port->inbuf = vsp_get_inbuf(port->in_vq);
		}
	}
	spin_unlock_irqrestore(&port->inbuf_lock, flags);
	return n;
}

/*
 * hvc keeps calling vsp_hv_ops for as long as its tty is open, and an open
 * hvc tty holds no reference on this module.  So the first open pins the
 * module and the last close (or a hangup) unpins it: rmmod is refused while
 * a console is in use, as it is for an open /dev/vportNpM.
 */
static int vsp_hvc_open(struct hvc_struct *hp, int data)
{
	struct vsp_port *port;
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&vsp_cons_lock, flags);
	list_for_each_entry(port, &vsp_consoles, cons_node) {
		if (port->hvc != hp || port->hvc_pinned)
			continue;
		if (try_module_get(THIS_MODULE))
			port->hvc_pinned = true;
		else
			ret = -ENODEV;
		break;
	}
	spin_unlock_irqrestore(&vsp_cons_lock, flags);
	return ret;
}

static void vsp_hvc_close(struct hvc_struct *hp, int data)
{
	struct vsp_port *port;
	unsigned long flags;
	bool put = false;

	spin_lock_irqsave(&vsp_cons_lock, flags);
	list_for_each_entry(port, &vsp_consoles, cons_node) {
		if (port->hvc == hp && port->hvc_pinned) {
			port->hvc_pinned = false;
			put = true;
			break;
		}
	}
	spin_unlock_irqrestore(&vsp_cons_lock, flags);
	if (put)
		module_put(THIS_MODULE);
}

static const struct hv_ops vsp_hv_ops = {
	.get_chars = vsp_get_chars,
	.put_chars = vsp_put_chars,
	.notifier_add = vsp_hvc_open,
	.notifier_del = vsp_hvc_close,
	.notifier_hangup = vsp_hvc_close,
};

/* Turns a port into /dev/hvcN.  Called with port->lock held. */
static int vsp_make_console(struct vsp_port *port)
{
	struct hvc_struct *hp;

	if (port->is_console)
		return 0;
	spin_lock_irq(&vsp_cons_lock);
	port->vtermno = vsp_next_vtermno++;
	list_add_tail(&port->cons_node, &vsp_consoles);
	spin_unlock_irq(&vsp_cons_lock);

	hp = hvc_alloc(port->vtermno, 0, &vsp_hv_ops, PAGE_SIZE);
	spin_lock_irq(&vsp_cons_lock);
	if (IS_ERR(hp))
		list_del(&port->cons_node);
	else
		port->hvc = hp;
	spin_unlock_irq(&vsp_cons_lock);
	if (IS_ERR(hp))
		return PTR_ERR(hp);
	port->is_console = true;
	/* A console is always open on the guest side. */
	WRITE_ONCE(port->guest_connected, true);
	WRITE_ONCE(port->host_connected, true);
	if (port->portdev)
		vsp_send_ctrl(port->portdev, port->id,
			      VIRTIO_CONSOLE_PORT_OPEN, 1);
	return 0;
}

/*
 * Removes the hvc console of a port.  The port stays on vsp_consoles until
 * hvc_remove() returns: its hangup unpins the module through the list.
 */
static void vsp_drop_console(struct vsp_port *port)
{
	if (!port->is_console)
		return;
	hvc_remove(port->hvc);
	spin_lock_irq(&vsp_cons_lock);
	list_del(&port->cons_node);
	port->hvc = NULL;
	spin_unlock_irq(&vsp_cons_lock);
}

/* --------------------------------------------------- port add and remove */

static ssize_t name_show(struct device *dev, struct device_attribute *attr,
			 char *out)
{
	struct vsp_port *port = dev_get_drvdata(dev);

	return sysfs_emit(out, "%s\n", port->name ? port->name : "");
}
static DEVICE_ATTR_RO(name);

static struct attribute *vsp_port_attrs[] = {
	&dev_attr_name.attr,
	NULL,
};

static const struct attribute_group vsp_port_group = {
	.attrs = vsp_port_attrs,
};

static struct vsp_port *vsp_find_port(struct vsp_dev *portdev, u32 id)
{
	struct vsp_port *found = NULL, *port;

	spin_lock_irq(&portdev->ports_lock);
	list_for_each_entry(port, &portdev->ports, node) {
		if (port->id == id) {
			found = port;
			break;
		}
	}
	spin_unlock_irq(&portdev->ports_lock);
	return found;
}

static int vsp_add_port(struct vsp_dev *portdev, u32 id)
{
	struct virtio_device *vdev = portdev->vdev;
	struct vsp_port *port;
	int ret;

	port = kzalloc(sizeof(*port), GFP_KERNEL);
	if (!port)
		return -ENOMEM;
	kref_init(&port->kref);
	port->id = id;
	port->portdev = portdev;
	mutex_init(&port->lock);
	mutex_init(&port->read_mutex);
	spin_lock_init(&port->inbuf_lock);
	spin_lock_init(&port->outvq_lock);
	init_waitqueue_head(&port->waitq);
	port->in_vq = portdev->in_vqs[id];
	port->out_vq = portdev->out_vqs[id];
	port->devt = MKDEV(MAJOR(portdev->devt), id);
	/* Without MULTIPORT nothing ever reports the host side. */
	port->host_connected = !portdev->multiport;

	port->cdev = cdev_alloc();
	if (!port->cdev) {
		ret = -ENOMEM;
		goto err_free;
	}
	port->cdev->ops = &vsp_fops;
	port->cdev->owner = THIS_MODULE;
	ret = cdev_add(port->cdev, port->devt, 1);
	if (ret < 0) {
		kobject_put(&port->cdev->kobj);	/* never added: just free */
		goto err_free;
	}

	port->dev = device_create(vsp_class, &vdev->dev, port->devt, port,
				  "vport%up%u", vdev->index, id);
	if (IS_ERR(port->dev)) {
		ret = PTR_ERR(port->dev);
		goto err_cdev;
	}
	if (!vsp_fill_rxq(port->in_vq, &port->inbuf_lock)) {
		ret = -ENOMEM;
		goto err_dev;
	}

	spin_lock_irq(&portdev->ports_lock);
	list_add_tail(&port->node, &portdev->ports);
	spin_unlock_irq(&portdev->ports_lock);
	/* From here out_vq is the port's: no orphan reclaim still runs on it. */
	virtio_synchronize_cbs(vdev);

	/* Data may have arrived before the port was on the list. */
	vsp_port_rx(port);
	vsp_send_ctrl(portdev, id, VIRTIO_CONSOLE_PORT_READY, 1);
	return 0;

err_dev:
	device_destroy(vsp_class, port->devt);
	vsp_drain_vq(port->in_vq);
err_cdev:
	cdev_del(port->cdev);
err_free:
	kfree(port);
	return ret;
}

/*
 * Detaches a port from the device.  Open files keep the struct alive (kref)
 * and see -ENODEV from then on; the device node and sysfs entry go now.
 */
static void vsp_unplug_port(struct vsp_port *port)
{
	struct vsp_buf *inbuf;
	bool was_open;

	/*
	 * Writers stop first.  Buffers still on out_vq stay there: the device
	 * may be working on them (QEMU drains a port-less queue on its own),
	 * so they are freed as they come back (vsp_reclaim_orphan), by the
	 * next port with this id, or when the device is reset.
	 */
	spin_lock_irq(&port->outvq_lock);
	port->unplugged = true;
	port->out_vq = NULL;
	spin_unlock_irq(&port->outvq_lock);

	spin_lock_irq(&port->portdev->ports_lock);
	list_del(&port->node);
	spin_unlock_irq(&port->portdev->ports_lock);
	/* No callback still runs with this port, e.g. inside hvc_poll(). */
	virtio_synchronize_cbs(port->portdev->vdev);

	mutex_lock(&port->lock);
	vsp_drop_console(port);
	was_open = port->guest_connected && !port->is_console;
	port->portdev = NULL;
	mutex_unlock(&port->lock);

	mutex_lock(&port->read_mutex);
	spin_lock_irq(&port->inbuf_lock);
	port->unplugged = true;
	WRITE_ONCE(port->host_connected, false);
	inbuf = port->inbuf;
	port->inbuf = NULL;
	if (port->in_vq)
		vsp_drain_vq(port->in_vq);
	port->in_vq = NULL;
	spin_unlock_irq(&port->inbuf_lock);
	mutex_unlock(&port->read_mutex);
	vsp_buf_free(inbuf);

	wake_up_interruptible(&port->waitq);
	if (was_open)
		kill_fasync(&port->async, SIGIO, POLL_HUP);

	if (port->name)
		sysfs_remove_group(&port->dev->kobj, &vsp_port_group);
	device_destroy(vsp_class, port->devt);
	cdev_del(port->cdev);
	kref_put(&port->kref, vsp_port_release);
}

/* ------------------------------------------------------ control receive */

static void vsp_set_name(struct vsp_port *port, const struct vsp_ctl_msg *m)
{
	int ret;

	/* A name repeated after restore is ignored, as the stock driver does. */
	if (port->name)
		return;
	port->name = kmemdup_nul(m->payload, vsp_ctl_name_len(m), GFP_KERNEL);
	if (!port->name)
		return;
	ret = sysfs_create_group(&port->dev->kobj, &vsp_port_group);
	if (ret) {
		dev_err(port->dev, "cannot create name attribute: %d\n", ret);
		return;
	}
	kobject_uevent(&port->dev->kobj, KOBJ_CHANGE);
}

static void vsp_set_host_connected(struct vsp_port *port, bool on)
{
	WRITE_ONCE(port->host_connected, on);
	vsp_reclaim_tx(port);
	wake_up_interruptible(&port->waitq);
	if (READ_ONCE(port->guest_connected))
		kill_fasync(&port->async, SIGIO, POLL_OUT);
}

static void vsp_handle_ctrl(struct vsp_dev *portdev, const char *data,
			    size_t len)
{
	struct virtio_device *vdev = portdev->vdev;
	struct vsp_port *port;
	struct vsp_ctl_msg m;

	if (vsp_ctl_decode(&m, data, len, virtio_is_little_endian(vdev))) {
		dev_warn_ratelimited(&vdev->dev, "short control message\n");
		return;
	}
	port = vsp_find_port(portdev, m.id);

	switch (vsp_ctl_action(&m, port, portdev->max_nr_ports)) {
	case VSP_CTL_READY_AGAIN:
		vsp_send_ctrl(portdev, m.id, VIRTIO_CONSOLE_PORT_READY, 1);
		break;
	case VSP_CTL_BAD_ID:
		dev_warn_ratelimited(&vdev->dev,
				     "port %u beyond max_nr_ports %u\n",
				     m.id, portdev->max_nr_ports);
		break;
	case VSP_CTL_ADD:
		if (vsp_add_port(portdev, m.id) < 0) {
			dev_err(&vdev->dev, "cannot add port %u\n", m.id);
			vsp_send_ctrl(portdev, m.id, VIRTIO_CONSOLE_PORT_READY, 0);
		}
		break;
	case VSP_CTL_UNKNOWN_PORT:
		dev_dbg(&vdev->dev, "event %u for unknown port %u\n",
			m.event, m.id);
		break;
	case VSP_CTL_REMOVE:
		vsp_unplug_port(port);
		break;
	case VSP_CTL_CONSOLE:
		mutex_lock(&port->lock);
		if (vsp_make_console(port))
			dev_err(&vdev->dev, "port %u: no hvc console\n", m.id);
		mutex_unlock(&port->lock);
		break;
	case VSP_CTL_OPEN:
		if (!port->is_console)
			vsp_set_host_connected(port, m.value);
		break;
	case VSP_CTL_NAME:
		mutex_lock(&port->lock);
		vsp_set_name(port, &m);
		mutex_unlock(&port->lock);
		break;
	case VSP_CTL_IGNORE:
		break;
	}
}

/*
 * Takes every filled buffer off the control receive ring, copies its message
 * to ctrl_inbox and gives the buffer straight back.  The device drops
 * control messages when this ring has no buffer (QEMU does), and each
 * message handled can make it send several (PORT_READY -> CONSOLE_PORT,
 * PORT_NAME, PORT_OPEN), so the ring is emptied before each message is
 * handled rather than after.
 */
static void vsp_ctrl_collect(struct vsp_dev *portdev)
{
	struct virtqueue *vq = portdev->c_ivq;
	struct vsp_ctrl_in *m;
	struct vsp_buf *buf;
	bool requeued = false;

	spin_lock_irq(&portdev->c_ivq_lock);
	while ((buf = vsp_get_inbuf(vq))) {
		m = kmalloc(struct_size(m, data, buf->len), GFP_ATOMIC);
		if (m) {
			m->len = buf->len;
			memcpy(m->data, buf->data, buf->len);
			list_add_tail(&m->node, &portdev->ctrl_inbox);
		} else {
			dev_err_ratelimited(&portdev->vdev->dev,
					    "no memory: control message dropped\n");
		}
		if (vsp_add_inbuf(vq, buf) < 0)
			dev_warn_ratelimited(&portdev->vdev->dev,
					     "control rx ring shrank\n");
		requeued = true;
	}
	if (requeued)
		virtqueue_kick(vq);
	spin_unlock_irq(&portdev->c_ivq_lock);
}

static void vsp_ctrl_work(struct work_struct *work)
{
	struct vsp_dev *portdev = container_of(work, struct vsp_dev,
					       ctrl_work);
	struct vsp_ctrl_in *m;

	for (;;) {
		vsp_ctrl_collect(portdev);
		m = list_first_entry_or_null(&portdev->ctrl_inbox,
					     struct vsp_ctrl_in, node);
		if (!m)
			break;
		list_del(&m->node);
		vsp_handle_ctrl(portdev, m->data, m->len);
		kfree(m);
	}
}

static void vsp_ctrl_in_done(struct virtqueue *vq)
{
	struct vsp_dev *portdev = vq->vdev->priv;

	schedule_work(&portdev->ctrl_work);
}

/* ------------------------------------------------------------- the device */

static int vsp_find_vqs(struct vsp_dev *portdev)
{
	unsigned int nports = portdev->multiport ? portdev->max_nr_ports : 1;
	unsigned int nvqs = portdev->multiport ? 2 * (nports + 1) : 2;
	struct virtqueue **vqs;
	vq_callback_t **cbs;
	const char **names;
	unsigned int i, q;
	int ret = -ENOMEM;

	vqs = kcalloc(nvqs, sizeof(*vqs), GFP_KERNEL);
	cbs = kcalloc(nvqs, sizeof(*cbs), GFP_KERNEL);
	names = kcalloc(nvqs, sizeof(*names), GFP_KERNEL);
	if (!vqs || !cbs || !names)
		goto out;

	/* Queue layout: port 0 rx/tx, control rx/tx, then ports 1.. rx/tx. */
	for (i = 0; i < nports; i++) {
		q = i == 0 ? 0 : 2 * (i + 1);
		cbs[q] = vsp_in_done;
		cbs[q + 1] = vsp_out_done;
		names[q] = "input";
		names[q + 1] = "output";
	}
	if (portdev->multiport) {
		cbs[2] = vsp_ctrl_in_done;
		cbs[3] = vsp_ctrl_out_done;
		names[2] = "control-i";
		names[3] = "control-o";
	}
	ret = virtio_find_vqs(portdev->vdev, nvqs, vqs, cbs, names, NULL);
	if (ret)
		goto out;
	for (i = 0; i < nports; i++) {
		q = i == 0 ? 0 : 2 * (i + 1);
		portdev->in_vqs[i] = vqs[q];
		portdev->out_vqs[i] = vqs[q + 1];
	}
	if (portdev->multiport) {
		portdev->c_ivq = vqs[2];
		portdev->c_ovq = vqs[3];
	}
out:
	kfree(names);
	kfree(cbs);
	kfree(vqs);
	return ret;
}

/* Brings queues up after probe or restore; ports are re-announced. */
static int vsp_start(struct vsp_dev *portdev)
{
	int ret;

	ret = vsp_find_vqs(portdev);
	if (ret)
		return ret;
	virtio_device_ready(portdev->vdev);
	spin_lock_irq(&portdev->c_ovq_lock);
	portdev->stopped = false;
	spin_unlock_irq(&portdev->c_ovq_lock);
	if (portdev->multiport &&
	    !vsp_fill_rxq(portdev->c_ivq, &portdev->c_ivq_lock)) {
		virtio_reset_device(portdev->vdev);
		portdev->vdev->config->del_vqs(portdev->vdev);
		return -ENOMEM;
	}
	return 0;
}

/* Resets the device and frees everything the rings hold. */
static void vsp_stop(struct vsp_dev *portdev)
{
	struct vsp_ctrl_in *m, *mtmp;
	struct vsp_ctrl *c, *tmp;

	spin_lock_irq(&portdev->c_ovq_lock);
	portdev->stopped = true;
	spin_unlock_irq(&portdev->c_ovq_lock);
	virtio_reset_device(portdev->vdev);
	cancel_work_sync(&portdev->ctrl_work);
	if (portdev->multiport) {
		vsp_drain_vq(portdev->c_ivq);
		vsp_drain_ctrl_vq(portdev->c_ovq);
	}
	list_for_each_entry_safe(c, tmp, &portdev->c_backlog, node) {
		list_del(&c->node);
		kfree(c);
	}
	portdev->c_backlog_len = 0;
	list_for_each_entry_safe(m, mtmp, &portdev->ctrl_inbox, node) {
		list_del(&m->node);
		kfree(m);
	}
}

static int vsp_read_config(struct vsp_dev *portdev)
{
	struct virtio_device *vdev = portdev->vdev;
	u32 max;

	portdev->max_nr_ports = 1;
	portdev->multiport = false;
	if (!virtio_has_feature(vdev, VIRTIO_CONSOLE_F_MULTIPORT))
		return 0;
	if (!vdev->config->get) {
		dev_err(&vdev->dev, "MULTIPORT without config space\n");
		return -EINVAL;
	}
	virtio_cread(vdev, struct virtio_console_config, max_nr_ports, &max);
	if (!vsp_max_ports_valid(max)) {
		dev_err(&vdev->dev, "bad max_nr_ports %u\n", max);
		return -EINVAL;
	}
	portdev->max_nr_ports = max;
	portdev->multiport = true;
	return 0;
}

static int vsp_probe(struct virtio_device *vdev)
{
	struct vsp_dev *portdev;
	struct vsp_port *port;
	int ret;

	portdev = kzalloc(sizeof(*portdev), GFP_KERNEL);
	if (!portdev)
		return -ENOMEM;
	portdev->vdev = vdev;
	vdev->priv = portdev;
	spin_lock_init(&portdev->ports_lock);
	spin_lock_init(&portdev->c_ovq_lock);
	spin_lock_init(&portdev->c_ivq_lock);
	spin_lock_init(&portdev->orphan_lock);
	INIT_LIST_HEAD(&portdev->ports);
	INIT_LIST_HEAD(&portdev->c_backlog);
	INIT_LIST_HEAD(&portdev->ctrl_inbox);
	INIT_WORK(&portdev->ctrl_work, vsp_ctrl_work);

	ret = vsp_read_config(portdev);
	if (ret)
		goto err_free;
	portdev->in_vqs = kcalloc(portdev->max_nr_ports,
				  sizeof(*portdev->in_vqs), GFP_KERNEL);
	portdev->out_vqs = kcalloc(portdev->max_nr_ports,
				   sizeof(*portdev->out_vqs), GFP_KERNEL);
	if (!portdev->in_vqs || !portdev->out_vqs) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = alloc_chrdev_region(&portdev->devt, 0, portdev->max_nr_ports,
				  "vserial");
	if (ret)
		goto err_free;
	ret = vsp_start(portdev);
	if (ret)
		goto err_chrdev;

	spin_lock(&vsp_devs_lock);
	list_add_tail(&portdev->node, &vsp_devs);
	spin_unlock(&vsp_devs_lock);

	if (portdev->multiport) {
		vsp_send_ctrl(portdev, VIRTIO_CONSOLE_BAD_ID,
			      VIRTIO_CONSOLE_DEVICE_READY, 1);
		return 0;
	}
	/* Without MULTIPORT the only port is a console, as with stock. */
	ret = vsp_add_port(portdev, 0);
	if (ret == 0) {
		port = vsp_find_port(portdev, 0);
		mutex_lock(&port->lock);
		if (vsp_make_console(port))
			dev_warn(&vdev->dev, "port 0: no hvc, left as vport\n");
		mutex_unlock(&port->lock);
	} else {
		dev_err(&vdev->dev, "cannot add port 0: %d\n", ret);
	}
	return 0;

err_chrdev:
	unregister_chrdev_region(portdev->devt, portdev->max_nr_ports);
err_free:
	kfree(portdev->in_vqs);
	kfree(portdev->out_vqs);
	kfree(portdev);
	return ret;
}

static void vsp_unplug_all(struct vsp_dev *portdev)
{
	struct vsp_port *port;

	for (;;) {
		spin_lock_irq(&portdev->ports_lock);
		port = list_first_entry_or_null(&portdev->ports,
						struct vsp_port, node);
		spin_unlock_irq(&portdev->ports_lock);
		if (!port)
			break;
		vsp_unplug_port(port);
	}
}

/*
 * Frees what is left on every data queue, including transmit buffers left
 * by unplugged ports.  Only once the device is reset and no port uses a
 * queue any more.
 */
static void vsp_drain_data_vqs(struct vsp_dev *portdev)
{
	u32 i;

	for (i = 0; i < portdev->max_nr_ports; i++) {
		if (portdev->in_vqs[i])
			vsp_drain_vq(portdev->in_vqs[i]);
		if (portdev->out_vqs[i])
			vsp_drain_vq(portdev->out_vqs[i]);
	}
}

static void vsp_remove(struct virtio_device *vdev)
{
	struct vsp_dev *portdev = vdev->priv;

	spin_lock(&vsp_devs_lock);
	list_del(&portdev->node);
	spin_unlock(&vsp_devs_lock);

	vsp_stop(portdev);
	vsp_unplug_all(portdev);
	vsp_drain_data_vqs(portdev);
	vdev->config->del_vqs(vdev);
	unregister_chrdev_region(portdev->devt, portdev->max_nr_ports);
	kfree(portdev->in_vqs);
	kfree(portdev->out_vqs);
	kfree(portdev);
}

#ifdef CONFIG_PM_SLEEP
/* Drops a port's queues; open files block (or get EAGAIN) until restore. */
static void vsp_port_detach_vqs(struct vsp_port *port)
{
	struct vsp_buf *inbuf;

	mutex_lock(&port->read_mutex);
	spin_lock_irq(&port->inbuf_lock);
	inbuf = port->inbuf;
	port->inbuf = NULL;
	if (port->in_vq)
		vsp_drain_vq(port->in_vq);
	port->in_vq = NULL;
	WRITE_ONCE(port->host_connected, false);
	spin_unlock_irq(&port->inbuf_lock);
	mutex_unlock(&port->read_mutex);
	vsp_buf_free(inbuf);

	spin_lock_irq(&port->outvq_lock);
	if (port->out_vq)
		vsp_drain_vq(port->out_vq);
	port->out_vq = NULL;
	spin_unlock_irq(&port->outvq_lock);
}

static int vsp_freeze(struct virtio_device *vdev)
{
	struct vsp_dev *portdev = vdev->priv;
	struct vsp_port *port;

	vsp_stop(portdev);
	/* The port list only changes in ctrl_work, which is cancelled. */
	list_for_each_entry(port, &portdev->ports, node)
		vsp_port_detach_vqs(port);
	vsp_drain_data_vqs(portdev);
	vdev->config->del_vqs(vdev);
	return 0;
}

static int vsp_restore(struct virtio_device *vdev)
{
	struct vsp_dev *portdev = vdev->priv;
	struct vsp_port *port;
	int ret;

	ret = vsp_start(portdev);
	if (ret)
		return ret;
	list_for_each_entry(port, &portdev->ports, node) {
		spin_lock_irq(&port->inbuf_lock);
		port->in_vq = portdev->in_vqs[port->id];
		spin_unlock_irq(&port->inbuf_lock);
		spin_lock_irq(&port->outvq_lock);
		port->out_vq = portdev->out_vqs[port->id];
		port->tx_full = false;
		spin_unlock_irq(&port->outvq_lock);
		vsp_fill_rxq(port->in_vq, &port->inbuf_lock);
		if (!portdev->multiport)
			WRITE_ONCE(port->host_connected, true);
		/* The device answers PORT_READY with the host's state. */
		vsp_send_ctrl(portdev, port->id, VIRTIO_CONSOLE_PORT_READY, 1);
		if (READ_ONCE(port->guest_connected))
			vsp_send_ctrl(portdev, port->id,
				      VIRTIO_CONSOLE_PORT_OPEN, 1);
		wake_up_interruptible(&port->waitq);
	}
	return 0;
}
#endif

static const struct virtio_device_id vsp_id_table[] = {
	{ VIRTIO_ID_CONSOLE, VIRTIO_DEV_ANY_ID },
	{ 0 },
};
MODULE_DEVICE_TABLE(virtio, vsp_id_table);

/* MULTIPORT only: F_SIZE's cols/rows order is disputed, so never offered. */
static const unsigned int vsp_features[] = {
	VIRTIO_CONSOLE_F_MULTIPORT,
};

static struct virtio_driver vsp_driver = {
	.feature_table = vsp_features,
	.feature_table_size = ARRAY_SIZE(vsp_features),
	.driver.name = KBUILD_MODNAME,
	.driver.owner = THIS_MODULE,
	.id_table = vsp_id_table,
	.probe = vsp_probe,
	.remove = vsp_remove,
#ifdef CONFIG_PM_SLEEP
	.freeze = vsp_freeze,
	.restore = vsp_restore,
#endif
};

static int __init vsp_init(void)
{
	int ret;

	/*
	 * virtio_console creates the same class; if it is loaded it owns the
	 * devices and the names, so refuse rather than fight over them.
	 */
	vsp_class = class_create(THIS_MODULE, VSP_CLASS_NAME);
	if (IS_ERR(vsp_class)) {
		ret = PTR_ERR(vsp_class);
		if (ret == -EEXIST) {
			pr_err("class %s exists: virtio_console is loaded and owns virtio-serial devices; rmmod virtio_console first\n",
			       VSP_CLASS_NAME);
			return -EBUSY;
		}
		return ret;
	}
	vsp_next_vtermno = 1;
	ret = register_virtio_driver(&vsp_driver);
	if (ret)
		class_destroy(vsp_class);
	return ret;
}

static void __exit vsp_exit(void)
{
	unregister_virtio_driver(&vsp_driver);
	class_destroy(vsp_class);
}

module_init(vsp_init);
module_exit(vsp_exit);

MODULE_DESCRIPTION("virtio-serial (virtio console MULTIPORT) guest driver");
MODULE_LICENSE("GPL");
