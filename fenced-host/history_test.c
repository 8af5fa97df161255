/* history_test.c - the retransmit window. */
#include "config.h"

#include "check.h"
#include "history.h"

TEST(entry_lives_for_the_window_after_done)
{
	struct vsf_history *h = vsf_history_new(10000, 8);
	struct vsf_history_entry *e;
	int owner;

	e = vsf_history_add(h, "src", 1, 42, "Guest1", &owner, 1000);
	CHECK(e && e->pending);
	CHECK(vsf_history_find(h, "src", 1, 42, "guest1", 99999) == e);
	vsf_history_done(e, 0, 2000);
	CHECK(vsf_history_find(h, "src", 1, 42, "GUEST1", 11999) == e);
	CHECK(vsf_history_find(h, "src", 1, 42, "guest1", 12000) == NULL);
	CHECK(vsf_history_find(h, "src", 2, 42, "guest1", 2000) == NULL);
	CHECK(vsf_history_find(h, "other", 1, 42, "guest1", 2000) == NULL);
	vsf_history_free(h);
}

TEST(full_table_evicts_oldest_done_never_pending)
{
	struct vsf_history *h = vsf_history_new(10000, 2);
	struct vsf_history_entry *a, *b;
	int o;

	a = vsf_history_add(h, "s", 1, 1, "t", &o, 0);
	b = vsf_history_add(h, "s", 1, 2, "t", &o, 0);
	CHECK(vsf_history_add(h, "s", 1, 3, "t", &o, 0) == NULL);
	vsf_history_done(a, 0, 5);
	CHECK(vsf_history_add(h, "s", 1, 3, "t", &o, 6) != NULL);
	CHECK(vsf_history_find(h, "s", 1, 2, "t", 6) == b);
	CHECK(vsf_history_find(h, "s", 1, 1, "t", 6) == NULL);
	CHECK_ERR(vsf_history_count(h), 2);
	vsf_history_free(h);
}

int main(void)
{
	return RUN_TESTS();
}
