/* log.c - see log.h. */
#include "config.h"

#include <stdarg.h>
#include <time.h>

#include "log.h"

void vsf_log_init(struct vsf_log *log, const char *ident, bool use_syslog,
		  int max_prio, FILE *out)
{
	log->use_syslog = use_syslog;
	log->max_prio = max_prio;
	log->out = out ? out : stderr;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static const char *prio_name(int prio)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "error", "warning", "notice",
		"info", "debug",
	};

	return prio >= 0 && prio <= LOG_DEBUG ? names[prio] : "?";
}

void vsf_logf(const struct vsf_log *log, int prio, const char *fmt, ...)
{
	va_list ap;

	if (!log || prio > log->max_prio)
		return;
	va_start(ap, fmt);
	if (log->use_syslog) {
		vsyslog(prio, fmt, ap);
	} else {
		flockfile(log->out);
		fprintf(log->out, "%s: ", prio_name(prio));
		vfprintf(log->out, fmt, ap);
		fputc('\n', log->out);
		fflush(log->out);
		funlockfile(log->out);
	}
	va_end(ap);
}
