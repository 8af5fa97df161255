/*
 * loop_epoll.c - vsf_loop on epoll, signalfd and a sorted timer list.
 *
 * fds live in a table indexed by fd number.  The epoll cookie packs the fd
 * with the slot's generation so an event fetched before a del/add pair in
 * the same iteration is recognised as stale and dropped.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "loop.h"
#include "vsf_time.h"

#define MAX_EVENTS 64

struct fd_slot {
	vsf_fd_fn *fn;
	void *data;
	uint32_t gen;		/* bumped on every add; 0 = free */
	int events;
};

struct timer {
	uint64_t id;
	uint64_t when;
	vsf_timer_fn *fn;
	vsf_timer_final_fn *final;
	void *data;
	struct timer *next;	/* sorted by (when, id) */
};

struct vsf_loop {
	int epfd;
	struct fd_slot *slots;	/* indexed by fd */
	int nslots;
	uint32_t next_gen;
	struct timer *timers;
	uint64_t next_timer_id;
	bool stop;
	int sigfd;
	vsf_signal_fn *sig_fn;
	void *sig_data;
	vsf_clock_fn *clock;
	void *clock_ctx;
};

static uint64_t mono_ms(void *ctx)
{
	(void)ctx;
	return vsf_monotonic_ms();
}

struct vsf_loop *vsf_loop_new(void)
{
	struct vsf_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	loop->sigfd = -1;
	loop->clock = mono_ms;
	return loop;
}

struct vsf_loop *vsf_loop_free(struct vsf_loop *loop)
{
	if (!loop)
		return NULL;
	while (loop->timers) {
		struct timer *t = loop->timers;

		loop->timers = t->next;
		if (t->final)
			t->final(t->data);
		free(t);
	}
	if (loop->sigfd >= 0)
		close(loop->sigfd);
	close(loop->epfd);
	free(loop->slots);
	free(loop);
	return NULL;
}

static uint32_t to_epoll(int events)
{
	return (events & VSF_LOOP_READ ? EPOLLIN : 0) |
	       (events & VSF_LOOP_WRITE ? EPOLLOUT : 0);
}

static int grow_slots(struct vsf_loop *loop, int fd)
{
	int n = loop->nslots ? loop->nslots : 64;
	struct fd_slot *s;

	while (n <= fd)
		n *= 2;
	s = realloc(loop->slots, (size_t)n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s + loop->nslots, 0, (size_t)(n - loop->nslots) * sizeof(*s));
	loop->slots = s;
	loop->nslots = n;
	return 0;
}

int vsf_loop_add_fd(struct vsf_loop *loop, int fd, int events, vsf_fd_fn *fn,
		    void *data)
{
	struct epoll_event ev = { 0 };
	struct fd_slot *s;

	if (fd < 0)
		return -EBADF;
	if (fd >= loop->nslots && grow_slots(loop, fd) < 0)
		return -ENOMEM;
	s = &loop->slots[fd];
	if (s->gen)
		return -EEXIST;
	if (++loop->next_gen == 0)
		loop->next_gen = 1;
	ev.events = to_epoll(events);
	ev.data.u64 = (uint64_t)loop->next_gen << 32 | (uint32_t)fd;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	s->fn = fn;
	s->data = data;
	s->events = events;
	s->gen = loop->next_gen;
	return 0;
}

int vsf_loop_mod_fd(struct vsf_loop *loop, int fd, int events)
{
	struct epoll_event ev = { 0 };
	struct fd_slot *s;

	if (fd < 0 || fd >= loop->nslots || !loop->slots[fd].gen)
		return -ENOENT;
	s = &loop->slots[fd];
	if (s->events == events)
		return 0;
	ev.events = to_epoll(events);
	ev.data.u64 = (uint64_t)s->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	s->events = events;
	return 0;
}

void vsf_loop_del_fd(struct vsf_loop *loop, int fd)
{
	if (fd < 0 || fd >= loop->nslots || !loop->slots[fd].gen)
		return;
	(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(&loop->slots[fd], 0, sizeof(loop->slots[fd]));
}

uint64_t vsf_loop_add_timer(struct vsf_loop *loop, uint64_t ms,
			    vsf_timer_fn *fn, vsf_timer_final_fn *final,
			    void *data)
{
	struct timer *t = calloc(1, sizeof(*t)), **pp;

	if (!t)
		return 0;
	t->id = ++loop->next_timer_id;
	t->when = vsf_loop_now(loop) + ms;
	t->fn = fn;
	t->final = final;
	t->data = data;
	for (pp = &loop->timers; *pp && (*pp)->when <= t->when;
	     pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	return t->id;
}

int vsf_loop_del_timer(struct vsf_loop *loop, uint64_t id)
{
	struct timer **pp, *t;

	for (pp = &loop->timers; *pp; pp = &(*pp)->next) {
		if ((*pp)->id != id)
			continue;
		t = *pp;
		*pp = t->next;
		if (t->final)
			t->final(t->data);
		free(t);
		return 0;
	}
	return -ENOENT;
}

static void on_signal(struct vsf_loop *loop, int fd, int events, void *data)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)data;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		loop->sig_fn(loop, (int)si.ssi_signo, loop->sig_data);
}

int vsf_loop_add_signals(struct vsf_loop *loop, const int *signals,
			 vsf_signal_fn *fn, void *data)
{
	sigset_t set;
	int r;

	if (loop->sigfd >= 0)
		return -EBUSY;
	sigemptyset(&set);
	for (; *signals; signals++)
		sigaddset(&set, *signals);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	loop->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (loop->sigfd < 0)
		return -errno;
	loop->sig_fn = fn;
	loop->sig_data = data;
	r = vsf_loop_add_fd(loop, loop->sigfd, VSF_LOOP_READ, on_signal, NULL);
	if (r < 0) {
		close(loop->sigfd);
		loop->sigfd = -1;
	}
	return r;
}

static int wait_ms(struct vsf_loop *loop, int timeout_ms)
{
	uint64_t now, when;

	if (!loop->timers)
		return timeout_ms;
	now = vsf_loop_now(loop);
	when = loop->timers->when;
	if (when <= now)
		return 0;
	if (timeout_ms < 0 || when - now < (uint64_t)timeout_ms)
		return when - now > 1000000 ? 1000000 : (int)(when - now);
	return timeout_ms;
}

/* Fire every timer due now; timers added by callbacks wait a turn. */
static int run_timers(struct vsf_loop *loop)
{
	uint64_t now = vsf_loop_now(loop), last = loop->next_timer_id;
	int ran = 0;

	while (loop->timers && loop->timers->when <= now &&
	       loop->timers->id <= last) {
		struct timer *t = loop->timers;

		loop->timers = t->next;
		t->fn(loop, t->id, t->data);
		if (t->final)
			t->final(t->data);
		free(t);
		ran++;
	}
	return ran;
}

int vsf_loop_run_once(struct vsf_loop *loop, int timeout_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int n, ran = 0;

	n = epoll_wait(loop->epfd, evs, MAX_EVENTS, wait_ms(loop, timeout_ms));
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		struct fd_slot *s;
		int events = 0;

		if (fd >= loop->nslots || loop->slots[fd].gen != gen)
			continue;	/* removed (or replaced) meanwhile */
		s = &loop->slots[fd];
		if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
			events |= VSF_LOOP_READ;
		if (evs[i].events & EPOLLOUT)
			events |= VSF_LOOP_WRITE;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			events |= VSF_LOOP_ERROR;
		s->fn(loop, fd, events, s->data);
		ran++;
	}
	return ran + run_timers(loop);
}

int vsf_loop_run(struct vsf_loop *loop)
{
	loop->stop = false;
	while (!loop->stop) {
		int r = vsf_loop_run_once(loop, -1);

		if (r < 0)
			return r;
	}
	return 0;
}

void vsf_loop_stop(struct vsf_loop *loop)
{
	loop->stop = true;
}

bool vsf_loop_stopped(const struct vsf_loop *loop)
{
	return loop->stop;
}

uint64_t vsf_loop_now(const struct vsf_loop *loop)
{
	return loop->clock(loop->clock_ctx);
}

void vsf_loop_set_clock(struct vsf_loop *loop, vsf_clock_fn *fn, void *ctx)
{
	loop->clock = fn ? fn : mono_ms;
	loop->clock_ctx = ctx;
}
