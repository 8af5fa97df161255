/* acl_test.c - stock groups semantics. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "acl.h"
#include "check.h"

#define U1 "6695eb01-f6a4-8304-79aa-97f2502e193f"
#define U2 "6695EB01-F6A4-8304-79AA-97F2502E1930"

static struct vsf_conf_node *groups(const char *text)
{
	struct vsf_conf_node *root = NULL;
	char err[128];

	CHECK_ERR(vsf_conf_parse(text, strlen(text), "t", &root, err,
				 sizeof(err)), 0);
	return root;
}

TEST(no_groups_allows_everything)
{
	struct vsf_acl acl;

	CHECK_ERR(vsf_acl_load(&acl, NULL), 0);
	CHECK(vsf_acl_is_open(&acl));
	CHECK_ERR(vsf_acl_check(&acl, U1, "anything"), 0);
	vsf_acl_done(&acl);
}

TEST(uuid_source_and_target_by_name_or_uuid_case_insensitive)
{
	struct vsf_conf_node *root = groups(
		"groups { group { name = \"c1\"; uuid = \"" U1 "\";"
		" uuid = \"Guest2\"; uuid = \"" U2 "\"; ip = \"127.0.0.1\"; }"
		" group { uuid = \"other\"; } }");
	struct vsf_acl acl;

	CHECK_ERR(vsf_acl_load(&acl, vsf_conf_find(root, "groups")), 0);
	CHECK_ERR(acl.ngroups, 2);
	CHECK_ERR(vsf_acl_check(&acl, U1, "guest2"), 0);
	CHECK_ERR(vsf_acl_check(&acl, U1, "GUEST2"), 0);
	CHECK_ERR(vsf_acl_check(&acl, U1, "6695eb01-f6a4-8304-79aa-97f2502e1930"), 0);
	CHECK_ERR(vsf_acl_check(&acl, U1, "guest3"), -EACCES);
	/* a source in no group */
	CHECK_ERR(vsf_acl_check(&acl, "aaaaaaaa-f6a4-8304-79aa-97f2502e193f",
				"guest2"), -EACCES);
	/* network sources match ip entries only */
	CHECK_ERR(vsf_acl_check(&acl, "127.0.0.1", "guest2"), 0);
	CHECK_ERR(vsf_acl_check(&acl, "127.0.0.2", "guest2"), -EACCES);
	/* target must be in the SAME group as the source */
	CHECK_ERR(vsf_acl_check(&acl, U1, "other"), -EACCES);
	CHECK(vsf_acl_may_list(&acl, U1, "guest2", "x"));
	CHECK(vsf_acl_may_list(&acl, U1, "nope", U2));
	CHECK(!vsf_acl_may_list(&acl, U1, "other", "y"));
	vsf_acl_done(&acl);
	vsf_conf_free(root);
}

TEST(is_uuid_wants_the_canonical_form)
{
	CHECK(vsf_is_uuid(U1));
	CHECK(!vsf_is_uuid("6695eb01f6a4830479aa97f2502e193f"));
	CHECK(!vsf_is_uuid("guest1"));
	CHECK(!vsf_is_uuid(U1 "0"));
	CHECK(!vsf_is_uuid("6695eb01-f6a4-8304-79aa_97f2502e193f"));
}

int main(void)
{
	return RUN_TESTS();
}
