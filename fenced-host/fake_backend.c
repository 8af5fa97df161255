/* fake_backend.c - see fake_backend.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util.h"
#include "fake_backend.h"

static void nap(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

struct fake_vm *fake_backend_vm(struct fake_backend *fb, const char *name)
{
	for (int i = 0; i < fb->nvms; i++)
		if (!strcasecmp(fb->vms[i].name, name) ||
		    !strcasecmp(fb->vms[i].uuid, name))
			return &fb->vms[i];
	return NULL;
}

static int fake_power(struct vsf_backend *b, int op, const char *target,
		      uint64_t deadline_ms)
{
	struct fake_backend *fb = (struct fake_backend *)b;
	struct fake_vm *vm;
	int rc = 0, same = 0;

	(void)deadline_ms;
	pthread_mutex_lock(&fb->lock);
	fb->total_calls++;
	if (++fb->active > fb->max_active)
		fb->max_active = fb->active;
	vm = fake_backend_vm(fb, target);
	if (vm) {
		vm->calls++;
		same = ++vm->active;
		if (same > fb->max_same)
			fb->max_same = same;
	}
	pthread_mutex_unlock(&fb->lock);

	nap(fb->delay_ms);

	pthread_mutex_lock(&fb->lock);
	if (fb->fail_rc)
		rc = fb->fail_rc;
	else if (!vm)
		rc = -ENOENT;
	else if (op == VSF_OP_OFF)
		vm->running = 0;
	else if (op == VSF_OP_ON || op == VSF_OP_REBOOT)
		vm->running = 1;
	else if (op == VSF_OP_STATUS)
		rc = vm->running ? 0 : VSF_BACKEND_OFF;
	fb->active--;
	if (vm)
		vm->active--;
	pthread_mutex_unlock(&fb->lock);
	return rc;
}

static int fake_hostlist(struct vsf_backend *b, struct vsf_hostlist *out,
			 uint64_t deadline_ms)
{
	struct fake_backend *fb = (struct fake_backend *)b;
	int rc = 0;

	(void)deadline_ms;
	pthread_mutex_lock(&fb->lock);
	for (int i = 0; i < fb->nvms && rc == 0; i++)
		rc = vsf_hostlist_add(out, fb->vms[i].name, fb->vms[i].uuid,
				      fb->vms[i].running ? 1 : 5);
	pthread_mutex_unlock(&fb->lock);
	vsf_hostlist_sort(out);
	return rc;
}

static const struct vsf_backend_ops fake_ops = {
	.version = VSF_BACKEND_OPS_V1,
	.name = "fake",
	.power = fake_power,
	.hostlist = fake_hostlist,
};

void fake_backend_init(struct fake_backend *fb)
{
	memset(fb, 0, sizeof(*fb));
	fb->base.ops = &fake_ops;
	pthread_mutex_init(&fb->lock, NULL);
}

void fake_backend_add(struct fake_backend *fb, const char *name,
		      const char *uuid, int running)
{
	struct fake_vm *vm = &fb->vms[fb->nvms++];

	vsf_strlcpy(vm->name, name, sizeof(vm->name));
	vsf_strlcpy(vm->uuid, uuid, sizeof(vm->uuid));
	vm->running = running;
}

int fake_rig_up(struct fake_rig *r, const char *groups, uint64_t timeout_ms)
{
	struct vsf_pipeline_cfg cfg = { 0 };
	char err[256];
	int rc;

	memset(r, 0, sizeof(*r));
	fake_backend_init(&r->fb);
	r->loop = vsf_loop_new();
	r->workers = r->loop ? vsf_workers_new(r->loop, 4) : NULL;
	r->logf = open_memstream(&r->logbuf, &r->loglen);
	if (!r->workers || !r->logf)
		return -ENOMEM;
	if (groups && (rc = vsf_conf_parse(groups, strlen(groups), "groups",
					   &r->conf, err, sizeof(err))) < 0)
		return rc;
	rc = vsf_acl_load(&r->acl, vsf_conf_find(r->conf, "groups"));
	if (rc < 0)
		return rc;
	vsf_log_init(&r->log, "test", false, LOG_DEBUG, r->logf);
	cfg.loop = r->loop;
	cfg.workers = r->workers;
	cfg.backend = &r->fb.base;
	cfg.acl = &r->acl;
	cfg.log = &r->log;
	cfg.timeout_ms = timeout_ms;
	cfg.history_ms = 10000;
	r->p = vsf_pipeline_new(&cfg);
	return r->p ? 0 : -ENOMEM;
}

void fake_rig_down(struct fake_rig *r)
{
	if (r->p)
		vsf_pipeline_stop(r->p);
	vsf_workers_free(r->workers);
	vsf_pipeline_free(r->p);
	vsf_acl_done(&r->acl);
	vsf_conf_free(r->conf);
	vsf_loop_free(r->loop);
	if (r->logf)
		fclose(r->logf);
	free(r->logbuf);
}
