/*
 * chan_xml.h - which unix sockets of a domain carry fencing requests.
 *
 * Given a domain's libvirt XML, list the socket paths a channel listener
 * connects to.  With only the stock keys this is exactly stock fence_virtd:
 *
 *   mode serial:    every <serial> and <console> with type="unix" whose
 *                   <source> has mode="bind" and a path;
 *   mode vmchannel: every <channel> with type="unix" and such a <source>,
 *                   whatever its <target>;
 *   path filter:    if set, the socket's direct parent directory must equal
 *                   it (leading/trailing slashes ignored, no sub-dirs).
 *
 * Our extension: @names selects virtio-serial <channel> ports by their
 * <target type="virtio" name="..."/> (exact match), in addition to the
 * modes.  Paths are listed once each, in document order.
 *
 * The XML is untrusted (it is libvirt's, but a guest name or a path can be
 * anything): the parser never loads external entities or the network.
 */
#ifndef VSF_CHAN_XML_H
#define VSF_CHAN_XML_H

#include <stdbool.h>
#include <stddef.h>

#define VSF_CHAN_MAX_SOCKS 16	/* per domain; more are ignored */

struct vsf_chan_select {
	bool serial;		/* mode serial: <serial> and <console> */
	bool vmchannel;		/* mode vmchannel: every unix <channel> */
	const char *path;	/* parent directory filter, NULL = any */
	const char *const *names; /* virtio port names, NULL-terminated */
};

struct vsf_chan_socks {
	char *paths[VSF_CHAN_MAX_SOCKS];
	size_t n;
};

/* 0, -EINVAL for XML that does not parse or has no <domain> root, -ENOMEM. */
int vsf_chan_xml_scan(const char *xml, size_t len,
		      const struct vsf_chan_select *sel,
		      struct vsf_chan_socks *out);
void vsf_chan_socks_done(struct vsf_chan_socks *s);

/* The path filter alone (exposed for tests). */
bool vsf_chan_path_matches(const char *sock, const char *dir);

#endif /* VSF_CHAN_XML_H */
