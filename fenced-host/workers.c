/*
 * workers.c - see workers.h.  One mutex protects both queues; the eventfd
 * counts nothing meaningful, it only wakes the loop.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "workers.h"

struct vsf_workers {
	struct vsf_loop *loop;
	int efd;
	pthread_mutex_t lock;	/* protects todo, finished, stopping */
	pthread_cond_t cond;
	struct vsf_job *todo, **todo_tail;
	struct vsf_job *finished;
	bool stopping;
	unsigned int n;
	pthread_t *threads;
};

static void *worker_main(void *arg)
{
	struct vsf_workers *w = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct vsf_job *job;

		while (!w->todo && !w->stopping)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->todo)
			break;
		job = w->todo;
		w->todo = job->next;
		if (!w->todo)
			w->todo_tail = &w->todo;
		pthread_mutex_unlock(&w->lock);

		job->run(job);

		pthread_mutex_lock(&w->lock);
		job->next = w->finished;
		w->finished = job;
		(void)!write(w->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void reap(struct vsf_workers *w)
{
	struct vsf_job *list, *rev = NULL;

	pthread_mutex_lock(&w->lock);
	list = w->finished;
	w->finished = NULL;
	pthread_mutex_unlock(&w->lock);
	while (list) {	/* finished is LIFO; call done() oldest first */
		struct vsf_job *next = list->next;

		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev) {
		struct vsf_job *next = rev->next;

		rev->done(rev);
		rev = next;
	}
}

static void on_wake(struct vsf_loop *loop, int fd, int events, void *data)
{
	uint64_t v;

	(void)loop;
	(void)events;
	(void)!read(fd, &v, sizeof(v));
	reap(data);
}

struct vsf_workers *vsf_workers_new(struct vsf_loop *loop, unsigned int n)
{
	struct vsf_workers *w = calloc(1, sizeof(*w));
	sigset_t all, old;

	if (!w)
		return NULL;
	w->loop = loop;
	w->todo_tail = &w->todo;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->threads = calloc(n, sizeof(*w->threads));
	if (w->efd < 0 || !w->threads ||
	    vsf_loop_add_fd(loop, w->efd, VSF_LOOP_READ, on_wake, w) < 0)
		goto err;
	/* workers must never take the loop's signals */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (; w->n < n; w->n++)
		if (pthread_create(&w->threads[w->n], NULL, worker_main, w))
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (w->n == 0)
		goto err;
	return w;
err:
	return vsf_workers_free(w);
}

struct vsf_workers *vsf_workers_free(struct vsf_workers *w)
{
	struct vsf_job *job;

	if (!w)
		return NULL;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	job = w->todo;	/* not started: cancel */
	w->todo = NULL;
	w->todo_tail = &w->todo;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (unsigned int i = 0; i < w->n; i++)
		pthread_join(w->threads[i], NULL);
	reap(w);
	while (job) {
		struct vsf_job *next = job->next;

		job->cancelled = true;
		job->done(job);
		job = next;
	}
	if (w->efd >= 0) {
		vsf_loop_del_fd(w->loop, w->efd);
		close(w->efd);
	}
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w->threads);
	free(w);
	return NULL;
}

void vsf_workers_submit(struct vsf_workers *w, struct vsf_job *job)
{
	pthread_mutex_lock(&w->lock);
	job->next = NULL;
	job->cancelled = false;
	*w->todo_tail = job;
	w->todo_tail = &job->next;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}
