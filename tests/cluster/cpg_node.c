/*
 * cpg_node - one "host" of the cluster tests: the cpg library on a real
 * corosync, with libvirt lifecycle events simulated from stdin.
 *
 *	cpg_node [-g GROUP] [-G GRACE_MS] < commands > log
 *
 * Commands (one per line):
 *	start UUID NAME | stop UUID NAME | undefine UUID NAME
 *	fence TAG OP TARGET [TIMEOUT_MS]   OP = off on reboot status
 *	execdelay MS      the simulated libvirt takes MS per action
 *	map               print "map OWNER NAME STATE" lines, then "map end"
 *	forget NODEID     the operator says a host is gone for good
 *	quit              (also at end of input)
 * Output (line-buffered): "up ID", "down ERR", "joined ID", "left ID
 * crashed|clean", "members N", "quorum 0|1", "exec OP TARGET",
 * "result TAG ok|off|ENAME", "error ...".  Tests wait on these lines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vsf_cpg.h"
#include "vsf_wire.h"

#define MAX_TAGS 64
#define MAX_EXEC 64

struct tag {
	int64_t id;
	char name[32];
};

struct pexec {
	bool used;
	uint64_t handle, due;
	int op;
	char target[VSF_CPG_NAME_MAX + 1];
};

struct node {
	struct vsf_cpg *c;
	struct tag tags[MAX_TAGS];
	struct pexec ex[MAX_EXEC];
	uint64_t exec_delay;
	char line[512];
	size_t llen;
	bool quit;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *op_name(int op)
{
	switch (op) {
	case VSF_OP_OFF: return "off";
	case VSF_OP_ON: return "on";
	case VSF_OP_REBOOT: return "reboot";
	case VSF_OP_STATUS: return "status";
	}
	return "?";
}

static int op_parse(const char *s)
{
	for (int op = VSF_OP_OFF; op <= VSF_OP_STATUS; op++)
		if (strcmp(s, op_name(op)) == 0)
			return op;
	return -1;
}

static const char *rc_name(int rc)
{
	static char buf[32];

	switch (rc) {
	case 0: return "ok";
	case VSF_CPG_RC_OFF: return "off";
	case -EAGAIN: return "EAGAIN";
	case -ENOENT: return "ENOENT";
	case -ETIMEDOUT: return "ETIMEDOUT";
	case -EOPNOTSUPP: return "EOPNOTSUPP";
	case -EIO: return "EIO";
	case -ECANCELED: return "ECANCELED";
	}
	snprintf(buf, sizeof(buf), "rc%d", rc);
	return buf;
}

/* The local entry for @target, or NULL. */
static const struct vsf_cpg_entry *local_entry(struct node *n,
					       const char *target)
{
	struct vsf_cpg_map *m = vsf_cpg_route_map(vsf_cpg_route(n->c));

	for (size_t i = 0; i < vsf_cpg_map_count(m); i++) {
		const struct vsf_cpg_entry *e = vsf_cpg_map_at(m, i);

		if (e->owner == vsf_cpg_nodeid(n->c) &&
		    vsf_cpg_entry_matches(e, target))
			return e;
	}
	return NULL;
}

/* The simulated libvirt acts: OFF stops the domain (and says so). */
static void exec_finish(struct node *n, struct pexec *x)
{
	struct vsf_cpg_route *r = vsf_cpg_route(n->c);
	const struct vsf_cpg_entry *e = local_entry(n, x->target);
	int rc = 0;

	if (!e)
		rc = -ENOENT;
	else if (x->op == VSF_OP_STATUS)
		rc = e->state == VSF_CPG_DOM_RUNNING ? 0 : VSF_CPG_RC_OFF;
	else if (x->op == VSF_OP_OFF && e->state == VSF_CPG_DOM_RUNNING) {
		struct vsf_cpg_entry copy = *e;

		(void)vsf_cpg_route_local(r, copy.uuid, copy.name,
					  VSF_CPG_DOM_OFF, now_ms());
	}
	printf("exec-done %s %s %s\n", op_name(x->op), x->target, rc_name(rc));
	x->used = false;
	vsf_cpg_route_exec_done(r, x->handle, rc);
}

static void on_exec(void *ctx, uint64_t handle, int op, const char *target,
		    uint64_t deadline)
{
	struct node *n = ctx;

	(void)deadline;
	printf("exec %s %s\n", op_name(op), target);
	for (int i = 0; i < MAX_EXEC; i++) {
		struct pexec *x = &n->ex[i];

		if (x->used)
			continue;
		*x = (struct pexec){ true, handle, now_ms() + n->exec_delay, op,
				     "" };
		snprintf(x->target, sizeof(x->target), "%s", target);
		return;
	}
	vsf_cpg_route_exec_done(vsf_cpg_route(n->c), handle, -EBUSY);
}

static void on_done(void *ctx, uint64_t id, int rc)
{
	struct node *n = ctx;

	for (int i = 0; i < MAX_TAGS; i++)
		if (n->tags[i].id == (int64_t)id) {
			printf("result %s %s\n", n->tags[i].name, rc_name(rc));
			n->tags[i].id = 0;
			return;
		}
	printf("result ? %s\n", rc_name(rc));
}

static void on_event(void *ctx, int ev, uint32_t a, uint32_t b)
{
	(void)ctx;
	switch (ev) {
	case VSF_CPG_EV_UP: printf("up %u\n", a); break;
	case VSF_CPG_EV_DOWN: printf("down %u\n", a); break;
	case VSF_CPG_EV_JOINED: printf("joined %u\n", a); break;
	case VSF_CPG_EV_LEFT:
		printf("left %u %s\n", a, b ? "crashed" : "clean");
		break;
	case VSF_CPG_EV_MEMBERS: printf("members %u\n", a); break;
	case VSF_CPG_EV_QUORUM: printf("quorum %u\n", a); break;
	}
}

static const char *state_name(int s)
{
	return s == VSF_CPG_DOM_RUNNING ? "running" : "off";
}

static void print_map(struct node *n)
{
	struct vsf_cpg_map *m = vsf_cpg_route_map(vsf_cpg_route(n->c));

	for (size_t i = 0; i < vsf_cpg_map_count(m); i++) {
		const struct vsf_cpg_entry *e = vsf_cpg_map_at(m, i);
		const struct vsf_cpg_node *nd = vsf_cpg_map_node(m, e->owner);
		static const char *st[] = { "member", "lost", "absent" };

		printf("map %u %s %s %s\n", e->owner, e->name,
		       state_name(e->state), nd ? st[nd->status] : "member");
	}
	printf("map end\n");
}

static void cmd_fence(struct node *n, const char *tag, const char *op,
		      const char *target, const char *tmo)
{
	int o = op ? op_parse(op) : -1;
	int64_t id;

	if (!tag || o < 0 || !target) {
		printf("error usage: fence TAG OP TARGET [MS]\n");
		return;
	}
	id = vsf_cpg_route_submit(vsf_cpg_route(n->c), o, target,
				  tmo ? (uint32_t)strtoul(tmo, NULL, 10) : 5000,
				  now_ms());
	if (id < 0) {
		printf("result %s %s\n", tag, rc_name((int)id));
		return;
	}
	for (int i = 0; i < MAX_TAGS; i++)
		if (n->tags[i].id == 0) {
			n->tags[i].id = id;
			snprintf(n->tags[i].name, sizeof(n->tags[i].name), "%s",
				 tag);
			return;
		}
}

static void cmd_event(struct node *n, int state, const char *u,
		      const char *name)
{
	uint8_t uuid[VSF_CPG_UUID_LEN];
	int rc;

	if (!u || !name || vsf_cpg_uuid_parse(u, uuid) < 0) {
		printf("error usage: start|stop|undefine UUID NAME\n");
		return;
	}
	rc = vsf_cpg_route_local(vsf_cpg_route(n->c), uuid, name, state,
				 now_ms());
	if (rc < 0)
		printf("error event: %s\n", strerror(-rc));
}

static void command(struct node *n, char *line)
{
	char *sp, *w[6] = { 0 };
	int k = 0;

	for (char *t = strtok_r(line, " \t", &sp); t && k < 6;
	     t = strtok_r(NULL, " \t", &sp))
		w[k++] = t;
	if (!w[0])
		return;
	if (strcmp(w[0], "start") == 0)
		cmd_event(n, VSF_CPG_DOM_RUNNING, w[1], w[2]);
	else if (strcmp(w[0], "stop") == 0)
		cmd_event(n, VSF_CPG_DOM_OFF, w[1], w[2]);
	else if (strcmp(w[0], "undefine") == 0)
		cmd_event(n, VSF_CPG_DOM_GONE, w[1], w[2]);
	else if (strcmp(w[0], "fence") == 0)
		cmd_fence(n, w[1], w[2], w[3], w[4]);
	else if (strcmp(w[0], "execdelay") == 0 && w[1])
		n->exec_delay = strtoull(w[1], NULL, 10);
	else if (strcmp(w[0], "map") == 0)
		print_map(n);
	else if (strcmp(w[0], "forget") == 0 && w[1])
		vsf_cpg_route_forget(vsf_cpg_route(n->c),
				     (uint32_t)strtoul(w[1], NULL, 10));
	else if (strcmp(w[0], "quit") == 0)
		n->quit = true;
	else
		printf("error unknown command '%s'\n", w[0]);
}

static void read_commands(struct node *n)
{
	char buf[256];
	ssize_t got = read(0, buf, sizeof(buf));

	if (got <= 0) {
		n->quit = got == 0 || (errno != EAGAIN && errno != EINTR);
		return;
	}
	for (ssize_t i = 0; i < got; i++) {
		if (buf[i] != '\n') {
			if (n->llen < sizeof(n->line) - 1)
				n->line[n->llen++] = buf[i];
			continue;
		}
		n->line[n->llen] = '\0';
		n->llen = 0;
		command(n, n->line);
	}
}

static int poll_timeout(struct node *n)
{
	uint64_t t = vsf_cpg_next(n->c), now = now_ms();

	for (int i = 0; i < MAX_EXEC; i++)
		if (n->ex[i].used && n->ex[i].due < t)
			t = n->ex[i].due;
	if (t == UINT64_MAX)
		return 1000;
	return t <= now ? 0 : (int)(t - now > 1000 ? 1000 : t - now);
}

static void run(struct node *n)
{
	while (!n->quit) {
		struct pollfd p[2] = { { 0, POLLIN, 0 },
				       { vsf_cpg_fd(n->c), POLLIN, 0 } };

		if (poll(p, 2, poll_timeout(n)) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			read_commands(n);
		vsf_cpg_dispatch(n->c);
		for (int i = 0; i < MAX_EXEC; i++)
			if (n->ex[i].used && n->ex[i].due <= now_ms())
				exec_finish(n, &n->ex[i]);
	}
}

int main(int argc, char **argv)
{
	static struct node n;
	struct vsf_cpg_cfg cfg = { .ctx = &n, .exec = on_exec,
				   .done = on_done, .event = on_event,
				   .grace_ms = 3000 };
	uint64_t give_up = now_ms() + 10000;
	char err[256] = "";
	int opt;

	while ((opt = getopt(argc, argv, "g:G:")) != -1) {
		if (opt == 'g')
			cfg.group = optarg;
		else if (opt == 'G')
			cfg.grace_ms = strtoull(optarg, NULL, 10);
		else
			return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	(void)fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	while (!(n.c = vsf_cpg_new(&cfg, err, sizeof(err)))) {
		if (now_ms() > give_up) {
			printf("error %s\n", err);
			return 1;
		}
		(void)poll(NULL, 0, 100);	/* corosync still starting */
	}
	run(&n);
	vsf_cpg_free(n.c);
	return 0;
}
