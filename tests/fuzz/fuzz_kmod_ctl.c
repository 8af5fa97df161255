/*
 * fuzz_kmod_ctl.c - a hostile virtio-serial device against the checks our
 * guest driver makes on what the device sends (guest-kmod/vserial_ctl.h):
 * used lengths (the CVE-2021-38160 class), control message decoding and
 * classification, port ids against max_nr_ports, PORT_NAME payloads with
 * or without a NUL, and reads out of a receive buffer.
 *
 * vserial_ctl.h is kernel code; the shim below gives it the few kernel
 * types and helpers it uses.  The target drives the helpers the way
 * vserial.c does: the device fills a receive buffer of a fixed size and
 * reports a used length; the clamped bytes are copied to a heap block of
 * exactly that size (as vsp_ctrl_collect does), so ASan sees any read past
 * them; the message is decoded and classified against a model port table
 * of exactly max_nr_ports entries.
 *
 * Input: byte 0 bit 0 = little-endian device (VERSION_1), bytes 1-2 =
 * max_nr_ports (LE), byte 3 = buffer size (bit 7: 4096, else 1 + bits
 * 0-6), then up to 1024 ops, each one byte:
 *   even: a control message: used (u32 LE), n (u16 LE), then n bytes
 *         written at the start of the buffer (the rest keeps old bytes);
 *   odd:  a data buffer: used (u32 LE), k, then k reads of (u16 LE) bytes.
 * Invariants: a used length never exceeds the buffer, a read never passes
 * the data, only PORT_ADD with an id < max_nr_ports creates a port, every
 * action matches the event, a name is NUL-terminated within its copy and
 * holds no NUL.
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <linux/virtio_console.h>	/* uapi: the message and events */

#include "fuzz.h"

/* The kernel's types and byte-order helpers, as vserial_ctl.h uses them. */
typedef uint16_t u16;
typedef uint32_t u32;
#define min_t(type, a, b) ((type)(a) < (type)(b) ? (type)(a) : (type)(b))

static inline u16 le16_to_cpu(__le16 v) { return le16toh(v); }
static inline u16 be16_to_cpu(__be16 v) { return be16toh(v); }
static inline u32 le32_to_cpu(__le32 v) { return le32toh(v); }
static inline u32 be32_to_cpu(__be32 v) { return be32toh(v); }

static inline u16 __virtio16_to_cpu(bool little_endian, __virtio16 val)
{
	return little_endian ? le16_to_cpu((__le16)val) :
			       be16_to_cpu((__be16)val);
}

static inline u32 __virtio32_to_cpu(bool little_endian, __virtio32 val)
{
	return little_endian ? le32_to_cpu((__le32)val) :
			       be32_to_cpu((__be32)val);
}

#include "../../guest-kmod/vserial_ctl.h"

enum { BIG_BUF = 4096, MAX_OPS = 1024, HDR = 8 };

struct script {
	const uint8_t *p;
	size_t left;
};

static uint8_t next8(struct script *s)
{
	if (!s->left)
		return 0;
	s->left--;
	return *s->p++;
}

static uint16_t next16(struct script *s)
{
	uint16_t lo = next8(s);

	return (uint16_t)(lo | next8(s) << 8);
}

static uint32_t next32(struct script *s)
{
	uint32_t lo = next16(s);

	return lo | (uint32_t)next16(s) << 16;
}

/* What the driver keeps per port, as far as these checks reach. */
struct mport {
	bool present;
	bool console;
	bool host;
	char *name;
};

struct model {
	bool le;
	u32 max;		/* max_nr_ports, already accepted */
	struct mport *ports;	/* exactly max entries */
	uint8_t *buf;		/* the receive buffer, exactly size bytes */
	size_t size;
};

static uint32_t raw32(const uint8_t *b, bool le)
{
	if (le)
		return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
	return (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
}

static uint16_t raw16(const uint8_t *b, bool le)
{
	return (uint16_t)(le ? b[0] | b[1] << 8 : b[0] << 8 | b[1]);
}

/* The device fills the buffer and reports used; returns the kept length. */
static size_t device_fill(struct model *md, struct script *s, size_t n,
			  uint32_t used)
{
	size_t len;

	for (size_t i = 0; i < n; i++) {
		uint8_t b = next8(s);

		if (i < md->size)
			md->buf[i] = b;
	}
	len = vsp_used_len(used, md->size);
	FUZZ_ASSERT(len <= md->size);
	FUZZ_ASSERT(len == (used < md->size ? used : md->size));
	return len;
}

static void set_name(struct mport *p, const struct vsp_ctl_msg *m)
{
	size_t n;

	if (p->name)	/* a repeated name is ignored */
		return;
	n = vsp_ctl_name_len(m);
	FUZZ_ASSERT(n <= m->payload_len);
	FUZZ_ASSERT(!memchr(m->payload, 0, n));
	FUZZ_ASSERT(n == m->payload_len || m->payload[n] == 0);
	p->name = malloc(n + 1);	/* kmemdup_nul */
	if (!p->name)
		abort();
	memcpy(p->name, m->payload, n);
	p->name[n] = 0;
	FUZZ_ASSERT(strlen(p->name) == n);
}

static void apply(struct model *md, const struct vsp_ctl_msg *m)
{
	bool have = m->id < md->max && md->ports[m->id].present;
	bool add = m->event == VIRTIO_CONSOLE_PORT_ADD;
	struct mport *p = have ? &md->ports[m->id] : NULL;

	switch (vsp_ctl_action(m, have, md->max)) {
	case VSP_CTL_ADD:
		FUZZ_ASSERT(add && !have && m->id < md->max);
		md->ports[m->id].present = true;
		break;
	case VSP_CTL_READY_AGAIN:
		FUZZ_ASSERT(add && have);
		break;
	case VSP_CTL_BAD_ID:
		FUZZ_ASSERT(add && m->id >= md->max);
		break;
	case VSP_CTL_UNKNOWN_PORT:
		FUZZ_ASSERT(!add && !have);
		break;
	case VSP_CTL_REMOVE:
		FUZZ_ASSERT(p && m->event == VIRTIO_CONSOLE_PORT_REMOVE);
		free(p->name);
		*p = (struct mport){ 0 };
		break;
	case VSP_CTL_CONSOLE:
		FUZZ_ASSERT(p && m->event == VIRTIO_CONSOLE_CONSOLE_PORT);
		FUZZ_ASSERT(m->value);
		p->console = true;
		break;
	case VSP_CTL_OPEN:
		FUZZ_ASSERT(p && m->event == VIRTIO_CONSOLE_PORT_OPEN);
		if (!p->console)
			p->host = m->value;
		break;
	case VSP_CTL_NAME:
		FUZZ_ASSERT(p && m->event == VIRTIO_CONSOLE_PORT_NAME);
		set_name(p, m);
		break;
	case VSP_CTL_IGNORE:
		FUZZ_ASSERT(have && !add);
		FUZZ_ASSERT(m->event != VIRTIO_CONSOLE_PORT_REMOVE &&
			    m->event != VIRTIO_CONSOLE_PORT_OPEN &&
			    m->event != VIRTIO_CONSOLE_PORT_NAME);
		FUZZ_ASSERT(m->event != VIRTIO_CONSOLE_CONSOLE_PORT ||
			    !m->value);
		break;
	default:
		FUZZ_ASSERT(!"unknown action");
	}
}

static void control_op(struct model *md, struct script *s)
{
	uint32_t used = next32(s);
	size_t n = next16(s);
	size_t len = device_fill(md, s, n, used);
	/* vsp_ctrl_collect's copy: exactly len bytes. */
	char *msg = malloc(len ? len : 1);
	struct vsp_ctl_msg m;

	if (!msg)
		abort();
	memcpy(msg, md->buf, len);
	if (vsp_ctl_decode(&m, msg, len, md->le) < 0) {
		FUZZ_ASSERT(len < HDR);
		free(msg);
		return;
	}
	FUZZ_ASSERT(len >= HDR);
	FUZZ_ASSERT(m.payload == msg + HDR && m.payload_len == len - HDR);
	FUZZ_ASSERT(m.id == raw32(md->buf, md->le));
	FUZZ_ASSERT(m.event == raw16(md->buf + 4, md->le));
	FUZZ_ASSERT(m.value == raw16(md->buf + 6, md->le));
	apply(md, &m);
	free(msg);
}

/* A data buffer read in pieces, as vsp_copy_out and vsp_get_chars do. */
static void data_op(struct model *md, struct script *s)
{
	uint32_t used = next32(s);
	size_t len = device_fill(md, s, 0, used);
	uint8_t k = next8(s);
	uint8_t out[BIG_BUF];
	size_t off = 0;

	for (uint8_t i = 0; i < k; i++) {
		size_t want = next16(s) % (sizeof(out) + 1);
		size_t n = vsp_rx_chunk(len, off, want);

		FUZZ_ASSERT(n <= want && off + n <= len);
		FUZZ_ASSERT(n || !want || off == len);
		memcpy(out, md->buf + off, n);
		off += n;
	}
	FUZZ_ASSERT(vsp_rx_chunk(len, len, sizeof(out)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script s = { data, size };
	struct model md = { 0 };
	uint8_t sz;

	md.le = next8(&s) & 1;
	md.max = next16(&s);
	sz = next8(&s);
	/* The probe refuses a device outside 1..511 ports. */
	if (!vsp_max_ports_valid(md.max)) {
		FUZZ_ASSERT(md.max == 0 || md.max > VSP_MAX_PORTS);
		return 0;
	}
	md.size = sz & 0x80 ? BIG_BUF : 1 + (sz & 0x7f);
	md.ports = calloc(md.max, sizeof(*md.ports));
	md.buf = malloc(md.size);
	if (!md.ports || !md.buf)
		abort();
	memset(md.buf, 0xa5, md.size);	/* old bytes, not zeroes */

	for (int i = 0; s.left && i < MAX_OPS; i++) {
		if (next8(&s) & 1)
			data_op(&md, &s);
		else
			control_op(&md, &s);
	}

	for (u32 i = 0; i < md.max; i++)
		free(md.ports[i].name);
	free(md.ports);
	free(md.buf);
	return 0;
}
