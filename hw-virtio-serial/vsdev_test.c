/*
 * vsdev_test.c - unit tests of the virtio-serial core over the fake
 * transport (fake/), which plays a Linux-like driver on split virtqueues
 * in plain memory.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fake/fake_transport.h"
#include "vsdev.h"

enum { NTB = 8, MEM = 8 << 20 };

struct trace {
	uint32_t id[4096];
	size_t n;
};

/* A host backend recording what it gets; accepts `accept` bytes a call. */
struct tb {
	uint32_t id;
	uint8_t got[65536];
	size_t n;
	size_t accept;		/* per call; (size_t)-1 = everything */
	size_t budget;		/* total bytes it will take before 0 */
	bool open;
	int open_calls;
	int writable_calls;
	struct trace *tr;
};

static ssize_t tb_have_data(void *opaque, const uint8_t *buf, size_t len)
{
	struct tb *b = opaque;
	size_t n = len < b->accept ? len : b->accept;

	if (n > b->budget)
		n = b->budget;
	if (n > sizeof(b->got) - b->n)
		n = sizeof(b->got) - b->n;
	memcpy(b->got + b->n, buf, n);
	b->n += n;
	b->budget -= n;
	if (b->tr && b->tr->n < 4096 && n)
		b->tr->id[b->tr->n++] = b->id;
	return (ssize_t)n;
}

static void tb_guest_open(void *opaque, bool open)
{
	struct tb *b = opaque;

	b->open = open;
	b->open_calls++;
}

static void tb_writable(void *opaque)
{
	((struct tb *)opaque)->writable_calls++;
}

static const struct vsdev_port_ops tb_ops = {
	.version = VSDEV_PORT_OPS_V1,
	.have_data = tb_have_data,
	.guest_open = tb_guest_open,
	.writable = tb_writable,
};

struct rig {
	struct fake *f;
	struct vsdev *dev;
	struct tb tb[NTB];
	struct trace tr;
};

static struct rig *rig_new(uint32_t max_ports, uint16_t qsize)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct vsdev_config cfg = { .max_ports = max_ports, .emerg_write = true };

	r->f = fake_new(2 * (max_ports + 1), qsize, MEM);
	if (vsdev_new(&cfg, &r->f->t, &r->dev) < 0)
		abort();
	r->f->dev = r->dev;
	for (int i = 0; i < NTB; i++) {
		r->tb[i].accept = (size_t)-1;
		r->tb[i].budget = (size_t)-1;
		r->tb[i].tr = &r->tr;
	}
	return r;
}

static void rig_free(struct rig *r)
{
	vsdev_free(r->dev);
	fake_free(r->f);
	free(r);
}

/* Add port `id` with backend tb[slot]; returns vsdev_port_add's result. */
static int rig_port(struct rig *r, int slot, uint32_t id, const char *name,
		    bool console)
{
	struct vsdev_port_config pc = {
		.id = id, .name = name, .console = console,
		.ops = &tb_ops, .opaque = &r->tb[slot],
	};
	int rc = vsdev_port_add(r->dev, &pc);

	if (rc >= 0)
		r->tb[slot].id = (uint32_t)rc;
	return rc;
}

struct msg {
	uint32_t id;
	uint16_t event, value;
	char name[VSDEV_NAME_MAX + 2];
};

static int recv(struct rig *r, struct msg *m)
{
	return fake_recv_ctrl(r->f, &m->id, &m->event, &m->value, m->name);
}

/* Drain control messages; true if (id, event, value) was among them. */
static bool saw(struct rig *r, uint32_t id, uint16_t event, uint16_t value)
{
	struct msg m;
	bool found = false;

	while (recv(r, &m) == 0)
		if (m.id == id && m.event == event && m.value == value)
			found = true;
	return found;
}

/* Bring-up plus PORT_READY and guest open of each given port. */
static void rig_open(struct rig *r, const uint32_t *ids, int n)
{
	struct msg m;

	fake_driver_start(r->f, 8);
	while (recv(r, &m) == 0)
		;
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < 8; k++)
			fake_add_in(r->f, vsdev_rx_vq(ids[i]), 4096);
		fake_send_ctrl(r->f, ids[i], VSDEV_PORT_READY, 1);
		fake_send_ctrl(r->f, ids[i], VSDEV_PORT_OPEN, 1);
	}
	while (recv(r, &m) == 0)
		;
}

static struct rig *rig_two_ports(void)
{
	struct rig *r = rig_new(4, 16);
	uint32_t ids[] = { 1, 2 };

	rig_port(r, 1, 1, "org.test.one", false);
	rig_port(r, 2, 2, "org.test.two", false);
	vsdev_port_set_host_connected(r->dev, 1, true);
	vsdev_port_set_host_connected(r->dev, 2, true);
	rig_open(r, ids, 2);
	return r;
}

/* Guest writes data on port id's transmit queue and kicks. */
static int guest_send(struct rig *r, uint32_t id, const char *s)
{
	int rc = fake_add_out(r->f, vsdev_tx_vq(id), s, strlen(s));

	return rc < 0 ? rc : fake_kick(r->f, vsdev_tx_vq(id));
}

/* Collect what the guest received on port id into out (NUL-terminated). */
static size_t guest_recv(struct rig *r, uint32_t id, char *out, size_t max)
{
	uint32_t head, len;
	size_t n = 0;
	unsigned int vq = vsdev_rx_vq(id);

	while (fake_get_used(r->f, vq, &head, &len) == 0) {
		const char *p = fake_ptr(r->f, r->f->vq[vq].buf_gpa[head]);

		if (n + len < max) {
			memcpy(out + n, p, len);
			n += len;
		}
	}
	out[n] = 0;
	return n;
}

/* ---- bring-up, names, consoles --------------------------------------- */

TEST(bring_up_announces_every_port_then_console_and_name)
{
	struct rig *r = rig_new(4, 16);
	struct msg m;

	CHECK_ERR(rig_port(r, 0, VSDEV_ID_AUTO, NULL, true), 0);
	CHECK_ERR(rig_port(r, 1, VSDEV_ID_AUTO, "org.qemu.guest_agent.0",
			   false), 1);
	CHECK(vsdev_features(r->dev) & (1u << VSDEV_F_MULTIPORT));
	fake_driver_start(r->f, 4);
	CHECK_ERR(recv(r, &m), 0);
	CHECK(m.id == 0 && m.event == VSDEV_PORT_ADD && m.value == 1);
	CHECK_ERR(recv(r, &m), 0);
	CHECK(m.id == 1 && m.event == VSDEV_PORT_ADD);
	CHECK_ERR(recv(r, &m), -ENOENT);

	fake_send_ctrl(r->f, 0, VSDEV_PORT_READY, 1);
	CHECK_ERR(recv(r, &m), 0);
	CHECK(m.id == 0 && m.event == VSDEV_CONSOLE_PORT && m.value == 1);
	fake_send_ctrl(r->f, 1, VSDEV_PORT_READY, 1);
	CHECK_ERR(recv(r, &m), 0);
	CHECK(m.id == 1 && m.event == VSDEV_PORT_NAME);
	CHECK_STR(m.name, "org.qemu.guest_agent.0");
	CHECK_ERR(recv(r, &m), -ENOENT);
	CHECK_ERR(vsdev_broken(r->dev), 0);
	rig_free(r);
}

TEST(host_connected_port_gets_open_after_ready)
{
	struct rig *r = rig_new(4, 16);
	struct msg m;

	rig_port(r, 1, 1, NULL, false);
	vsdev_port_set_host_connected(r->dev, 1, true);
	fake_driver_start(r->f, 4);
	CHECK_ERR(recv(r, &m), 0);
	CHECK(m.event == VSDEV_PORT_ADD);
	CHECK_ERR(recv(r, &m), -ENOENT);	/* nothing before PORT_READY */
	fake_send_ctrl(r->f, 1, VSDEV_PORT_READY, 1);
	CHECK_ERR(recv(r, &m), 0);
	CHECK(m.id == 1 && m.event == VSDEV_PORT_OPEN && m.value == 1);
	rig_free(r);
}

TEST(port_add_validates_ids_and_names)
{
	struct rig *r = rig_new(4, 4);
	struct vsdev_config big = { .max_ports = 512 };
	struct vsdev *d;

	CHECK_ERR(rig_port(r, 0, 0, NULL, false), -EINVAL); /* nr=0 serial */
	CHECK_ERR(rig_port(r, 0, 4, NULL, false), -EINVAL);
	CHECK_ERR(rig_port(r, 0, 2, "a", false), 2);
	CHECK_ERR(rig_port(r, 1, 2, "b", false), -EEXIST);
	CHECK_ERR(rig_port(r, 1, 3, "a", false), -EEXIST);
	CHECK_ERR(rig_port(r, 1, VSDEV_ID_AUTO, NULL, false), 1);
	CHECK_ERR(rig_port(r, 1, VSDEV_ID_AUTO, NULL, false), 3);
	CHECK_ERR(rig_port(r, 1, VSDEV_ID_AUTO, NULL, false), -ENOSPC);
	CHECK_ERR(vsdev_new(&big, &r->f->t, &d), -EINVAL);
	big.max_ports = 0;
	CHECK_ERR(vsdev_new(&big, &r->f->t, &d), -EINVAL);
	rig_free(r);
}

TEST(max_ports_511_all_announced)
{
	struct rig *r = rig_new(VSDEV_MAX_PORTS, 4);
	struct msg m;
	int added = 0, seen = 0;

	for (uint32_t i = 1; i < VSDEV_MAX_PORTS; i++)
		added += rig_port(r, 1, i, NULL, false) == (int)i;
	CHECK_ERR(added, VSDEV_MAX_PORTS - 1);
	fake_driver_start(r->f, 4);	/* 4 buffers, reposted as consumed */
	while (recv(r, &m) == 0)
		seen += m.event == VSDEV_PORT_ADD;
	CHECK_ERR(seen, VSDEV_MAX_PORTS - 1);
	/* The last port's queues are 1022 and 1023. */
	CHECK_ERR(vsdev_tx_vq(VSDEV_MAX_PORTS - 1), 1023);
	rig_free(r);
}

/* ---- open / close, data ---------------------------------------------- */

TEST(guest_open_and_close_reach_backend)
{
	struct rig *r = rig_two_ports();
	struct vsdev_port_info pi;

	CHECK(r->tb[1].open);
	CHECK_ERR(vsdev_port_info(r->dev, 1, &pi), 0);
	CHECK(pi.guest_ready && pi.guest_connected && pi.host_connected);
	fake_send_ctrl(r->f, 1, VSDEV_PORT_OPEN, 0);
	CHECK(!r->tb[1].open);
	CHECK_ERR(r->tb[1].open_calls, 2);
	fake_send_ctrl(r->f, 1, VSDEV_PORT_OPEN, 0);	/* no change */
	CHECK_ERR(r->tb[1].open_calls, 2);
	rig_free(r);
}

TEST(guest_to_host_data_arrives_and_buffer_completes)
{
	struct rig *r = rig_two_ports();
	uint32_t head, len;

	CHECK_ERR(guest_send(r, 1, "hello"), 0);
	CHECK_ERR(r->tb[1].n, 5);
	CHECK_MEM(r->tb[1].got, "hello", 5);
	CHECK_ERR(fake_get_used(r->f, vsdev_tx_vq(1), &head, &len), 0);
	CHECK_ERR(len, 0);
	CHECK(r->f->vq[vsdev_tx_vq(1)].notified >= 1);
	CHECK_ERR(r->tb[2].n, 0);
	rig_free(r);
}

TEST(multi_segment_chain_is_gathered_in_order)
{
	struct rig *r = rig_two_ports();
	struct fake_seg s[3];
	const char *parts[] = { "abc", "", "defgh" };

	for (int i = 0; i < 3; i++) {
		s[i].gpa = fake_alloc(r->f, 8);
		s[i].len = (uint32_t)strlen(parts[i]);
		s[i].write = 0;
		memcpy(fake_ptr(r->f, s[i].gpa), parts[i], s[i].len);
	}
	CHECK(fake_add(r->f, vsdev_tx_vq(2), s, 3) >= 0);
	CHECK_ERR(fake_kick(r->f, vsdev_tx_vq(2)), 0);
	CHECK_ERR(r->tb[2].n, 8);
	CHECK_MEM(r->tb[2].got, "abcdefgh", 8);
	rig_free(r);
}

/*
 * A 32 KiB chain (a Linux driver's largest write) reaches the backend in
 * one call, and chains completed in one pass cost the guest one interrupt.
 */
TEST(big_chains_go_out_whole_with_one_interrupt_per_pass)
{
	struct rig *r = rig_two_ports();
	static uint8_t data[32768];
	uint32_t head, len;
	int used = 0;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	CHECK(fake_add_out(r->f, vsdev_tx_vq(1), data, sizeof(data)) >= 0);
	CHECK(fake_add_out(r->f, vsdev_tx_vq(1), data, 100) >= 0);
	CHECK(fake_add_out(r->f, vsdev_tx_vq(1), data + 100, 200) >= 0);
	CHECK_ERR(fake_kick(r->f, vsdev_tx_vq(1)), 0);
	CHECK_ERR(r->tb[1].n, sizeof(data) + 300);
	CHECK_MEM(r->tb[1].got, data, sizeof(data));
	CHECK_MEM(r->tb[1].got + sizeof(data), data, 300);
	CHECK_ERR(r->tr.n, 3);		/* one backend call per chain */
	while (fake_get_used(r->f, vsdev_tx_vq(1), &head, &len) == 0)
		used++;
	CHECK_ERR(used, 3);
	CHECK_ERR(r->f->vq[vsdev_tx_vq(1)].notified, 1);
	/* A throttled port still reports the chains it finished. */
	r->tb[1].accept = 50;
	CHECK(fake_add_out(r->f, vsdev_tx_vq(1), data, 40) >= 0);
	CHECK(fake_add_out(r->f, vsdev_tx_vq(1), data, 80) >= 0);
	CHECK_ERR(fake_kick(r->f, vsdev_tx_vq(1)), 0);
	CHECK_ERR(fake_get_used(r->f, vsdev_tx_vq(1), &head, &len), 0);
	CHECK_ERR(fake_get_used(r->f, vsdev_tx_vq(1), &head, &len), -ENOENT);
	CHECK_ERR(r->f->vq[vsdev_tx_vq(1)].notified, 2);
	rig_free(r);
}

TEST(host_to_guest_data_spreads_over_buffers)
{
	struct rig *r = rig_new(4, 16);
	char out[128];
	const char *msg = "0123456789abcdefghij";

	rig_port(r, 1, 1, "p", false);
	vsdev_port_set_host_connected(r->dev, 1, true);
	fake_driver_start(r->f, 8);
	saw(r, 0, 0, 0);
	fake_add_in(r->f, vsdev_rx_vq(1), 8);
	fake_add_in(r->f, vsdev_rx_vq(1), 8);
	fake_send_ctrl(r->f, 1, VSDEV_PORT_READY, 1);
	fake_send_ctrl(r->f, 1, VSDEV_PORT_OPEN, 1);
	CHECK(vsdev_port_write_room(r->dev, 1) >= 16);
	CHECK_ERR(vsdev_port_write(r->dev, 1, msg, 20), 16);
	CHECK_ERR(guest_recv(r, 1, out, sizeof(out)), 16);
	CHECK_MEM(out, msg, 16);
	CHECK_ERR(vsdev_port_write(r->dev, 1, msg + 16, 4), 0); /* no buffer */
	CHECK_ERR(vsdev_port_write_room(r->dev, 1), 0);
	/* Posting a buffer tells the backend it may write again. */
	fake_add_in(r->f, vsdev_rx_vq(1), 64);
	r->tb[1].writable_calls = 0;
	fake_kick(r->f, vsdev_rx_vq(1));
	CHECK_ERR(r->tb[1].writable_calls, 1);
	CHECK_ERR(vsdev_port_write(r->dev, 1, msg + 16, 4), 4);
	CHECK_ERR(guest_recv(r, 1, out, sizeof(out)), 4);
	CHECK_MEM(out, "ghij", 4);
	CHECK_ERR(vsdev_port_write(r->dev, 9, msg, 1), -ENOENT);
	rig_free(r);
}

TEST(no_host_data_until_guest_opens)
{
	struct rig *r = rig_new(4, 16);
	struct msg m;

	rig_port(r, 1, 1, "p", false);
	vsdev_port_set_host_connected(r->dev, 1, true);
	fake_driver_start(r->f, 8);
	while (recv(r, &m) == 0)
		;
	fake_add_in(r->f, vsdev_rx_vq(1), 64);
	fake_send_ctrl(r->f, 1, VSDEV_PORT_READY, 1);
	CHECK_ERR(vsdev_port_write_room(r->dev, 1), 0);
	CHECK_ERR(vsdev_port_write(r->dev, 1, "x", 1), 0);
	fake_send_ctrl(r->f, 1, VSDEV_PORT_OPEN, 1);
	CHECK_ERR(vsdev_port_write(r->dev, 1, "x", 1), 1);
	rig_free(r);
}

/* ---- flow control and fairness --------------------------------------- */

TEST(throttled_port_resumes_exactly_where_it_stopped)
{
	struct rig *r = rig_two_ports();
	struct vsdev_port_info pi;
	uint32_t head, len;

	r->tb[1].budget = 3;
	guest_send(r, 1, "0123456789");
	CHECK_ERR(r->tb[1].n, 3);
	vsdev_port_info(r->dev, 1, &pi);
	CHECK(pi.throttled);
	CHECK_ERR(fake_get_used(r->f, vsdev_tx_vq(1), &head, &len), -ENOENT);
	guest_send(r, 1, "ABC");	/* queued behind the held chain */
	CHECK_ERR(r->tb[1].n, 3);
	r->tb[1].budget = (size_t)-1;
	CHECK_ERR(vsdev_port_unthrottle(r->dev, 1), 0);
	CHECK_ERR(r->tb[1].n, 13);
	CHECK_MEM(r->tb[1].got, "0123456789ABC", 13);
	CHECK_ERR(fake_get_used(r->f, vsdev_tx_vq(1), &head, &len), 0);
	CHECK_ERR(fake_get_used(r->f, vsdev_tx_vq(1), &head, &len), 0);
	rig_free(r);
}

TEST(stalled_port_does_not_block_others)
{
	struct rig *r = rig_two_ports();

	r->tb[1].budget = 0;
	guest_send(r, 1, "stuck");
	guest_send(r, 1, "more");
	CHECK_ERR(guest_send(r, 2, "flows"), 0);
	CHECK_ERR(r->tb[2].n, 5);
	CHECK_ERR(guest_send(r, 2, "still"), 0);
	CHECK_ERR(r->tb[2].n, 10);
	CHECK_ERR(r->tb[1].n, 0);
	/* Control traffic still works too. */
	fake_send_ctrl(r->f, 2, VSDEV_PORT_OPEN, 0);
	CHECK(!r->tb[2].open);
	rig_free(r);
}

TEST(busy_ports_are_served_round_robin)
{
	struct rig *r = rig_new(4, 512);
	uint32_t ids[] = { 1, 2 };
	size_t first2 = 0, ones_before = 0;

	rig_port(r, 1, 1, NULL, false);
	rig_port(r, 2, 2, NULL, false);
	vsdev_port_set_host_connected(r->dev, 1, true);
	vsdev_port_set_host_connected(r->dev, 2, true);
	rig_open(r, ids, 2);
	for (int i = 0; i < 400; i++)
		fake_add_out(r->f, vsdev_tx_vq(1), "a", 1);
	/* Budget runs out: work left for later. */
	CHECK_ERR(fake_kick(r->f, vsdev_tx_vq(1)), 1);
	CHECK_ERR(r->tb[1].n, VSDEV_BUDGET);
	r->tr.n = 0;
	for (int i = 0; i < 10; i++)
		fake_add_out(r->f, vsdev_tx_vq(2), "b", 1);
	CHECK_ERR(fake_kick(r->f, vsdev_tx_vq(2)), 0);
	/* Port 2's ten chains are interleaved with port 1's, not behind. */
	for (size_t i = 0; i < r->tr.n; i++) {
		if (r->tr.id[i] == 2) {
			first2 = i;
			break;
		}
	}
	for (size_t i = 0; i < 20 && i < r->tr.n; i++)
		ones_before += r->tr.id[i] == 1;
	CHECK(first2 <= 1);
	CHECK_ERR(ones_before, 10);
	CHECK_ERR(r->tb[2].n, 10);
	CHECK_ERR(r->tb[1].n, 400);
	rig_free(r);
}

TEST(console_port_drops_instead_of_throttling)
{
	struct rig *r = rig_new(4, 16);
	uint32_t ids[] = { 0 };
	struct vsdev_port_info pi;
	struct vsdev_stats st;

	rig_port(r, 0, VSDEV_ID_AUTO, NULL, true);
	vsdev_port_set_host_connected(r->dev, 0, true);
	rig_open(r, ids, 1);
	r->tb[0].budget = 2;
	guest_send(r, 0, "hvc-out");
	vsdev_port_info(r->dev, 0, &pi);
	CHECK(!pi.throttled && pi.console);
	CHECK_ERR(r->tb[0].n, 2);
	vsdev_get_stats(r->dev, &st);
	CHECK_ERR(st.tx_dropped, 5);
	rig_free(r);
}

/* ---- host connect / disconnect --------------------------------------- */

TEST(host_disconnect_tells_guest_and_drops_pending_tx)
{
	struct rig *r = rig_two_ports();
	uint32_t head, len;

	r->tb[1].budget = 0;
	guest_send(r, 1, "pending");
	CHECK_ERR(vsdev_port_set_host_connected(r->dev, 1, false), 0);
	CHECK(saw(r, 1, VSDEV_PORT_OPEN, 0));
	CHECK_ERR(fake_get_used(r->f, vsdev_tx_vq(1), &head, &len), 0);
	/* Guest data while the host is away is completed and dropped. */
	guest_send(r, 1, "lost");
	CHECK_ERR(fake_get_used(r->f, vsdev_tx_vq(1), &head, &len), 0);
	CHECK_ERR(vsdev_port_write(r->dev, 1, "x", 1), 0);
	r->tb[1].budget = (size_t)-1;
	CHECK_ERR(vsdev_port_set_host_connected(r->dev, 1, true), 0);
	CHECK(saw(r, 1, VSDEV_PORT_OPEN, 1));
	guest_send(r, 1, "back");
	CHECK_ERR(r->tb[1].n, 4);
	CHECK_MEM(r->tb[1].got, "back", 4);
	rig_free(r);
}

/* ---- hot-plug -------------------------------------------------------- */

TEST(hotplug_and_unplug_are_announced)
{
	struct rig *r = rig_two_ports();
	struct msg m;

	CHECK_ERR(rig_port(r, 3, 3, "org.test.hot", false), 3);
	CHECK_ERR(recv(r, &m), 0);
	CHECK(m.id == 3 && m.event == VSDEV_PORT_ADD);
	fake_send_ctrl(r->f, 3, VSDEV_PORT_READY, 1);
	CHECK_ERR(recv(r, &m), 0);
	CHECK(m.event == VSDEV_PORT_NAME);
	CHECK_STR(m.name, "org.test.hot");
	/* Unplug completes the port's pending guest data with length 0. */
	r->tb[2].budget = 0;
	guest_send(r, 2, "in flight");
	CHECK_ERR(vsdev_port_remove(r->dev, 2), 0);
	CHECK(saw(r, 2, VSDEV_PORT_REMOVE, 1));
	{
		uint32_t h, l;

		CHECK_ERR(fake_get_used(r->f, vsdev_tx_vq(2), &h, &l), 0);
		CHECK_ERR(l, 0);
	}
	CHECK_ERR(vsdev_port_remove(r->dev, 2), -ENOENT);
	/* The guest no longer reaches it. */
	fake_send_ctrl(r->f, 2, VSDEV_PORT_OPEN, 1);
	CHECK_ERR(vsdev_broken(r->dev), 0);
	/* Re-plug under the same id works. */
	CHECK_ERR(rig_port(r, 2, 2, "org.test.two", false), 2);
	CHECK(saw(r, 2, VSDEV_PORT_ADD, 1));
	rig_free(r);
}

TEST(unplug_before_add_delivered_sends_nothing)
{
	struct rig *r = rig_new(4, 16);
	struct vsdev_stats st;
	struct msg m;

	fake_driver_start(r->f, 0);	/* no control buffers yet */
	rig_port(r, 1, 1, "x", false);
	vsdev_get_stats(r->dev, &st);
	CHECK_ERR(st.ctrl_pending, 1);
	vsdev_port_remove(r->dev, 1);
	vsdev_get_stats(r->dev, &st);
	CHECK_ERR(st.ctrl_pending, 0);
	fake_add_in(r->f, VSDEV_VQ_CTRL_RX, 4096);
	fake_kick(r->f, VSDEV_VQ_CTRL_RX);
	CHECK_ERR(recv(r, &m), -ENOENT);
	rig_free(r);
}

/* ---- control queueing (stock QEMU drops these) ------------------------ */

TEST(control_messages_wait_for_buffers_instead_of_dropping)
{
	struct rig *r = rig_new(8, 64);
	struct vsdev_stats st;
	struct msg m;
	int adds = 0;

	for (uint32_t i = 1; i < 6; i++)
		rig_port(r, 1, i, NULL, false);
	fake_driver_start(r->f, 0);
	vsdev_get_stats(r->dev, &st);
	CHECK_ERR(st.ctrl_pending, 5);
	fake_add_in(r->f, VSDEV_VQ_CTRL_RX, 4096);
	fake_add_in(r->f, VSDEV_VQ_CTRL_RX, 4096);
	fake_kick(r->f, VSDEV_VQ_CTRL_RX);
	vsdev_get_stats(r->dev, &st);
	CHECK_ERR(st.ctrl_pending, 3);
	while (recv(r, &m) == 0)	/* reposting drains the rest */
		adds += m.event == VSDEV_PORT_ADD;
	CHECK_ERR(adds, 5);

	/* Starve the control queue, then flap the host connection. */
	for (int k = 0; k < 5; k++)
		CHECK_ERR(fake_get_used(r->f, VSDEV_VQ_CTRL_RX,
					&(uint32_t){ 0 }, &(uint32_t){ 0 }),
			  -ENOENT);
	fake_send_ctrl(r->f, 1, VSDEV_PORT_READY, 1);	/* queued, no buf */
	for (int k = 0; k < 101; k++)
		vsdev_port_set_host_connected(r->dev, 1, k % 2 == 0);
	vsdev_get_stats(r->dev, &st);
	CHECK(st.ctrl_pending <= 3);		/* bounded */
	CHECK(st.ctrl_pending >= 1);
	CHECK_ERR(vsdev_broken(r->dev), 0);
	rig_free(r);
}

TEST(control_queue_delivers_final_open_state)
{
	struct rig *r = rig_new(4, 64);
	struct msg m;
	int last = -1, opens = 0;

	rig_port(r, 1, 1, NULL, false);
	fake_driver_start(r->f, 1);
	CHECK_ERR(recv(r, &m), 0);	/* ADD; buffer reposted */
	CHECK_ERR(fake_get_used(r->f, VSDEV_VQ_CTRL_RX, &(uint32_t){ 0 },
				&(uint32_t){ 0 }), -ENOENT);
	/* Take the one buffer away by letting PORT_READY consume it. */
	fake_send_ctrl(r->f, 1, VSDEV_PORT_READY, 1);
	for (int k = 0; k < 50; k++)
		vsdev_port_set_host_connected(r->dev, 1, k % 2 == 0);
	/* host ends disconnected (k = 49 -> false) */
	for (int i = 0; i < 4; i++)
		fake_add_in(r->f, VSDEV_VQ_CTRL_RX, 4096);
	fake_kick(r->f, VSDEV_VQ_CTRL_RX);
	while (recv(r, &m) == 0) {
		if (m.event == VSDEV_PORT_OPEN) {
			last = m.value;
			opens++;
		}
	}
	CHECK_ERR(last, 0);
	CHECK(opens >= 1 && opens <= 2);
	rig_free(r);
}

/* ---- hostile guests -------------------------------------------------- */

TEST(bad_control_messages_are_counted_and_ignored)
{
	struct rig *r = rig_two_ports();
	struct vsdev_stats st;
	uint8_t shortmsg[4] = { 1, 0, 0, 0 };

	fake_send_ctrl(r->f, 999, VSDEV_PORT_READY, 1);
	fake_send_ctrl(r->f, VSDEV_BAD_ID, VSDEV_PORT_OPEN, 1);
	fake_send_ctrl(r->f, 3, VSDEV_PORT_OPEN, 1);	/* no such port */
	fake_send_ctrl(r->f, 1, 77, 1);			/* unknown event */
	fake_send_ctrl(r->f, 1, VSDEV_PORT_NAME, 1);	/* host->guest only */
	fake_add_out(r->f, VSDEV_VQ_CTRL_TX, shortmsg, sizeof(shortmsg));
	fake_kick(r->f, VSDEV_VQ_CTRL_TX);
	vsdev_get_stats(r->dev, &st);
	CHECK_ERR(st.bad_ctrl, 6);
	CHECK_ERR(vsdev_broken(r->dev), 0);
	CHECK_ERR(fake_kick(r->f, 10), -EINVAL);	/* port 4: none */
	CHECK_ERR(fake_kick(r->f, 5000), -EINVAL);
	vsdev_get_stats(r->dev, &st);
	CHECK_ERR(st.bad_vq, 2);
	rig_free(r);
}

TEST(oversize_control_message_reads_only_header)
{
	struct rig *r = rig_two_ports();
	struct fake_seg s = { 0, 4 << 20, 0 };	/* 4 MiB "message" */
	uint8_t *p;

	s.gpa = fake_alloc(r->f, s.len);
	p = fake_ptr(r->f, s.gpa);
	memcpy(p, "\x01\0\0\0\x06\0\0\0", 8);	/* PORT_OPEN(1, 0) */
	fake_add(r->f, VSDEV_VQ_CTRL_TX, &s, 1);
	CHECK_ERR(fake_kick(r->f, VSDEV_VQ_CTRL_TX), 0);
	CHECK(!r->tb[1].open);

	/* A length reaching past guest RAM is refused outright. */
	s.len = 0x10000000;
	fake_add(r->f, VSDEV_VQ_CTRL_TX, &s, 1);
	CHECK_ERR(fake_kick(r->f, VSDEV_VQ_CTRL_TX), -EIO);
	CHECK_ERR(vsdev_broken(r->dev), -EFAULT);
	rig_free(r);
}

/* Post a raw chain on vq and kick; return the device's broken reason. */
static int hostile(struct rig *r, unsigned int vq)
{
	fake_kick(r->f, vq);
	return vsdev_broken(r->dev);
}

TEST(looping_chain_breaks_device_once_and_reset_recovers)
{
	struct rig *r = rig_two_ports();
	unsigned int vq = vsdev_tx_vq(1);
	uint64_t g = fake_alloc(r->f, 16);

	fake_write_desc(r->f, vq, 0, g, 4, FAKE_DESC_NEXT, 1);
	fake_write_desc(r->f, vq, 1, g, 4, FAKE_DESC_NEXT, 0);
	fake_publish(r->f, vq, 0);
	CHECK_ERR(hostile(r, vq), -ELOOP);
	CHECK_ERR(r->f->fail_calls, 1);
	CHECK_ERR(fake_kick(r->f, vq), -EIO);
	CHECK_ERR(vsdev_port_write(r->dev, 1, "x", 1), 0);
	CHECK_ERR(r->f->fail_calls, 1);
	vsdev_reset(r->dev);
	CHECK_ERR(vsdev_broken(r->dev), 0);
	CHECK(!r->tb[1].open);		/* reset closed the guest side */
	rig_free(r);
}

TEST(bad_head_and_runaway_avail_index_break_device)
{
	struct rig *r = rig_two_ports();
	unsigned int vq = vsdev_tx_vq(1);

	fake_publish(r->f, vq, 16);		/* head >= queue size */
	CHECK_ERR(hostile(r, vq), -ERANGE);
	rig_free(r);

	r = rig_two_ports();
	fake_set_avail_idx(r->f, vq, 17);	/* 17 > size ahead */
	CHECK_ERR(hostile(r, vq), -EOVERFLOW);
	rig_free(r);

	r = rig_two_ports();
	fake_write_desc(r->f, vq, 0, 0x1000, 4, FAKE_DESC_NEXT, 200);
	fake_publish(r->f, vq, 0);		/* next >= size */
	CHECK_ERR(hostile(r, vq), -ERANGE);
	rig_free(r);
}

TEST(out_of_bounds_and_wrapping_addresses_break_device)
{
	struct rig *r = rig_two_ports();
	unsigned int vq = vsdev_tx_vq(1);

	fake_write_desc(r->f, vq, 0, 0x10, 4, 0, 0);	/* below RAM */
	fake_publish(r->f, vq, 0);
	CHECK_ERR(hostile(r, vq), -EFAULT);
	CHECK_ERR(r->tb[1].n, 0);
	rig_free(r);

	r = rig_two_ports();
	fake_write_desc(r->f, vq, 0, FAKE_RAM_BASE + 16, 0xffffffffu, 0, 0);
	fake_publish(r->f, vq, 0);			/* past RAM end */
	CHECK_ERR(hostile(r, vq), -EFAULT);
	rig_free(r);

	r = rig_two_ports();
	fake_write_desc(r->f, vq, 0, UINT64_MAX - 2, 16, 0, 0); /* wraps */
	fake_publish(r->f, vq, 0);
	CHECK_ERR(hostile(r, vq), -EFAULT);
	rig_free(r);

	/* Rings themselves placed outside RAM by the driver. */
	r = rig_two_ports();
	r->f->vq[vq].ring.avail = 0xdead0000;
	CHECK_ERR(hostile(r, vq), -EFAULT);
	rig_free(r);
}

TEST(wrong_direction_and_overlong_chains_break_device)
{
	struct rig *r = rig_two_ports();
	struct fake_seg s[VSDEV_MAX_SEGS + 1];
	uint64_t g;

	CHECK(fake_add_in(r->f, vsdev_tx_vq(1), 16) >= 0); /* writable tx */
	CHECK_ERR(hostile(r, vsdev_tx_vq(1)), -EPROTO);
	rig_free(r);

	r = rig_two_ports();
	g = fake_alloc(r->f, 16);
	fake_write_desc(r->f, 4, 0, g, 4, FAKE_DESC_WRITE | FAKE_DESC_NEXT, 1);
	fake_write_desc(r->f, 4, 1, g, 4, 0, 0);	/* read after write */
	fake_publish(r->f, 4, 0);
	CHECK_ERR(vsdev_port_write(r->dev, 1, "x", 1), 0);
	CHECK_ERR(vsdev_broken(r->dev), -EPROTO);
	rig_free(r);

	r = rig_new(4, 128);
	rig_port(r, 1, 1, NULL, false);
	vsdev_port_set_host_connected(r->dev, 1, true);
	rig_open(r, (uint32_t[]){ 1 }, 1);
	g = fake_alloc(r->f, 16);
	for (int i = 0; i <= VSDEV_MAX_SEGS; i++)
		s[i] = (struct fake_seg){ g, 1, 0 };
	CHECK(fake_add(r->f, vsdev_tx_vq(1), s, VSDEV_MAX_SEGS + 1) >= 0);
	CHECK_ERR(hostile(r, vsdev_tx_vq(1)), -E2BIG);
	CHECK_ERR(r->tb[1].n, 0);
	rig_free(r);
}

TEST(indirect_tables_are_bounded)
{
	struct rig *r = rig_two_ports();
	unsigned int vq = vsdev_tx_vq(1);
	uint64_t tbl = fake_alloc(r->f, 64), data = fake_alloc(r->f, 8);
	uint8_t *t = fake_ptr(r->f, tbl);

	/* A good indirect chain of one descriptor. */
	memcpy(fake_ptr(r->f, data), "ind", 3);
	memset(t, 0, 64);
	memcpy(t, &data, 8);		/* little-endian host */
	t[8] = 3;
	fake_write_desc(r->f, vq, 0, tbl, 16, FAKE_DESC_INDIRECT, 0);
	fake_publish(r->f, vq, 0);
	CHECK_ERR(fake_kick(r->f, vq), 0);
	CHECK_ERR(r->tb[1].n, 3);
	CHECK_MEM(r->tb[1].got, "ind", 3);

	/* A self-referencing indirect table loops: -ELOOP. */
	t[12] = FAKE_DESC_NEXT;
	t[14] = 0;
	fake_write_desc(r->f, vq, 1, tbl, 16, FAKE_DESC_INDIRECT, 0);
	fake_publish(r->f, vq, 1);
	CHECK_ERR(hostile(r, vq), -ELOOP);
	rig_free(r);

	r = rig_two_ports();
	tbl = fake_alloc(r->f, 64);
	t = fake_ptr(r->f, tbl);
	memset(t, 0, 64);
	t[12] = FAKE_DESC_INDIRECT;	/* nested indirect */
	fake_write_desc(r->f, vq, 0, tbl, 16, FAKE_DESC_INDIRECT, 0);
	fake_publish(r->f, vq, 0);
	CHECK_ERR(hostile(r, vq), -EPROTO);
	rig_free(r);

	r = rig_two_ports();
	fake_write_desc(r->f, vq, 0, FAKE_RAM_BASE, 15, FAKE_DESC_INDIRECT, 0);
	fake_publish(r->f, vq, 0);	/* length not a multiple of 16 */
	CHECK_ERR(hostile(r, vq), -EPROTO);
	rig_free(r);
}

TEST(short_control_rx_buffer_breaks_device_not_truncates)
{
	struct rig *r = rig_new(4, 16);

	rig_port(r, 1, 1, "a-rather-long-port-name", false);
	fake_driver_start(r->f, 0);
	fake_add_in(r->f, VSDEV_VQ_CTRL_RX, 4096);
	fake_kick(r->f, VSDEV_VQ_CTRL_RX);	/* ADD goes out */
	fake_add_in(r->f, VSDEV_VQ_CTRL_RX, 12);	/* too short for NAME */
	fake_send_ctrl(r->f, 1, VSDEV_PORT_READY, 1);
	CHECK_ERR(vsdev_broken(r->dev), -EMSGSIZE);
	rig_free(r);

	r = rig_new(4, 16);
	rig_port(r, 1, 1, NULL, false);
	fake_driver_start(r->f, 0);
	fake_add_in(r->f, VSDEV_VQ_CTRL_RX, 4);	/* too short for a header */
	fake_kick(r->f, VSDEV_VQ_CTRL_RX);
	CHECK_ERR(vsdev_broken(r->dev), -EMSGSIZE);
	rig_free(r);
}

/* ---- held host bytes (the migration cut) ----------------------------- */

TEST(held_bytes_reach_guest_before_later_writes)
{
	struct rig *r = rig_two_ports();
	struct vsdev_port_info pi;
	char out[64];

	CHECK_ERR(vsdev_port_hold(r->dev, 1, "abc", 3), 3);
	CHECK_ERR(vsdev_port_hold(r->dev, 1, "de", 2), 2);
	CHECK_ERR(vsdev_port_info(r->dev, 1, &pi), 0);
	CHECK_ERR(pi.held, 5);
	CHECK_ERR(vsdev_port_write(r->dev, 1, "XY", 2), 2);	/* held first */
	CHECK_ERR(guest_recv(r, 1, out, sizeof(out)), 7);
	CHECK_STR(out, "abcdeXY");
	CHECK_ERR(vsdev_port_info(r->dev, 1, &pi), 0);
	CHECK_ERR(pi.held, 0);
	CHECK_ERR(vsdev_port_hold(r->dev, 9, "x", 1), -ENOENT);
	rig_free(r);
}

TEST(held_bytes_block_writes_until_the_guest_has_room)
{
	struct rig *r = rig_new(4, 16);
	char out[64];

	rig_port(r, 1, 1, "p", false);
	vsdev_port_set_host_connected(r->dev, 1, true);
	fake_driver_start(r->f, 8);
	saw(r, 0, 0, 0);
	fake_add_in(r->f, vsdev_rx_vq(1), 4);
	fake_send_ctrl(r->f, 1, VSDEV_PORT_READY, 1);
	fake_send_ctrl(r->f, 1, VSDEV_PORT_OPEN, 1);
	CHECK_ERR(vsdev_port_hold(r->dev, 1, "0123456789", 10), 10);
	/* Four held bytes fit; the backend's own bytes must wait. */
	CHECK_ERR(vsdev_port_write_room(r->dev, 1), 0);
	CHECK_ERR(vsdev_port_write(r->dev, 1, "new", 3), 0);
	CHECK_ERR(guest_recv(r, 1, out, sizeof(out)), 4);
	CHECK_STR(out, "0123");
	/* A posted buffer takes the rest; then the backend hears writable. */
	fake_add_in(r->f, vsdev_rx_vq(1), 64);
	r->tb[1].writable_calls = 0;
	fake_kick(r->f, vsdev_rx_vq(1));
	CHECK_ERR(guest_recv(r, 1, out, sizeof(out)), 6);
	CHECK_STR(out, "456789");
	CHECK(r->tb[1].writable_calls >= 1);
	fake_add_in(r->f, vsdev_rx_vq(1), 64);
	CHECK_ERR(vsdev_port_write(r->dev, 1, "new", 3), 3);
	CHECK_ERR(guest_recv(r, 1, out, sizeof(out)), 3);
	CHECK_STR(out, "new");
	rig_free(r);
}

TEST(held_bytes_wait_for_guest_open_not_for_host)
{
	struct rig *r = rig_two_ports();
	char out[64];

	fake_send_ctrl(r->f, 1, VSDEV_PORT_OPEN, 0);
	vsdev_port_set_host_connected(r->dev, 1, false);
	CHECK_ERR(vsdev_port_hold(r->dev, 1, "kept", 4), 4);
	CHECK_ERR(vsdev_service(r->dev), 0);
	CHECK_ERR(guest_recv(r, 1, out, sizeof(out)), 0);
	/* A reset keeps them, like bytes still in a socket. */
	vsdev_reset(r->dev);
	rig_open(r, (uint32_t[]){ 1 }, 1);
	CHECK_ERR(guest_recv(r, 1, out, sizeof(out)), 4);
	CHECK_STR(out, "kept");
	rig_free(r);
}

TEST(hold_is_bounded_and_removal_drops_it)
{
	struct rig *r = rig_two_ports();
	uint8_t *big = calloc(1, VSDEV_HELD_MAX + 16);
	struct vsdev_port_info pi;

	CHECK(big != NULL);
	fake_send_ctrl(r->f, 2, VSDEV_PORT_OPEN, 0);	/* nothing delivered */
	CHECK_ERR(vsdev_port_hold(r->dev, 2, big, VSDEV_HELD_MAX - 4), VSDEV_HELD_MAX - 4);
	CHECK_ERR(vsdev_port_hold(r->dev, 2, big, 16), 4);
	CHECK_ERR(vsdev_port_hold(r->dev, 2, big, 16), 0);
	CHECK_ERR(vsdev_port_info(r->dev, 2, &pi), 0);
	CHECK_ERR(pi.held, VSDEV_HELD_MAX);
	CHECK_ERR(vsdev_port_remove(r->dev, 2), 0);
	free(big);
	rig_free(r);		/* ASan: nothing leaks */
}

/* ---- migration ------------------------------------------------------- */

TEST(save_load_round_trip_keeps_bytes_in_flight)
{
	struct rig *r = rig_two_ports();
	struct vsdev_config cfg = { .max_ports = 4, .emerg_write = true };
	struct vsdev_state *st;
	struct vsdev *b;
	struct tb nb1 = { .accept = (size_t)-1, .budget = (size_t)-1 };
	struct tb nb2 = nb1;
	struct vsdev_port_config pc1 = { 1, "org.test.one", false, &tb_ops, &nb1 };
	struct vsdev_port_config pc2 = { 2, "org.test.two", false, &tb_ops, &nb2 };
	struct vsdev_port_info pi;
	uint32_t head, len;
	char out[64];

	/* Port 1: 3 of 10 bytes taken, the rest held.  A control message
	 * is pending (no control buffers).  Port 2: guest rx buffers. */
	r->tb[1].budget = 3;
	guest_send(r, 1, "0123456789");
	while (fake_get_used(r->f, VSDEV_VQ_CTRL_RX, &head, &len) == 0)
		;
	r->f->vq[VSDEV_VQ_CTRL_RX].ring.last_avail =
		r->f->vq[VSDEV_VQ_CTRL_RX].avail_idx;	/* ctrl rx empty */
	CHECK(vsdev_port_write_room(r->dev, 2) > 0);	/* rx popped */
	vsdev_port_set_host_connected(r->dev, 2, false);
	st = vsdev_state_get(r->dev);
	CHECK(st != NULL);
	CHECK_ERR(st->nports, 2);
	CHECK_ERR(st->nctrl, 1);
	CHECK(st->ports[0].tx_held && st->ports[0].tx_off == 3);

	/* Destination: same port set, both backends connected. */
	CHECK_ERR(vsdev_new(&cfg, &r->f->t, &b), 0);
	CHECK_ERR(vsdev_port_add(b, &pc1), 1);
	CHECK_ERR(vsdev_port_add(b, &pc2), 2);
	vsdev_port_set_host_connected(b, 1, true);
	vsdev_port_set_host_connected(b, 2, true);
	vsdev_free(r->dev);
	r->dev = r->f->dev = b;
	CHECK_ERR(vsdev_state_set(b, st), 0);
	CHECK_ERR(nb1.n, 0);			/* nothing before the VM runs */
	CHECK_ERR(vsdev_service(b), 0);
	CHECK_ERR(nb1.n, 7);			/* exactly the rest, once */
	CHECK_MEM(nb1.got, "3456789", 7);
	CHECK(nb1.open && nb2.open);
	CHECK_ERR(vsdev_port_info(b, 2, &pi), 0);
	CHECK(pi.guest_ready && pi.host_connected);
	CHECK_ERR(fake_get_used(r->f, vsdev_tx_vq(1), &head, &len), 0);
	/* Port 2's popped rx buffers carried over: host data reaches them. */
	CHECK_ERR(vsdev_port_write(b, 2, "after", 5), 5);
	CHECK_ERR(guest_recv(r, 2, out, sizeof(out)), 5);
	/* The pending message and the host-state change both arrive. */
	fake_add_in(r->f, VSDEV_VQ_CTRL_RX, 4096);
	fake_kick(r->f, VSDEV_VQ_CTRL_RX);
	CHECK(saw(r, 2, VSDEV_PORT_OPEN, 1));
	vsdev_state_free(st);
	rig_free(r);
}

TEST(state_load_rejects_inconsistent_streams)
{
	struct rig *r = rig_two_ports();
	struct vsdev_state *st = vsdev_state_get(r->dev);
	struct vsdev_state bad;
	struct vsdev_port_state ps[2];

	CHECK(st != NULL);
	bad = *st;
	memcpy(ps, st->ports, sizeof(ps));
	bad.ports = ps;
	bad.version = 99;
	CHECK_ERR(vsdev_state_set(r->dev, &bad), -EOPNOTSUPP);
	bad.version = VSDEV_STATE_VERSION;
	bad.max_ports = 8;
	CHECK_ERR(vsdev_state_set(r->dev, &bad), -EINVAL);
	bad.max_ports = 4;
	ps[1].id = 3;				/* port the device lacks */
	CHECK_ERR(vsdev_state_set(r->dev, &bad), -EINVAL);
	ps[1].id = 1;				/* duplicate */
	CHECK_ERR(vsdev_state_set(r->dev, &bad), -EINVAL);
	ps[1].id = 2;
	ps[1].tx_held = 1;
	ps[1].tx_off = 5;			/* beyond an empty chain */
	CHECK_ERR(vsdev_state_set(r->dev, &bad), -EPROTO);
	ps[1].tx_held = 0;
	ps[1].tx_off = 0;
	ps[1].rx_count = VSDEV_RX_STASH + 1;
	CHECK_ERR(vsdev_state_set(r->dev, &bad), -EPROTO);
	ps[1].rx_count = 0;
	ps[1].guest_connected = 2;
	CHECK_ERR(vsdev_state_set(r->dev, &bad), -EPROTO);
	ps[1].guest_connected = 1;
	bad.features = 1ull << 40;
	CHECK_ERR(vsdev_state_set(r->dev, &bad), -EPROTO);
	bad.features = st->features;
	CHECK_ERR(vsdev_state_set(r->dev, &bad), 0);
	vsdev_state_free(st);
	rig_free(r);
}

TEST(save_load_carries_held_bytes_exactly_once)
{
	struct rig *r = rig_two_ports();
	struct vsdev_config cfg = { .max_ports = 4, .emerg_write = true };
	struct tb nb = { .accept = (size_t)-1, .budget = (size_t)-1 };
	struct vsdev_port_config pc1 = { 1, "org.test.one", false, &tb_ops, &nb };
	struct vsdev_port_config pc2 = { 2, "org.test.two", false, &tb_ops, &nb };
	enum { N = 40000 };	/* more than the guest's 8 x 4096 buffers */
	static char want[N + 1], got[N + 64];
	struct vsdev_state *st;
	struct vsdev_port_info pi;
	struct vsdev *b;
	size_t n;

	for (int i = 0; i < N; i++)
		want[i] = (char)('a' + i % 26);
	want[N] = 'Z';
	CHECK_ERR(vsdev_port_hold(r->dev, 1, want, N), N);
	CHECK_ERR(vsdev_service(r->dev), 0);
	n = guest_recv(r, 1, got, sizeof(got));
	CHECK_ERR(n, 8 * 4096);
	st = vsdev_state_get(r->dev);
	CHECK(st != NULL);
	CHECK_ERR(st->ports[0].held_len, N - 8 * 4096);
	CHECK_MEM(st->ports[0].held, want + n, N - n);

	CHECK_ERR(vsdev_new(&cfg, &r->f->t, &b), 0);
	CHECK_ERR(vsdev_port_add(b, &pc1), 1);
	CHECK_ERR(vsdev_port_add(b, &pc2), 2);
	vsdev_port_set_host_connected(b, 1, true);
	vsdev_free(r->dev);
	r->dev = r->f->dev = b;
	CHECK_ERR(vsdev_state_set(b, st), 0);
	vsdev_state_free(st);			/* b has its own copy */
	CHECK_ERR(vsdev_port_info(b, 1, &pi), 0);
	CHECK_ERR(pi.held, N - 8 * 4096);
	/* The destination's own bytes wait behind the source's. */
	CHECK_ERR(vsdev_port_write(b, 1, "Z", 1), 0);
	for (int k = 0; k < 4; k++)
		fake_add_in(r->f, vsdev_rx_vq(1), 4096);
	fake_kick(r->f, vsdev_rx_vq(1));
	CHECK_ERR(vsdev_port_write(b, 1, "Z", 1), 1);
	n += guest_recv(r, 1, got + n, sizeof(got) - n);
	CHECK_ERR(n, N + 1);
	CHECK_MEM(got, want, N + 1);
	rig_free(r);
}

TEST(state_load_refuses_bad_held_bytes_and_changes_nothing)
{
	struct rig *r = rig_two_ports();
	struct vsdev_state *st;
	struct vsdev_port_info pi;
	uint8_t *hb;

	fake_send_ctrl(r->f, 1, VSDEV_PORT_OPEN, 0);
	CHECK_ERR(vsdev_port_hold(r->dev, 1, "mine", 4), 4);
	st = vsdev_state_get(r->dev);
	CHECK(st != NULL);
	CHECK(vsdev_state_held_alloc(st, 0, VSDEV_HELD_MAX + 1) == NULL);
	CHECK(vsdev_state_held_alloc(st, 2, 1) == NULL);	/* no such port */
	CHECK_ERR(st->ports[0].held_len, 4);	/* refusals change nothing */
	hb = vsdev_state_held_alloc(st, 0, 3);
	CHECK(hb != NULL);
	memcpy(hb, "new", 3);
	st->ports[0].held_len = VSDEV_HELD_MAX + 1;
	CHECK_ERR(vsdev_state_set(r->dev, st), -EPROTO);
	st->ports[1].held_len = 5;		/* length without bytes */
	st->ports[0].held_len = 3;
	CHECK_ERR(vsdev_state_set(r->dev, st), -EPROTO);
	CHECK_ERR(vsdev_port_info(r->dev, 1, &pi), 0);
	CHECK_ERR(pi.held, 4);			/* untouched by the refusals */
	st->ports[1].held_len = 0;
	CHECK_ERR(vsdev_state_set(r->dev, st), 0);
	CHECK_ERR(vsdev_port_info(r->dev, 1, &pi), 0);
	CHECK_ERR(pi.held, 3);			/* the stream's replace ours */
	vsdev_state_free(st);
	CHECK(vsdev_state_free(NULL) == NULL);
	rig_free(r);
}

/* ---- legacy single port, reset, emergency write ---------------------- */

TEST(single_port_device_without_multiport)
{
	struct rig *r = rig_new(1, 16);
	char out[16];

	CHECK_ERR(vsdev_features(r->dev) & (1u << VSDEV_F_MULTIPORT), 0);
	rig_port(r, 0, VSDEV_ID_AUTO, NULL, true);
	vsdev_port_set_host_connected(r->dev, 0, true);
	vsdev_set_features(r->dev, vsdev_features(r->dev));
	vsdev_set_driver_ok(r->dev, true);
	CHECK(r->tb[0].open);
	CHECK_ERR(fake_kick(r->f, VSDEV_VQ_CTRL_TX), -EINVAL);
	fake_add_in(r->f, 0, 16);
	CHECK_ERR(vsdev_port_write(r->dev, 0, "login:", 6), 6);
	CHECK_ERR(guest_recv(r, 0, out, sizeof(out)), 6);
	guest_send(r, 0, "root");
	CHECK_MEM(r->tb[0].got, "root", 4);
	rig_free(r);
}

TEST(port_ready_after_reset_is_answered_again)
{
	struct rig *r = rig_two_ports();

	vsdev_reset(r->dev);
	/* A restoring Linux guest: no DEVICE_READY, just PORT_READY. */
	vsdev_set_features(r->dev, vsdev_features(r->dev));
	vsdev_set_driver_ok(r->dev, true);
	fake_add_in(r->f, VSDEV_VQ_CTRL_RX, 4096);
	fake_send_ctrl(r->f, 1, VSDEV_PORT_READY, 1);
	CHECK(saw(r, 1, VSDEV_PORT_OPEN, 1));
	rig_free(r);
}

/* Linux freeze/restore: reset, then PORT_READY for known ports only. */
static void restore_driver(struct rig *r, const uint32_t *ids, int n)
{
	vsdev_reset(r->dev);
	vsdev_set_features(r->dev, vsdev_features(r->dev));
	vsdev_set_driver_ok(r->dev, true);
	for (int i = 0; i < 4; i++)
		fake_add_in(r->f, VSDEV_VQ_CTRL_RX, 4096);
	for (int i = 0; i < n; i++)
		fake_send_ctrl(r->f, ids[i], VSDEV_PORT_READY, 1);
}

TEST(ports_plugged_and_unplugged_during_suspend_are_told_on_restore)
{
	struct rig *r = rig_two_ports();
	struct msg m;
	int adds3 = 0, removes2 = 0, adds1 = 0, first_add = -1, first_rm = -1;
	int k = 0;

	vsdev_reset(r->dev);			/* freeze */
	CHECK_ERR(rig_port(r, 3, 3, "org.test.hot", false), 3);
	CHECK_ERR(vsdev_port_remove(r->dev, 2), 0);
	restore_driver(r, (uint32_t[]){ 1, 2 }, 2);
	while (recv(r, &m) == 0) {
		if (m.id == 3 && m.event == VSDEV_PORT_ADD) {
			adds3++;
			first_add = k;
		}
		if (m.id == 2 && m.event == VSDEV_PORT_REMOVE) {
			removes2++;
			first_rm = k;
		}
		adds1 += m.id == 1 && m.event == VSDEV_PORT_ADD;
		k++;
	}
	CHECK_ERR(adds3, 1);
	CHECK_ERR(removes2, 1);
	CHECK(first_rm < first_add);		/* removals first */
	CHECK_ERR(adds1, 0);			/* it knows port 1 */
	/* Hot-plug after the restore is announced at once. */
	CHECK_ERR(rig_port(r, 4, VSDEV_ID_AUTO, "org.test.late", false), 2);
	CHECK(saw(r, 2, VSDEV_PORT_ADD, 1));
	rig_free(r);
}

TEST(fresh_driver_after_reset_gets_every_port_again)
{
	struct rig *r = rig_two_ports();
	struct msg m;
	int adds = 0;

	vsdev_reset(r->dev);
	vsdev_port_remove(r->dev, 2);		/* nothing owed to a new driver */
	fake_driver_start(r->f, 4);
	while (recv(r, &m) == 0) {
		adds += m.event == VSDEV_PORT_ADD;
		CHECK(m.event != VSDEV_PORT_REMOVE);
	}
	CHECK_ERR(adds, 1);
	rig_free(r);
}

TEST(queue_reset_drops_held_chains_and_lifts_throttle)
{
	struct rig *r = rig_two_ports();
	struct vsdev_port_info pi;
	unsigned int dropped;

	r->tb[1].budget = 2;
	guest_send(r, 1, "held-data");
	vsdev_port_info(r->dev, 1, &pi);
	CHECK(pi.throttled);
	CHECK(vsdev_port_write_room(r->dev, 1) > 0);	/* rx popped too */
	dropped = r->f->dropped;
	CHECK_ERR(vsdev_queue_reset(r->dev, vsdev_tx_vq(1)), 0);
	CHECK_ERR(vsdev_queue_reset(r->dev, vsdev_rx_vq(1)), 0);
	CHECK_ERR(r->f->dropped, dropped + 2);
	vsdev_port_info(r->dev, 1, &pi);
	CHECK(!pi.throttled);
	CHECK_ERR(vsdev_queue_reset(r->dev, 10), -EINVAL);
	CHECK_ERR(vsdev_queue_reset(r->dev, VSDEV_VQ_CTRL_TX), 0);
	/* Unthrottling now finds nothing held: no stale chain is replayed. */
	r->tb[1].budget = (size_t)-1;
	CHECK_ERR(vsdev_port_unthrottle(r->dev, 1), 0);
	CHECK_ERR(r->tb[1].n, 2);
	CHECK_ERR(vsdev_broken(r->dev), 0);
	rig_free(r);
}

TEST(emergency_write_goes_to_connected_console)
{
	struct rig *r = rig_new(4, 16);
	uint8_t cfg[12];

	rig_port(r, 0, VSDEV_ID_AUTO, NULL, true);
	CHECK_ERR(vsdev_get_config(r->dev, cfg, sizeof(cfg)), 12);
	CHECK_ERR(cfg[4], 4);
	memset(cfg + 8, 0, 4);
	cfg[8] = '!';
	vsdev_set_config(r->dev, cfg, sizeof(cfg));
	CHECK_ERR(r->tb[0].n, 0);		/* host not listening */
	vsdev_port_set_host_connected(r->dev, 0, true);
	vsdev_set_config(r->dev, cfg, sizeof(cfg));
	CHECK_ERR(r->tb[0].n, 1);
	CHECK_ERR(r->tb[0].got[0], '!');
	rig_free(r);
}

int main(void)
{
	return RUN_TESTS();
}
