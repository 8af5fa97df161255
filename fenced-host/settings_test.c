/* settings_test.c - effective configuration and file:line errors. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "settings.h"

struct run {
	struct vsf_conf_node *root;
	struct vsf_settings s;
	char *errs;
	size_t len;
	int n;
};

static void load(struct run *r, const char *text)
{
	char err[256];
	FILE *f;

	memset(r, 0, sizeof(*r));
	CHECK_ERR(vsf_conf_parse(text, strlen(text), "s.conf", &r->root, err,
				 sizeof(err)), 0);
	f = open_memstream(&r->errs, &r->len);
	r->n = vsf_settings_load(&r->s, r->root, f);
	fclose(f);
}

static void done(struct run *r)
{
	vsf_settings_done(&r->s);
	vsf_conf_free(r->root);
	free(r->errs);
}

TEST(stock_keys_give_defaults)
{
	struct run r;

	load(&r, "fence_virtd { listener = \"serial\"; backend = \"libvirt\"; }\n"
		 "backends { libvirt { uri = \"test:///default\"; } }\n");
	CHECK_ERR(r.n, 0);
	CHECK_ERR(r.s.nlisteners, 1);
	CHECK_STR(r.s.listeners[0], "serial");
	CHECK_ERR(r.s.timeout_ms, 60000);
	CHECK_ERR(r.s.history_ms, 60000);
	CHECK(r.s.v1_allowed);
	CHECK(vsf_acl_is_open(&r.s.acl));
	done(&r);
}

TEST(our_block_overrides_listener_and_policy)
{
	struct run r;

	load(&r, "fence_virtd { listener = \"serial\"; backend = \"libvirt\"; }\n"
		 "backends { libvirt { uri = \"x\"; } }\n"
		 "listeners { tcp { hash = \"none\"; auth = \"none\"; } }\n"
		 "vserial_fenced { listeners = \"serial, tcp\"; v1 = \"deny\";"
		 " timeout = \"5\"; key_dir = \"/k\"; }\n");
	CHECK_ERR(r.n, 0);
	CHECK_ERR(r.s.nlisteners, 2);
	CHECK_STR(r.s.listeners[1], "tcp");
	CHECK(!r.s.v1_allowed);
	CHECK_ERR(r.s.timeout_ms, 5000);
	CHECK_STR(r.s.key_dir, "/k");
	done(&r);
}

TEST(each_error_names_its_line)
{
	struct run r;

	load(&r, "fence_virtd {\n"
		 " listener = \"serial\";\n"
		 " backend = \"xen\";\n"
		 " debug = \"x\";\n"
		 "}\n"
		 "listeners { tcp {\n"
		 " port = \"70000\"; hash = \"md5\"; } serial { mode = \"bad\"; } }\n"
		 "vserial_fenced { listeners = \"serial tcp fax\"; v1 = \"maybe\"; }\n"
		 "groups { group { name = \"empty\"; } }\n");
	CHECK_ERR(r.n, 9);
	/* the tcp listener has no key_file: the default key is checked */
	CHECK(strstr(r.errs, "s.conf:6: ") && strstr(r.errs, "fence_xvm.key"));
	CHECK(strstr(r.errs, "s.conf:3: backend \"xen\" is not supported"));
	CHECK(strstr(r.errs, "s.conf:4: debug = \"x\": not a number"));
	CHECK(strstr(r.errs, "s.conf:7: port = \"70000\": too large"));
	CHECK(strstr(r.errs, "s.conf:7: hash = \"md5\": unknown"));
	CHECK(strstr(r.errs, "s.conf:7: mode = \"bad\""));
	CHECK(strstr(r.errs, "s.conf:8: listener \"fax\" is not supported"));
	CHECK(strstr(r.errs, "s.conf:8: v1 = \"maybe\""));
	CHECK(strstr(r.errs, "s.conf:9: group 1 (\"empty\") lists no uuid"));
	done(&r);
}

TEST(missing_listener_and_backend_are_errors)
{
	struct run r;

	load(&r, "# nothing\n");
	CHECK_ERR(r.n, 2);
	CHECK(strstr(r.errs, "no listener configured"));
	CHECK(strstr(r.errs, "no backend configured"));
	done(&r);
}

TEST(cpg_backend_takes_stock_keys_and_shows_its_defaults)
{
	struct run r;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	load(&r, "fence_virtd { listener = \"serial\"; backend = \"cpg\"; }\n"
		 "backends { cpg { uri = \"qemu:///system\";"
		 " name_mode = \"uuid\"; } }\n");
	CHECK_ERR(r.n, 0);
	CHECK_STR(r.s.backend, "cpg");
	f = open_memstream(&out, &len);
	vsf_settings_dump(&r.s, f);
	fclose(f);
	CHECK(strstr(out, "name_mode = \"uuid\";"));
	CHECK(strstr(out, "# backend cpg: CPG group \"vserial-fence-1\" "
		      "(default), grace_ms 0 (default)"));
	CHECK(strstr(out, "never reported off"));
	free(out);
	done(&r);
}

TEST(cpg_backend_needs_a_uri_and_valid_keys)
{
	struct run r;
	char text[512], longname[200];

	memset(longname, 'g', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	snprintf(text, sizeof(text),
		 "fence_virtd { listener = \"serial\"; backend = \"cpg\"; }\n"
		 "backends {\n"
		 " libvirt { uri = \"qemu:///system\"; }\n"
		 " cpg {\n"
		 "  name_mode = \"id\";\n"
		 "  grace_ms = \"soon\";\n"
		 "  group = \"%s\";\n"
		 " }\n"
		 "}\n", longname);
	load(&r, text);
	CHECK_ERR(r.n, 4);
	/* the libvirt block's uri is not the cpg backend's */
	CHECK(strstr(r.errs, "s.conf:4: backends/cpg needs a uri"));
	CHECK(strstr(r.errs, "s.conf:5: name_mode = \"id\": use name or uuid"));
	CHECK(strstr(r.errs, "s.conf:6: grace_ms = \"soon\": not a number"));
	CHECK(strstr(r.errs, "s.conf:7: group = \"ggg"));
	done(&r);
}

int main(void)
{
	return RUN_TESTS();
}
