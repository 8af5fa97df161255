/*
 * virt_backend.c - the libvirt backend.
 *
 *   backends { libvirt { uri = "qemu:///system"; uri1 = "..."; } }
 *
 * One connection per URI, shared by the worker threads (libvirt
 * connections are thread-safe).  A connection found dead is reopened on
 * next use, at most once per backoff period (1 s doubling to 30 s), so a
 * down libvirtd costs each request one quick failure, never a sleep loop.
 * Lookup is by UUID when the target is a canonical UUID, else by name;
 * the first connection that knows the domain acts on it.
 *
 * The pipeline serialises requests per target string; a domain named by
 * its name in one request and by its UUID in another is serialised here,
 * by a lock per domain UUID held for the whole operation (on a worker
 * thread, where waiting is allowed).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "acl.h"
#include "backend.h"
#include "backend_cpg.h"
#include "util.h"

#define VIRT_MAX_URIS 8
#define REBOOT_POLL_MS 100

struct virt_uri {
	char *uri;
	virConnectPtr conn;	/* NULL when down */
	uint64_t retry_at;	/* no reopen before this (ms) */
	uint64_t backoff;	/* ms */
};

/* One per domain with an operation running or waiting. */
struct dom_lock {
	char uuid[VIR_UUID_STRING_BUFLEN];
	pthread_mutex_t op;	/* held for the whole operation */
	unsigned int users;	/* protected by virt_backend.lock */
	struct dom_lock *next;
};

struct virt_backend {
	struct vsf_backend base;	/* first */
	pthread_mutex_t lock;		/* protects uris[].conn/retry/backoff
					 * and the locks list */
	struct virt_uri uris[VIRT_MAX_URIS];
	size_t nuris;
	struct dom_lock *locks;
};

/* Lock order: a dom_lock's op mutex is never taken while holding lock. */
static struct dom_lock *dom_lock_get(struct virt_backend *vb, virDomainPtr d)
{
	char uuid[VIR_UUID_STRING_BUFLEN] = "";
	struct dom_lock *l;

	(void)virDomainGetUUIDString(d, uuid);
	pthread_mutex_lock(&vb->lock);
	for (l = vb->locks; l; l = l->next)
		if (!strcmp(l->uuid, uuid))
			break;
	if (!l && (l = calloc(1, sizeof(*l)))) {
		memcpy(l->uuid, uuid, sizeof(uuid));
		pthread_mutex_init(&l->op, NULL);
		l->next = vb->locks;
		vb->locks = l;
	}
	if (l)
		l->users++;
	pthread_mutex_unlock(&vb->lock);
	if (l)
		pthread_mutex_lock(&l->op);
	return l;
}

static void dom_lock_put(struct virt_backend *vb, struct dom_lock *l)
{
	struct dom_lock **pp;

	if (!l)
		return;
	pthread_mutex_unlock(&l->op);
	pthread_mutex_lock(&vb->lock);
	if (--l->users == 0) {
		for (pp = &vb->locks; *pp != l; pp = &(*pp)->next)
			;
		*pp = l->next;
		pthread_mutex_destroy(&l->op);
		free(l);
	}
	pthread_mutex_unlock(&vb->lock);
}

static struct virt_backend *to_virt(struct vsf_backend *b)
{
	return (struct virt_backend *)b;
}

static bool conn_error(void)
{
	virErrorPtr e = virGetLastError();

	return e && (e->domain == VIR_FROM_RPC || e->code == VIR_ERR_SYSTEM_ERROR ||
		     e->code == VIR_ERR_NO_CONNECT ||
		     e->code == VIR_ERR_INVALID_CONN);
}

/* A referenced connection for uris[i], reopening it if it died. */
static virConnectPtr conn_get(struct virt_backend *vb, size_t i)
{
	struct virt_uri *u = &vb->uris[i];
	virConnectPtr c = NULL;
	uint64_t now = vsf_now_ms();

	pthread_mutex_lock(&vb->lock);
	if (u->conn && virConnectIsAlive(u->conn) != 1) {
		virConnectClose(u->conn);
		u->conn = NULL;
	}
	if (!u->conn && now >= u->retry_at) {
		u->conn = virConnectOpen(u->uri);
		if (u->conn) {
			u->backoff = 0;
		} else {
			u->backoff = u->backoff ? u->backoff * 2 : 1000;
			if (u->backoff > 30000)
				u->backoff = 30000;
			u->retry_at = now + u->backoff;
		}
	}
	if (u->conn) {
		c = u->conn;
		virConnectRef(c);
	}
	pthread_mutex_unlock(&vb->lock);
	return c;
}

/* After a call failed on @c: drop it if the failure was the connection. */
static void conn_check(struct virt_backend *vb, size_t i, virConnectPtr c)
{
	if (!conn_error())
		return;
	pthread_mutex_lock(&vb->lock);
	if (vb->uris[i].conn == c) {
		virConnectClose(c);
		vb->uris[i].conn = NULL;
	}
	pthread_mutex_unlock(&vb->lock);
}

static virDomainPtr lookup(virConnectPtr c, const char *target)
{
	if (vsf_is_uuid(target))
		return virDomainLookupByUUIDString(c, target);
	return virDomainLookupByName(c, target);
}

/* Find @target on any connection: 0 and *dom, -ENOENT, or -EIO. */
static int find(struct virt_backend *vb, const char *target,
		virDomainPtr *dom)
{
	int r = -ENOENT;
	bool any = false;

	for (size_t i = 0; i < vb->nuris; i++) {
		virConnectPtr c = conn_get(vb, i);

		if (!c)
			continue;
		any = true;
		*dom = lookup(c, target);
		if (*dom) {
			virConnectClose(c);
			return 0;
		}
		if (conn_error()) {
			r = -EIO;
			conn_check(vb, i, c);
		}
		virConnectClose(c);
	}
	return any ? r : -ECONNREFUSED;
}

static bool is_running(virDomainPtr d)
{
	int state = VIR_DOMAIN_NOSTATE, reason;

	if (virDomainGetState(d, &state, &reason, 0) < 0)
		return virDomainIsActive(d) == 1;
	return state != VIR_DOMAIN_SHUTOFF && state != VIR_DOMAIN_CRASHED;
}

static void nap_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait (on this worker thread) until @d is off or the deadline passes. */
static int wait_off(virDomainPtr d, uint64_t deadline_ms)
{
	while (virDomainIsActive(d) == 1) {
		if (vsf_now_ms() >= deadline_ms)
			return -ETIMEDOUT;
		nap_ms(REBOOT_POLL_MS);
	}
	return 0;
}

static int do_off(virDomainPtr d)
{
	if (!is_running(d))
		return 0;
	if (virDomainDestroy(d) == 0)
		return 0;
	return is_running(d) ? -EIO : 0;	/* raced with a shutdown */
}

static int do_on(virDomainPtr d)
{
	if (is_running(d))
		return 0;
	return virDomainCreate(d) == 0 ? 0 : -EIO;
}

static int do_reboot(virDomainPtr d, uint64_t deadline_ms)
{
	virConnectPtr c = virDomainGetConnect(d);
	char *xml = NULL;
	int persistent = virDomainIsPersistent(d), r;

	if (!is_running(d))
		return 0;	/* stock: an off domain counts as rebooted */
	if (persistent != 1)
		xml = virDomainGetXMLDesc(d, 0);
	r = do_off(d);
	if (r == 0)
		r = wait_off(d, deadline_ms);
	if (r == 0) {
		if (persistent == 1) {
			r = virDomainCreate(d) == 0 ? 0 : -EIO;
		} else {
			virDomainPtr nd = xml ? virDomainCreateXML(c, xml, 0)
					      : NULL;

			r = nd ? 0 : -EIO;
			if (nd)
				virDomainFree(nd);
		}
	}
	free(xml);
	return r;	/* a failed start is a failure, unlike stock */
}

static int virt_power(struct vsf_backend *b, int op, const char *target,
		      uint64_t deadline_ms)
{
	struct virt_backend *vb = to_virt(b);
	virDomainPtr d = NULL;
	struct dom_lock *l;
	int r = find(vb, target, &d);

	if (r < 0)
		return r;
	l = dom_lock_get(vb, d);
	switch (op) {
	case VSF_OP_OFF:
		r = do_off(d);
		break;
	case VSF_OP_ON:
		r = do_on(d);
		break;
	case VSF_OP_REBOOT:
		r = do_reboot(d, deadline_ms);
		break;
	case VSF_OP_STATUS:
		r = is_running(d) ? 0 : VSF_BACKEND_OFF;
		break;
	default:
		r = -EOPNOTSUPP;
	}
	dom_lock_put(vb, l);
	virDomainFree(d);
	return r;
}

static int list_one(virConnectPtr c, struct vsf_hostlist *out)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(c, &doms, 0), r = 0;

	if (n < 0)
		return -EIO;
	for (int i = 0; i < n; i++) {
		char uuid[VIR_UUID_STRING_BUFLEN] = "";
		int state = VIR_DOMAIN_NOSTATE, reason;
		const char *name = virDomainGetName(doms[i]);

		(void)virDomainGetUUIDString(doms[i], uuid);
		(void)virDomainGetState(doms[i], &state, &reason, 0);
		if (r == 0 && name)
			r = vsf_hostlist_add(out, name, uuid, (uint8_t)state);
		virDomainFree(doms[i]);
	}
	free(doms);
	return r;
}

static int virt_hostlist(struct vsf_backend *b, struct vsf_hostlist *out,
			 uint64_t deadline_ms)
{
	struct virt_backend *vb = to_virt(b);
	int r = -ECONNREFUSED;

	(void)deadline_ms;
	for (size_t i = 0; i < vb->nuris; i++) {
		virConnectPtr c = conn_get(vb, i);

		if (!c)
			continue;
		r = list_one(c, out);
		if (r < 0)
			conn_check(vb, i, c);
		virConnectClose(c);
	}
	vsf_hostlist_sort(out);
	return out->n ? 0 : r == -ECONNREFUSED ? r : 0;
}

static int add_uri(struct virt_backend *vb, const char *uri)
{
	if (vb->nuris == VIRT_MAX_URIS)
		return -E2BIG;
	vb->uris[vb->nuris].uri = strdup(uri);
	if (!vb->uris[vb->nuris].uri)
		return -ENOMEM;
	vb->nuris++;
	return 0;
}

static int virt_open(struct vsf_backend *b, const struct vsf_conf_node *cfg,
		     char *err, size_t errlen)
{
	struct virt_backend *vb = to_virt(b);
	const char *uri = vsf_conf_get(cfg, "uri");
	bool any = false;

	if (!uri) {
		snprintf(err, errlen, "backends/libvirt: no 'uri' set "
			 "(stock needs one too), e.g. uri = \"qemu:///system\"");
		return -EINVAL;
	}
	if (add_uri(vb, uri) < 0)
		return -ENOMEM;
	for (int i = 1; i < VIRT_MAX_URIS; i++) {
		char key[16];

		snprintf(key, sizeof(key), "uri%d", i);
		if ((uri = vsf_conf_get(cfg, key)) && add_uri(vb, uri) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < vb->nuris; i++) {
		virConnectPtr c = conn_get(vb, i);

		if (c) {
			any = true;
			virConnectClose(c);
		}
	}
	if (!any) {
		virErrorPtr e = virGetLastError();

		/* not fatal: every request retries the connection */
		snprintf(err, errlen, "backends/libvirt: cannot connect to "
			 "'%s' yet: %s; is libvirtd running? requests will "
			 "retry", vb->uris[0].uri,
			 e && e->message ? e->message : "unknown error");
		return 1;
	}
	return 0;
}

static void virt_close(struct vsf_backend *b)
{
	struct virt_backend *vb = to_virt(b);

	for (size_t i = 0; i < vb->nuris; i++) {
		if (vb->uris[i].conn)
			virConnectClose(vb->uris[i].conn);
		free(vb->uris[i].uri);
	}
	vb->nuris = 0;
}

static const struct vsf_backend_ops virt_ops = {
	.version = VSF_BACKEND_OPS_V1,
	.name = "libvirt",
	.open = virt_open,
	.close = virt_close,
	.power = virt_power,
	.hostlist = virt_hostlist,
};

struct vsf_backend *vsf_backend_new(const char *name)
{
	struct virt_backend *vb;

	/* cpg routes through the cluster and acts through local libvirt */
	if (!strcasecmp(name, "cpg"))
		return vsf_cpg_backend_new(vsf_backend_new("libvirt"));
	if (strcasecmp(name, "libvirt") != 0)
		return NULL;
	vb = calloc(1, sizeof(*vb));
	if (!vb)
		return NULL;
	vb->base.ops = &virt_ops;
	pthread_mutex_init(&vb->lock, NULL);
	return &vb->base;
}

struct vsf_backend *vsf_backend_free(struct vsf_backend *b)
{
	if (b) {
		if (b->ops->close)
			b->ops->close(b);
		if (b->ops == &virt_ops)
			pthread_mutex_destroy(&to_virt(b)->lock);
		free(b);
	}
	return NULL;
}
