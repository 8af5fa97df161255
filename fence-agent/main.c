/*
 * main.c - fence_vserial: the guest side of vserial-fence.
 *
 * Reads its settings (argv, or stdin key=value from pacemaker), applies
 * `delay` for power actions, then runs one request against the host within
 * `timeout` seconds and turns the outcome into fence_virt's exit codes
 * (result.h).  This is the only file that prints.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"
#include "deadline.h"
#include "metadata.h"
#include "net.h"
#include "options.h"
#include "port.h"
#include "result.h"
#include "stream.h"
#include "vsf_hash.h"
#include "vsf_key.h"
#include "vsf_v2.h"
#include "vsf_wire.h"

#define PROG "fence_vserial"

struct run {
	struct agent_opts *o;
	struct vsf_key key;
	int have_key;
	int64_t deadline;
};

__attribute__((format(printf, 3, 4)))
static void log_stderr(void *ctx, int level, const char *fmt, ...)
{
	const int *debug = ctx;
	va_list ap;

	if (level > *debug)
		return;
	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void print_host(void *ctx, const char *name, const char *uuid,
		       int state)
{
	printf("%-32s %s %s\n", name, uuid, state == 1 ? "on" : "off");
}

/* Pacemaker's way: key=value lines; unknown keys are reported, ignored. */
static int read_stdin(struct agent_opts *o)
{
	char line[8192], err[256];
	unsigned int lineno = 0;
	int r;

	while (fgets(line, sizeof(line), stdin)) {
		size_t len = strlen(line);

		lineno++;
		/* The rest of a cut line must not be read as a line of its
		 * own: "x=<8 KiB>action=off" would turn into action=off. */
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			fprintf(stderr, PROG ": stdin line %u: longer than %zu "
				"bytes\n", lineno, sizeof(line) - 2);
			return -E2BIG;
		}
		r = agent_opts_parse_line(o, line, err, sizeof(err));
		if (r == -ENOENT)
			fprintf(stderr, PROG ": stdin line %u: %s, ignoring\n",
				lineno, err);
		else if (r < 0) {
			fprintf(stderr, PROG ": stdin line %u: %s\n", lineno,
				err);
			return r;
		}
	}
	return 0;
}

static int parse_settings(struct agent_opts *o, int argc, char **argv)
{
	char err[256];
	int r;

	agent_opts_init(o);
	if (argc > 1)
		r = agent_opts_parse_argv(o, argc, argv, err, sizeof(err));
	else
		r = read_stdin(o);
	if (r < 0) {
		if (argc > 1)
			fprintf(stderr, PROG ": %s (try -h)\n", err);
		return r;
	}
	if (o->want_help || o->want_version || o->op == VSF_OP_METADATA)
		return 0;
	r = agent_opts_finish(o, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, PROG ": %s\n", err);
	return r;
}

/*
 * The key: required for tcp/vsock with auth or hash (a missing file falls
 * back to none/none, as fence_virt does), optional for ports (no key means
 * protocol v1 only).  A key that exists but is refused is an error.
 */
static int load_key(struct run *run)
{
	struct agent_opts *o = run->o;
	char err[512];
	int r;

	if (o->mode == AGENT_MODE_PORT || o->mode == AGENT_MODE_VMCHANNEL) {
		if (o->proto == AGENT_PROTO_V1)
			return 0;
	} else if (o->auth == VSF_HASH_NONE && o->hash == VSF_HASH_NONE) {
		return 0;
	}
	r = vsf_key_load(o->key_file, &run->key, err, sizeof(err));
	if (r == 0) {
		run->have_key = 1;
		return 0;
	}
	if (r != -ENOENT || o->proto == AGENT_PROTO_V2) {
		fprintf(stderr, PROG ": %s\n", err);
		return r;
	}
	if (o->mode == AGENT_MODE_TCP || o->mode == AGENT_MODE_VSOCK) {
		fprintf(stderr, PROG ": key file '%s' not found: trying "
			"without authentication\n", o->key_file);
		o->auth = o->hash = VSF_HASH_NONE;
	} else {
		log_stderr(&o->debug, 1, "key file '%s' not found: protocol "
			   "v1 only", o->key_file);
	}
	return 0;
}

/* Virtio-serial port whose host side is closed: wait for it to open. */
static int wait_host(struct agent_stream *s, int64_t deadline)
{
	while (!agent_stream_host_connected(s)) {
		int left = agent_ms_left(deadline);

		if (left == 0)
			return -ETIMEDOUT;
		/* The kernel signals this only by SIGIO: poll the state. */
		(void)poll(NULL, 0, left < 100 ? left : 100);
	}
	return 0;
}

/* Open and drain.  -ENOTCONN (a socket nobody listens on) is quiet: the
 * caller waits for the host as it does for POLLHUP. */
static int open_port(struct run *run, const struct agent_port_cfg *cfg,
		     const char *path, struct agent_port *port)
{
	char err[1024];
	long dropped;
	int r;

	r = agent_port_open(cfg, path, run->deadline, port, err, sizeof(err));
	if (r == -ENOTCONN)
		return r;
	if (r < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return r;
	}
	log_stderr(&run->o->debug, 1, "opened '%s' (%s) after %u busy "
		   "retries", path, port->kind == AGENT_PORT_SOCKET ? "socket" :
		   port->kind == AGENT_PORT_TTY ? "tty" : "char device",
		   port->busy_retries);
	dropped = agent_port_drain(port);
	if (dropped > 0)
		log_stderr(&run->o->debug, 1, "discarded %ld stale bytes "
			   "waiting in the port", dropped);
	return 0;
}

/* One exchange on an open port (IN_PROGRESS is retried inside). */
static int exchange(struct run *run, struct agent_port *port,
		    struct agent_call *call)
{
	struct agent_stream s;

	agent_stream_init(&s, port->fd, run->deadline);
	if (!agent_stream_host_connected(&s))
		return -ENOTCONN;
	return agent_chan_call(&s, call);
}

/*
 * Host side absent: a virtio-serial port stays open and we wait for its
 * POLLHUP to clear; a socket or tty is closed and opened again.
 */
static int wait_for_host(struct run *run, struct agent_port *port)
{
	struct agent_stream s;

	if (port->fd >= 0 && port->kind == AGENT_PORT_CHAR) {
		agent_stream_init(&s, port->fd, run->deadline);
		return wait_host(&s, run->deadline);
	}
	agent_port_close(port);
	(void)poll(NULL, 0, agent_ms_left(run->deadline) < AGENT_PORT_RETRY_MS
				    ? agent_ms_left(run->deadline)
				    : AGENT_PORT_RETRY_MS);
	return 0;
}

/* Retries after a hang-up reuse call->request_id: the host may dedup. */
static int call_port(struct run *run, struct agent_call *call)
{
	struct agent_opts *o = run->o;
	struct agent_port_cfg cfg = {
		.device = o->device, .name = o->port_name, .dev_root = "/dev",
		.sys_root = "/sys", .serial_params = o->serial_params,
	};
	struct agent_port port = { .fd = -1 };
	char path[PATH_MAX], err[1024];
	int r, told = 0;

	r = agent_port_resolve(&cfg, path, sizeof(path), err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return r;
	}
	for (;;) {
		r = port.fd >= 0 ? 0 : open_port(run, &cfg, path, &port);
		if (r == 0)
			r = exchange(run, &port, call);
		if (r != -ENOTCONN || agent_ms_left(run->deadline) == 0)
			break;
		if (!told++)
			fprintf(stderr, PROG ": host side of '%s' not "
				"connected; waiting up to %d ms\n", path,
				agent_ms_left(run->deadline));
		if (wait_for_host(run, &port) < 0) {
			r = -ENOTCONN;
			break;
		}
	}
	agent_port_close(&port);
	return r;
}

/*
 * Nobody to talk to: exit 6 (no answer), never the handshake's "wrong
 * key".  vsock says ECONNRESET when nobody listens on the port and ENODEV
 * for an unknown CID.
 */
static int connect_failure(int r)
{
	if (r == -ECONNRESET || r == -ENODEV || r == -EADDRNOTAVAIL)
		return -ECONNREFUSED;
	return r;
}

static int call_network(struct run *run, struct agent_call *call)
{
	struct agent_opts *o = run->o;
	struct agent_net_cfg cfg = {
		.vsock = o->mode == AGENT_MODE_VSOCK,
		.host = o->mode == AGENT_MODE_VMCHANNEL ? o->channel_address :
							  o->ipaddr,
		.cid = o->vsock_cid, .port = o->ipport,
		.auth = o->auth, .hash = o->hash, .deadline = run->deadline,
	};
	struct agent_stream s;
	int fd, r;

	fd = agent_net_connect(&cfg);
	if (fd < 0) {
		if (cfg.vsock)
			fprintf(stderr, PROG ": connect to vsock cid %u port "
				"%u: %s\n", cfg.cid, cfg.port, strerror(-fd));
		else
			fprintf(stderr, PROG ": connect to %s port %u: %s\n",
				cfg.host, cfg.port, strerror(-fd));
		return connect_failure(fd);
	}
	if (o->mode == AGENT_MODE_VMCHANNEL) {
		agent_stream_init(&s, fd, run->deadline);
		r = agent_chan_call(&s, call);
	} else {
		r = agent_net_call(fd, &cfg, call);
	}
	close(fd);
	return r;
}

static int report(const struct agent_opts *o, int rc,
		  const struct agent_call *call)
{
	int code = agent_exit_code(rc, call);
	char buf[256];

	if (o->op == VSF_OP_STATUS && (code == AGENT_EXIT_OK ||
				       code == AGENT_EXIT_OFF)) {
		printf("Status: %s\n", code == AGENT_EXIT_OK ? "ON" : "OFF");
		return code;
	}
	if (code != AGENT_EXIT_OK)
		fprintf(stderr, PROG ": %s '%s': %s\n", vsf_op_name(o->op),
			o->domain, agent_outcome_text(rc, call, buf,
						      sizeof(buf)));
	return code;
}

static uint32_t new_request_id(void)
{
	uint32_t id = 0;

	while (id == 0)
		if (vsf_random_bytes(&id, sizeof(id)) < 0)
			id = (uint32_t)getpid() ^ (uint32_t)agent_now_ms();
	return id;
}

static int run_request(struct run *run)
{
	struct agent_opts *o = run->o;
	struct agent_call call = {
		.op = o->op, .domain = o->domain, .proto = o->proto,
		.log = log_stderr, .log_ctx = &o->debug,
		.on_host = print_host,
	};
	int r;

	if (o->delay && (o->op == VSF_OP_ON || o->op == VSF_OP_OFF ||
			 o->op == VSF_OP_REBOOT)) {
		log_stderr(&o->debug, 1, "delaying %u s", o->delay);
		sleep(o->delay);
	}
	run->deadline = agent_now_ms() + (int64_t)o->timeout * 1000;
	if (load_key(run) < 0)
		return AGENT_EXIT_AUTH;
	if (run->have_key) {
		call.key = run->key.bytes;
		call.keylen = run->key.len;
	}
	call.request_id = new_request_id();
	if (o->mode == AGENT_MODE_PORT)
		r = call_port(run, &call);
	else
		r = call_network(run, &call);
	if (call.stale || call.bad)
		log_stderr(&o->debug, 1, "ignored %u stale and %u bad frames",
			   call.stale, call.bad);
	return report(o, r, &call);
}

/*
 * NSS (with its dlopen'ed softokn3/freeblpriv3) may be missing from a
 * minimal initramfs.  v1 on a port needs no crypto, so carry on with it.
 */
static int without_crypto(struct agent_opts *o)
{
	int port = o->mode == AGENT_MODE_PORT || o->mode == AGENT_MODE_VMCHANNEL;

	if (!port && (o->auth != VSF_HASH_NONE || o->hash != VSF_HASH_NONE)) {
		fprintf(stderr, PROG ": NSS initialisation failed: cannot "
			"sign or answer challenges; are libsoftokn3.so and "
			"libfreeblpriv3.so installed?\n");
		return 0;
	}
	if (o->proto == AGENT_PROTO_V2) {
		fprintf(stderr, PROG ": NSS initialisation failed: protocol "
			"2 needs HMAC-SHA-256; are libsoftokn3.so and "
			"libfreeblpriv3.so installed?\n");
		return 0;
	}
	if (port) {
		fprintf(stderr, PROG ": NSS initialisation failed: speaking "
			"protocol v1 only\n");
		o->proto = AGENT_PROTO_V1;
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct agent_opts o;
	struct run run = { .o = &o };
	int code;

	signal(SIGPIPE, SIG_IGN);	/* a closed socket is an error code */
	if (parse_settings(&o, argc, argv) < 0)
		return AGENT_EXIT_FAIL;
	if (o.want_help) {
		agent_usage_print(stdout, PROG);
		return AGENT_EXIT_OK;
	}
	if (o.want_version) {
		printf(PROG " " PACKAGE_VERSION "\n");
		return AGENT_EXIT_OK;
	}
	if (o.op == VSF_OP_METADATA) {
		agent_metadata_print(stdout);
		return AGENT_EXIT_OK;
	}
	if (o.op == VSF_OP_VALIDATEALL)
		return AGENT_EXIT_OK;
	if (vsf_hash_init() < 0 && !without_crypto(&o))
		return AGENT_EXIT_INTERNAL;
	code = run_request(&run);
	vsf_key_done(&run.key);
	return code;
}
