/*
 * keyref.h - a loaded key shared by counting, so SIGHUP can swap in new
 * key material while exchanges that began under the old key finish with
 * it: the listener holds the current key, and every exchange holds the
 * key it began with (a challenge issued, a request waiting for its
 * answer).  Loop thread only; the counts are not atomic.
 */
#ifndef VSF_KEYREF_H
#define VSF_KEYREF_H

#include <stddef.h>

#include "vsf_key.h"

struct vsf_keyref {
	unsigned int refs;
	struct vsf_key k;
};

/*
 * vsf_key_load() / vsf_key_load_for_guest() into a new object with one
 * reference.  NULL on failure, with the reason in @err; @source gets the
 * enum vsf_key_source.
 */
struct vsf_keyref *vsf_keyref_load(const char *path, char *err,
				   size_t errlen);
struct vsf_keyref *vsf_keyref_load_for_guest(const char *dir,
					     const char *uuid,
					     const char *shared_path,
					     int *source, char *err,
					     size_t errlen);

/* Another reference to @k (which may be NULL); returns @k. */
struct vsf_keyref *vsf_keyref_ref(struct vsf_keyref *k);
/* Drop one; the last wipes the key.  @k may be NULL.  Returns NULL. */
struct vsf_keyref *vsf_keyref_unref(struct vsf_keyref *k);

#endif /* VSF_KEYREF_H */
