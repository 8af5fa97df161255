/* acl.c - see acl.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acl.h"

bool vsf_is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (!s || strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

static int push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int load_group(struct vsf_acl_group *g, const struct vsf_conf_node *gn)
{
	const struct vsf_conf_node *c;
	const char *name = vsf_conf_get(gn, "name");

	if (name && !(g->name = strdup(name)))
		return -ENOMEM;
	for (c = vsf_conf_next(gn, NULL, "uuid"); c;
	     c = vsf_conf_next(gn, c, "uuid"))
		if (c->value && push(&g->uuids, &g->nuuids, c->value) < 0)
			return -ENOMEM;
	for (c = vsf_conf_next(gn, NULL, "ip"); c;
	     c = vsf_conf_next(gn, c, "ip"))
		if (c->value && push(&g->ips, &g->nips, c->value) < 0)
			return -ENOMEM;
	return 0;
}

int vsf_acl_load(struct vsf_acl *acl, const struct vsf_conf_node *groups)
{
	const struct vsf_conf_node *gn;

	memset(acl, 0, sizeof(*acl));
	for (gn = vsf_conf_next(groups, NULL, "group"); gn;
	     gn = vsf_conf_next(groups, gn, "group")) {
		struct vsf_acl_group *ng;

		ng = realloc(acl->groups, (acl->ngroups + 1) * sizeof(*ng));
		if (!ng)
			goto err_free;
		acl->groups = ng;
		memset(&ng[acl->ngroups], 0, sizeof(*ng));
		acl->ngroups++;
		if (load_group(&ng[acl->ngroups - 1], gn) < 0)
			goto err_free;
	}
	return 0;

err_free:
	vsf_acl_done(acl);
	return -ENOMEM;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void vsf_acl_done(struct vsf_acl *acl)
{
	for (size_t i = 0; i < acl->ngroups; i++) {
		free(acl->groups[i].name);
		strv_free(acl->groups[i].uuids, acl->groups[i].nuuids);
		strv_free(acl->groups[i].ips, acl->groups[i].nips);
	}
	free(acl->groups);
	memset(acl, 0, sizeof(*acl));
}

static bool strv_has(char *const *v, size_t n, const char *s)
{
	if (!s || !*s)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(v[i], s))
			return true;
	return false;
}

static bool group_has_source(const struct vsf_acl_group *g, const char *src)
{
	if (vsf_is_uuid(src))
		return strv_has(g->uuids, g->nuuids, src);
	return strv_has(g->ips, g->nips, src);
}

int vsf_acl_check(const struct vsf_acl *acl, const char *src,
		  const char *target)
{
	if (vsf_acl_is_open(acl))
		return 0;
	for (size_t i = 0; i < acl->ngroups; i++) {
		const struct vsf_acl_group *g = &acl->groups[i];

		if (group_has_source(g, src) &&
		    strv_has(g->uuids, g->nuuids, target))
			return 0;
	}
	return -EACCES;
}

bool vsf_acl_may_list(const struct vsf_acl *acl, const char *src,
		      const char *name, const char *uuid)
{
	if (vsf_acl_is_open(acl))
		return true;
	for (size_t i = 0; i < acl->ngroups; i++) {
		const struct vsf_acl_group *g = &acl->groups[i];

		if (group_has_source(g, src) &&
		    (strv_has(g->uuids, g->nuuids, name) ||
		     strv_has(g->uuids, g->nuuids, uuid)))
			return true;
	}
	return false;
}
