/* result.c - outcome to exit code and message; see result.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "result.h"
#include "vsf_v2.h"
#include "vsf_wire.h"

static int exit_for_v1(int code)
{
	switch (code) {
	case VSF_RESULT_SUCCESS:
	case VSF_RESULT_HOSTLIST:	/* a complete list */
		return AGENT_EXIT_OK;
	case VSF_RESULT_OFF:
		return AGENT_EXIT_OFF;
	case VSF_RESULT_DENIED:
		return AGENT_EXIT_DENIED;
	default:
		return AGENT_EXIT_FAIL;
	}
}

static int exit_for_v2(int code)
{
	switch (code) {
	case VSF_V2_RESULT_OK:
		return AGENT_EXIT_OK;
	case VSF_V2_RESULT_OFF:
		return AGENT_EXIT_OFF;
	case VSF_V2_RESULT_DENIED:
		return AGENT_EXIT_DENIED;
	case VSF_V2_RESULT_NOT_FOUND:
		return AGENT_EXIT_NOT_FOUND;
	case VSF_V2_RESULT_BAD_AUTH:
		return AGENT_EXIT_AUTH;
	default:
		return AGENT_EXIT_FAIL;
	}
}

int agent_exit_code(int rc, const struct agent_call *c)
{
	switch (rc) {
	case 0:
		return c->version == 2 ? exit_for_v2(c->code) :
					 exit_for_v1(c->code);
	case -EREMOTEIO:	/* v2 ERROR frame: the host's own words */
		return exit_for_v2(c->code);
	case -EBADMSG:
	case -ENOKEY:
	case -EKEYREJECTED:
	case -EPERM:
	case -EOWNERDEAD:
	case -ECONNRESET:	/* tcp: host hung up on our signature */
		return AGENT_EXIT_AUTH;
	case -ETIMEDOUT:
	case -ECONNREFUSED:
	case -ENOTCONN:
	case -EBUSY:
	case -ENOENT:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
	case -EPROTONOSUPPORT:
		return AGENT_EXIT_NO_ANSWER;
	case -EPROTO:
	case -ENAMETOOLONG:	/* a long name reached a v1 host */
		return AGENT_EXIT_FAIL;
	default:
		return AGENT_EXIT_INTERNAL;
	}
}

static const char *v2_text(int code)
{
	switch (code) {
	case VSF_V2_RESULT_NOT_FOUND:
		return "the host knows no such domain";
	case VSF_V2_RESULT_DENIED:
		return "permission denied by the host's groups";
	case VSF_V2_RESULT_BAD_AUTH:
		return "the host rejected our key: check key_file on both sides";
	case VSF_V2_RESULT_TIMED_OUT:
		return "the host's backend timed out";
	case VSF_V2_RESULT_IN_PROGRESS:
		return "the host was still working on it at our timeout";
	case VSF_V2_RESULT_UNSUPPORTED:
		return "the host does not support this operation";
	case VSF_V2_RESULT_REPLAY:
		return "the host rejected the request as a replay";
	case VSF_V2_RESULT_BAD_FRAME:
		return "the host could not parse our request";
	default:
		return "operation failed";
	}
}

const char *agent_outcome_text(int rc, const struct agent_call *c,
			       char *buf, size_t len)
{
	switch (rc) {
	case 0:
		if (c->version == 2 && c->code != VSF_V2_RESULT_OK &&
		    c->code != VSF_V2_RESULT_OFF)
			return v2_text(c->code);
		if (c->version == 1 && c->code == VSF_RESULT_DENIED)
			return "permission denied by the host's groups";
		if (c->version == 1 && c->code != 0 && c->code != 2 &&
		    c->code != VSF_RESULT_HOSTLIST)
			return "operation failed (a v1 host does not say why; "
			       "is the domain name right?)";
		return "ok";
	case -EREMOTEIO:
		snprintf(buf, len, "host sent error: %s (unauthenticated)",
			 v2_text(c->code));
		return buf;
	case -EBADMSG:
		return "authentication failed: the host's answer does not "
		       "match our key (different key_file on host and guest?)";
	case -ECONNRESET:
		return "the host closed the connection during the handshake: "
		       "wrong key, or auth/hash settings differ from the host's";
	case -ENOKEY:
		return "protocol 2 needs a key: set key_file";
	case -ETIMEDOUT:
		return "timed out waiting for the host";
	case -ENOTCONN:
		return "the host side of the port is not connected (is the "
		       "fence daemon running on the host?)";
	case -EPROTONOSUPPORT:
		return "the host speaks only protocol v1; use protocol=auto "
		       "or protocol=1";
	case -EPROTO:
		return "the host broke the protocol";
	case -ENAMETOOLONG:
		return "the domain name is longer than 63 bytes, which "
		       "protocol v1 (a stock host) cannot carry";
	default:
		snprintf(buf, len, "%s", strerror(-rc));
		return buf;
	}
}
