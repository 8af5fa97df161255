/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pure checks vserial makes on what the device sends: control message
 * decoding, the action a message asks for, port id and max_nr_ports
 * ranges, PORT_NAME payloads and used lengths.  The device is not trusted,
 * so every number it supplies is checked here before vserial.c acts on it.
 *
 * Nothing here touches a device, a lock or memory it was not given, so the
 * same code also runs in userspace under libFuzzer
 * (tests/fuzz/fuzz_kmod_ctl.c).  A userspace includer must first provide
 * what the kernel headers below would: bool, size_t, u16, u32, min_t(),
 * memcpy(), strnlen(), EPROTO, __virtio16_to_cpu(), __virtio32_to_cpu(),
 * and the uapi <linux/virtio_console.h>.
 */
#ifndef VSERIAL_CTL_H
#define VSERIAL_CTL_H

#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/minmax.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/virtio_byteorder.h>
#include <linux/virtio_console.h>
#endif

/* QEMU's limit: 1024 queues, two per port plus the control pair. */
#define VSP_MAX_PORTS		511

/* Whether config space's max_nr_ports is one we can serve (1..511). */
static inline bool vsp_max_ports_valid(u32 max)
{
	return max >= 1 && max <= VSP_MAX_PORTS;
}

/*
 * Bytes of a size-byte receive buffer that hold data, given the used
 * length the device reported.  The device may claim more than the buffer
 * holds (QEMU does for an over-long port name): never trust it further
 * than the buffer (CVE-2021-38160).
 */
static inline size_t vsp_used_len(u32 used, size_t size)
{
	return min_t(size_t, used, size);
}

/*
 * Bytes a reader may take next from a buffer with len bytes of data of
 * which off are consumed, when it wants want.  0 once the buffer is empty.
 */
static inline size_t vsp_rx_chunk(size_t len, size_t off, size_t want)
{
	if (off >= len)
		return 0;
	return min_t(size_t, want, len - off);
}

/* A host->guest control message; payload points into the caller's bytes. */
struct vsp_ctl_msg {
	u32 id;			/* port id, not yet checked */
	u16 event;		/* VIRTIO_CONSOLE_* */
	u16 value;
	const char *payload;	/* the bytes after the header (PORT_NAME) */
	size_t payload_len;
};

/*
 * Decodes the control message in data[0..len).  The header is in the
 * device's byte order (little-endian for VERSION_1, else the guest's).
 * Returns 0, or -EPROTO when len is shorter than the header.
 */
static inline int vsp_ctl_decode(struct vsp_ctl_msg *m, const char *data,
				 size_t len, bool little_endian)
{
	struct virtio_console_control hdr;

	if (len < sizeof(hdr))
		return -EPROTO;
	memcpy(&hdr, data, sizeof(hdr));
	m->id = __virtio32_to_cpu(little_endian, hdr.id);
	m->event = __virtio16_to_cpu(little_endian, hdr.event);
	m->value = __virtio16_to_cpu(little_endian, hdr.value);
	m->payload = data + sizeof(hdr);
	m->payload_len = len - sizeof(hdr);
	return 0;
}

/* What the driver does with one control message. */
enum vsp_ctl_action {
	VSP_CTL_IGNORE,		/* nothing: DEVICE_READY, RESIZE, unknown */
	VSP_CTL_UNKNOWN_PORT,	/* not PORT_ADD, and no port has that id */
	VSP_CTL_ADD,		/* PORT_ADD: a new port, id < max_nr_ports */
	VSP_CTL_READY_AGAIN,	/* PORT_ADD for a port we have: PORT_READY */
	VSP_CTL_BAD_ID,		/* PORT_ADD with id >= max_nr_ports */
	VSP_CTL_REMOVE,		/* PORT_REMOVE of a port we have */
	VSP_CTL_CONSOLE,	/* CONSOLE_PORT with a non-zero value */
	VSP_CTL_OPEN,		/* PORT_OPEN: value is the host's state */
	VSP_CTL_NAME,		/* PORT_NAME: name in the payload */
};

/*
 * Classifies a decoded message.  have_port says whether a port with m->id
 * exists; ports only come from VSP_CTL_ADD, so any port has an id below
 * max_nr_ports.  Only VSP_CTL_ADD may create one.
 */
static inline enum vsp_ctl_action
vsp_ctl_action(const struct vsp_ctl_msg *m, bool have_port, u32 max_nr_ports)
{
	if (m->event == VIRTIO_CONSOLE_PORT_ADD) {
		if (have_port)
			return VSP_CTL_READY_AGAIN;
		if (m->id >= max_nr_ports)
			return VSP_CTL_BAD_ID;
		return VSP_CTL_ADD;
	}
	if (!have_port)
		return VSP_CTL_UNKNOWN_PORT;
	switch (m->event) {
	case VIRTIO_CONSOLE_PORT_REMOVE:
		return VSP_CTL_REMOVE;
	case VIRTIO_CONSOLE_CONSOLE_PORT:
		return m->value ? VSP_CTL_CONSOLE : VSP_CTL_IGNORE;
	case VIRTIO_CONSOLE_PORT_OPEN:
		return VSP_CTL_OPEN;
	case VIRTIO_CONSOLE_PORT_NAME:
		return VSP_CTL_NAME;
	default:
		/* RESIZE needs F_SIZE, which is never negotiated. */
		return VSP_CTL_IGNORE;
	}
}

/*
 * Length of the port name in a PORT_NAME payload: up to the first NUL or
 * the end of the payload.  QEMU appends a NUL, the spec does not: accept
 * both.  The caller copies that many bytes and terminates the copy.
 */
static inline size_t vsp_ctl_name_len(const struct vsp_ctl_msg *m)
{
	return strnlen(m->payload, m->payload_len);
}

#endif /* VSERIAL_CTL_H */
