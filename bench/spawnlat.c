/*
 * spawnlat - time commands from start to exit, interleaved (benchmark 1).
 *
 *   spawnlat [-n ROUNDS] [-t SEC] [-o FILE] SPECFILE
 *
 * SPECFILE has one command per line: "LABEL WANT_RC PROGRAM ARGS..." split
 * on blanks (no quoting; '#' starts a comment line).  Each round runs every
 * line once, in file order, so that background load on a shared machine
 * falls on all commands alike.  A command's time runs from just before
 * fork() to its exit as seen by waitpid(); its stdout and stderr go to
 * /dev/null.  A command still running after SEC seconds (default 30) is
 * killed and counted as rc 124.
 *
 * FILE (default stdout) gets "LABEL<TAB>ROUND<TAB>RC<TAB>USEC<TAB>OK" per
 * run, OK being 1 when RC equals WANT_RC.  Exit status: 0, or 1 when a line
 * could not be run at all.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 32
#define MAX_ARGS 64

struct cmd {
	char *label;
	int want_rc;
	char *argv[MAX_ARGS + 1];
};

/* A positive count; -1 for junk, so that the caller's range check fails. */
static int parse_count(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 1000000)
		return -1;
	return (int)v;
}

static double mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Split one spec line in place; 0 for a command, 1 to skip, <0 if bad. */
static int parse_line(char *line, struct cmd *c)
{
	char *tok, *save = NULL, *end;
	int n = 0;

	tok = strtok_r(line, " \t\n", &save);
	if (!tok || tok[0] == '#')
		return 1;
	c->label = strdup(tok);
	tok = strtok_r(NULL, " \t\n", &save);
	if (!tok)
		return -EINVAL;
	c->want_rc = (int)strtol(tok, &end, 10);
	if (*end)
		return -EINVAL;
	while ((tok = strtok_r(NULL, " \t\n", &save)) && n < MAX_ARGS)
		c->argv[n++] = strdup(tok);
	c->argv[n] = NULL;
	return n > 0 ? 0 : -EINVAL;
}

static int load_spec(const char *path, struct cmd *cmds)
{
	char line[4096];
	FILE *f = fopen(path, "r");
	int n = 0, r;

	if (!f)
		return -errno;
	while (n < MAX_CMDS && fgets(line, sizeof(line), f)) {
		r = parse_line(line, &cmds[n]);
		if (r < 0) {
			fclose(f);
			return r;
		}
		if (r == 0)
			n++;
	}
	fclose(f);
	return n;
}

static void child(struct cmd *c)
{
	int null = open("/dev/null", O_RDWR);

	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	execvp(c->argv[0], c->argv);
	_exit(127);
}

/* Wait for @pid with a deadline (pidfd); kills it at the deadline. */
static int reap(pid_t pid, int sec)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd pf = { .fd = pfd, .events = POLLIN };
	int status = 0, r;

	if (pfd >= 0) {
		do
			r = poll(&pf, 1, sec * 1000);
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(pfd);
			return 124;
		}
		close(pfd);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static int run_one(FILE *out, struct cmd *c, int round, int sec)
{
	double t0 = mono_us(), t1;
	pid_t pid = fork();
	int rc;

	if (pid < 0)
		return -errno;
	if (pid == 0)
		child(c);
	rc = reap(pid, sec);
	t1 = mono_us();
	fprintf(out, "%s\t%d\t%d\t%.0f\t%d\n", c->label, round, rc, t1 - t0,
		rc == c->want_rc);
	return rc;
}

int main(int argc, char **argv)
{
	struct cmd cmds[MAX_CMDS];
	int rounds = 200, sec = 30, ch, n, r, i;
	FILE *out = stdout;

	while ((ch = getopt(argc, argv, "n:t:o:")) != -1) {
		switch (ch) {
		case 'n': rounds = parse_count(optarg); break;
		case 't': sec = parse_count(optarg); break;
		case 'o':
			out = fopen(optarg, "w");
			if (!out) {
				perror(optarg);
				return 1;
			}
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 1 || rounds < 1 || sec < 1)
		goto usage;
	n = load_spec(argv[optind], cmds);
	if (n <= 0) {
		fprintf(stderr, "spawnlat: %s: no commands\n", argv[optind]);
		return 1;
	}
	for (r = 0; r < rounds; r++)
		for (i = 0; i < n; i++)
			if (run_one(out, &cmds[i], r, sec) < 0)
				return 1;
	fclose(out);
	return 0;
usage:
	fprintf(stderr, "usage: spawnlat [-n ROUNDS] [-t SEC] [-o FILE] SPEC\n");
	return 2;
}
