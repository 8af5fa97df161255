/*
 * workers.h - a fixed pool of threads for blocking calls (libvirt).
 *
 * A job's run() executes on a worker; its done() then executes on the loop
 * thread, woken through an eventfd registered with the loop.  Jobs are
 * started in submission order but finish in any order.  The pool never
 * frees a job: done() owns it.  vsf_workers_free() waits for running jobs
 * and calls done() for every finished one; queued jobs that never ran get
 * done() with job->cancelled set.
 */
#ifndef VSF_WORKERS_H
#define VSF_WORKERS_H

#include <stdbool.h>

#include "loop.h"

struct vsf_job {
	void (*run)(struct vsf_job *job);	/* worker thread; may block */
	void (*done)(struct vsf_job *job);	/* loop thread */
	bool cancelled;
	struct vsf_job *next;	/* pool's; do not touch */
};

struct vsf_workers;

struct vsf_workers *vsf_workers_new(struct vsf_loop *loop, unsigned int n);
struct vsf_workers *vsf_workers_free(struct vsf_workers *w);
void vsf_workers_submit(struct vsf_workers *w, struct vsf_job *job);

#endif /* VSF_WORKERS_H */
