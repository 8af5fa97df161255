/*
 * loop.h - the daemon's single-threaded event loop (epoll).
 *
 * One loop per process, run by the main thread.  Everything registered here
 * is called from vsf_loop_run_once() on that thread and must not block.
 * Other threads talk to the loop only through an fd they own (eventfd or
 * pipe) registered with vsf_loop_add_fd().
 *
 * Mid-iteration changes: a callback may add or remove any fd or timer.  An
 * fd removed during an iteration gets no further callbacks from that
 * iteration, even if its number is reused by a new registration in the same
 * iteration (each registration carries a generation number).  A timer that
 * is deleted before it fires never fires.
 *
 * Timers are one-shot; re-arm from the callback if needed.  The optional
 * finalizer runs exactly once when a timer fires or is deleted, so it is
 * the one place that frees @data.
 *
 * Time is CLOCK_MONOTONIC in milliseconds, or a test's clock set with
 * vsf_loop_set_clock().
 */
#ifndef VSF_LOOP_H
#define VSF_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct vsf_loop;

enum {
	VSF_LOOP_READ = 1,
	VSF_LOOP_WRITE = 2,
	VSF_LOOP_ERROR = 4,	/* reported only, never requested */
};

typedef void vsf_fd_fn(struct vsf_loop *loop, int fd, int events, void *data);
typedef void vsf_timer_fn(struct vsf_loop *loop, uint64_t id, void *data);
typedef void vsf_timer_final_fn(void *data);
typedef void vsf_signal_fn(struct vsf_loop *loop, int signo, void *data);
typedef uint64_t vsf_clock_fn(void *ctx);

struct vsf_loop *vsf_loop_new(void);
/* Closes nothing it did not open; runs pending timer finalizers. */
struct vsf_loop *vsf_loop_free(struct vsf_loop *loop);

/* Register @fd for @events (READ|WRITE).  -EEXIST if already there. */
int vsf_loop_add_fd(struct vsf_loop *loop, int fd, int events, vsf_fd_fn *fn,
		    void *data);
/* Change the events of a registered fd.  -ENOENT if not registered. */
int vsf_loop_mod_fd(struct vsf_loop *loop, int fd, int events);
/* Forget @fd (the caller still closes it).  Unknown fds are ignored. */
void vsf_loop_del_fd(struct vsf_loop *loop, int fd);

/* Call @fn once after @ms.  Returns an id > 0, or 0 on OOM. */
uint64_t vsf_loop_add_timer(struct vsf_loop *loop, uint64_t ms,
			    vsf_timer_fn *fn, vsf_timer_final_fn *final,
			    void *data);
/* Cancel a pending timer: -ENOENT if it already fired or never existed. */
int vsf_loop_del_timer(struct vsf_loop *loop, uint64_t id);

/*
 * Block @signals (SIGTERM, SIGINT, SIGHUP...) for the process and deliver
 * them through a signalfd to @fn.  Call before starting any thread, so the
 * threads inherit the mask.  @signals ends with 0.
 */
int vsf_loop_add_signals(struct vsf_loop *loop, const int *signals,
			 vsf_signal_fn *fn, void *data);

/*
 * Wait up to @timeout_ms (-1 = until something happens, capped by the next
 * timer) and dispatch.  Returns the number of callbacks run, or -errno.
 */
int vsf_loop_run_once(struct vsf_loop *loop, int timeout_ms);

/* Run until vsf_loop_stop(). */
int vsf_loop_run(struct vsf_loop *loop);
void vsf_loop_stop(struct vsf_loop *loop);
bool vsf_loop_stopped(const struct vsf_loop *loop);

uint64_t vsf_loop_now(const struct vsf_loop *loop);
void vsf_loop_set_clock(struct vsf_loop *loop, vsf_clock_fn *fn, void *ctx);

#endif /* VSF_LOOP_H */
