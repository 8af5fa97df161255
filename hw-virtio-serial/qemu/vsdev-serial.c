/*
 * vsdev-serial.c - QEMU front for the vserial-fence virtio-serial core.
 *
 * Registers the types users already write -- virtio-serial-pci (with
 * max_ports, emergency-write), virtserialport and virtconsole (with
 * chardev, name, nr) -- and hands every decision to the transport-neutral
 * core in ../vsdev.c.  This file only translates: virtqueues and guest
 * memory for the core (struct vsdev_transport_ops), chardevs for the ports
 * (struct vsdev_port_ops), and the migration stream.
 *
 * Follows QEMU's coding style because it lives in QEMU's tree (grafted as
 * hw/char/vsdev by hw-virtio-serial/build-qemu.sh).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-events-char.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "qemu/queue.h"
#include "qemu/rcu.h"
#include "chardev/char-fe.h"
#include "chardev/char-socket.h"
#include "io/channel.h"
#include "exec/memory.h"
#include "hw/hotplug.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "hw/virtio/virtio.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/pci/pci.h"
#include "migration/qemu-file-types.h"
#include "monitor/monitor.h"
#include "sysemu/dma.h"
#include "sysemu/runstate.h"
#include "standard-headers/linux/virtio_ids.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_console.h"
#include "qom/object.h"

#include "../vsdev.h"

#define TYPE_VSDEV_SERIAL "vsdev-serial-device"
OBJECT_DECLARE_SIMPLE_TYPE(VsdevSerial, VSDEV_SERIAL)

#define TYPE_VSDEV_SERIAL_BUS "vsdev-serial-bus"
OBJECT_DECLARE_SIMPLE_TYPE(VsdevSerialBus, VSDEV_SERIAL_BUS)

#define TYPE_VSDEV_PORT "vsdev-serial-port"
OBJECT_DECLARE_TYPE(VsdevPort, VsdevPortClass, VSDEV_PORT)

#define TYPE_VIRTSERIALPORT "virtserialport"
#define TYPE_VIRTCONSOLE "virtconsole"

/*
 * Migration stream of this device: our own, versioned, not "virtio-console".
 * Version 2 adds each port's held host->guest bytes (the migration cut).
 */
#define VSDEV_MIG_MAGIC 0x76736476 /* "vsdv" */
#define VSDEV_MIG_VERSION 2

typedef struct VsdevSerialBus {
    BusState parent_obj;
    VsdevSerial *vser;
} VsdevSerialBus;

struct VsdevPortClass {
    DeviceClass parent_class;
    bool is_console;
};

struct VsdevPort {
    DeviceState parent_obj;
    VsdevSerial *vser;
    CharBackend chr;
    char *name;             /* "name" property */
    uint32_t id;            /* "nr" property, then the id in use */
    bool added;             /* known to the core */
    guint watch;            /* chardev writable again -> unthrottle */
    bool unthrottle_pending;/* writable while the VM was stopped */
    bool cut;               /* socket shut for reading by a migration cut:
                             * drop the connection if this VM runs again */
    uint64_t cut_bytes;     /* unread host bytes the cuts handed to the core */
    QTAILQ_ENTRY(VsdevPort) next;       /* in vser->ports */
    QTAILQ_ENTRY(VsdevPort) all_next;   /* in all_ports: names are global */
};

struct VsdevSerial {
    VirtIODevice parent_obj;
    struct vsdev_transport transport;
    struct vsdev *core;
    VsdevSerialBus bus;
    VirtQueue **vqs;
    unsigned int nvqs;
    QEMUBH *bh;             /* continues work the core left for later */
    bool service_pending;   /* run the core once the VM runs */
    uint32_t max_ports;
    uint64_t host_features;
    QTAILQ_HEAD(, VsdevPort) ports;
};

/* Port names must be unique across every virtio-serial device in the VM. */
static QTAILQ_HEAD(, VsdevPort) all_ports =
    QTAILQ_HEAD_INITIALIZER(all_ports);

static bool port_is_console(VsdevPort *port)
{
    return VSDEV_PORT_GET_CLASS(port)->is_console;
}

static void vser_kick_later(VsdevSerial *s, int ret)
{
    if (ret > 0) {
        qemu_bh_schedule(s->bh);
    }
}

/* ---- transport for the core -------------------------------------------- */

static VsdevSerial *to_vser(struct vsdev_transport *t)
{
    return container_of(t, VsdevSerial, transport);
}

/*
 * Only RAM may back a buffer: the core reads and writes segments by guest
 * address, and a guest pointing one at MMIO must not reach a device.
 */
static bool range_is_ram(AddressSpace *as, hwaddr addr, hwaddr len)
{
    while (len) {
        hwaddr xlat, l = len;
        MemoryRegion *mr;

        RCU_READ_LOCK_GUARD();
        mr = address_space_translate(as, addr, &xlat, &l, false,
                                     MEMTXATTRS_UNSPECIFIED);
        if (!memory_region_is_ram(mr) || l == 0) {
            return false;
        }
        addr += l;
        len -= l;
    }
    return true;
}

static int elem_to_buf(VirtIODevice *vdev, VirtQueueElement *elem,
                       struct vsdev_buf *b)
{
    unsigned int i;

    if (elem->out_num + elem->in_num > VSDEV_MAX_SEGS) {
        return -E2BIG;
    }
    b->head = elem->index;
    b->cookie = elem;
    b->nout = elem->out_num;
    b->nin = elem->in_num;
    for (i = 0; i < elem->out_num; i++) {
        b->seg[i].gpa = elem->out_addr[i];
        b->seg[i].len = elem->out_sg[i].iov_len;
    }
    for (i = 0; i < elem->in_num; i++) {
        b->seg[elem->out_num + i].gpa = elem->in_addr[i];
        b->seg[elem->out_num + i].len = elem->in_sg[i].iov_len;
    }
    for (i = 0; i < (unsigned int)b->nout + b->nin; i++) {
        if (!range_is_ram(vdev->dma_as, b->seg[i].gpa, b->seg[i].len)) {
            return -EFAULT;
        }
    }
    return 0;
}

static int vt_pop(struct vsdev_transport *t, unsigned int vq,
                  struct vsdev_buf *b)
{
    VsdevSerial *s = to_vser(t);
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    VirtQueueElement *elem;
    int ret;

    if (vq >= s->nvqs || !virtio_queue_ready(s->vqs[vq])) {
        return -ENOENT;
    }
    if (vdev->broken) {
        return -EIO;
    }
    elem = virtqueue_pop(s->vqs[vq], sizeof(VirtQueueElement));
    if (!elem) {
        /* virtqueue_pop() reports malformed rings itself (virtio_error) */
        return vdev->broken ? -EIO : -ENOENT;
    }
    ret = elem_to_buf(vdev, elem, b);
    if (ret < 0) {
        virtqueue_detach_element(s->vqs[vq], elem, 0);
        g_free(elem);
    }
    return ret;
}

static void vt_push(struct vsdev_transport *t, unsigned int vq,
                    struct vsdev_buf *b, uint32_t written)
{
    VsdevSerial *s = to_vser(t);
    VirtQueueElement *elem = b->cookie;

    virtqueue_push(s->vqs[vq], elem, written);
    g_free(elem);
    b->cookie = NULL;
}

static void vt_drop(struct vsdev_transport *t, unsigned int vq,
                    struct vsdev_buf *b)
{
    VsdevSerial *s = to_vser(t);
    VirtQueueElement *elem = b->cookie;

    if (elem) {
        virtqueue_detach_element(s->vqs[vq], elem, 0);
        g_free(elem);
        b->cookie = NULL;
    }
}

static int vt_copy_from(struct vsdev_transport *t, uint64_t gpa, void *dst,
                        size_t len)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(to_vser(t));

    return dma_memory_read(vdev->dma_as, gpa, dst, len,
                           MEMTXATTRS_UNSPECIFIED) == MEMTX_OK ? 0 : -EFAULT;
}

static int vt_copy_to(struct vsdev_transport *t, uint64_t gpa,
                      const void *src, size_t len)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(to_vser(t));

    return dma_memory_write(vdev->dma_as, gpa, src, len,
                            MEMTXATTRS_UNSPECIFIED) == MEMTX_OK ? 0 : -EFAULT;
}

static void vt_notify(struct vsdev_transport *t, unsigned int vq)
{
    VsdevSerial *s = to_vser(t);

    virtio_notify(VIRTIO_DEVICE(s), s->vqs[vq]);
}

static void vt_fail(struct vsdev_transport *t, int reason)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(to_vser(t));

    if (!vdev->broken) {
        virtio_error(vdev, "virtio-serial: malformed guest input (%s); "
                     "device needs reset", strerror(-reason));
    }
}

static const struct vsdev_transport_ops vsdev_qemu_transport_ops = {
    .version = VSDEV_TRANSPORT_OPS_V1,
    .pop = vt_pop,
    .push = vt_push,
    .drop = vt_drop,
    .copy_from_guest = vt_copy_from,
    .copy_to_guest = vt_copy_to,
    .notify = vt_notify,
    .fail = vt_fail,
};

/* ---- ports: chardev <-> core ------------------------------------------- */

static gboolean port_chr_writable(void *do_not_use, GIOCondition cond,
                                  void *opaque)
{
    VsdevPort *port = opaque;
    VsdevSerial *s = port->vser;

    port->watch = 0;
    if (!VIRTIO_DEVICE(s)->vm_running) {
        port->unthrottle_pending = true;
        return G_SOURCE_REMOVE;
    }
    vsdev_port_unthrottle(s->core, port->id);
    qemu_bh_schedule(s->bh);
    return G_SOURCE_REMOVE;
}

static ssize_t port_have_data(void *opaque, const uint8_t *buf, size_t len)
{
    VsdevPort *port = opaque;
    int ret;

    if (!qemu_chr_fe_backend_connected(&port->chr)) {
        return len;     /* nobody to hear it: consumed */
    }
    ret = qemu_chr_fe_write(&port->chr, buf, len);
    if (ret < 0) {
        ret = 0;
    }
    if (ret < len && !port_is_console(port) && !port->watch) {
        port->watch = qemu_chr_fe_add_watch(&port->chr, G_IO_OUT | G_IO_HUP,
                                            port_chr_writable, port);
    }
    return ret;
}

static void port_guest_open(void *opaque, bool open)
{
    VsdevPort *port = opaque;
    DeviceState *dev = DEVICE(port);

    if (!port_is_console(port)) {
        qemu_chr_fe_set_open(&port->chr, open);
    }
    if (dev->id) {
        qapi_event_send_vserport_change(dev->id, open);
    }
}

static void port_writable(void *opaque)
{
    VsdevPort *port = opaque;

    qemu_chr_fe_accept_input(&port->chr);
}

static const struct vsdev_port_ops vsdev_qemu_port_ops = {
    .version = VSDEV_PORT_OPS_V1,
    .have_data = port_have_data,
    .guest_open = port_guest_open,
    .writable = port_writable,
};

static int port_chr_can_read(void *opaque)
{
    VsdevPort *port = opaque;
    size_t room;

    /* Nothing touches guest RAM while the VM is stopped (incoming too) */
    if (!VIRTIO_DEVICE(port->vser)->vm_running) {
        return 0;
    }
    room = vsdev_port_write_room(port->vser->core, port->id);
    return MIN(room, (size_t)INT_MAX);
}

static void port_chr_read(void *opaque, const uint8_t *buf, int size)
{
    VsdevPort *port = opaque;
    ssize_t n = vsdev_port_write(port->vser->core, port->id, buf, size);

    if (n >= 0 && n < size) {
        /* can_read() promised room: only a guest reset gets us here */
        warn_report_once("virtio-serial: port %u dropped %zd bytes",
                         port->id, (ssize_t)size - n);
    }
}

static void port_chr_event(void *opaque, QEMUChrEvent event)
{
    VsdevPort *port = opaque;
    VsdevSerial *s = port->vser;

    switch (event) {
    case CHR_EVENT_OPENED:
        vsdev_port_set_host_connected(s->core, port->id, true);
        qemu_bh_schedule(s->bh);
        break;
    case CHR_EVENT_CLOSED:
        if (port->watch) {
            g_source_remove(port->watch);
            port->watch = 0;
        }
        vsdev_port_set_host_connected(s->core, port->id, false);
        break;
    default:
        break;
    }
}

static int port_chr_be_change(void *opaque);

static void port_set_handlers(VsdevPort *port, bool enable)
{
    if (!enable) {
        qemu_chr_fe_set_handlers(&port->chr, NULL, NULL, NULL, NULL,
                                 NULL, NULL, false);
        return;
    }
    qemu_chr_fe_set_handlers(&port->chr, port_chr_can_read, port_chr_read,
                             port_is_console(port) ? NULL : port_chr_event,
                             port_chr_be_change, port, NULL,
                             port_is_console(port));
}

static int port_chr_be_change(void *opaque)
{
    VsdevPort *port = opaque;

    port_set_handlers(port, true);
    if (port->watch) {
        g_source_remove(port->watch);
        port->watch = qemu_chr_fe_add_watch(&port->chr, G_IO_OUT | G_IO_HUP,
                                            port_chr_writable, port);
    }
    return 0;
}

static VsdevPort *find_port_by_name(const char *name)
{
    VsdevPort *port;

    QTAILQ_FOREACH(port, &all_ports, all_next) {
        if (port->name && !strcmp(port->name, name)) {
            return port;
        }
    }
    return NULL;
}

static void vsdev_port_realize(DeviceState *dev, Error **errp)
{
    VsdevPort *port = VSDEV_PORT(dev);
    VsdevSerialBus *bus = VSDEV_SERIAL_BUS(qdev_get_parent_bus(dev));
    VsdevSerial *s = bus->vser;
    bool console = port_is_console(port);
    struct vsdev_port_config pc = {
        .id = port->id,
        .name = port->name,
        .console = console,
        .ops = &vsdev_qemu_port_ops,
        .opaque = port,
    };
    int id;

    port->vser = s;
    if (port->id == 0 && !console) {
        error_setg(errp, "Port number 0 on virtio-serial devices reserved "
                   "for virtconsole devices for backward compatibility.");
        return;
    }
    if (port->id != VSDEV_ID_AUTO && port->id >= s->max_ports) {
        error_setg(errp, "virtio-serial-bus: Out-of-range port id specified, "
                   "max. allowed: %u", s->max_ports - 1);
        return;
    }
    if (port->name && find_port_by_name(port->name)) {
        error_setg(errp, "virtio-serial-bus: A port already exists by name %s",
                   port->name);
        return;
    }
    id = vsdev_port_add(s->core, &pc);
    if (id == -EEXIST) {
        error_setg(errp, "virtio-serial-bus: A port already exists at id %u",
                   port->id);
        return;
    } else if (id == -ENOSPC) {
        error_setg(errp, "virtio-serial-bus: Maximum port limit for this "
                   "device reached");
        return;
    } else if (id < 0) {
        error_setg(errp, "virtio-serial-bus: cannot add port: %s "
                   "(names are at most %d bytes)", strerror(-id),
                   VSDEV_NAME_MAX);
        return;
    }
    port->id = id;
    port->added = true;
    QTAILQ_INSERT_TAIL(&s->ports, port, next);
    QTAILQ_INSERT_TAIL(&all_ports, port, all_next);

    if (qemu_chr_fe_backend_connected(&port->chr)) {
        port_set_handlers(port, true);
        /*
         * A console never blocks the guest: its host side counts as open.
         * A serial port follows the chardev's OPENED/CLOSED events (which
         * set_handlers delivers at once for an already open chardev).
         */
        if (console) {
            vsdev_port_set_host_connected(s->core, port->id, true);
        }
    }
}

static void vsdev_port_unrealize(DeviceState *dev)
{
    VsdevPort *port = VSDEV_PORT(dev);
    VsdevSerial *s = port->vser;

    if (!port->added) {
        return;
    }
    if (port->watch) {
        g_source_remove(port->watch);
        port->watch = 0;
    }
    port_set_handlers(port, false);
    vsdev_port_remove(s->core, port->id);
    QTAILQ_REMOVE(&s->ports, port, next);
    QTAILQ_REMOVE(&all_ports, port, all_next);
    port->added = false;
}

static Property vsdev_port_properties[] = {
    DEFINE_PROP_UINT32("nr", VsdevPort, id, VSDEV_ID_AUTO),
    DEFINE_PROP_STRING("name", VsdevPort, name),
    DEFINE_PROP_CHR("chardev", VsdevPort, chr),
    DEFINE_PROP_END_OF_LIST(),
};

static void vsdev_port_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    set_bit(DEVICE_CATEGORY_INPUT, dc->categories);
    dc->bus_type = TYPE_VSDEV_SERIAL_BUS;
    dc->realize = vsdev_port_realize;
    dc->unrealize = vsdev_port_unrealize;
    device_class_set_props(dc, vsdev_port_properties);
}

static void virtconsole_class_init(ObjectClass *klass, void *data)
{
    VSDEV_PORT_CLASS(klass)->is_console = true;
}

/* ---- the bus ------------------------------------------------------------ */

static void vsdev_bus_print_dev(Monitor *mon, DeviceState *dev, int indent)
{
    VsdevPort *port = VSDEV_PORT(dev);
    struct vsdev_port_info pi;

    if (!port->added || vsdev_port_info(port->vser->core, port->id, &pi)) {
        return;
    }
    monitor_printf(mon, "%*sport %u, guest %s, host %s, throttle %s, "
                   "held %u, cut %" PRIu64 "\n",
                   indent, "", port->id, pi.guest_connected ? "on" : "off",
                   pi.host_connected ? "on" : "off",
                   pi.throttled ? "on" : "off", pi.held, port->cut_bytes);
}

static void vsdev_bus_class_init(ObjectClass *klass, void *data)
{
    BUS_CLASS(klass)->print_dev = vsdev_bus_print_dev;
}

/* ---- the virtio device -------------------------------------------------- */

static void vsdev_serial_kick(VirtIODevice *vdev, VirtQueue *vq)
{
    VsdevSerial *s = VSDEV_SERIAL(vdev);

    vser_kick_later(s, vsdev_handle_output(s->core,
                                           virtio_get_queue_index(vq)));
}

static void vsdev_serial_bh(void *opaque)
{
    VsdevSerial *s = opaque;

    vser_kick_later(s, vsdev_service(s->core));
}

static uint64_t vsdev_serial_get_features(VirtIODevice *vdev, uint64_t f,
                                          Error **errp)
{
    VsdevSerial *s = VSDEV_SERIAL(vdev);

    return f | s->host_features | vsdev_features(s->core);
}

static void vsdev_serial_set_features(VirtIODevice *vdev, uint64_t val)
{
    vsdev_set_features(VSDEV_SERIAL(vdev)->core, val);
}

static void vsdev_serial_get_config(VirtIODevice *vdev, uint8_t *config)
{
    vsdev_get_config(VSDEV_SERIAL(vdev)->core, config, vdev->config_len);
}

static void vsdev_serial_set_config(VirtIODevice *vdev, const uint8_t *config)
{
    vsdev_set_config(VSDEV_SERIAL(vdev)->core, config, vdev->config_len);
    /* An emergency byte goes out once: a later write elsewhere in config
     * space must not send it again. */
    if (vdev->config_len >= 12) {
        memset(vdev->config + 8, 0, 4);
    }
}

/*
 * The migration cut, run when the device state is saved for migration
 * (pre_save in RUN_STATE_FINISH_MIGRATE: VM stopped, chardev handlers
 * detached, BQL held).  On a plain socket chardev it shuts the connection
 * for reading -- from now on a unix-stream writer's send() fails with
 * EPIPE, so it knows exactly which bytes this QEMU took -- and hands every
 * byte still queued in the socket to the core, which delivers them before
 * anything later and migrates them.  TLS, websocket and telnet chardevs
 * (bytes are transformed or buffered above the socket), other chardev
 * types and mux are left alone: bytes unread there at the switch-over stay
 * behind as with stock QEMU.
 */
static void port_cut(VsdevPort *port)
{
    Chardev *chr = qemu_chr_fe_get_driver(&port->chr);
    SocketChardev *sc = chr ? (SocketChardev *)
        object_dynamic_cast(OBJECT(chr), TYPE_CHARDEV_SOCKET) : NULL;
    VsdevSerial *s = port->vser;
    char buf[4096];
    ssize_t n, took = 0;

    if (!sc || sc->state != TCP_CHARDEV_STATE_CONNECTED || !sc->sioc ||
        sc->ioc != QIO_CHANNEL(sc->sioc) || sc->is_telnet ||
        port_is_console(port)) {
        return;
    }
    if (qio_channel_shutdown(sc->ioc, QIO_CHANNEL_SHUTDOWN_READ, NULL) < 0) {
        return;
    }
    port->cut = true;
    /* Nothing new can arrive now: read to EOF (or EAGAIN on TCP). */
    while ((n = qio_channel_read(sc->ioc, buf, sizeof(buf), NULL)) > 0) {
        took = vsdev_port_hold(s->core, port->id, buf, n);
        if (took > 0) {
            port->cut_bytes += took;
        }
        if (took != n) {
            break;
        }
    }
    if (n > 0) {
        warn_report("virtio-serial: port %u: unread host bytes at migration "
                    "not all taken (%s); the rest stay in the source",
                    port->id, took < 0 ? strerror(-took) : "over 1 MiB");
    }
    s->service_pending = true;  /* a resumed source delivers them */
}

static int vsdev_serial_pre_save(void *opaque)
{
    VsdevSerial *s = opaque;
    VsdevPort *port;

    /* Not for savevm/snapshots (RUN_STATE_SAVE_VM) or COLO: they go on. */
    if (!runstate_check(RUN_STATE_FINISH_MIGRATE)) {
        return 0;
    }
    QTAILQ_FOREACH(port, &s->ports, next) {
        port_cut(port);
    }
    return 0;
}

/*
 * The VM runs (again).  A connection the cut left half shut is dropped, so
 * the host sees EOF and reconnects (a server chardev accepts anew); the
 * bytes the cut took are delivered here, once.  And a host end that closed
 * while the VM was stopped (its event went nowhere) is told to the core.
 */
static void port_resume(VsdevPort *port)
{
    if (!qemu_chr_fe_backend_connected(&port->chr) || port_is_console(port)) {
        return;
    }
    if (port->cut) {
        port->cut = false;
        qemu_chr_fe_disconnect(&port->chr);
    }
    if (!qemu_chr_fe_backend_open(&port->chr)) {
        vsdev_port_set_host_connected(port->vser->core, port->id, false);
    }
}

static void vsdev_serial_set_status(VirtIODevice *vdev, uint8_t status)
{
    VsdevSerial *s = VSDEV_SERIAL(vdev);
    VsdevPort *port;

    vsdev_set_driver_ok(s->core, status & VIRTIO_CONFIG_S_DRIVER_OK);
    /*
     * Chardevs are detached while the VM is stopped so that nothing
     * touches guest RAM during migration.
     */
    QTAILQ_FOREACH(port, &s->ports, next) {
        if (qemu_chr_fe_backend_connected(&port->chr)) {
            port_set_handlers(port, vdev->vm_running);
        }
        if (vdev->vm_running) {
            port_resume(port);
        }
        if (vdev->vm_running && port->unthrottle_pending) {
            port->unthrottle_pending = false;
            vsdev_port_unthrottle(s->core, port->id);
        }
    }
    if (vdev->vm_running && s->service_pending) {
        s->service_pending = false;
        qemu_bh_schedule(s->bh);
    }
}

static void vsdev_serial_reset(VirtIODevice *vdev)
{
    vsdev_reset(VSDEV_SERIAL(vdev)->core);
}

static void vsdev_serial_queue_reset(VirtIODevice *vdev, uint32_t index)
{
    vsdev_queue_reset(VSDEV_SERIAL(vdev)->core, index);
}

static void put_elem(VirtIODevice *vdev, QEMUFile *f,
                     const struct vsdev_buf *b)
{
    qemu_put_virtqueue_element(vdev, f, b->cookie);
}

static void vsdev_serial_save(VirtIODevice *vdev, QEMUFile *f)
{
    VsdevSerial *s = VSDEV_SERIAL(vdev);
    struct vsdev_state *st = vsdev_state_get(s->core);
    uint32_t i, j;

    if (!st) {
        error_report("virtio-serial: out of memory saving state");
        abort();
    }
    qemu_put_be32(f, VSDEV_MIG_MAGIC);
    qemu_put_be32(f, st->version);
    qemu_put_be32(f, st->max_ports);
    qemu_put_be64(f, st->features);
    qemu_put_byte(f, st->driver_ok);
    qemu_put_byte(f, st->device_ready);
    qemu_put_be32(f, st->nports);
    for (i = 0; i < st->nports; i++) {
        struct vsdev_port_state *ps = &st->ports[i];

        qemu_put_be32(f, ps->id);
        qemu_put_byte(f, ps->guest_ready);
        qemu_put_byte(f, ps->guest_connected);
        qemu_put_byte(f, ps->host_connected);
        qemu_put_byte(f, ps->announced);
        qemu_put_byte(f, ps->throttled);
        qemu_put_byte(f, ps->tx_held);
        qemu_put_be32(f, ps->tx_off);
        if (ps->tx_held) {
            put_elem(vdev, f, &ps->tx_buf);
        }
        qemu_put_be32(f, ps->rx_count);
        for (j = 0; j < ps->rx_count; j++) {
            put_elem(vdev, f, &ps->rx_buf[j]);
        }
        qemu_put_be32(f, ps->held_len);
        qemu_put_buffer(f, ps->held, ps->held_len);
    }
    qemu_put_be32(f, st->nctrl);
    for (i = 0; i < st->nctrl; i++) {
        qemu_put_be32(f, st->ctrl[i].id);
        qemu_put_be16(f, st->ctrl[i].event);
        qemu_put_be16(f, st->ctrl[i].value);
    }
    vsdev_state_free(st);
}

/* Read one in-flight element; the core validates what it describes. */
static int get_elem(VirtIODevice *vdev, QEMUFile *f, struct vsdev_buf *b)
{
    VirtQueueElement *elem;
    int ret;

    elem = qemu_get_virtqueue_element(vdev, f, sizeof(VirtQueueElement));
    if (!elem) {
        return -EINVAL;
    }
    ret = elem_to_buf(vdev, elem, b);
    if (ret < 0) {
        g_free(elem);
    }
    return ret;
}

static void free_loaded_elems(struct vsdev_state *st)
{
    uint32_t i, j;

    for (i = 0; i < st->nports; i++) {
        if (st->ports[i].tx_held) {
            g_free(st->ports[i].tx_buf.cookie);
        }
        for (j = 0; j < st->ports[i].rx_count; j++) {
            g_free(st->ports[i].rx_buf[j].cookie);
        }
    }
}

/* Port i's held host bytes: a length the core bounds, then the bytes. */
static int load_held(QEMUFile *f, struct vsdev_state *st, uint32_t i)
{
    uint32_t len = qemu_get_be32(f);
    uint8_t *buf;

    if (len == 0) {
        return 0;
    }
    buf = vsdev_state_held_alloc(st, i, len);
    if (!buf) {
        error_report("virtio-serial: port %u: %u held bytes refused "
                     "(at most %u)", st->ports[i].id, len, VSDEV_HELD_MAX);
        return -EINVAL;
    }
    return qemu_get_buffer(f, buf, len) == len ? 0 : -EINVAL;
}

static int load_ports(VirtIODevice *vdev, QEMUFile *f, struct vsdev_state *st)
{
    uint32_t i, j;

    for (i = 0; i < st->nports; i++) {
        struct vsdev_port_state *ps = &st->ports[i];
        uint32_t rx_count;

        ps->id = qemu_get_be32(f);
        ps->guest_ready = qemu_get_byte(f);
        ps->guest_connected = qemu_get_byte(f);
        ps->host_connected = qemu_get_byte(f);
        ps->announced = qemu_get_byte(f);
        ps->throttled = qemu_get_byte(f);
        ps->tx_held = qemu_get_byte(f);
        ps->tx_off = qemu_get_be32(f);
        if (ps->tx_held > 1) {
            return -EINVAL;
        }
        if (ps->tx_held && get_elem(vdev, f, &ps->tx_buf) < 0) {
            ps->tx_held = 0;
            return -EINVAL;
        }
        rx_count = qemu_get_be32(f);
        if (rx_count > VSDEV_RX_STASH) {
            return -EINVAL;
        }
        for (j = 0; j < rx_count; j++) {
            if (get_elem(vdev, f, &ps->rx_buf[j]) < 0) {
                return -EINVAL;
            }
            ps->rx_count = j + 1;
        }
        if (load_held(f, st, i) < 0) {
            return -EINVAL;
        }
    }
    return 0;
}

static int vsdev_serial_load(VirtIODevice *vdev, QEMUFile *f, int version_id)
{
    VsdevSerial *s = VSDEV_SERIAL(vdev);
    struct vsdev_state *st;
    uint32_t version, max_ports, nports, nctrl, i;
    uint64_t features;
    uint8_t driver_ok, device_ready;
    int ret;

    if (qemu_get_be32(f) != VSDEV_MIG_MAGIC) {
        error_report("virtio-serial: not a vsdev-serial migration stream");
        return -EINVAL;
    }
    version = qemu_get_be32(f);
    max_ports = qemu_get_be32(f);
    features = qemu_get_be64(f);
    driver_ok = qemu_get_byte(f);
    device_ready = qemu_get_byte(f);
    nports = qemu_get_be32(f);
    if (version != VSDEV_STATE_VERSION || max_ports != s->max_ports ||
        nports > VSDEV_MAX_PORTS) {
        error_report("virtio-serial: incompatible state (version %u, "
                     "max_ports %u, %u ports)", version, max_ports, nports);
        return -EINVAL;
    }
    st = vsdev_state_alloc(nports, 8 * (VSDEV_MAX_PORTS + 1));
    if (!st) {
        return -ENOMEM;
    }
    st->version = version;
    st->max_ports = max_ports;
    st->features = features;
    st->driver_ok = driver_ok;
    st->device_ready = device_ready;
    ret = load_ports(vdev, f, st);
    if (ret == 0) {
        nctrl = qemu_get_be32(f);
        if (nctrl > 8 * (VSDEV_MAX_PORTS + 1)) {
            ret = -EINVAL;
        } else {
            st->nctrl = nctrl;
            for (i = 0; i < nctrl; i++) {
                st->ctrl[i].id = qemu_get_be32(f);
                st->ctrl[i].event = qemu_get_be16(f);
                st->ctrl[i].value = qemu_get_be16(f);
            }
            ret = qemu_file_get_error(f);
        }
    }
    if (ret == 0) {
        ret = vsdev_state_set(s->core, st);
        if (ret < 0) {
            error_report("virtio-serial: rejected migrated state: %s "
                         "(ports must match on both sides)", strerror(-ret));
        }
    }
    if (ret < 0) {
        free_loaded_elems(st);
    }
    vsdev_state_free(st);
    /* Held data and pending messages move once the VM runs. */
    s->service_pending = ret == 0;
    return ret;
}

static void vsdev_serial_plug(HotplugHandler *hotplug_dev, DeviceState *dev,
                              Error **errp)
{
    /* The core announced the port; old guests also watch config changes */
    virtio_notify_config(VIRTIO_DEVICE(hotplug_dev));
}

static void vsdev_serial_realize(DeviceState *dev, Error **errp)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);
    VsdevSerial *s = VSDEV_SERIAL(dev);
    struct vsdev_config cfg;
    unsigned int i;
    int ret;

    if (!s->max_ports) {
        error_setg(errp, "Maximum number of serial ports not specified");
        return;
    }
    if (s->max_ports > VSDEV_MAX_PORTS) {
        error_setg(errp, "maximum ports supported: %u", VSDEV_MAX_PORTS);
        return;
    }
    cfg.max_ports = s->max_ports;
    cfg.emerg_write = virtio_has_feature(s->host_features,
                                         VIRTIO_CONSOLE_F_EMERG_WRITE);
    s->transport.ops = &vsdev_qemu_transport_ops;
    ret = vsdev_new(&cfg, &s->transport, &s->core);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "virtio-serial: cannot create device");
        return;
    }
    virtio_init(vdev, VIRTIO_ID_CONSOLE, cfg.emerg_write ? 12 : 8);

    /* rx/tx of port 0, control rx/tx, then rx/tx of ports 1.. */
    s->nvqs = 2 * (s->max_ports + 1);
    s->vqs = g_new0(VirtQueue *, s->nvqs);
    for (i = 0; i < s->nvqs; i++) {
        bool ctrl = i == VSDEV_VQ_CTRL_RX || i == VSDEV_VQ_CTRL_TX;

        s->vqs[i] = virtio_add_queue(vdev, ctrl ? 32 : 128,
                                     vsdev_serial_kick);
    }
    s->bh = virtio_bh_new_guarded(dev, vsdev_serial_bh, s);
    QTAILQ_INIT(&s->ports);

    qbus_init(&s->bus, sizeof(s->bus), TYPE_VSDEV_SERIAL_BUS, dev,
              vdev->bus_name);
    qbus_set_hotplug_handler(BUS(&s->bus), OBJECT(s));
    s->bus.vser = s;
}

static void vsdev_serial_unrealize(DeviceState *dev)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);
    VsdevSerial *s = VSDEV_SERIAL(dev);
    unsigned int i;

    qemu_bh_delete(s->bh);
    for (i = 0; i < s->nvqs; i++) {
        virtio_delete_queue(s->vqs[i]);
    }
    g_free(s->vqs);
    s->core = vsdev_free(s->core);
    qbus_set_hotplug_handler(BUS(&s->bus), NULL);
    virtio_cleanup(vdev);
}

static const VMStateDescription vmstate_vsdev_serial = {
    .name = "vsdev-serial",
    .minimum_version_id = VSDEV_MIG_VERSION,
    .version_id = VSDEV_MIG_VERSION,
    .pre_save = vsdev_serial_pre_save,
    .fields = (VMStateField[]) {
        VMSTATE_VIRTIO_DEVICE,
        VMSTATE_END_OF_LIST()
    },
};

static Property vsdev_serial_properties[] = {
    DEFINE_PROP_UINT32("max_ports", VsdevSerial, max_ports, 31),
    DEFINE_PROP_BIT64("emergency-write", VsdevSerial, host_features,
                      VIRTIO_CONSOLE_F_EMERG_WRITE, true),
    DEFINE_PROP_END_OF_LIST(),
};

static void vsdev_serial_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioDeviceClass *vdc = VIRTIO_DEVICE_CLASS(klass);
    HotplugHandlerClass *hc = HOTPLUG_HANDLER_CLASS(klass);

    device_class_set_props(dc, vsdev_serial_properties);
    dc->vmsd = &vmstate_vsdev_serial;
    set_bit(DEVICE_CATEGORY_INPUT, dc->categories);
    vdc->realize = vsdev_serial_realize;
    vdc->unrealize = vsdev_serial_unrealize;
    vdc->get_features = vsdev_serial_get_features;
    vdc->set_features = vsdev_serial_set_features;
    vdc->get_config = vsdev_serial_get_config;
    vdc->set_config = vsdev_serial_set_config;
    vdc->set_status = vsdev_serial_set_status;
    vdc->reset = vsdev_serial_reset;
    vdc->queue_reset = vsdev_serial_queue_reset;
    vdc->save = vsdev_serial_save;
    vdc->load = vsdev_serial_load;
    hc->plug = vsdev_serial_plug;
    hc->unplug = qdev_simple_device_unplug_cb;
}

/* ---- the PCI proxy: virtio-serial-pci ---------------------------------- */

#define TYPE_VSDEV_SERIAL_PCI "vsdev-serial-pci-base"
typedef struct VsdevSerialPCI VsdevSerialPCI;
DECLARE_INSTANCE_CHECKER(VsdevSerialPCI, VSDEV_SERIAL_PCI,
                         TYPE_VSDEV_SERIAL_PCI)

struct VsdevSerialPCI {
    VirtIOPCIProxy parent_obj;
    VsdevSerial vdev;
};

static void vsdev_serial_pci_realize(VirtIOPCIProxy *vpci_dev, Error **errp)
{
    VsdevSerialPCI *dev = VSDEV_SERIAL_PCI(vpci_dev);
    DeviceState *vdev = DEVICE(&dev->vdev);
    DeviceState *proxy = DEVICE(vpci_dev);

    if (vpci_dev->class_code != PCI_CLASS_COMMUNICATION_OTHER &&
        vpci_dev->class_code != PCI_CLASS_DISPLAY_OTHER &&
        vpci_dev->class_code != PCI_CLASS_OTHERS) {
        vpci_dev->class_code = PCI_CLASS_COMMUNICATION_OTHER;
    }
    if (vpci_dev->nvectors == DEV_NVECTORS_UNSPECIFIED) {
        vpci_dev->nvectors = dev->vdev.max_ports + 1;
    }
    /* "<id>.0" names the port bus, as libvirt's bus=virtio-serial0.0 wants */
    if (proxy->id) {
        g_autofree char *bus_name = g_strdup_printf("%s.0", proxy->id);

        virtio_device_set_child_bus_name(VIRTIO_DEVICE(vdev), bus_name);
    }
    qdev_realize(vdev, BUS(&vpci_dev->bus), errp);
}

static Property vsdev_serial_pci_properties[] = {
    DEFINE_PROP_BIT("ioeventfd", VirtIOPCIProxy, flags,
                    VIRTIO_PCI_FLAG_USE_IOEVENTFD_BIT, true),
    DEFINE_PROP_UINT32("vectors", VirtIOPCIProxy, nvectors, 2),
    DEFINE_PROP_UINT32("class", VirtIOPCIProxy, class_code, 0),
    DEFINE_PROP_END_OF_LIST(),
};

static void vsdev_serial_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioPCIClass *k = VIRTIO_PCI_CLASS(klass);
    PCIDeviceClass *pcidev_k = PCI_DEVICE_CLASS(klass);

    k->realize = vsdev_serial_pci_realize;
    set_bit(DEVICE_CATEGORY_INPUT, dc->categories);
    device_class_set_props(dc, vsdev_serial_pci_properties);
    pcidev_k->vendor_id = PCI_VENDOR_ID_REDHAT_QUMRANET;
    pcidev_k->device_id = PCI_DEVICE_ID_VIRTIO_CONSOLE;
    pcidev_k->revision = VIRTIO_PCI_ABI_VERSION;
    pcidev_k->class_id = PCI_CLASS_COMMUNICATION_OTHER;
}

static void vsdev_serial_pci_instance_init(Object *obj)
{
    VsdevSerialPCI *dev = VSDEV_SERIAL_PCI(obj);

    virtio_instance_init_common(obj, &dev->vdev, sizeof(dev->vdev),
                                TYPE_VSDEV_SERIAL);
}

static const VirtioPCIDeviceTypeInfo vsdev_serial_pci_info = {
    .base_name             = TYPE_VSDEV_SERIAL_PCI,
    .generic_name          = "virtio-serial-pci",
    .transitional_name     = "virtio-serial-pci-transitional",
    .non_transitional_name = "virtio-serial-pci-non-transitional",
    .instance_size = sizeof(VsdevSerialPCI),
    .instance_init = vsdev_serial_pci_instance_init,
    .class_init    = vsdev_serial_pci_class_init,
};

/* ---- registration ------------------------------------------------------- */

static const TypeInfo vsdev_types[] = {
    {
        .name = TYPE_VSDEV_SERIAL_BUS,
        .parent = TYPE_BUS,
        .instance_size = sizeof(VsdevSerialBus),
        .class_init = vsdev_bus_class_init,
    }, {
        .name = TYPE_VSDEV_PORT,
        .parent = TYPE_DEVICE,
        .instance_size = sizeof(VsdevPort),
        .abstract = true,
        .class_size = sizeof(VsdevPortClass),
        .class_init = vsdev_port_class_init,
    }, {
        .name = TYPE_VIRTSERIALPORT,
        .parent = TYPE_VSDEV_PORT,
    }, {
        .name = TYPE_VIRTCONSOLE,
        .parent = TYPE_VIRTSERIALPORT,
        .class_init = virtconsole_class_init,
    }, {
        .name = TYPE_VSDEV_SERIAL,
        .parent = TYPE_VIRTIO_DEVICE,
        .instance_size = sizeof(VsdevSerial),
        .class_init = vsdev_serial_class_init,
        .interfaces = (InterfaceInfo[]) {
            { TYPE_HOTPLUG_HANDLER },
            { }
        },
    },
};

static void vsdev_register_types(void)
{
    type_register_static_array(vsdev_types, ARRAY_SIZE(vsdev_types));
    virtio_pci_types_register(&vsdev_serial_pci_info);
}

type_init(vsdev_register_types)
