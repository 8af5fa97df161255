/*
 * main.c - vserial-fenced: options, start-up, shutdown.
 *
 * The only globals in the daemon are the parsed options below (arg_*).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "backend.h"
#include "conf.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "request.h"
#include "settings.h"
#include "vsf_hash.h"
#include "vsf_num.h"
#include "workers.h"

#define DEFAULT_CONF "/etc/fence_virt.conf"
#define DEFAULT_PIDFILE "/run/vserial-fenced.pid"
#define WORKERS 4

static const char *arg_conf = DEFAULT_CONF;
static const char *arg_pidfile;
static int arg_foreground;
static long arg_debug = -1;
static int arg_check;

struct fenced {
	struct vsf_conf_node *conf;
	struct vsf_settings settings;
	struct vsf_log log;
	struct vsf_loop *loop;
	struct vsf_backend *backend;
	struct vsf_workers *workers;
	struct vsf_pipeline *pipeline;
	struct vsf_fenced_ctx ctx;
	struct vsf_listener *listeners[VSF_MAX_LISTENERS];
	size_t nlisteners;
	const char *pidfile;	/* written by us, removed at exit */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vserial-fenced [options]\n"
		"  -F              stay in the foreground, log to stderr\n"
		"  -f <file>       configuration file (default %s)\n"
		"  -d <level>      debug level (more logging)\n"
		"  -p <file>       pid file (default %s when daemonised)\n"
		"  -w              accepted for fence_virtd compatibility; "
		"start-up never blocks\n"
		"  -l              list the built-in listeners and backends, "
		"and exit\n"
		"  --check-config  print the effective configuration, or "
		"each error as file:line, and exit\n"
		"  -h              this help\n", DEFAULT_CONF, DEFAULT_PIDFILE);
}

/* fence_virtd -l lists its plugins; ours are built in. */
static void list_plugins(void)
{
	static const char *const backends[] = { "libvirt", "cpg" };
	const char *name;

	printf("listeners:");
	for (size_t i = 0; (name = vsf_listener_name(i)); i++)
		printf(" %s", name);
	printf("\nbackends:");
	for (size_t i = 0; i < sizeof(backends) / sizeof(*backends); i++) {
		struct vsf_backend *b = vsf_backend_new(backends[i]);

		if (b)
			printf(" %s", backends[i]);
		vsf_backend_free(b);
	}
	printf("\n");
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "check-config", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "Ff:d:p:whl", opts, NULL)) != -1) {
		unsigned long level;

		switch (c) {
		case 'F': arg_foreground = 1; break;
		case 'f': arg_conf = optarg; break;
		case 'p': arg_pidfile = optarg; break;
		case 'w': break;
		case 'l': list_plugins(); exit(0);
		case 'C': arg_check = 1; break;
		case 'd':
			if (vsf_parse_ulong(optarg, 1000, &level) < 0) {
				fprintf(stderr, "vserial-fenced: -d wants a "
					"level from 0 to 1000, got '%s'\n",
					optarg);
				return -EINVAL;
			}
			arg_debug = (long)level;
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vserial-fenced: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int load_config(struct fenced *f)
{
	char err[512];
	int r = vsf_conf_load(arg_conf, &f->conf, err, sizeof(err));

	if (r < 0) {
		fprintf(stderr, "%s\n", err);
		return r;
	}
	if (vsf_settings_load(&f->settings, f->conf, stderr) > 0)
		return -EINVAL;
	return 0;
}

/*
 * SIGHUP: re-read the file and swap in its groups, if the whole file is
 * still valid.  Everything else in it needs a restart (keys are files of
 * their own: reload_keys()).  The ACL is only used on
 * the loop thread, which is where we are.
 */
static void reload_groups(struct fenced *f)
{
	struct vsf_conf_node *conf = NULL;
	struct vsf_settings s;
	struct vsf_acl old;
	char err[512], *errs = NULL;
	size_t len = 0;
	FILE *ef;
	int n;

	if (vsf_conf_load(arg_conf, &conf, err, sizeof(err)) < 0) {
		vsf_logf(&f->log, LOG_ERR, "SIGHUP: %s; keeping the running "
			 "configuration", err);
		return;
	}
	ef = open_memstream(&errs, &len);
	n = vsf_settings_load(&s, conf, ef);
	if (ef)
		fclose(ef);
	if (n > 0) {
		vsf_logf(&f->log, LOG_ERR, "SIGHUP: %s has %d error(s), "
			 "keeping the running configuration: %s", arg_conf, n,
			 errs ? errs : "");
	} else {
		old = f->settings.acl;
		f->settings.acl = s.acl;
		s.acl = old;
		vsf_logf(&f->log, LOG_NOTICE, "SIGHUP: groups reloaded from "
			 "%s (%zu groups); other settings need a restart",
			 arg_conf, f->settings.acl.ngroups);
	}
	free(errs);
	vsf_settings_done(&s);
	vsf_conf_free(conf);
}

/*
 * SIGHUP, second half: each listener reads its keys again, all or nothing
 * (listener.h), whether or not the configuration file was valid.
 */
static void reload_keys(struct fenced *f)
{
	for (size_t i = 0; i < f->nlisteners; i++) {
		struct vsf_listener *l = f->listeners[i];
		char err[768] = "";
		int n;

		if (!l->ops->reload)
			continue;
		n = vsf_listener_reload(l, err, sizeof(err));
		if (n < 0)
			vsf_logf(&f->log, LOG_ERR, "SIGHUP: listener '%s': %s; "
				 "keeping the keys in force, none changed",
				 l->ops->name, err[0] ? err : strerror(-n));
		else
			vsf_logf(&f->log, LOG_NOTICE, "SIGHUP: listener '%s': "
				 "keys reloaded (%d in use)", l->ops->name, n);
	}
}

static void on_signal(struct vsf_loop *loop, int signo, void *data)
{
	struct fenced *f = data;

	if (signo == SIGHUP) {
		reload_groups(f);
		reload_keys(f);
		return;
	}
	vsf_logf(&f->log, LOG_NOTICE, "%s received, shutting down",
		 strsignal(signo));
	vsf_loop_stop(loop);
}

static void quiet_libvirt(void *data, virErrorPtr e)
{
	(void)data;
	(void)e;	/* callers turn libvirt errors into messages */
}

static int write_pidfile(struct fenced *f, const char *path)
{
	FILE *p = fopen(path, "we");

	if (!p)
		return vsf_log_err(&f->log, -errno, "pid file '%s': %s", path,
				   strerror(errno));
	fprintf(p, "%d\n", (int)getpid());
	fclose(p);
	f->pidfile = path;
	return 0;
}

static int open_backend(struct fenced *f)
{
	char err[512] = "";
	const struct vsf_conf_node *cfg;
	int r;

	f->backend = vsf_backend_new(f->settings.backend);
	if (!f->backend)
		return vsf_log_err(&f->log, -ENOMEM, "backend '%s' unavailable",
				   f->settings.backend);
	vsf_backend_set_log(f->backend, &f->log);
	cfg = vsf_conf_child(vsf_conf_child(f->conf, "backends"),
			     f->settings.backend);
	r = f->backend->ops->open(f->backend, cfg, err, sizeof(err));
	if (r < 0)
		return vsf_log_err(&f->log, r, "%s", err);
	if (r > 0)
		vsf_logf(&f->log, LOG_WARNING, "%s", err);
	return 0;
}

static int open_listeners(struct fenced *f)
{
	for (size_t i = 0; i < f->settings.nlisteners; i++) {
		const char *name = f->settings.listeners[i];
		struct vsf_listener *l = vsf_listener_new(name, &f->ctx);
		char err[512] = "";
		int r;

		if (!l)
			return vsf_log_err(&f->log, -ENOMEM, "listener '%s' "
					   "unavailable", name);
		f->listeners[f->nlisteners++] = l;
		r = l->ops->open(l, vsf_settings_listener(&f->settings, name),
				 err, sizeof(err));
		if (r < 0)
			return vsf_log_err(&f->log, r, "listener '%s': %s",
					   name, err[0] ? err : strerror(-r));
		vsf_logf(&f->log, LOG_INFO, "listener '%s' started", name);
	}
	return 0;
}

/* One fd per guest channel: thousands of guests need more than 1024. */
static void raise_fd_limit(struct fenced *f)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		vsf_logf(&f->log, LOG_WARNING, "cannot raise the open file "
			 "limit: %s, ignoring", strerror(errno));
}

/*
 * systemd's readiness protocol without libsystemd: one datagram to
 * $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace).
 */
static void notify(struct fenced *f, const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return;
	len = strlen(path);
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		vsf_logf(&f->log, LOG_WARNING, "sd_notify '%s': %s, ignoring",
			 state, strerror(errno));
	close(fd);
}

static int start(struct fenced *f)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, 0 };
	struct vsf_pipeline_cfg pc = { 0 };
	int r;

	raise_fd_limit(f);
	/*
	 * libvirt's client writes its socket with write(): a libvirtd that
	 * dies mid-call would kill us with SIGPIPE (seen with the cpg
	 * backend, tests/cluster/libvirt_test.sh) instead of failing the
	 * call, after which the backend reconnects.  Our own sockets use
	 * MSG_NOSIGNAL.
	 */
	signal(SIGPIPE, SIG_IGN);
	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0)
		return vsf_log_err(&f->log, -EIO, "libvirt initialisation "
				   "failed");
	virSetErrorFunc(NULL, quiet_libvirt);
	if (vsf_hash_init() < 0)
		return vsf_log_err(&f->log, -EIO, "NSS initialisation failed");
	f->loop = vsf_loop_new();
	if (!f->loop)
		return -ENOMEM;
	/* before any thread exists, so all of them inherit the mask */
	r = vsf_loop_add_signals(f->loop, sigs, on_signal, f);
	if (r < 0)
		return vsf_log_err(&f->log, r, "signalfd: %s", strerror(-r));
	if (vsf_acl_is_open(&f->settings.acl))
		vsf_logf(&f->log, LOG_WARNING, "no groups configured: every "
			 "source may fence every domain");
	if ((r = open_backend(f)) < 0)
		return r;
	f->workers = vsf_workers_new(f->loop, WORKERS);
	if (!f->workers)
		return -ENOMEM;
	pc.loop = f->loop;
	pc.workers = f->workers;
	pc.backend = f->backend;
	pc.acl = &f->settings.acl;
	pc.log = &f->log;
	pc.timeout_ms = f->settings.timeout_ms;
	pc.history_ms = f->settings.history_ms;
	f->pipeline = vsf_pipeline_new(&pc);
	if (!f->pipeline)
		return -ENOMEM;
	f->ctx.loop = f->loop;
	f->ctx.pipeline = f->pipeline;
	f->ctx.log = &f->log;
	f->ctx.key_dir = f->settings.key_dir;
	f->ctx.v1_allowed = f->settings.v1_allowed;
	return open_listeners(f);
}

static void stop(struct fenced *f)
{
	if (f->pipeline)
		vsf_pipeline_stop(f->pipeline);
	for (size_t i = f->nlisteners; i-- > 0;)
		vsf_listener_free(f->listeners[i]);
	vsf_workers_free(f->workers);
	vsf_pipeline_free(f->pipeline);
	vsf_backend_free(f->backend);
	vsf_loop_free(f->loop);
	if (f->pidfile)
		(void)unlink(f->pidfile);
	vsf_settings_done(&f->settings);
	vsf_conf_free(f->conf);
}

int main(int argc, char **argv)
{
	struct fenced f;
	bool fg;
	int r;

	memset(&f, 0, sizeof(f));
	if (parse_args(argc, argv) < 0)
		return 2;
	r = load_config(&f);
	if (arg_check || r < 0) {
		if (arg_check && r == 0)
			vsf_settings_dump(&f.settings, stdout);
		vsf_settings_done(&f.settings);
		vsf_conf_free(f.conf);
		return r == 0 ? 0 : 1;
	}
	if (arg_debug >= 0)
		f.settings.debug = (unsigned long)arg_debug;
	fg = arg_foreground || f.settings.foreground;
	vsf_log_init(&f.log, "vserial-fenced", !fg,
		     f.settings.debug ? LOG_DEBUG : LOG_INFO, stderr);
	if (!fg && daemon(0, 0) < 0) {
		fprintf(stderr, "vserial-fenced: cannot daemonise: %s\n",
			strerror(errno));
		return 1;
	}
	if ((arg_pidfile || !fg) &&
	    write_pidfile(&f, arg_pidfile ? arg_pidfile : DEFAULT_PIDFILE) < 0)
		r = -EIO;
	if (r == 0)
		r = start(&f);
	if (r == 0) {
		vsf_logf(&f.log, LOG_NOTICE, "vserial-fenced %s started "
			 "(config %s)", PACKAGE_VERSION, arg_conf);
		notify(&f, "READY=1");
		r = vsf_loop_run(f.loop);
		notify(&f, "STOPPING=1");
	}
	stop(&f);
	if (r == 0)
		vsf_logf(&f.log, LOG_NOTICE, "stopped");
	return r == 0 ? 0 : 1;
}
