/*
 * fuzz_vsdev.c - a hostile guest (and a restless host) against the
 * virtio-serial device core: descriptor-chain walks, control messages,
 * queue indices, rx/tx data paths, hot-plug, held host bytes (the
 * migration cut) and state save/load, including hostile loaded states.
 *
 * The input is a script.  Each op byte picks an action; its operands
 * follow.  Guest RAM is small (16 KiB) so raw writes land on the rings
 * often.  Invariants checked: the core never calls the transport's fail()
 * twice without a reset, never accepts more host bytes than offered, a
 * saved state always loads back (also after a refused hostile one), held
 * bytes stay within VSDEV_HELD_MAX, and the control queue stays bounded.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "../../hw-virtio-serial/fake/fake_transport.h"
#include "../../hw-virtio-serial/vsdev.h"

enum { MAXP = 4, QSIZE = 8, RAM = 16384 };

struct sink {
	size_t got;
	size_t budget;
};

static ssize_t sink_data(void *opaque, const uint8_t *buf, size_t len)
{
	struct sink *s = opaque;
	size_t n = len < s->budget ? len : s->budget;

	(void)buf;
	s->got += n;
	return (ssize_t)n;
}

static const struct vsdev_port_ops sink_ops = {
	.version = VSDEV_PORT_OPS_V1,
	.have_data = sink_data,
};

struct script {
	const uint8_t *p;
	size_t left;
};

static uint8_t next(struct script *s)
{
	if (!s->left)
		return 0;
	s->left--;
	return *s->p++;
}

static uint16_t next16(struct script *s)
{
	return (uint16_t)(next(s) | next(s) << 8);
}

static void add_port(struct vsdev *dev, struct sink *sinks, uint8_t which)
{
	static const char *names[] = { NULL, "org.fuzz.a", "org.fuzz.b", "x" };
	struct vsdev_port_config pc = {
		.id = which % 5 == 4 ? VSDEV_ID_AUTO : which % 5,
		.name = names[(which >> 3) % 4],
		.console = which & 0x80,
		.ops = &sink_ops,
		.opaque = &sinks[which % MAXP],
	};

	(void)vsdev_port_add(dev, &pc);
}

static void state_round_trip(struct vsdev *dev)
{
	struct vsdev_state *st = vsdev_state_get(dev);

	if (!st)
		return;
	/* Loading what we saved must succeed and change nothing visible. */
	FUZZ_ASSERT(vsdev_state_set(dev, st) == 0);
	vsdev_state_free(st);
}

/*
 * A saved state bent by the script, as a hostile or corrupt migration
 * stream would arrive through the front's loader: held bytes only through
 * vsdev_state_held_alloc() (as the loader does), or a length without
 * bytes; other fields overwritten.  Whatever set() says, the device must
 * stay consistent: its own state loads back.
 */
static void hostile_load(struct vsdev *dev, struct script *s)
{
	static const uint32_t lens[] = { 0, 1, 4096, VSDEV_HELD_MAX,
					 VSDEV_HELD_MAX + 1, 0xffffffffu };
	struct vsdev_state *st = vsdev_state_get(dev);
	uint8_t how = next(s);
	struct vsdev_port_state *ps;
	uint32_t i, len;
	uint8_t *hb;

	if (!st)
		return;
	if (st->nports) {
		i = how % st->nports;
		ps = &st->ports[i];
		len = how & 0x08 ? next(s) : lens[(how >> 4) % 6];
		if (how & 0x04) {
			hb = vsdev_state_held_alloc(st, i, len);
			FUZZ_ASSERT(!hb == (len == 0 || len > VSDEV_HELD_MAX));
			for (uint32_t k = 0; hb && k < len && k < 64; k++)
				hb[k] = next(s);
		} else if (!ps->held) {
			ps->held_len = len;	/* a length without bytes */
		}
		if (how & 0x80)
			ps->rx_count = next(s);
		if (how & 0x40)
			ps->tx_off = next(s);
	}
	(void)vsdev_state_set(dev, st);
	vsdev_state_free(st);
	state_round_trip(dev);
}

static void raw_write(struct fake *f, struct script *s)
{
	uint16_t off = next16(s) % RAM;
	uint8_t n = next(s);
	uint8_t *mem = fake_ptr(f, FAKE_RAM_BASE);

	for (uint8_t i = 0; i < n && off + i < RAM; i++)
		mem[off + i] = next(s);
}

static void step(struct fake *f, struct sink *sinks, struct script *s)
{
	struct vsdev *dev = f->dev;
	uint8_t op = next(s), a = next(s);
	uint8_t data[64] = { 0 };
	uint32_t h, l;

	switch (op % 18) {
	case 0:
		raw_write(f, s);
		break;
	case 1:
		(void)vsdev_handle_output(dev, a % 12);	/* 10 exist */
		break;
	case 2:
		fake_publish(f, a % 10, next16(s));
		break;
	case 3:
		fake_set_avail_idx(f, a % 10, next16(s));
		break;
	case 4: {	/* a chain with script bytes: control messages too */
		size_t n = next(s) % sizeof(data);

		for (size_t i = 0; i < n; i++)
			data[i] = next(s);
		(void)fake_add_out(f, a % 10, data, n);
		break;
	}
	case 5:
		(void)fake_add_in(f, a % 10, next(s) % 64);
		break;
	case 6:
		vsdev_set_driver_ok(dev, a & 1);
		break;
	case 7:
		vsdev_set_features(dev, a);
		break;
	case 8:
		(void)vsdev_port_set_host_connected(dev, a % MAXP, a & 0x10);
		break;
	case 9:
		(void)vsdev_port_write_room(dev, a % MAXP);
		break;
	case 10: {
		size_t n = next(s) % sizeof(data);
		ssize_t r = vsdev_port_write(dev, a % MAXP, data, n);

		FUZZ_ASSERT(r <= (ssize_t)n);
		break;
	}
	case 11:
		sinks[a % MAXP].budget = next(s);
		(void)vsdev_port_unthrottle(dev, a % MAXP);
		break;
	case 12:
		if (a & 1)
			add_port(dev, sinks, next(s));
		else
			(void)vsdev_port_remove(dev, next(s) % MAXP);
		break;
	case 13:
		vsdev_reset(dev);
		f->fail_calls = 0;
		break;
	case 14:
		if (!vsdev_broken(dev))
			state_round_trip(dev);
		break;
	case 15:
		(void)vsdev_service(dev);
		while (fake_get_used(f, a % 10, &h, &l) == 0)
			;
		break;
	case 16: {	/* the migration cut hands over unread host bytes */
		size_t n = next(s) % sizeof(data);
		ssize_t r = vsdev_port_hold(dev, a % MAXP, data, n);
		struct vsdev_port_info pi;

		FUZZ_ASSERT(r <= (ssize_t)n);
		if (vsdev_port_info(dev, a % MAXP, &pi) == 0)
			FUZZ_ASSERT(pi.held <= VSDEV_HELD_MAX);
		break;
	}
	case 17:
		if (!vsdev_broken(dev))
			hostile_load(dev, s);
		break;
	}
	FUZZ_ASSERT(f->fail_calls <= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vsdev_config cfg = { .max_ports = MAXP, .emerg_write = true };
	struct sink sinks[MAXP];
	struct script s = { data, size };
	struct vsdev_stats st;
	struct fake *f = fake_new(2 * (MAXP + 1), QSIZE, RAM);

	if (vsdev_new(&cfg, &f->t, &f->dev) < 0)
		abort();
	for (int i = 0; i < MAXP; i++)
		sinks[i] = (struct sink){ 0, (size_t)-1 };
	add_port(f->dev, sinks, 0x80);		/* console 0 */
	add_port(f->dev, sinks, 0x08 | 1);	/* org.fuzz.a at 1 */
	(void)vsdev_port_set_host_connected(f->dev, 0, true);
	(void)vsdev_port_set_host_connected(f->dev, 1, true);
	(void)fake_driver_start(f, 2);

	for (int n = 0; s.left && n < 512; n++)
		step(f, sinks, &s);

	vsdev_get_stats(f->dev, &st);
	FUZZ_ASSERT(st.ctrl_pending <= 8 * (MAXP + 1));
	vsdev_free(f->dev);
	fake_free(f);
	return 0;
}
