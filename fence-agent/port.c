/* port.c - find and open the port to the host; see port.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "deadline.h"
#include "options.h"
#include "port.h"

static int real_open(void *ctx, const char *path, int flags)
{
	int fd = open(path, flags);

	return fd < 0 ? -errno : fd;
}

static int real_lock(void *ctx, int fd)
{
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	return fcntl(fd, F_SETLK, &lk) < 0 ? -errno : 0;
}

const struct agent_port_sys agent_port_sys_real = {
	.version = 1,
	.open = real_open,
	.lock = real_lock,
};

/* Does @file (a sysfs "name" attribute) hold exactly @name? */
static int file_holds_name(const char *file, const char *name)
{
	char buf[AGENT_NAME_MAX + 2];
	size_t n;
	FILE *f = fopen(file, "re");

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return strcmp(buf, name) == 0;
}

/* Scan SYS/class/virtio-ports/ for the entry whose name file is @name. */
static int scan_sysfs(const struct agent_port_cfg *cfg, char *path,
		      size_t pathlen)
{
	char dir[PATH_MAX], file[PATH_MAX * 2];
	struct dirent *de;
	DIR *d;
	int r = -ENOENT;

	snprintf(dir, sizeof(dir), "%s/class/virtio-ports", cfg->sys_root);
	d = opendir(dir);
	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s/name", dir, de->d_name);
		if (!file_holds_name(file, cfg->name))
			continue;
		r = snprintf(path, pathlen, "%s/%s", cfg->dev_root,
			     de->d_name) >= (int)pathlen ? -ENAMETOOLONG : 0;
		break;
	}
	closedir(d);
	return r;
}

int agent_port_resolve(const struct agent_port_cfg *cfg, char *path,
		       size_t pathlen, char *err, size_t errlen)
{
	struct stat st;
	int r;

	if (cfg->device && cfg->device[0]) {
		if (snprintf(path, pathlen, "%s", cfg->device) >= (int)pathlen)
			return -ENAMETOOLONG;
		return 0;
	}
	if (!cfg->name || !cfg->name[0] || strchr(cfg->name, '/')) {
		snprintf(err, errlen, "port name '%s' is empty or has a '/'",
			 cfg->name ? cfg->name : "");
		return -EINVAL;
	}
	if (snprintf(path, pathlen, "%s/virtio-ports/%s", cfg->dev_root,
		     cfg->name) >= (int)pathlen)
		return -ENAMETOOLONG;
	if (stat(path, &st) == 0)
		return 0;
	r = scan_sysfs(cfg, path, pathlen);
	if (r == -ENOENT)
		snprintf(err, errlen,
			 "no virtio-serial port named '%s' (looked for "
			 "%s/virtio-ports/%s and in %s/class/virtio-ports); "
			 "does the domain XML have a <channel> with <target "
			 "type='virtio' name='%s'/>?", cfg->name,
			 cfg->dev_root, cfg->name, cfg->sys_root, cfg->name);
	return r;
}

int agent_port_speed(const char *serial_params, unsigned int *speed)
{
	static const struct { unsigned long bps; unsigned int code; } t[] = {
		{ 2400, B2400 }, { 4800, B4800 }, { 9600, B9600 },
		{ 19200, B19200 }, { 38400, B38400 }, { 57600, B57600 },
		{ 115200, B115200 },
	};
	char *end;
	unsigned long bps;

	errno = 0;
	bps = strtoul(serial_params ? serial_params : "115200", &end, 10);
	if (errno || (*end && *end != ','))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++)
		if (t[i].bps == bps) {
			*speed = t[i].code;
			return 0;
		}
	return -EINVAL;
}

/*
 * Raw 8N1 at the configured speed.  Unlike fence_virt we do not turn on
 * CRTSCTS: a UART without flow-control wiring would then never send.
 */
static int setup_tty(const struct agent_port_cfg *cfg, int fd, char *err,
		     size_t errlen)
{
	struct termios tio;
	unsigned int speed;

	if (agent_port_speed(cfg->serial_params, &speed) < 0) {
		snprintf(err, errlen, "serial_params '%s': speed must be one "
			 "of 2400..115200", cfg->serial_params);
		return -EINVAL;
	}
	if (tcgetattr(fd, &tio) < 0)
		return -errno;
	cfmakeraw(&tio);
	tio.c_cflag |= CLOCAL | CREAD;
	cfsetispeed(&tio, speed);
	cfsetospeed(&tio, speed);
	if (tcsetattr(fd, TCSANOW, &tio) < 0)
		return -errno;
	(void)tcflush(fd, TCIOFLUSH);	/* stale bytes: drained later too */
	return 0;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A unix connect completes or fails at once; no need to poll. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = errno == ECONNREFUSED ? -ENOTCONN : -errno;
		close(fd);
		return r;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* One attempt.  -EBUSY / -ENOTCONN mean "try again later". */
static int try_open(const struct agent_port_cfg *cfg, const char *path,
		    struct agent_port *p, char *err, size_t errlen)
{
	const struct agent_port_sys *sys = cfg->sys ? cfg->sys :
						      &agent_port_sys_real;
	struct stat st;
	int fd, r;

	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISSOCK(st.st_mode)) {
		p->kind = AGENT_PORT_SOCKET;
		return connect_unix(path);
	}
	if (!S_ISCHR(st.st_mode))
		return -ENOTSUP;
	fd = sys->open(sys->ctx, path,
		       O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return fd;
	p->kind = isatty(fd) ? AGENT_PORT_TTY : AGENT_PORT_CHAR;
	r = sys->lock(sys->ctx, fd);
	if (r == -EAGAIN || r == -EACCES)
		r = -EBUSY;
	if (r == 0 && p->kind == AGENT_PORT_TTY)
		r = setup_tty(cfg, fd, err, errlen);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/*
 * A port we may not open: name the group that may, since the usual fix is
 * to add the cluster user to it (60-fence-vserial.rules gives fence ports
 * to haclient).
 */
static void describe_denied(const char *path, char *err, size_t errlen)
{
	struct stat st;
	struct group *gr;

	if (stat(path, &st) < 0 || st.st_gid == 0 || !(st.st_mode & 0060)) {
		snprintf(err, errlen, "open '%s': Permission denied; only root "
			 "may open it (install 60-fence-vserial.rules to give "
			 "fence ports to group haclient)", path);
		return;
	}
	gr = getgrgid(st.st_gid);
	if (gr)
		snprintf(err, errlen, "open '%s': Permission denied; the port "
			 "belongs to group '%s': add this user to it", path,
			 gr->gr_name);
	else
		snprintf(err, errlen, "open '%s': Permission denied; the port "
			 "belongs to group id %u: add this user to it", path,
			 (unsigned int)st.st_gid);
}

static void describe_failure(int r, const char *path, unsigned int waited,
			     char *err, size_t errlen)
{
	if (r == -EBUSY)
		snprintf(err, errlen, "port '%s' is held by another process "
			 "(busy for %u ms); is another fence agent or a "
			 "guest agent using it?", path, waited);
	else if (r == -ENOTCONN)
		snprintf(err, errlen, "socket '%s': nobody accepts; is the "
			 "host side running?", path);
	else if (r == -ENOTSUP)
		snprintf(err, errlen, "'%s' is neither a character device nor "
			 "a socket", path);
	else if (r == -EACCES)
		describe_denied(path, err, errlen);
	else if (r != -EINVAL)	/* -EINVAL already explained by setup_tty */
		snprintf(err, errlen, "open '%s': %s", path, strerror(-r));
}

int agent_port_open(const struct agent_port_cfg *cfg, const char *path,
		    int64_t deadline, struct agent_port *p, char *err,
		    size_t errlen)
{
	int64_t start = agent_now_ms();
	int r;

	p->fd = -1;
	p->busy_retries = 0;
	if (snprintf(p->path, sizeof(p->path), "%s", path) >=
	    (int)sizeof(p->path))
		return -ENAMETOOLONG;
	for (;;) {
		r = try_open(cfg, path, p, err, errlen);
		if (r >= 0) {
			p->fd = r;
			return 0;
		}
		if (r != -EBUSY || agent_ms_left(deadline) == 0)
			break;
		p->busy_retries++;
		/* Nothing signals "the other opener closed": poll the clock. */
		(void)poll(NULL, 0, agent_ms_left(deadline) < AGENT_PORT_RETRY_MS
					    ? agent_ms_left(deadline)
					    : AGENT_PORT_RETRY_MS);
	}
	describe_failure(r, path, (unsigned int)(agent_now_ms() - start), err,
			 errlen);
	return r;
}

long agent_port_drain(struct agent_port *p)
{
	char buf[512];
	long total = 0;
	ssize_t n;

	if (p->fd < 0)
		return 0;
	/* Bounded: a host that keeps sending must not keep us here. */
	while (total < AGENT_PORT_DRAIN_MAX) {
		n = read(p->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return total;
		total += n;
	}
	return total;
}

void agent_port_close(struct agent_port *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}
