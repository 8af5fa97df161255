/*
 * fuzz_agent_opts - the guest agent's stdin option parser
 * (fence-agent/options.c): the key=value lines pacemaker, or whatever
 * runs the agent, writes to its stdin.  Input: the stdin text.
 *
 * Invariants: every line is applied, ignored or refused with an error
 * message that fits its buffer; afterwards every string field is still
 * NUL-terminated, every number within its documented range, and a
 * successful agent_opts_finish() picked a valid mode.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "options.h"
#include "vsf_wire.h"

#define TERMINATED(field) FUZZ_ASSERT(memchr((field), '\0', sizeof(field)))

static void check_opts(const struct agent_opts *o)
{
	TERMINATED(o->domain);
	TERMINATED(o->device);
	TERMINATED(o->port_name);
	TERMINATED(o->serial_params);
	TERMINATED(o->channel_address);
	TERMINATED(o->ipaddr);
	TERMINATED(o->key_file);
	FUZZ_ASSERT(o->op >= 0 && o->op <= VSF_OP_VALIDATEALL);
	FUZZ_ASSERT(o->timeout <= AGENT_MAX_TIMEOUT);
	FUZZ_ASSERT(o->ipport <= 65535);
	FUZZ_ASSERT(o->proto >= AGENT_PROTO_AUTO && o->proto <= AGENT_PROTO_V2);
	FUZZ_ASSERT(o->auth >= VSF_HASH_NONE && o->auth <= VSF_HASH_SHA512);
	FUZZ_ASSERT(o->hash >= VSF_HASH_NONE && o->hash <= VSF_HASH_SHA512);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[16384];
	struct agent_opts o;
	char err[256], *line, *nl;
	int r;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	agent_opts_init(&o);
	for (line = text; line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		err[0] = '\0';
		r = agent_opts_parse_line(&o, line, err, sizeof(err));
		FUZZ_ASSERT(memchr(err, '\0', sizeof(err)));
		FUZZ_ASSERT(r <= 1);
		check_opts(&o);
	}
	err[0] = '\0';
	r = agent_opts_finish(&o, err, sizeof(err));
	FUZZ_ASSERT(memchr(err, '\0', sizeof(err)));
	check_opts(&o);
	if (r == 0)
		FUZZ_ASSERT(o.mode >= AGENT_MODE_PORT &&
			    o.mode <= AGENT_MODE_VSOCK);
	return 0;
}
