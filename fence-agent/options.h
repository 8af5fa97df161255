/*
 * options.h - fence_vserial's settings, from stdin key=value lines or argv.
 *
 * Pacemaker runs a fence agent with no arguments and writes `key=value`
 * lines to its stdin; a human runs it with fence_virt's option letters.
 * Both paths fill the same struct agent_opts through agent_opts_set(), so a
 * setting means the same thing whichever way it arrives.
 *
 * All strings live inside the struct (fixed arrays): nothing to free, and a
 * value too long for its field is rejected with -ENAMETOOLONG rather than
 * truncated.  Numbers go through a checked parser: junk, signs and values
 * out of range are -EINVAL, never silently 0 as atoi() would make them.
 *
 * Functions that can fail write a one-line reason into the caller's
 * err[errlen] (quoting the user's value) and return a negative errno; they
 * never print.
 */
#ifndef AGENT_OPTIONS_H
#define AGENT_OPTIONS_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

/* How the agent reaches the host. */
enum agent_mode {
	AGENT_MODE_PORT = 0,	/* virtio-serial port, tty or unix socket */
	AGENT_MODE_VMCHANNEL,	/* serial framing over TCP (fence_virt -A) */
	AGENT_MODE_TCP,		/* fence_virt -T: signed request + challenges */
	AGENT_MODE_VSOCK,	/* fence_virt -S: same exchange over AF_VSOCK */
};

/* Which serial protocol to speak on a port. */
enum agent_proto {
	AGENT_PROTO_AUTO = 0,	/* v2, falling back to v1 for stock daemons */
	AGENT_PROTO_V1 = 1,
	AGENT_PROTO_V2 = 2,
};

/*
 * The default port name.  Reverse-DNS like every virtio-serial name
 * (org.qemu.guest_agent.0); the host's libvirt XML must use the same
 * <target type='virtio' name='...'/>.
 */
#define AGENT_DEFAULT_PORT_NAME "org.clusterlabs.fence.0"
#define AGENT_DEFAULT_KEY_FILE "/etc/cluster/fence_xvm.key"
#define AGENT_DEFAULT_TIMEOUT 30
#define AGENT_DEFAULT_IPPORT 1229
#define AGENT_DEFAULT_CID 2
#define AGENT_MAX_TIMEOUT 86400	/* a day; anything more is a typo */
#define AGENT_NAME_MAX 256

struct agent_opts {
	int op;			/* enum vsf_op; default VSF_OP_REBOOT */
	int debug;		/* 0 quiet; each -d adds one */
	char domain[AGENT_NAME_MAX];	/* plug / port / domain */
	char device[PATH_MAX];	/* serial_device: explicit path, or "" */
	char port_name[AGENT_NAME_MAX];	/* virtio-serial port name */
	char serial_params[64];
	char channel_address[AGENT_NAME_MAX];	/* set => vmchannel mode */
	char ipaddr[AGENT_NAME_MAX];
	char key_file[PATH_MAX];
	unsigned int ipport;
	unsigned int vsock_cid;
	unsigned int timeout;	/* seconds; bounds the whole call */
	unsigned int delay;	/* seconds before on/off/reboot */
	int mode;		/* enum agent_mode, set by agent_opts_finish() */
	int vmchannel_set;	/* channel_address / -A given */
	int tcp_set;		/* ipaddr / -T given */
	int vsock_set;		/* vsock / -S given */
	int proto;		/* enum agent_proto */
	int auth;		/* enum vsf_hash_type, tcp/vsock challenges */
	int hash;		/* enum vsf_hash_type, tcp/vsock request */
	int want_help;
	int want_version;
};

/* Defaults as documented in fence_vserial(8). */
void agent_opts_init(struct agent_opts *o);

/*
 * Apply one setting by its stdin key (the names in the metadata).
 *   0        applied
 *   1        a key accepted and deliberately ignored (agent, nodename, ...)
 *  -ENOENT   unknown key (the caller reports it and carries on)
 *  -EINVAL   bad value; -ENAMETOOLONG value longer than its field
 */
int agent_opts_set(struct agent_opts *o, const char *key, const char *value,
		   char *err, size_t errlen);

/*
 * One stdin line: "key=value", blank, or a "#" comment.  Surrounding
 * blanks and a trailing CR/LF are trimmed.  Returns like agent_opts_set();
 * blank and comment lines return 1.  A line without '=' is -EINVAL.
 * The line is modified in place.
 */
int agent_opts_parse_line(struct agent_opts *o, char *line, char *err,
			  size_t errlen);

/*
 * Command line with fence_virt's letters (-d -D -P -A -p -n -H -o -t -T
 * -S[cid] -C -c -k -w -h -? -V) plus ours (-N port name, -R protocol).
 * Resets getopt state itself, so it can be called more than once.
 */
int agent_opts_parse_argv(struct agent_opts *o, int argc, char **argv,
			  char *err, size_t errlen);

/*
 * After parsing: choose the mode with fence_virt's precedence (-S, -T, an
 * explicit device, -A, else the named port) and check across fields (a
 * target for the ops that need one, name length for v1).
 */
int agent_opts_finish(struct agent_opts *o, char *err, size_t errlen);

/* Checked unsigned parse (vsf_num.h): decimal only, no sign, <= max;
 * -EINVAL for junk, -ERANGE above max. */
int agent_parse_uint(const char *s, unsigned int max, unsigned int *out);

#endif /* AGENT_OPTIONS_H */
