/* options_test.c - stdin key=value and argv parsing. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "check.h"
#include "options.h"
#include "vsf_hash.h"
#include "vsf_wire.h"

static char err[256];

static int line(struct agent_opts *o, const char *text)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s", text);
	err[0] = '\0';
	return agent_opts_parse_line(o, buf, err, sizeof(err));
}

TEST(stdin_pacemaker_keys)
{
	struct agent_opts o;

	agent_opts_init(&o);
	CHECK_ERR(line(&o, "action=off\n"), 0);
	CHECK_ERR(line(&o, "  plug = guest2 \r\n"), 0);
	CHECK_ERR(line(&o, "timeout=12"), 0);
	CHECK_ERR(line(&o, "delay=3"), 0);
	CHECK_ERR(line(&o, "serial_device=/dev/vport0p1"), 0);
	CHECK_ERR(o.op, VSF_OP_OFF);
	CHECK_STR(o.domain, "guest2");
	CHECK_ERR(o.timeout, 12);
	CHECK_ERR(o.delay, 3);
	CHECK_STR(o.device, "/dev/vport0p1");
}

TEST(stdin_unknown_key_is_reported_and_ignored)
{
	struct agent_opts o, ref;

	agent_opts_init(&o);
	agent_opts_init(&ref);
	CHECK_ERR(line(&o, "frobnicate=yes"), -ENOENT);
	CHECK(strstr(err, "frobnicate") != NULL);
	CHECK(memcmp(&o, &ref, sizeof(o)) == 0);	/* nothing changed */
}

TEST(stdin_ignored_keys_comments_blanks)
{
	struct agent_opts o;

	agent_opts_init(&o);
	CHECK_ERR(line(&o, "nodename=node1"), 1);
	CHECK_ERR(line(&o, "agent=fence_vserial"), 1);
	CHECK_ERR(line(&o, "# a comment"), 1);
	CHECK_ERR(line(&o, "   "), 1);
	CHECK_ERR(line(&o, "no equals sign"), -EINVAL);
}

TEST(stdin_aliases_and_actions)
{
	struct agent_opts o;

	agent_opts_init(&o);
	CHECK_ERR(o.op, VSF_OP_REBOOT);	/* fence_virt's default */
	CHECK_ERR(line(&o, "port=a"), 0);
	CHECK_STR(o.domain, "a");
	CHECK_ERR(line(&o, "domain=b"), 0);
	CHECK_STR(o.domain, "b");
	CHECK_ERR(line(&o, "option=monitor"), 0);
	CHECK_ERR(o.op, VSF_OP_DEVSTATUS);
	CHECK_ERR(line(&o, "action=list-status"), 0);
	CHECK_ERR(o.op, VSF_OP_HOSTLIST);
	CHECK_ERR(line(&o, "action=explode"), -EINVAL);
	CHECK_ERR(line(&o, "protocol=1"), 0);
	CHECK_ERR(o.proto, 1);
	CHECK_ERR(line(&o, "protocol=3"), -EINVAL);
	CHECK_ERR(line(&o, "auth=sha512"), 0);
	CHECK_ERR(o.auth, VSF_HASH_SHA512);
	CHECK_ERR(line(&o, "hash=md5"), -EINVAL);
	CHECK_ERR(line(&o, "debug=2"), 0);
	CHECK_ERR(o.debug, 2);
}

TEST(numbers_are_checked)
{
	struct agent_opts o;

	agent_opts_init(&o);
	CHECK_ERR(line(&o, "timeout=abc"), -EINVAL);
	CHECK_ERR(line(&o, "timeout=-1"), -EINVAL);
	CHECK_ERR(line(&o, "timeout=5x"), -EINVAL);
	CHECK_ERR(line(&o, "timeout=99999999999999999999"), -EINVAL);
	CHECK_ERR(line(&o, "ipport=65536"), -EINVAL);
	CHECK_ERR(line(&o, "ipport=65535"), 0);
	CHECK_ERR(line(&o, "timeout="), -EINVAL);
	CHECK_ERR(o.timeout, 30);	/* unchanged by the failures */
}

TEST(too_long_value_rejected_not_truncated)
{
	struct agent_opts o;
	char buf[400];

	agent_opts_init(&o);
	memset(buf, 'x', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	CHECK_ERR(agent_opts_set(&o, "plug", buf, err, sizeof(err)),
		  -ENAMETOOLONG);
	CHECK_STR(o.domain, "");
}

static int argv_parse(struct agent_opts *o, const char *const *args)
{
	char *argv[32];
	int argc = 0;

	while (args[argc]) {
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	agent_opts_init(o);
	return agent_opts_parse_argv(o, argc, argv, err, sizeof(err));
}

TEST(argv_fence_virt_letters)
{
	static const char *const a[] = { "x", "-d", "-d", "-o", "status",
		"-n", "vm1", "-t", "5", "-D", "/tmp/s", "-k", "/k", "-w", "2",
		NULL };
	struct agent_opts o;

	CHECK_ERR(argv_parse(&o, a), 0);
	CHECK_ERR(o.debug, 2);
	CHECK_ERR(o.op, VSF_OP_STATUS);
	CHECK_STR(o.domain, "vm1");
	CHECK_ERR(o.timeout, 5);
	CHECK_STR(o.device, "/tmp/s");
	CHECK_STR(o.key_file, "/k");
	CHECK_ERR(o.delay, 2);
	CHECK_ERR(agent_opts_finish(&o, err, sizeof(err)), 0);
	CHECK_ERR(o.mode, AGENT_MODE_PORT);
}

TEST(argv_modes_follow_fence_virt_precedence)
{
	static const char *const tcp[] = { "x", "-T", "10.0.0.1", "-D",
		"/dev/x", "-o", "list", NULL };
	static const char *const vs[] = { "x", "-S", "-T", "1.2.3.4", "-o",
		"monitor", NULL };
	static const char *const vs3[] = { "x", "-S", "3", "-o", "list", NULL };
	static const char *const vmc[] = { "x", "-A", "10.0.2.179", "-o",
		"list", NULL };
	struct agent_opts o;

	CHECK_ERR(argv_parse(&o, tcp), 0);
	CHECK_ERR(agent_opts_finish(&o, err, sizeof(err)), 0);
	CHECK_ERR(o.mode, AGENT_MODE_TCP);
	CHECK_ERR(argv_parse(&o, vs), 0);
	CHECK_ERR(agent_opts_finish(&o, err, sizeof(err)), 0);
	CHECK_ERR(o.mode, AGENT_MODE_VSOCK);
	CHECK_ERR(o.vsock_cid, 2);
	CHECK_ERR(argv_parse(&o, vs3), 0);
	CHECK_ERR(o.vsock_cid, 3);
	CHECK_ERR(argv_parse(&o, vmc), 0);
	CHECK_ERR(agent_opts_finish(&o, err, sizeof(err)), 0);
	CHECK_ERR(o.mode, AGENT_MODE_VMCHANNEL);
}

TEST(argv_errors)
{
	static const char *const bad[] = { "x", "-Z", NULL };
	static const char *const missing[] = { "x", "-o", NULL };
	static const char *const stray[] = { "x", "-o", "off", "extra", NULL };
	static const char *const help[] = { "x", "-?", NULL };
	struct agent_opts o;

	CHECK_ERR(argv_parse(&o, bad), -EINVAL);
	CHECK_ERR(argv_parse(&o, missing), -EINVAL);
	CHECK_ERR(argv_parse(&o, stray), -EINVAL);
	CHECK_ERR(argv_parse(&o, help), 0);
	CHECK(o.want_help);
}

TEST(finish_requires_a_target_for_power_ops)
{
	struct agent_opts o;

	agent_opts_init(&o);
	CHECK_ERR(agent_opts_finish(&o, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "plug") != NULL);
	CHECK_ERR(line(&o, "action=list"), 0);
	CHECK_ERR(agent_opts_finish(&o, err, sizeof(err)), 0);
	CHECK_ERR(line(&o, "action=status"), 0);
	CHECK_ERR(line(&o, "plug=0123456789012345678901234567890123456789"
			   "012345678901234567890123"), 0);	/* 64 bytes */
	CHECK_ERR(agent_opts_finish(&o, err, sizeof(err)), 0);	/* v2 ok */
	CHECK_ERR(line(&o, "protocol=1"), 0);
	CHECK_ERR(agent_opts_finish(&o, err, sizeof(err)), -ENAMETOOLONG);
}

int main(void)
{
	return RUN_TESTS();
}
