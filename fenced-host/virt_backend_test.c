/*
 * virt_backend_test.c - the libvirt backend against libvirt's own test
 * driver (a real libvirt, in-process): lookups, operations, host lists,
 * several URIs, and start-up without a reachable hypervisor.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "backend.h"
#include "check.h"

#define U_A "aaaaaaaa-0000-4000-8000-000000000001"
#define U_B "bbbbbbbb-0000-4000-8000-000000000002"
#define U_Z "cccccccc-0000-4000-8000-000000000003"

static char node_a[64], node_b[64];

static void quiet(void *data, virErrorPtr e)
{
	(void)data;
	(void)e;
}

static void write_node(char *path, const char *name, const char *uuid,
		       const char *name2, const char *uuid2)
{
	FILE *f;

	strcpy(path, "/tmp/vbt-XXXXXX");
	close(mkstemp(path));
	f = fopen(path, "w");
	fprintf(f, "<node><domain type='test'><name>%s</name><uuid>%s</uuid>"
		"<memory>1024</memory><os><type>hvm</type></os></domain>"
		"<domain type='test'><name>%s</name><uuid>%s</uuid>"
		"<memory>1024</memory><os><type>hvm</type></os></domain>"
		"</node>\n", name, uuid, name2, uuid2);
	fclose(f);
}

static struct vsf_backend *open_with(const char *text, int *r)
{
	struct vsf_backend *b = vsf_backend_new("libvirt");
	struct vsf_conf_node *root = NULL;
	char err[512];

	CHECK(b != NULL);
	CHECK_ERR(vsf_conf_parse(text, strlen(text), "t", &root, err,
				 sizeof(err)), 0);
	*r = b->ops->open(b, vsf_conf_find(root, "backends/libvirt"), err,
			  sizeof(err));
	vsf_conf_free(root);
	return b;
}

static uint64_t soon(void)
{
	return vsf_now_ms() + 5000;
}

TEST(operations_by_name_and_uuid)
{
	char text[256];
	struct vsf_backend *b;
	int r;

	snprintf(text, sizeof(text), "backends { libvirt { uri = \"test://%s\"; } }",
		 node_a);
	b = open_with(text, &r);
	CHECK_ERR(r, 0);
	CHECK_ERR(b->ops->power(b, VSF_OP_STATUS, "a1", soon()), 0);
	CHECK_ERR(b->ops->power(b, VSF_OP_OFF, U_A, soon()), 0);
	CHECK_ERR(b->ops->power(b, VSF_OP_STATUS, "a1", soon()), VSF_BACKEND_OFF);
	CHECK_ERR(b->ops->power(b, VSF_OP_OFF, "a1", soon()), 0); /* already off */
	CHECK_ERR(b->ops->power(b, VSF_OP_REBOOT, "a1", soon()), 0); /* stock: off stays off */
	CHECK_ERR(b->ops->power(b, VSF_OP_STATUS, "a1", soon()), VSF_BACKEND_OFF);
	CHECK_ERR(b->ops->power(b, VSF_OP_ON, "a1", soon()), 0);
	CHECK_ERR(b->ops->power(b, VSF_OP_ON, "a1", soon()), 0); /* already on */
	CHECK_ERR(b->ops->power(b, VSF_OP_REBOOT, "a1", soon()), 0);
	CHECK_ERR(b->ops->power(b, VSF_OP_STATUS, U_A, soon()), 0);
	CHECK_ERR(b->ops->power(b, VSF_OP_STATUS, "nosuch", soon()), -ENOENT);
	CHECK_ERR(b->ops->power(b, VSF_OP_OFF, U_Z, soon()), -ENOENT);
	vsf_backend_free(b);
}

TEST(several_uris_each_serve_their_domains_and_list_is_sorted)
{
	char text[512];
	struct vsf_hostlist hl = { 0 };
	struct vsf_backend *b;
	int r;

	snprintf(text, sizeof(text), "backends { libvirt { uri = \"test://%s\";"
		 " uri1 = \"test://%s\"; } }", node_b, node_a);
	b = open_with(text, &r);
	CHECK_ERR(r, 0);
	CHECK_ERR(b->ops->power(b, VSF_OP_OFF, "b1", soon()), 0);
	CHECK_ERR(b->ops->power(b, VSF_OP_OFF, "a2", soon()), 0);
	CHECK_ERR(b->ops->hostlist(b, &hl, soon()), 0);
	CHECK_ERR(hl.n, 4);
	if (hl.n == 4) {
		CHECK_STR(hl.recs[0].name, "a1");
		CHECK_STR(hl.recs[1].name, "a2");
		CHECK_ERR(hl.recs[1].state, 5);	/* shut off */
		CHECK_STR(hl.recs[2].name, "b1");
		CHECK_STR(hl.recs[2].uuid, U_B);
		CHECK_STR(hl.recs[3].name, "b2");
		CHECK_ERR(hl.recs[3].state, 1);	/* running */
	}
	vsf_hostlist_done(&hl);
	vsf_backend_free(b);
}

TEST(no_uri_is_an_error_unreachable_is_a_warning)
{
	struct vsf_backend *b;
	int r;

	b = open_with("backends { libvirt { } }", &r);
	CHECK_ERR(r, -EINVAL);
	vsf_backend_free(b);
	b = open_with("backends { libvirt { uri = "
		      "\"test+unix:///default?socket=/nonexistent/sock\"; } }",
		      &r);
	CHECK_ERR(r, 1);
	/* requests fail quickly instead of hanging; the next one retries */
	CHECK(b->ops->power(b, VSF_OP_STATUS, "test", soon()) < 0);
	vsf_backend_free(b);
	CHECK(vsf_backend_new("xen") == NULL);
	/* "cpg" wraps libvirt; never opened, it frees cleanly */
	b = vsf_backend_new("CPG");
	CHECK(b && !strcmp(b->ops->name, "cpg"));
	vsf_backend_free(b);
}

int main(void)
{
	int r;

	virSetErrorFunc(NULL, quiet);
	write_node(node_a, "a1", U_A, "a2", "aaaaaaaa-0000-4000-8000-00000000000a");
	write_node(node_b, "b1", U_B, "b2", "bbbbbbbb-0000-4000-8000-00000000000b");
	r = RUN_TESTS();
	unlink(node_a);
	unlink(node_b);
	return r;
}
