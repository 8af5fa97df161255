/*
 * log.h - the daemon's one logger: syslog (daemon facility) or a FILE.
 *
 * Library code in fenced-host/ does not print; it returns codes.  Only the
 * objects that decide (the pipeline for requests, listeners for their
 * channels, main) log, once per event, through a logger they were given.
 */
#ifndef VSF_LOG_H
#define VSF_LOG_H

#include <stdbool.h>
#include <stdio.h>
#include <syslog.h>

struct vsf_log {
	bool use_syslog;
	int max_prio;		/* LOG_DEBUG shows everything */
	FILE *out;		/* when !use_syslog; stderr by default */
};

void vsf_log_init(struct vsf_log *log, const char *ident, bool use_syslog,
		  int max_prio, FILE *out);
void vsf_logf(const struct vsf_log *log, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Log and return @err (a negative errno), systemd's log_error_errno idea. */
#define vsf_log_err(log, err, ...) (vsf_logf((log), LOG_ERR, __VA_ARGS__), (err))

#endif /* VSF_LOG_H */
