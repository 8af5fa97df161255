/*
 * chan_watch_test.c - the channel watcher thread against libvirt's own test
 * driver (a real libvirt, in-process): the start-up scan, and
 * chan_watch_recheck() answering UP for a running domain (with its
 * channels as they are now), DOWN for a shut-off one and for one libvirt
 * does not know.
 */
#include "config.h"

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "backend.h"
#include "chan_watch.h"
#include "check.h"

#define U_RUN "aaaaaaaa-0000-4000-8000-0000000000a1"
#define U_OFF "aaaaaaaa-0000-4000-8000-0000000000a2"
#define U_NONE "aaaaaaaa-0000-4000-8000-0000000000a3"
#define SOCK "/run/vsf-test/run.sock"

static char node[64], uri[80];

static void quiet(void *data, virErrorPtr e)
{
	(void)data;
	(void)e;
}

static void write_node(void)
{
	FILE *f;

	strcpy(node, "/tmp/cwt-XXXXXX");
	close(mkstemp(node));
	f = fopen(node, "w");
	fprintf(f, "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
		"<domain type='test'><name>run</name><uuid>" U_RUN "</uuid>"
		"<memory>65536</memory><os><type>hvm</type></os><devices>"
		"<serial type='unix'><source mode='bind' path='" SOCK "'/>"
		"<target port='1'/></serial></devices></domain>"
		"<domain type='test'><name>off</name><uuid>" U_OFF "</uuid>"
		"<memory>65536</memory><os><type>hvm</type></os>"
		"<test:runstate>5</test:runstate></domain></node>\n");
	fclose(f);
	snprintf(uri, sizeof(uri), "test://%s", node);
}

/* Messages seen so far, oldest first. */
struct seen {
	struct chan_msg *head, **tail;
};

/*
 * Collect messages until one matches @type, @uuid (NULL: any) and
 * @recheck (-1: either); NULL after 5 s.
 */
static struct chan_msg *wait_msg(struct chan_watch *w, struct seen *s,
				 enum chan_msg_type type, const char *uuid,
				 int recheck)
{
	uint64_t end = vsf_now_ms() + 5000;

	for (;;) {
		struct pollfd p = { .fd = chan_watch_fd(w), .events = POLLIN };
		uint64_t now;

		for (struct chan_msg *m = s->head; m; m = m->next)
			if (m->type == type && (!uuid || !strcmp(m->uuid, uuid)) &&
			    (recheck < 0 || m->recheck == recheck))
				return m;
		now = vsf_now_ms();
		if (now >= end || poll(&p, 1, (int)(end - now)) <= 0)
			return NULL;
		*s->tail = chan_watch_take(w);
		while (*s->tail)
			s->tail = &(*s->tail)->next;
	}
}

static struct chan_watch *start(struct seen *s)
{
	struct vsf_chan_select sel = { .serial = true };
	struct chan_watch *w = chan_watch_start(uri, &sel);

	s->head = NULL;
	s->tail = &s->head;
	CHECK(w != NULL);
	return w;
}

TEST(scan_lists_the_running_domain_with_its_socket)
{
	struct seen s;
	struct chan_watch *w = start(&s);
	struct chan_msg *m;

	CHECK(wait_msg(w, &s, CHAN_MSG_SCAN_END, NULL, -1) != NULL);
	m = wait_msg(w, &s, CHAN_MSG_UP, U_RUN, 0);
	CHECK(m != NULL);
	if (m) {
		CHECK(!m->partial);
		CHECK_ERR(m->socks.n, 1);
		CHECK_STR(m->socks.paths[0], SOCK);
	}
	/* the scan is over: the shut-off domain was not listed */
	for (m = s.head; m; m = m->next)
		CHECK(strcmp(m->uuid, U_OFF) != 0);
	chan_watch_stop(w);
	chan_msg_free(s.head);
}

TEST(recheck_answers_up_for_running_and_down_for_off_or_unknown)
{
	struct seen s;
	struct chan_watch *w = start(&s);
	struct chan_msg *m;

	CHECK(wait_msg(w, &s, CHAN_MSG_SCAN_END, NULL, -1) != NULL);
	chan_watch_recheck(w, U_RUN);
	chan_watch_recheck(w, U_OFF);
	chan_watch_recheck(w, U_NONE);
	CHECK(wait_msg(w, &s, CHAN_MSG_DOWN, U_OFF, -1) != NULL);
	CHECK(wait_msg(w, &s, CHAN_MSG_DOWN, U_NONE, -1) != NULL);
	m = wait_msg(w, &s, CHAN_MSG_UP, U_RUN, 1);
	CHECK(m != NULL);
	if (m) {
		CHECK(!m->partial);
		CHECK_ERR(m->socks.n, 1);
		CHECK_STR(m->socks.paths[0], SOCK);
	}
	chan_watch_stop(w);
	chan_msg_free(s.head);
}

int main(void)
{
	int r;

	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0)
		return 1;
	virSetErrorFunc(NULL, quiet);
	write_node();
	r = RUN_TESTS();
	unlink(node);
	return r;
}
