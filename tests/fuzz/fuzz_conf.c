/*
 * fuzz_conf - the daemon's simpleconfig parser (fenced-host/conf.c) on an
 * arbitrary config file.  Invariants: success leaves a tree whose dump
 * parses again to the same dump; failure leaves no tree and a message
 * that names the file and a line.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "../../fenced-host/conf.h"

static char *dump(const struct vsf_conf_node *root, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	FUZZ_ASSERT(f);
	vsf_conf_dump(root, f);
	fclose(f);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vsf_conf_node *root = NULL, *again = NULL;
	char err[256];
	char *d1, *d2;
	size_t l1, l2;
	int r;

	r = vsf_conf_parse((const char *)data, size, "f.conf", &root, err,
			   sizeof(err));
	if (r < 0) {
		FUZZ_ASSERT(root == NULL);
		FUZZ_ASSERT(!strncmp(err, "f.conf:", 7));
		return 0;
	}
	(void)vsf_conf_get(root, "listeners/serial/path");
	(void)vsf_conf_find(root, "groups/group/uuid");
	d1 = dump(root, &l1);
	r = vsf_conf_parse(d1, l1, "dump", &again, err, sizeof(err));
	FUZZ_ASSERT(r == 0);
	d2 = dump(again, &l2);
	FUZZ_ASSERT(l1 == l2 && !memcmp(d1, d2, l1));
	free(d1);
	free(d2);
	vsf_conf_free(again);
	vsf_conf_free(root);
	return 0;
}
