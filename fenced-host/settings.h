/*
 * settings.h - the daemon's effective configuration, read from the
 * simpleconfig tree with defaults applied and every value checked.
 *
 * Stock keys (fence_virt.conf(5)) keep their meaning.  Our extensions live
 * in their own top-level block, which stock fence_virtd ignores:
 *
 *   vserial_fenced {
 *       listeners = "serial tcp";   # several listeners at once; default:
 *                                   #   fence_virtd/listener
 *       key_dir = "/etc/vserial-fence/keys";  # per-guest keys (<uuid>.key)
 *       timeout = "60";             # seconds a request may take
 *       history_window = "60";      # seconds a result is kept for retransmits
 *       v1 = "allow";               # allow|deny unauthenticated v1 channel
 *                                   #   requests (stock always allows)
 *   }
 *
 * vsf_settings_load() reports every problem as "file:line: message" on
 * @errs and returns how many there were; settings are usable only at 0.
 */
#ifndef VSF_SETTINGS_H
#define VSF_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "acl.h"
#include "conf.h"

#define VSF_MAX_LISTENERS 4

struct vsf_settings {
	const struct vsf_conf_node *root;	/* borrowed */
	unsigned long debug;
	bool foreground;
	const char *listeners[VSF_MAX_LISTENERS];	/* names, borrowed */
	size_t nlisteners;
	const char *backend;
	uint64_t timeout_ms;
	uint64_t history_ms;
	const char *key_dir;
	bool v1_allowed;
	struct vsf_acl acl;
	char listener_buf[256];	/* split copy of vserial_fenced/listeners */
};

int vsf_settings_load(struct vsf_settings *s,
		      const struct vsf_conf_node *root, FILE *errs);
void vsf_settings_done(struct vsf_settings *s);

/* listeners/<name>, or NULL. */
const struct vsf_conf_node *vsf_settings_listener(const struct vsf_settings *s,
						  const char *name);

/* Print the effective configuration in the config file's own grammar. */
void vsf_settings_dump(const struct vsf_settings *s, FILE *f);

#endif /* VSF_SETTINGS_H */
