/* conf_test.c - the simpleconfig parser against stock grammar and junk. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "conf.h"

static struct vsf_conf_node *parse(const char *text, int *r, char *err,
				   size_t errlen)
{
	struct vsf_conf_node *root = NULL;

	*r = vsf_conf_parse(text, strlen(text), "t.conf", &root, err, errlen);
	return root;
}

TEST(parses_stock_debian_config)
{
	char err[256];
	struct vsf_conf_node *root = NULL;
	int r;

	if (access("/etc/fence_virt.conf", R_OK) < 0)
		return;	/* checked again by the daemon e2e test */
	r = vsf_conf_load("/etc/fence_virt.conf", &root, err, sizeof(err));
	CHECK_ERR(r, 0);
	CHECK_STR(vsf_conf_get(root, "fence_virtd/listener"), "multicast");
	CHECK_STR(vsf_conf_get(root, "fence_virtd/backend"), "libvirt");
	CHECK_STR(vsf_conf_get(root, "backends/libvirt/uri"), "qemu:///system");
	CHECK_STR(vsf_conf_get(root, "listeners/multicast/interface"), "virbr0");
	vsf_conf_free(root);
}

TEST(last_occurrence_wins_and_next_iterates_in_file_order)
{
	char err[128];
	int r;
	struct vsf_conf_node *root =
		parse("groups { group { uuid = \"a\"; uuid = \"B\"; } }\n"
		      "x = \"1\"; X = \"2\";", &r, err, sizeof(err));
	const struct vsf_conf_node *g, *u;

	CHECK_ERR(r, 0);
	CHECK_STR(vsf_conf_get(root, "x"), "2");
	g = vsf_conf_find(root, "GROUPS/group");
	CHECK(g != NULL);
	CHECK_STR(vsf_conf_get(g, "uuid"), "B");
	u = vsf_conf_next(g, NULL, "uuid");
	CHECK(u && !strcmp(u->value, "a"));
	u = vsf_conf_next(g, u, "uuid");
	CHECK(u && !strcmp(u->value, "B"));
	CHECK(vsf_conf_next(g, u, "uuid") == NULL);
	vsf_conf_free(root);
}

TEST(node_with_value_and_empty_block)
{
	char err[128];
	int r;
	struct vsf_conf_node *root =
		parse("a = \"x\" { b = \"y\"; }\nempty { }\n", &r, err,
		      sizeof(err));

	CHECK_ERR(r, 0);
	CHECK_STR(vsf_conf_get(root, "a"), "x");
	CHECK_STR(vsf_conf_get(root, "a/b"), "y");
	CHECK(vsf_conf_find(root, "empty") != NULL);
	CHECK(vsf_conf_get(root, "empty") == NULL);
	vsf_conf_free(root);
}

TEST(comments_and_multiline_values)
{
	char err[128];
	int r;
	struct vsf_conf_node *root =
		parse("# top\na { # inner\n b = \"li#ne\nx\"; # c\n}\nc=\"d\";",
		      &r, err, sizeof(err));
	const struct vsf_conf_node *c;

	CHECK_ERR(r, 0);
	CHECK_STR(vsf_conf_get(root, "a/b"), "li#ne\nx");
	c = vsf_conf_find(root, "c");
	CHECK(c && c->line == 6);
	vsf_conf_free(root);
	/* stock: '#' inside an identifier is part of it */
	root = parse("a#b = \"x\";#c\n", &r, err, sizeof(err));
	CHECK_ERR(r, 0);
	CHECK_STR(vsf_conf_get(root, "a#b"), "x");
	vsf_conf_free(root);
}

TEST(errors_name_file_and_line)
{
	static const struct {
		const char *text;
		const char *where;
	} bad[] = {
		{ "a = \"x\" { b = \"y\"; };", "t.conf:1:" },	/* stock rejects */
		{ "a {\n b = \"y\"\n}", "t.conf:3:" },		/* missing ; */
		{ "a {\n\n b = \"\";\n}", "t.conf:3:" },		/* empty value */
		{ "a = x;", "t.conf:1:" },
		{ "a {\n b = \"y\";\n", "t.conf:3:" },		/* unclosed */
		{ "}", "t.conf:1:" },
		{ "a = \"unterminated\n\n", "t.conf:1:" },
		{ "a;", "t.conf:1:" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256];
		int r;
		struct vsf_conf_node *root = parse(bad[i].text, &r, err,
						   sizeof(err));

		CHECK_ERR(r, -EINVAL);
		CHECK(root == NULL);
		if (strncmp(err, bad[i].where, strlen(bad[i].where)))
			fprintf(stderr, "case %zu: got '%s'\n", i, err);
		CHECK(!strncmp(err, bad[i].where, strlen(bad[i].where)));
	}
}

TEST(nul_bytes_are_refused_not_truncated)
{
	/* found by fuzz_conf: a NUL inside a value used to cut it short */
	static const char text[] = "a = \"x\0y\";\nb\0 = \"1\";";
	struct vsf_conf_node *root = NULL;
	char err[128];

	CHECK_ERR(vsf_conf_parse(text, 8, "t", &root, err, sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, "t:1: NUL byte") == err);
	CHECK_ERR(vsf_conf_parse(text, sizeof(text) - 1, "t", &root, err,
				 sizeof(err)), -EINVAL);
	CHECK(root == NULL);
}

TEST(deep_nesting_is_refused)
{
	char text[4 * (VSF_CONF_MAX_DEPTH + 2) + 8], err[128];
	size_t n = 0;
	int r;

	for (int i = 0; i < VSF_CONF_MAX_DEPTH + 2; i++)
		n += (size_t)sprintf(text + n, "a { ");
	CHECK(parse(text, &r, err, sizeof(err)) == NULL);
	CHECK_ERR(r, -E2BIG);
}

TEST(dump_round_trips)
{
	char err[128], *buf = NULL;
	size_t len = 0;
	int r;
	struct vsf_conf_node *again, *root =
		parse("a = \"x\" { b = \"y\"; c { } }\nd = \"e\";", &r, err,
		      sizeof(err));
	FILE *f = open_memstream(&buf, &len);

	CHECK_ERR(r, 0);
	vsf_conf_dump(root, f);
	fclose(f);
	CHECK_STR(buf, "a = \"x\" {\n\tb = \"y\";\n\tc {\n\t}\n}\nd = \"e\";\n");
	again = parse(buf, &r, err, sizeof(err));
	CHECK_ERR(r, 0);
	CHECK_STR(vsf_conf_get(again, "a/b"), "y");
	vsf_conf_free(again);
	vsf_conf_free(root);
	free(buf);
}

TEST(parse_uint_rejects_junk_and_overflow)
{
	unsigned long v;

	CHECK_ERR(vsf_conf_parse_uint("1229", 65535, &v), 0);
	CHECK_ERR(v, 1229);
	CHECK_ERR(vsf_conf_parse_uint("65536", 65535, &v), -ERANGE);
	CHECK_ERR(vsf_conf_parse_uint("12x", 65535, &v), -EINVAL);
	CHECK_ERR(vsf_conf_parse_uint("-1", 65535, &v), -EINVAL);
	CHECK_ERR(vsf_conf_parse_uint("", 65535, &v), -EINVAL);
	CHECK_ERR(vsf_conf_parse_uint("99999999999999999999999", ~0UL, &v),
		  -ERANGE);
}

int main(void)
{
	return RUN_TESTS();
}
