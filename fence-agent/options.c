/* options.c - settings from stdin and argv; see options.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "options.h"
#include "vsf_hash.h"
#include "vsf_num.h"
#include "vsf_wire.h"

void agent_opts_init(struct agent_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->op = VSF_OP_REBOOT;
	snprintf(o->port_name, sizeof(o->port_name), "%s",
		 AGENT_DEFAULT_PORT_NAME);
	snprintf(o->serial_params, sizeof(o->serial_params), "115200,8N1");
	snprintf(o->ipaddr, sizeof(o->ipaddr), "127.0.0.1");
	snprintf(o->key_file, sizeof(o->key_file), "%s",
		 AGENT_DEFAULT_KEY_FILE);
	o->ipport = AGENT_DEFAULT_IPPORT;
	o->vsock_cid = AGENT_DEFAULT_CID;
	o->timeout = AGENT_DEFAULT_TIMEOUT;
	o->mode = AGENT_MODE_PORT;
	o->proto = AGENT_PROTO_AUTO;
	o->auth = VSF_HASH_SHA256;
	o->hash = VSF_HASH_SHA256;
}

int agent_parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	unsigned long v;
	int r = vsf_parse_ulong(s, max, &v);

	if (r < 0)
		return r;
	*out = (unsigned int)v;
	return 0;
}

static int set_str(char *dst, size_t cap, const char *key, const char *value,
		   char *err, size_t errlen)
{
	if (strlen(value) >= cap) {
		snprintf(err, errlen, "%s: value is longer than %zu bytes", key,
			 cap - 1);
		return -ENAMETOOLONG;
	}
	memcpy(dst, value, strlen(value) + 1);
	return 0;
}

static int set_uint(unsigned int *dst, unsigned int max, const char *key,
		    const char *value, char *err, size_t errlen)
{
	if (agent_parse_uint(value, max, dst) < 0) {
		snprintf(err, errlen,
			 "%s: '%s' is not a whole number from 0 to %u", key,
			 value, max);
		return -EINVAL;
	}
	return 0;
}

static int set_hash(int *dst, const char *key, const char *value, char *err,
		    size_t errlen)
{
	int h = vsf_hash_from_name(value);

	if (h < 0) {
		snprintf(err, errlen,
			 "%s: '%s' is not one of none, sha1, sha256, sha512",
			 key, value);
		return -EINVAL;
	}
	*dst = h;
	return 0;
}

static int set_action(struct agent_opts *o, const char *value, char *err,
		      size_t errlen)
{
	int op = vsf_op_from_name(value);

	if (op < 0) {
		snprintf(err, errlen, "action: unsupported operation '%s'",
			 value);
		return -EINVAL;
	}
	o->op = op;
	return 0;
}

static int set_proto(struct agent_opts *o, const char *value, char *err,
		     size_t errlen)
{
	if (strcasecmp(value, "auto") == 0)
		o->proto = AGENT_PROTO_AUTO;
	else if (strcmp(value, "1") == 0 || strcasecmp(value, "v1") == 0)
		o->proto = AGENT_PROTO_V1;
	else if (strcmp(value, "2") == 0 || strcasecmp(value, "v2") == 0)
		o->proto = AGENT_PROTO_V2;
	else {
		snprintf(err, errlen, "protocol: '%s' is not auto, 1 or 2",
			 value);
		return -EINVAL;
	}
	return 0;
}

/* stdin "debug=N" sets the level; "debug=" alone (as fence_virt) means 1. */
static int set_debug(struct agent_opts *o, const char *value, char *err,
		     size_t errlen)
{
	unsigned int v;

	if (!*value || strcasecmp(value, "on") == 0 ||
	    strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0) {
		o->debug = 1;
		return 0;
	}
	if (strcasecmp(value, "off") == 0 || strcasecmp(value, "no") == 0 ||
	    strcasecmp(value, "false") == 0) {
		o->debug = 0;
		return 0;
	}
	if (set_uint(&v, 9, "debug", value, err, errlen) < 0)
		return -EINVAL;
	o->debug = (int)v;
	return 0;
}

/* Keys fence_virt accepts and ignores; pacemaker passes some of them. */
static const char *const ignored_keys[] = { "agent", "self", "nodename" };

static int set_mode_string(struct agent_opts *o, const char *key,
			   const char *value, char *err, size_t errlen)
{
	if (strcmp(key, "serial_device") == 0)
		return set_str(o->device, sizeof(o->device), key, value, err,
			       errlen);
	if (strcmp(key, "channel_address") == 0) {
		o->vmchannel_set = 1;
		return set_str(o->channel_address, sizeof(o->channel_address),
			       key, value, err, errlen);
	}
	if (strcmp(key, "ipaddr") == 0) {
		o->tcp_set = 1;
		return set_str(o->ipaddr, sizeof(o->ipaddr), key, value, err,
			       errlen);
	}
	if (strcmp(key, "vsock") == 0) {
		o->vsock_set = 1;
		return set_uint(&o->vsock_cid, 0xffffffffu, key, value, err,
				errlen);
	}
	return -ENOENT;
}

int agent_opts_set(struct agent_opts *o, const char *key, const char *value,
		   char *err, size_t errlen)
{
	int r;

	if (strcmp(key, "action") == 0 || strcmp(key, "option") == 0)
		return set_action(o, value, err, errlen);
	if (strcmp(key, "plug") == 0 || strcmp(key, "port") == 0 ||
	    strcmp(key, "domain") == 0)
		return set_str(o->domain, sizeof(o->domain), key, value, err,
			       errlen);
	if (strcmp(key, "debug") == 0)
		return set_debug(o, value, err, errlen);
	if (strcmp(key, "timeout") == 0)
		return set_uint(&o->timeout, AGENT_MAX_TIMEOUT, key, value,
				err, errlen);
	if (strcmp(key, "delay") == 0)
		return set_uint(&o->delay, AGENT_MAX_TIMEOUT, key, value, err,
				errlen);
	if (strcmp(key, "ipport") == 0)
		return set_uint(&o->ipport, 65535, key, value, err, errlen);
	if (strcmp(key, "auth") == 0)
		return set_hash(&o->auth, key, value, err, errlen);
	if (strcmp(key, "hash") == 0)
		return set_hash(&o->hash, key, value, err, errlen);
	if (strcmp(key, "key_file") == 0)
		return set_str(o->key_file, sizeof(o->key_file), key, value,
			       err, errlen);
	if (strcmp(key, "serial_params") == 0)
		return set_str(o->serial_params, sizeof(o->serial_params), key,
			       value, err, errlen);
	if (strcmp(key, "port_name") == 0)
		return set_str(o->port_name, sizeof(o->port_name), key, value,
			       err, errlen);
	if (strcmp(key, "protocol") == 0)
		return set_proto(o, value, err, errlen);
	r = set_mode_string(o, key, value, err, errlen);
	if (r != -ENOENT)
		return r;
	for (size_t i = 0; i < sizeof(ignored_keys) / sizeof(*ignored_keys);
	     i++)
		if (strcmp(key, ignored_keys[i]) == 0)
			return 1;
	snprintf(err, errlen, "unknown option '%s'", key);
	return -ENOENT;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

int agent_opts_parse_line(struct agent_opts *o, char *line, char *err,
			  size_t errlen)
{
	char *key = trim(line), *eq, *value;

	if (!*key || *key == '#')
		return 1;
	eq = strchr(key, '=');
	if (!eq) {
		snprintf(err, errlen, "line '%s' is not key=value", key);
		return -EINVAL;
	}
	*eq = '\0';
	value = trim(eq + 1);
	key = trim(key);
	return agent_opts_set(o, key, value, err, errlen);
}

/* Map an option letter to its stdin key, so both paths share one setter. */
static const char *key_for_letter(int c)
{
	switch (c) {
	case 'D': return "serial_device";
	case 'P': return "serial_params";
	case 'A': return "channel_address";
	case 'p': return "ipport";
	case 'n': return "plug";
	case 'H': return "port";
	case 'o': return "action";
	case 't': return "timeout";
	case 'T': return "ipaddr";
	case 'C': return "auth";
	case 'c': return "hash";
	case 'k': return "key_file";
	case 'w': return "delay";
	case 'N': return "port_name";
	case 'R': return "protocol";
	default: return NULL;
	}
}

static const struct option long_opts[] = {
	{ "port-name", required_argument, NULL, 'N' },
	{ "protocol", required_argument, NULL, 'R' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int apply_letter(struct agent_opts *o, int c, const char *arg,
			char *err, size_t errlen)
{
	const char *key;
	int r;

	switch (c) {
	case 'd':
		o->debug++;
		return 0;
	case 'h':
		o->want_help = 1;
		return 0;
	case 'V':
		o->want_version = 1;
		return 0;
	case 'S':
		/* -S alone = the host (CID 2); -S3 or -S 3 names a CID. */
		o->vsock_set = 1;
		return arg ? agent_opts_set(o, "vsock", arg, err, errlen) : 0;
	}
	key = key_for_letter(c);
	if (!key) {
		snprintf(err, errlen, "unknown or incomplete option");
		return -EINVAL;
	}
	r = agent_opts_set(o, key, arg, err, errlen);
	return r > 0 ? 0 : r;
}

int agent_opts_parse_argv(struct agent_opts *o, int argc, char **argv,
			  char *err, size_t errlen)
{
	int c, r;

	optind = 0;	/* glibc: full reinitialisation */
	opterr = 0;
	for (;;) {
		c = getopt_long(argc, argv,
				"+dD:P:A:p:n:H:o:t:T:S::C:c:k:w:N:R:hV",
				long_opts, NULL);
		if (c == -1)
			break;
		/* -? is help, as in fence_virt: not in the option string, so
		 * getopt reports it as unknown with optopt '?'. */
		if (c == '?' && optopt != '?') {
			if (optopt)
				snprintf(err, errlen, "unknown option or "
					 "missing argument: -%c", optopt);
			else
				snprintf(err, errlen, "unknown option '%s'",
					 argv[optind - 1]);
			return -EINVAL;
		}
		if (c == '?')
			c = 'h';
		/* -S 3: getopt gives optional arguments only when attached. */
		if (c == 'S' && !optarg && optind < argc &&
		    isdigit((unsigned char)argv[optind][0]))
			optarg = argv[optind++];
		r = apply_letter(o, c, optarg, err, errlen);
		if (r < 0)
			return r;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* fence_virt's precedence: -S, then -T, then a device, then -A. */
static int pick_mode(const struct agent_opts *o)
{
	if (o->vsock_set)
		return AGENT_MODE_VSOCK;
	if (o->tcp_set)
		return AGENT_MODE_TCP;
	if (!o->device[0] && o->vmchannel_set)
		return AGENT_MODE_VMCHANNEL;
	return AGENT_MODE_PORT;
}

int agent_opts_finish(struct agent_opts *o, char *err, size_t errlen)
{
	o->mode = pick_mode(o);
	if (vsf_op_needs_domain(o->op) && !o->domain[0]) {
		snprintf(err, errlen, "no domain specified: set plug= (or -n)");
		return -EINVAL;
	}
	if (o->domain[0] && strlen(o->domain) >= VSF_DOMAIN_LEN &&
	    (o->mode != AGENT_MODE_PORT || o->proto == AGENT_PROTO_V1)) {
		snprintf(err, errlen, "domain '%s' is longer than %d bytes, "
			 "the limit of the v1 protocol", o->domain,
			 VSF_DOMAIN_LEN - 1);
		return -ENAMETOOLONG;
	}
	if (o->mode == AGENT_MODE_VSOCK && o->vsock_cid < 2) {
		snprintf(err, errlen, "vsock: CID %u is reserved; use 2 (the "
			 "host) or a guest CID", o->vsock_cid);
		return -EINVAL;
	}
	return 0;
}
