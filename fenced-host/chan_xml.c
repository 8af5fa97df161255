/*
 * chan_xml.c - libxml2 tree walk, the same shape as stock (no XPath):
 * <domain> -> <devices> -> <serial>|<console>|<channel> -> <source>.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "chan_xml.h"

static bool named(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	       !xmlStrcmp(n->name, (const xmlChar *)name);
}

static const xmlNode *child(const xmlNode *n, const char *name)
{
	for (n = n->children; n; n = n->next)
		if (named(n, name))
			return n;
	return NULL;
}

static bool attr_is(const xmlNode *n, const char *attr, const char *want)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)attr);
	bool eq = v && !xmlStrcmp(v, (const xmlChar *)want);

	xmlFree(v);
	return eq;
}

/* Compare @a (len @alen) with @b, both without surrounding slashes. */
static bool same_dir(const char *a, size_t alen, const char *b)
{
	size_t blen;

	while (*b == '/')
		b++;
	blen = strlen(b);
	while (blen && b[blen - 1] == '/')
		blen--;
	return alen == blen && !memcmp(a, b, alen);
}

bool vsf_chan_path_matches(const char *sock, const char *dir)
{
	const char *slash;
	size_t len;

	if (!dir || !*dir)
		return true;
	slash = strrchr(sock, '/');
	if (!slash)
		return false;
	while (*sock == '/')
		sock++;
	len = slash > sock ? (size_t)(slash - sock) : 0;
	while (len && sock[len - 1] == '/')
		len--;
	return same_dir(sock, len, dir);
}

static bool wanted_virtio_port(const xmlNode *dev,
			       const struct vsf_chan_select *sel)
{
	const xmlNode *t = child(dev, "target");
	xmlChar *name;
	bool hit = false;

	if (!sel->names || !t || !attr_is(t, "type", "virtio"))
		return false;
	name = xmlGetProp(t, (const xmlChar *)"name");
	for (size_t i = 0; name && sel->names[i]; i++)
		if (!xmlStrcmp(name, (const xmlChar *)sel->names[i]))
			hit = true;
	xmlFree(name);
	return hit;
}

static bool device_selected(const xmlNode *dev,
			    const struct vsf_chan_select *sel)
{
	if (named(dev, "serial") || named(dev, "console"))
		return sel->serial;
	if (named(dev, "channel"))
		return sel->vmchannel || wanted_virtio_port(dev, sel);
	return false;
}

static int add_path(struct vsf_chan_socks *out, const char *path)
{
	for (size_t i = 0; i < out->n; i++)
		if (!strcmp(out->paths[i], path))
			return 0;	/* <console> often repeats <serial> */
	if (out->n == VSF_CHAN_MAX_SOCKS)
		return 0;
	out->paths[out->n] = strdup(path);
	if (!out->paths[out->n])
		return -ENOMEM;
	out->n++;
	return 0;
}

static int scan_device(const xmlNode *dev, const struct vsf_chan_select *sel,
		       struct vsf_chan_socks *out)
{
	const xmlNode *src;
	xmlChar *mode, *path;
	int r = 0;

	if (!device_selected(dev, sel) || !attr_is(dev, "type", "unix"))
		return 0;
	src = child(dev, "source");
	if (!src)
		return 0;
	mode = xmlGetProp(src, (const xmlChar *)"mode");
	path = xmlGetProp(src, (const xmlChar *)"path");
	if (mode && path && !xmlStrcmp(mode, (const xmlChar *)"bind") &&
	    vsf_chan_path_matches((const char *)path, sel->path))
		r = add_path(out, (const char *)path);
	xmlFree(mode);
	xmlFree(path);
	return r;
}

int vsf_chan_xml_scan(const char *xml, size_t len,
		      const struct vsf_chan_select *sel,
		      struct vsf_chan_socks *out)
{
	const xmlNode *root, *devices, *dev;
	xmlDoc *doc;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (len > 16 * 1024 * 1024)
		return -EINVAL;
	doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
			    XML_PARSE_NOWARNING);
	if (!doc)
		return -EINVAL;
	root = xmlDocGetRootElement(doc);
	if (!root || !named(root, "domain")) {
		xmlFreeDoc(doc);
		return -EINVAL;
	}
	devices = child(root, "devices");
	for (dev = devices ? devices->children : NULL; dev && r == 0;
	     dev = dev->next)
		r = scan_device(dev, sel, out);
	xmlFreeDoc(doc);
	if (r < 0)
		vsf_chan_socks_done(out);
	return r;
}

void vsf_chan_socks_done(struct vsf_chan_socks *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->paths[i]);
	memset(s, 0, sizeof(*s));
}
