/* port_test.c - port name resolution and opening, busy ports by seam. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "deadline.h"
#include "port.h"

static char err[1024];
static char tmp[256];

static void mkfile(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void make_tree(void)
{
	char p[512];

	snprintf(tmp, sizeof(tmp), "%s/porttestXXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp))
		abort();
	snprintf(p, sizeof(p), "%s/dev", tmp);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/dev/virtio-ports", tmp);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/sys", tmp);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/sys/class", tmp);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/sys/class/virtio-ports", tmp);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/sys/class/virtio-ports/vport0p1", tmp);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/sys/class/virtio-ports/vport0p1/name", tmp);
	mkfile(p, "org.qemu.guest_agent.0\n");
	snprintf(p, sizeof(p), "%s/sys/class/virtio-ports/vport0p2", tmp);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/sys/class/virtio-ports/vport0p2/name", tmp);
	mkfile(p, "org.clusterlabs.fence.0\n");
	snprintf(p, sizeof(p), "%s/dev/virtio-ports/linked.0", tmp);
	if (symlink("/dev/null", p) < 0)
		abort();
}

static struct agent_port_cfg cfg_for(const char *name, char *dev, char *sys)
{
	snprintf(dev, 300, "%s/dev", tmp);
	snprintf(sys, 300, "%s/sys", tmp);
	return (struct agent_port_cfg){ .name = name, .dev_root = dev,
					.sys_root = sys };
}

TEST(resolve_prefers_explicit_device)
{
	char dev[300], sys[300], path[PATH_MAX];
	struct agent_port_cfg cfg = cfg_for("linked.0", dev, sys);

	cfg.device = "/dev/hvc1";
	CHECK_ERR(agent_port_resolve(&cfg, path, sizeof(path), err,
				     sizeof(err)), 0);
	CHECK_STR(path, "/dev/hvc1");
}

TEST(resolve_uses_udev_link)
{
	char dev[300], sys[300], path[PATH_MAX], want[PATH_MAX];
	struct agent_port_cfg cfg = cfg_for("linked.0", dev, sys);

	CHECK_ERR(agent_port_resolve(&cfg, path, sizeof(path), err,
				     sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/virtio-ports/linked.0", dev);
	CHECK_STR(path, want);
}

TEST(resolve_scans_sysfs_without_udev)
{
	char dev[300], sys[300], path[PATH_MAX], want[PATH_MAX];
	struct agent_port_cfg cfg = cfg_for("org.clusterlabs.fence.0", dev,
					    sys);

	CHECK_ERR(agent_port_resolve(&cfg, path, sizeof(path), err,
				     sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/vport0p2", dev);
	CHECK_STR(path, want);
}

TEST(resolve_unknown_name_says_where_it_looked)
{
	char dev[300], sys[300], path[PATH_MAX];
	struct agent_port_cfg cfg = cfg_for("org.nope.0", dev, sys);

	CHECK_ERR(agent_port_resolve(&cfg, path, sizeof(path), err,
				     sizeof(err)), -ENOENT);
	CHECK(strstr(err, "org.nope.0") && strstr(err, "virtio-ports"));
	cfg.name = "../etc";
	CHECK_ERR(agent_port_resolve(&cfg, path, sizeof(path), err,
				     sizeof(err)), -EINVAL);
}

/* Fake open: busy for the first @busy calls, then a real open. */
struct fake_sys {
	int busy;
	int lock_busy;
	int opens;
};

static int fake_open(void *ctx, const char *path, int flags)
{
	struct fake_sys *f = ctx;
	int fd;

	if (f->opens++ < f->busy)
		return -EBUSY;
	fd = open(path, flags);
	return fd < 0 ? -errno : fd;
}

static int fake_lock(void *ctx, int fd)
{
	struct fake_sys *f = ctx;

	return f->lock_busy-- > 0 ? -EAGAIN : 0;
}

static struct agent_port_sys fake_ops(struct fake_sys *f)
{
	return (struct agent_port_sys){ .version = 1, .open = fake_open,
					.lock = fake_lock, .ctx = f };
}

TEST(busy_port_is_retried_until_free)
{
	struct fake_sys f = { .busy = 2, .lock_busy = 1 };
	struct agent_port_sys ops = fake_ops(&f);
	struct agent_port_cfg cfg = { .sys = &ops };
	struct agent_port p;

	CHECK_ERR(agent_port_open(&cfg, "/dev/null", agent_now_ms() + 2000,
				  &p, err, sizeof(err)), 0);
	CHECK_ERR(p.busy_retries, 3);	/* 2 EBUSY opens + 1 held lock */
	CHECK(p.fd >= 0);
	CHECK_ERR(p.kind, AGENT_PORT_CHAR);
	agent_port_close(&p);
}

TEST(busy_port_gives_up_at_the_deadline)
{
	struct fake_sys f = { .busy = 1000000 };
	struct agent_port_sys ops = fake_ops(&f);
	struct agent_port_cfg cfg = { .sys = &ops };
	struct agent_port p;
	int64_t t0 = agent_now_ms(), took;

	CHECK_ERR(agent_port_open(&cfg, "/dev/null", t0 + 450, &p, err,
				  sizeof(err)), -EBUSY);
	took = agent_now_ms() - t0;
	CHECK(took >= 440 && took < 700);
	CHECK(strstr(err, "held by another process") != NULL);
	CHECK_ERR(p.fd, -1);
}

TEST(socket_without_listener_is_enotconn_at_once)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct agent_port_cfg cfg = { 0 };
	struct agent_port p;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%.80s/dead.sock", tmp) < 0)
		return;
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);	/* the path stays, nobody listens */
	CHECK_ERR(agent_port_open(&cfg, sa.sun_path, agent_now_ms() + 300,
				  &p, err, sizeof(err)), -ENOTCONN);
	CHECK_ERR(p.busy_retries, 0);
	CHECK(strstr(err, "host side running") != NULL);
}

TEST(socket_with_listener_connects_and_drains)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct agent_port_cfg cfg = { 0 };
	struct agent_port p;
	int l = socket(AF_UNIX, SOCK_STREAM, 0), c;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%.80s/live.sock", tmp) < 0)
		return;
	CHECK(bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(listen(l, 1) == 0);
	CHECK_ERR(agent_port_open(&cfg, sa.sun_path, agent_now_ms() + 300, &p,
				  err, sizeof(err)), 0);
	CHECK_ERR(p.kind, AGENT_PORT_SOCKET);
	c = accept(l, NULL, NULL);
	CHECK(write(c, "stale reply", 11) == 11);
	usleep(10000);
	CHECK_ERR(agent_port_drain(&p), 11);
	agent_port_close(&p);
	close(c);
	close(l);
}

TEST(tty_is_opened_raw_and_locked)
{
	struct agent_port_cfg cfg = { .serial_params = "115200,8N1" };
	struct agent_port p;
	char name[128];
	int m, s;

	CHECK(openpty(&m, &s, name, NULL, NULL) == 0);
	CHECK_ERR(agent_port_open(&cfg, name, agent_now_ms() + 300, &p, err,
				  sizeof(err)), 0);
	CHECK_ERR(p.kind, AGENT_PORT_TTY);
	agent_port_close(&p);
	cfg.serial_params = "31337,8N1";
	CHECK_ERR(agent_port_open(&cfg, name, agent_now_ms() + 300, &p, err,
				  sizeof(err)), -EINVAL);
	CHECK(strstr(err, "31337") != NULL);
	close(m);
	close(s);
}

TEST(regular_file_is_refused)
{
	struct agent_port_cfg cfg = { 0 };
	struct agent_port p;
	char path[300];

	snprintf(path, sizeof(path), "%s/sys/class/virtio-ports/vport0p1/name",
		 tmp);
	CHECK_ERR(agent_port_open(&cfg, path, agent_now_ms() + 300, &p, err,
				  sizeof(err)), -ENOTSUP);
}

int main(void)
{
	char cmd[300];
	int r;

	make_tree();
	r = RUN_TESTS();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	return r;
}
