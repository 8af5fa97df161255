/* keyref.c - see keyref.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "keyref.h"

static struct vsf_keyref *keyref_new(char *err, size_t errlen)
{
	struct vsf_keyref *k = calloc(1, sizeof(*k));

	if (!k)
		snprintf(err, errlen, "out of memory loading a key");
	return k;
}

struct vsf_keyref *vsf_keyref_load(const char *path, char *err,
				   size_t errlen)
{
	struct vsf_keyref *k = keyref_new(err, errlen);

	if (!k)
		return NULL;
	if (vsf_key_load(path, &k->k, err, errlen) < 0) {
		free(k);
		return NULL;
	}
	k->refs = 1;
	return k;
}

struct vsf_keyref *vsf_keyref_load_for_guest(const char *dir,
					     const char *uuid,
					     const char *shared_path,
					     int *source, char *err,
					     size_t errlen)
{
	struct vsf_keyref *k = keyref_new(err, errlen);
	int r;

	if (!k)
		return NULL;
	r = vsf_key_load_for_guest(dir, uuid, shared_path, &k->k, err,
				   errlen);
	if (r < 0) {
		free(k);
		return NULL;
	}
	k->refs = 1;
	*source = r;
	return k;
}

struct vsf_keyref *vsf_keyref_ref(struct vsf_keyref *k)
{
	if (k)
		k->refs++;
	return k;
}

struct vsf_keyref *vsf_keyref_unref(struct vsf_keyref *k)
{
	if (k && --k->refs == 0) {
		vsf_key_done(&k->k);
		free(k);
	}
	return NULL;
}
