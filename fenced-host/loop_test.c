/* loop_test.c - fds, timers with a fake clock, signals, mid-loop removal. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "loop.h"

static uint64_t fake_now;

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

struct hits {
	int n;
	int last_fd;
	int other_fd;		/* removed by the callback when set */
	struct vsf_loop *loop;
};

static void on_fd(struct vsf_loop *loop, int fd, int events, void *data)
{
	struct hits *h = data;
	char c;

	(void)events;
	h->n++;
	h->last_fd = fd;
	(void)read(fd, &c, 1);
	if (h->other_fd >= 0)
		vsf_loop_del_fd(loop, h->other_fd);
}

TEST(readable_fd_runs_its_callback)
{
	struct vsf_loop *loop = vsf_loop_new();
	struct hits h = { .other_fd = -1 };
	int p[2];

	CHECK(pipe(p) == 0);
	CHECK_ERR(vsf_loop_add_fd(loop, p[0], VSF_LOOP_READ, on_fd, &h), 0);
	CHECK_ERR(vsf_loop_add_fd(loop, p[0], VSF_LOOP_READ, on_fd, &h),
		  -EEXIST);
	CHECK_ERR(vsf_loop_run_once(loop, 0), 0);
	CHECK(write(p[1], "x", 1) == 1);
	CHECK_ERR(vsf_loop_run_once(loop, 0), 1);
	CHECK_ERR(h.n, 1);
	vsf_loop_del_fd(loop, p[0]);
	CHECK(write(p[1], "x", 1) == 1);
	CHECK_ERR(vsf_loop_run_once(loop, 0), 0);
	close(p[0]);
	close(p[1]);
	vsf_loop_free(loop);
}

TEST(fd_removed_mid_iteration_gets_no_callback)
{
	struct vsf_loop *loop = vsf_loop_new();
	struct hits a = { .other_fd = -1 }, b = { .other_fd = -1 };
	int p[2], q[2];

	CHECK(pipe(p) == 0 && pipe(q) == 0);
	/* whichever runs first removes the other */
	a.other_fd = q[0];
	b.other_fd = p[0];
	CHECK_ERR(vsf_loop_add_fd(loop, p[0], VSF_LOOP_READ, on_fd, &a), 0);
	CHECK_ERR(vsf_loop_add_fd(loop, q[0], VSF_LOOP_READ, on_fd, &b), 0);
	CHECK(write(p[1], "x", 1) == 1 && write(q[1], "x", 1) == 1);
	CHECK_ERR(vsf_loop_run_once(loop, 0), 1);
	CHECK_ERR(a.n + b.n, 1);
	for (int i = 0; i < 2; i++) {
		close(p[i]);
		close(q[i]);
	}
	vsf_loop_free(loop);
}

static int fired[4], finals;

static void on_timer(struct vsf_loop *loop, uint64_t id, void *data)
{
	(void)loop;
	(void)id;
	fired[(intptr_t)data]++;
}

static void on_final(void *data)
{
	(void)data;
	finals++;
}

TEST(timers_fire_in_order_on_the_fake_clock_and_finalize_once)
{
	struct vsf_loop *loop = vsf_loop_new();
	uint64_t t1, t2, t3;

	vsf_loop_set_clock(loop, fake_clock, NULL);
	fake_now = 1000;
	t1 = vsf_loop_add_timer(loop, 50, on_timer, on_final, (void *)1);
	t2 = vsf_loop_add_timer(loop, 10, on_timer, on_final, (void *)2);
	t3 = vsf_loop_add_timer(loop, 30, on_timer, on_final, (void *)3);
	CHECK(t1 && t2 && t3);
	CHECK_ERR(vsf_loop_run_once(loop, 0), 0);
	fake_now = 1010;
	CHECK_ERR(vsf_loop_run_once(loop, 0), 1);
	CHECK_ERR(fired[2], 1);
	CHECK_ERR(vsf_loop_del_timer(loop, t3), 0);
	CHECK_ERR(vsf_loop_del_timer(loop, t2), -ENOENT);
	fake_now = 2000;
	CHECK_ERR(vsf_loop_run_once(loop, 0), 1);
	CHECK_ERR(fired[1], 1);
	CHECK_ERR(fired[3], 0);
	CHECK_ERR(finals, 3);
	vsf_loop_free(loop);
}

static int got_signal;

static void on_sig(struct vsf_loop *loop, int signo, void *data)
{
	(void)data;
	got_signal = signo;
	vsf_loop_stop(loop);
}

TEST(signals_arrive_through_the_loop)
{
	struct vsf_loop *loop = vsf_loop_new();
	const int sigs[] = { SIGHUP, SIGTERM, 0 };

	CHECK_ERR(vsf_loop_add_signals(loop, sigs, on_sig, NULL), 0);
	CHECK(kill(getpid(), SIGHUP) == 0);
	CHECK_ERR(vsf_loop_run(loop), 0);
	CHECK_ERR(got_signal, SIGHUP);
	CHECK(vsf_loop_stopped(loop));
	vsf_loop_free(loop);
}

int main(void)
{
	return RUN_TESTS();
}
