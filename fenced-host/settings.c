/* settings.c - see settings.h. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "listener.h"
#include "settings.h"
#include "vsf_cpg_msg.h"
#include "vsf_hash.h"
#include "vsf_key.h"

struct checker {
	FILE *errs;
	int n;
};

__attribute__((format(printf, 3, 4)))
static void complain(struct checker *c, const struct vsf_conf_node *at,
		     const char *fmt, ...)
{
	va_list ap;

	c->n++;
	if (!c->errs)
		return;
	fprintf(c->errs, "%s:%u: ", at ? at->file : "?", at ? at->line : 0);
	va_start(ap, fmt);
	vfprintf(c->errs, fmt, ap);
	va_end(ap);
	fputc('\n', c->errs);
}

static bool is_yes(const char *v)
{
	return v && (!strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
		     !strcasecmp(v, "on") || !strcmp(v, "1"));
}

static void check_uint(struct checker *c, const struct vsf_conf_node *parent,
		       const char *key, unsigned long max, unsigned long *out)
{
	const struct vsf_conf_node *n = vsf_conf_child(parent, key);
	int r;

	if (!n || !n->value)
		return;
	r = vsf_conf_parse_uint(n->value, max, out);
	if (r < 0)
		complain(c, n, "%s = \"%s\": %s (a number up to %lu)", key,
			 n->value, r == -ERANGE ? "too large" : "not a number",
			 max);
}

static void check_hash(struct checker *c, const struct vsf_conf_node *l,
		       const char *key)
{
	const struct vsf_conf_node *n = vsf_conf_child(l, key);

	if (n && n->value && vsf_hash_from_name(n->value) < 0)
		complain(c, n, "%s = \"%s\": unknown; use none, sha1, "
			 "sha256 or sha512", key, n->value);
}

/* Stock modes "serial", "vmchannel" or a number; ours: several at once. */
static void check_mode(struct checker *c, const struct vsf_conf_node *m)
{
	char buf[128], *tok, *save = NULL;

	if (!m || !m->value)
		return;
	snprintf(buf, sizeof(buf), "%s", m->value);
	for (tok = strtok_r(buf, " ,", &save); tok;
	     tok = strtok_r(NULL, " ,", &save))
		if (strcasecmp(tok, "serial") && strcasecmp(tok, "vmchannel") &&
		    strspn(tok, "0123456789") != strlen(tok)) {
			complain(c, m, "mode = \"%s\": use serial, vmchannel "
				 "or both (\"serial vmchannel\")", m->value);
			return;
		}
}

/* Network listeners refuse to start without a usable key: say so now. */
static void check_key(struct checker *c, const struct vsf_conf_node *l,
		      const struct vsf_conf_node *at)
{
	const char *h = vsf_conf_get(l, "hash"), *a = vsf_conf_get(l, "auth");
	const struct vsf_conf_node *kf = vsf_conf_child(l, "key_file");
	struct vsf_key *key;
	char err[512];

	if (h && a && !strcasecmp(h, "none") && !strcasecmp(a, "none"))
		return;
	if (!(key = malloc(sizeof(*key))))
		return;
	if (vsf_key_load(kf ? kf->value : NULL, key, err, sizeof(err)) < 0)
		complain(c, kf ? kf : l ? l : at, "%s", err);
	vsf_key_done(key);
	free(key);
}

static void check_listener(struct checker *c, const struct vsf_settings *s,
			   const char *name, const struct vsf_conf_node *at)
{
	const struct vsf_conf_node *l = vsf_settings_listener(s, name);
	unsigned long v;

	if (!vsf_listener_known(name)) {
		complain(c, at, "listener \"%s\" is not supported by "
			 "vserial-fenced (supported: serial, tcp, vsock, multicast)", name);
		return;
	}
	check_uint(c, l, "port", 65535, &v);
	check_hash(c, l, "hash");
	check_hash(c, l, "auth");
	if (!strcasecmp(name, "serial")) {
		check_mode(c, vsf_conf_child(l, "mode"));
		check_uint(c, l, "reconnect_give_up", 86400, &v);
	}
	else
		check_key(c, l, at);
	if (l && vsf_conf_get(l, "family") &&
	    strcasecmp(vsf_conf_get(l, "family"), "ipv4") &&
	    strcasecmp(vsf_conf_get(l, "family"), "ipv6"))
		complain(c, vsf_conf_child(l, "family"),
			 "family = \"%s\": use ipv4 or ipv6",
			 vsf_conf_get(l, "family"));
}

static void load_listeners(struct checker *c, struct vsf_settings *s)
{
	const struct vsf_conf_node *ours =
		vsf_conf_find(s->root, "vserial_fenced/listeners");
	const struct vsf_conf_node *stock =
		vsf_conf_find(s->root, "fence_virtd/listener");
	char *names = s->listener_buf;
	char *tok, *save = NULL;

	if (ours && ours->value) {
		snprintf(names, sizeof(s->listener_buf), "%s", ours->value);
		for (tok = strtok_r(names, " ,", &save); tok;
		     tok = strtok_r(NULL, " ,", &save)) {
			if (s->nlisteners == VSF_MAX_LISTENERS) {
				complain(c, ours, "more than %d listeners",
					 VSF_MAX_LISTENERS);
				break;
			}
			s->listeners[s->nlisteners++] = tok;
			check_listener(c, s, tok, ours);
		}
	} else if (stock && stock->value) {
		s->listeners[s->nlisteners++] = stock->value;
		check_listener(c, s, stock->value, stock);
	}
	if (!s->nlisteners)
		complain(c, s->root, "no listener configured: set "
			 "fence_virtd { listener = \"serial\"; }");
}

/* backends/cpg: stock keys (uri, name_mode) plus ours (grace_ms, group). */
static void check_cpg(struct checker *c, const struct vsf_conf_node *cpg)
{
	const struct vsf_conf_node *n = vsf_conf_child(cpg, "name_mode");
	unsigned long ms;

	/* ours matches a target by name and by UUID whatever the mode */
	if (n && n->value && strcasecmp(n->value, "name") &&
	    strcasecmp(n->value, "uuid"))
		complain(c, n, "name_mode = \"%s\": use name or uuid",
			 n->value);
	check_uint(c, cpg, "grace_ms", 86400000, &ms);
	n = vsf_conf_child(cpg, "group");
	if (n && n->value && (!n->value[0] || strlen(n->value) > 127))
		complain(c, n, "group = \"%s\": a CPG group name is 1 to "
			 "127 bytes", n->value);
	/* One URI: the map holds this host's domains, and only those die
	 * when this host is fenced (docs/cluster.md, "Host failure"). */
	for (n = cpg ? cpg->child : NULL; n; n = n->next)
		if (!strncasecmp(n->name, "uri", 3) && n->name[3])
			complain(c, n, "backends/cpg: %s = \"%s\": the cpg "
				 "backend takes one libvirt URI, this host's "
				 "own (uri); run one daemon per host",
				 n->name, n->value ? n->value : "");
}

static void load_backend(struct checker *c, struct vsf_settings *s)
{
	const struct vsf_conf_node *b = vsf_conf_find(s->root,
						      "fence_virtd/backend");
	const struct vsf_conf_node *bs = vsf_conf_find(s->root, "backends");
	const struct vsf_conf_node *mine;

	if (!b || !b->value) {
		complain(c, s->root, "no backend configured: set "
			 "fence_virtd { backend = \"libvirt\"; }");
		return;
	}
	s->backend = b->value;
	if (strcasecmp(b->value, "libvirt") && strcasecmp(b->value, "cpg")) {
		complain(c, b, "backend \"%s\" is not supported by "
			 "vserial-fenced (supported: libvirt, cpg)", b->value);
		return;
	}
	/* "cpg" acts on this host's domains through libvirt: same uri */
	mine = vsf_conf_child(bs, b->value);
	if (!vsf_conf_get(mine, "uri"))
		complain(c, mine ? mine : bs ? bs : b, "backends/%s needs a "
			 "uri, e.g. uri = \"qemu:///system\"", b->value);
	if (!strcasecmp(b->value, "cpg"))
		check_cpg(c, mine);
}

static void load_ours(struct checker *c, struct vsf_settings *s)
{
	const struct vsf_conf_node *o = vsf_conf_child(s->root,
						       "vserial_fenced");
	const char *v1 = vsf_conf_get(o, "v1");
	unsigned long sec;

	sec = 60;
	check_uint(c, o, "timeout", 3600, &sec);
	s->timeout_ms = sec * 1000;
	sec = 60;	/* the v2 design's retry window; stock drops after 10 */
	check_uint(c, o, "history_window", 3600, &sec);
	s->history_ms = sec * 1000;
	s->key_dir = vsf_conf_get(o, "key_dir");
	s->v1_allowed = true;
	if (v1 && !strcasecmp(v1, "deny"))
		s->v1_allowed = false;
	else if (v1 && strcasecmp(v1, "allow"))
		complain(c, vsf_conf_child(o, "v1"),
			 "v1 = \"%s\": use allow or deny", v1);
}

int vsf_settings_load(struct vsf_settings *s,
		      const struct vsf_conf_node *root, FILE *errs)
{
	struct checker c = { errs, 0 };
	const struct vsf_conf_node *fv = vsf_conf_child(root, "fence_virtd");

	memset(s, 0, sizeof(*s));
	s->root = root;
	check_uint(&c, fv, "debug", 100, &s->debug);
	s->foreground = is_yes(vsf_conf_get(fv, "foreground"));
	load_listeners(&c, s);
	load_backend(&c, s);
	load_ours(&c, s);
	if (vsf_acl_load(&s->acl, vsf_conf_child(root, "groups")) < 0)
		complain(&c, root, "out of memory loading groups");
	for (size_t i = 0; i < s->acl.ngroups; i++)
		if (!s->acl.groups[i].nuuids)
			complain(&c, vsf_conf_child(root, "groups"),
				 "group %zu%s%s%s lists no uuid: it allows "
				 "nothing", i + 1,
				 s->acl.groups[i].name ? " (\"" : "",
				 s->acl.groups[i].name ? s->acl.groups[i].name
						       : "",
				 s->acl.groups[i].name ? "\")" : "");
	return c.n;
}

void vsf_settings_done(struct vsf_settings *s)
{
	vsf_acl_done(&s->acl);
}

const struct vsf_conf_node *vsf_settings_listener(const struct vsf_settings *s,
						  const char *name)
{
	return vsf_conf_child(vsf_conf_child(s->root, "listeners"), name);
}

static void dump_block(const struct vsf_conf_node *n, FILE *f)
{
	/* vsf_conf_dump prints children; wrap to print the node itself */
	struct vsf_conf_node copy = *n;
	struct vsf_conf_node fake_root = { .name = "", .child = &copy };

	copy.next = NULL;
	vsf_conf_dump(&fake_root, f);
}

/* Values a listener uses when its key is not set. */
static const struct {
	const char *listener, *key, *value;
} defaults[] = {
	{ "serial", "mode", "serial" },
	{ "serial", "key_file", VSF_KEY_DEFAULT_PATH },
	{ "serial", "reconnect_give_up", "120" },
	{ "tcp", "key_file", VSF_KEY_DEFAULT_PATH },
	{ "tcp", "hash", "sha256" }, { "tcp", "auth", "sha256" },
	{ "tcp", "family", "ipv4" }, { "tcp", "address", "127.0.0.1" },
	{ "tcp", "port", "1229" },
	{ "vsock", "key_file", VSF_KEY_DEFAULT_PATH },
	{ "vsock", "hash", "sha256" }, { "vsock", "auth", "sha256" },
	{ "vsock", "port", "1229" },
	{ "multicast", "key_file", VSF_KEY_DEFAULT_PATH },
	{ "multicast", "hash", "sha256" }, { "multicast", "auth", "sha256" },
	{ "multicast", "family", "ipv4" },
	{ "multicast", "address", "225.0.0.12" },
	{ "multicast", "port", "1229" },
};

static void dump_defaults(const char *name, const struct vsf_conf_node *n,
			  FILE *f)
{
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (!strcasecmp(defaults[i].listener, name) &&
		    !vsf_conf_child(n, defaults[i].key) &&
		    /* channel_name alone selects only the named ports */
		    !(!strcasecmp(defaults[i].key, "mode") &&
		      vsf_conf_child(n, "channel_name")))
			fprintf(f, "\t\t%s = \"%s\";\t# default\n",
				defaults[i].key, defaults[i].value);
}

/* The cpg keys that fall back to a default, as a comment (docs/cluster.md). */
static void dump_cpg(const struct vsf_conf_node *cpg, FILE *f)
{
	const char *g = vsf_conf_get(cpg, "group");
	const char *ms = vsf_conf_get(cpg, "grace_ms");

	fprintf(f, "# backend cpg: CPG group \"%s\"%s, grace_ms %s%s\n",
		g ? g : VSF_CPG_GROUP, g ? "" : " (default)", ms ? ms : "0",
		ms ? "" : " (default)");
	if (!ms || strspn(ms, "0") == strlen(ms))	/* 0 = never */
		fprintf(f, "# (a crashed host's domains are never reported "
			"off; see docs/cluster.md)\n");
}

void vsf_settings_dump(const struct vsf_settings *s, FILE *f)
{
	const struct vsf_conf_node *n;

	fprintf(f, "# effective configuration of vserial-fenced\n");
	fprintf(f, "fence_virtd {\n\tbackend = \"%s\";\n\tdebug = \"%lu\";\n"
		"}\n", s->backend ? s->backend : "", s->debug);
	fprintf(f, "vserial_fenced {\n\tlisteners = \"");
	for (size_t i = 0; i < s->nlisteners; i++)
		fprintf(f, "%s%s", i ? " " : "", s->listeners[i]);
	fprintf(f, "\";\n\ttimeout = \"%llu\";\n\thistory_window = \"%llu\";\n"
		"\tv1 = \"%s\";\n",
		(unsigned long long)(s->timeout_ms / 1000),
		(unsigned long long)(s->history_ms / 1000),
		s->v1_allowed ? "allow" : "deny");
	if (s->key_dir)
		fprintf(f, "\tkey_dir = \"%s\";\n", s->key_dir);
	fprintf(f, "}\nlisteners {\n");
	for (size_t i = 0; i < s->nlisteners; i++) {
		n = vsf_settings_listener(s, s->listeners[i]);
		fprintf(f, "\t%s {\n", s->listeners[i]);
		for (const struct vsf_conf_node *k = n ? n->child : NULL; k;
		     k = k->next)
			if (k->value && (vsf_conf_child(n, k->name) == k ||
					 !strcasecmp(k->name, "channel_name")))
				fprintf(f, "\t\t%s = \"%s\";\n", k->name,
					k->value);
		dump_defaults(s->listeners[i], n, f);
		fprintf(f, "\t}\n");
	}
	fprintf(f, "}\n");
	if ((n = vsf_conf_child(s->root, "backends")))
		dump_block(n, f);
	if (s->backend && !strcasecmp(s->backend, "cpg"))
		dump_cpg(vsf_conf_child(n, "cpg"), f);
	if ((n = vsf_conf_child(s->root, "groups")))
		dump_block(n, f);
	else
		fprintf(f, "# no groups: every source may fence every "
			"domain\n");
}
