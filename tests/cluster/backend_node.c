/*
 * backend_node - one host of backend_test.sh: the daemon's "cpg" backend
 * (fenced-host/backend_cpg.c) over a fake local backend, driven like the
 * pipeline drives it: power() from worker threads that block until the
 * answer or the deadline.
 *
 *	backend_node GRACE_MS [LIBVIRT_URI] < commands > log
 *
 * With LIBVIRT_URI the local backend is the real "libvirt" one and the map
 * follows libvirt's lifecycle events; "add" and "show" are then unused.
 *
 *	add NAME UUID        a running fake domain here (and its event)
 *	fence TAG OP TARGET MS   power() on a new thread; prints
 *	                     "result TAG ok|off|ENAME MS_TAKEN"
 *	show NAME            "vm NAME running=R calls=N"
 *	quit
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>

#include "backend_cpg.h"
#include "fake_backend.h"
#include "vsf_cpg_msg.h"

struct job {
	struct vsf_backend *b;
	char tag[32], target[64];
	int op;
	uint64_t ms;
};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *rc_name(int rc)
{
	static __thread char buf[32];

	switch (rc) {
	case 0: return "ok";
	case VSF_BACKEND_OFF: return "off";
	case -EAGAIN: return "EAGAIN";
	case -ENOENT: return "ENOENT";
	case -ETIMEDOUT: return "ETIMEDOUT";
	}
	snprintf(buf, sizeof(buf), "rc%d", rc);
	return buf;
}

static void *run_job(void *arg)
{
	struct job *j = arg;
	uint64_t t0 = vsf_now_ms();
	int rc = j->b->ops->power(j->b, j->op, j->target, t0 + j->ms);

	pthread_mutex_lock(&out_lock);
	printf("result %s %s %llu\n", j->tag, rc_name(rc),
	       (unsigned long long)(vsf_now_ms() - t0));
	pthread_mutex_unlock(&out_lock);
	free(j);
	return NULL;
}

static int op_parse(const char *s)
{
	static const char *names[] = { "", "off", "reboot", "on", "status" };

	for (int i = 1; i < 5; i++)
		if (s && strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

static void fence(struct vsf_backend *b, char **w)
{
	struct job *j = calloc(1, sizeof(*j));
	pthread_t t;

	if (!j || !w[1] || op_parse(w[2]) < 0 || !w[3] || !w[4]) {
		printf("error usage: fence TAG OP TARGET MS\n");
		free(j);
		return;
	}
	j->b = b;
	snprintf(j->tag, sizeof(j->tag), "%s", w[1]);
	snprintf(j->target, sizeof(j->target), "%s", w[3]);
	j->op = op_parse(w[2]);
	j->ms = strtoull(w[4], NULL, 10);
	if (pthread_create(&t, NULL, run_job, j) == 0)
		pthread_detach(t);
}

int main(int argc, char **argv)
{
	struct fake_backend *fb = calloc(1, sizeof(*fb));
	struct vsf_backend *b;
	char err[256] = "", line[256];
	int r;

	if (argc < 2 || !fb)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	fake_backend_init(fb);
	if (argc > 2) {
		/* as the daemon's main does before any libvirt thread:
		 * a libvirtd dying mid-call is an error, not our SIGPIPE */
		signal(SIGPIPE, SIG_IGN);
		if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0)
			return 1;
		free(fb);
		fb = NULL;
		b = vsf_cpg_backend_new(vsf_backend_new("libvirt"));
	} else {
		b = vsf_cpg_backend_new(&fb->base);
	}
	{
		/* grace_ms and uri come from the config tree in the daemon */
		char conf[1024];
		struct vsf_conf_node *cfg = NULL;

		snprintf(conf, sizeof(conf), "grace_ms = \"%s\";\n"
			 "uri = \"%s\";\n", argv[1], argc > 2 ? argv[2] : "x");
		if (!b || vsf_conf_parse(conf, strlen(conf), "argv", &cfg, err,
					 sizeof(err)) < 0) {
			printf("error %s\n", err);
			return 1;
		}
		r = b->ops->open(b, cfg, err, sizeof(err));
		vsf_conf_free(cfg);
	}
	if (r < 0) {
		printf("error open: %s\n", err);
		return 1;
	}
	printf("open\n");
	while (fgets(line, sizeof(line), stdin)) {
		char *sp, *w[6] = { 0 };
		int k = 0;

		line[strcspn(line, "\n")] = '\0';
		for (char *t = strtok_r(line, " ", &sp); t && k < 6;
		     t = strtok_r(NULL, " ", &sp))
			w[k++] = t;
		if (!w[0])
			continue;
		if (!strcmp(w[0], "quit"))
			break;
		if (!strcmp(w[0], "fence")) {
			fence(b, w);
		} else if (!fb) {
			printf("error fake-only command\n");
		} else if (!strcmp(w[0], "add") && w[1] && w[2]) {
			pthread_mutex_lock(&fb->lock);
			fake_backend_add(fb, w[1], w[2], 1);
			pthread_mutex_unlock(&fb->lock);
			r = vsf_cpg_backend_event(b, w[2], w[1],
						  VSF_CPG_DOM_RUNNING);
			printf("added %s %d\n", w[1], r);
		} else if (!strcmp(w[0], "show") && w[1]) {
			struct fake_vm *vm;

			pthread_mutex_lock(&fb->lock);
			vm = fake_backend_vm(fb, w[1]);
			pthread_mutex_lock(&out_lock);
			printf("vm %s running=%d calls=%d\n", w[1],
			       vm ? vm->running : -1, vm ? vm->calls : -1);
			pthread_mutex_unlock(&out_lock);
			pthread_mutex_unlock(&fb->lock);
		}
	}
	vsf_backend_free(b);
	return 0;
}
