/* msg_test.c - the CPG message codec: round trips and hostile input. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "vsf_cpg_msg.h"
#include "vsf_wire.h"

static struct vsf_cpg_msg m, d;
static uint8_t buf[VSF_CPG_MSG_MAX + 64];

static void entry(struct vsf_cpg_entry *e, uint32_t owner, const char *name)
{
	memset(e, 0, sizeof(*e));
	e->owner = owner;
	e->state = VSF_CPG_DOM_RUNNING;
	memset(e->uuid, 0xab, sizeof(e->uuid));
	e->uuid[15] = (uint8_t)owner;
	strcpy(e->name, name);
}

static int make_request(const char *target)
{
	memset(&m, 0, sizeof(m));
	m.type = VSF_CPG_REQUEST;
	m.u.req.id = 0x0102030405060708ull;
	m.u.req.timeout_ms = 5000;
	m.u.req.op = VSF_OP_OFF;
	strcpy(m.u.req.target, target);
	return vsf_cpg_msg_encode(&m, buf, sizeof(buf));
}

TEST(request_round_trips_little_endian)
{
	int n = make_request("guest1");

	CHECK_ERR(n, 12 + 16 + 6);
	CHECK_MEM(buf, "VSFC\x01\x03\x00\x00", 8);
	CHECK(buf[8] == 22 && buf[9] == 0);
	CHECK(buf[12] == 0x08 && buf[19] == 0x01);	/* id, LE */
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), 0);
	CHECK(d.type == VSF_CPG_REQUEST && d.u.req.id == m.u.req.id);
	CHECK(d.u.req.timeout_ms == 5000 && d.u.req.op == VSF_OP_OFF);
	CHECK_STR(d.u.req.target, "guest1");
}

TEST(reply_round_trips)
{
	int n;

	memset(&m, 0, sizeof(m));
	m.type = VSF_CPG_REPLY;
	m.u.reply.id = 77;
	m.u.reply.to_node = 3;
	m.u.reply.verdict = VSF_CPG_V_FAILED;
	m.u.reply.err = EIO;
	n = vsf_cpg_msg_encode(&m, buf, sizeof(buf));
	CHECK_ERR(n, 32);
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), 0);
	CHECK(d.u.reply.id == 77 && d.u.reply.to_node == 3);
	CHECK(d.u.reply.verdict == VSF_CPG_V_FAILED && d.u.reply.err == EIO);
}

TEST(sync_round_trips_many_entries)
{
	char name[16];
	int n;

	memset(&m, 0, sizeof(m));
	m.type = VSF_CPG_SYNC;
	m.flags = VSF_CPG_SYNC_FIRST | VSF_CPG_SYNC_LAST;
	for (int i = 0; i < VSF_CPG_SYNC_MAX; i++) {
		snprintf(name, sizeof(name), "vm%d", i);
		entry(&m.u.sync.e[i], (uint32_t)(i % 5 + 1), name);
		m.u.sync.e[i].owner_status = (uint8_t)(i % 3);
	}
	m.u.sync.n = VSF_CPG_SYNC_MAX;
	n = vsf_cpg_msg_encode(&m, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), 0);
	CHECK(d.u.sync.n == VSF_CPG_SYNC_MAX && d.flags == 3);
	CHECK(memcmp(&d.u.sync.e, &m.u.sync.e, sizeof(m.u.sync.e)) == 0);
}

TEST(state_round_trips_and_rejects_hearsay)
{
	int n;

	memset(&m, 0, sizeof(m));
	m.type = VSF_CPG_STATE;
	entry(&m.u.state, 2, "web");
	m.u.state.state = VSF_CPG_DOM_GONE;
	n = vsf_cpg_msg_encode(&m, buf, sizeof(buf));
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), 0);
	CHECK(d.u.state.state == VSF_CPG_DOM_GONE && d.u.state.owner == 2);
	buf[12 + 5] = VSF_CPG_OWNER_LOST;	/* a STATE is first-hand only */
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), -EINVAL);
	m.u.state.owner_status = VSF_CPG_OWNER_LOST;
	CHECK_ERR(vsf_cpg_msg_encode(&m, buf, sizeof(buf)), -EINVAL);
}

TEST(header_errors_each_have_their_code)
{
	int n = make_request("g");

	CHECK_ERR(vsf_cpg_msg_decode(buf, 11, &d), -EPROTO);
	buf[0] = 'X';
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), -EBADMSG);
	buf[0] = 'V';
	buf[4] = 2;
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), -EPROTONOSUPPORT);
	buf[4] = 1;
	buf[8]++;
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), -EMSGSIZE);
	buf[8]--;
	buf[5] = 9;
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), -ENOMSG);
	buf[5] = VSF_CPG_REQUEST;
	buf[6] = 1;	/* flags only on SYNC */
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), -EINVAL);
	buf[6] = 0;
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), 0);
}

TEST(truncated_body_is_eproto_not_overread)
{
	int n = make_request("guest-with-long-name");

	for (int cut = 12; cut < n; cut++) {
		buf[8] = (uint8_t)(cut - 12);	/* keep the length consistent */
		CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)cut, &d), -EPROTO);
	}
}

TEST(trailing_bytes_are_refused)
{
	int n = make_request("g");

	buf[n] = 0;
	buf[8]++;
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n + 1, &d), -ENOTEMPTY);
}

TEST(bad_strings_are_eilseq)
{
	int n = make_request("ab");

	buf[12 + 16] = '\n';
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), -EILSEQ);
	buf[12 + 16] = 0;
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), -EILSEQ);
	n = make_request("x");
	buf[12 + 13] = 0;	/* empty target */
	buf[8] = 16;
	CHECK_ERR(vsf_cpg_msg_decode(buf, 12 + 16, &d), -EILSEQ);
	memset(m.u.req.target, 'a', VSF_CPG_NAME_MAX);
	m.u.req.target[VSF_CPG_NAME_MAX] = '\0';
	CHECK(vsf_cpg_msg_encode(&m, buf, sizeof(buf)) > 0);
	CHECK_ERR(vsf_cpg_name_check("a\x7f"), -EILSEQ);
}

TEST(request_fields_are_checked)
{
	int n = make_request("g");

	buf[12 + 12] = VSF_OP_HOSTLIST;
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), -EINVAL);
	buf[12 + 12] = VSF_OP_OFF;
	memset(buf + 12 + 8, 0, 4);	/* timeout 0 */
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), -EINVAL);
	m.u.req.op = 0;
	CHECK_ERR(vsf_cpg_msg_encode(&m, buf, sizeof(buf)), -EINVAL);
}

TEST(reply_fields_are_checked)
{
	memset(&m, 0, sizeof(m));
	m.type = VSF_CPG_REPLY;
	m.u.reply.id = 1;
	m.u.reply.to_node = 1;
	m.u.reply.verdict = VSF_CPG_V_OFF;
	CHECK_ERR(vsf_cpg_msg_encode(&m, buf, sizeof(buf)), 32);
	buf[12 + 16] = 5;	/* err without FAILED */
	CHECK_ERR(vsf_cpg_msg_decode(buf, 32, &d), -EINVAL);
	buf[12 + 16] = 0;
	buf[12 + 12] = 6;
	CHECK_ERR(vsf_cpg_msg_decode(buf, 32, &d), -EINVAL);
	buf[12 + 12] = VSF_CPG_V_FAILED;	/* FAILED needs an errno */
	CHECK_ERR(vsf_cpg_msg_decode(buf, 32, &d), -EINVAL);
	memset(buf + 12 + 8, 0, 4);
	CHECK_ERR(vsf_cpg_msg_decode(buf, 32, &d), -EINVAL);
}

TEST(sync_count_past_buffer_or_limit)
{
	int n;

	memset(&m, 0, sizeof(m));
	m.type = VSF_CPG_SYNC;
	entry(&m.u.sync.e[0], 1, "a");
	m.u.sync.n = 1;
	n = vsf_cpg_msg_encode(&m, buf, sizeof(buf));
	CHECK_ERR(n, 12 + 4 + 25);
	buf[12] = 2;	/* claims two entries */
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), -EPROTO);
	buf[12] = VSF_CPG_SYNC_MAX + 1;
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), -E2BIG);
	buf[12] = 1;
	buf[6] = 4;	/* unknown SYNC flag */
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), -EINVAL);
	buf[6] = 0;
	buf[12 + 4 + 4] = VSF_CPG_DOM_GONE;	/* GONE inside a map */
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), -EINVAL);
	buf[12 + 4 + 4] = VSF_CPG_DOM_OFF;
	memset(buf + 16, 0, 4);	/* owner 0 */
	CHECK_ERR(vsf_cpg_msg_decode(buf, (size_t)n, &d), -EINVAL);
}

TEST(encode_refuses_small_buffers)
{
	CHECK_ERR(make_request("g") > 0, 1);
	CHECK_ERR(vsf_cpg_msg_encode(&m, buf, 12 + 16), -ENOBUFS);
}

TEST(uuid_parse_and_format)
{
	uint8_t u[16];
	char s[37];

	CHECK_ERR(vsf_cpg_uuid_parse("0A1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9", u), 0);
	vsf_cpg_uuid_format(u, s);
	CHECK_STR(s, "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9");
	CHECK_ERR(vsf_cpg_uuid_parse("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f", u), -EINVAL);
	CHECK_ERR(vsf_cpg_uuid_parse("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8fg", u), -EINVAL);
	CHECK_ERR(vsf_cpg_uuid_parse("0a1b2c3d04e5f-6071-8293-a4b5c6d7e8f9", u), -EINVAL);
	CHECK_ERR(vsf_cpg_uuid_parse("guest1", u), -EINVAL);
}

int main(void)
{
	return RUN_TESTS();
}
