/* Unit tests for vsf_wire: layouts, round trips and hostile input. */
#include "config.h"

#include <errno.h>

#include "check.h"
#include "vsf_wire.h"

/* The status request for "guest2" captured from stock fence_virt. */
static const uint8_t captured_status_guest2[VSF_SERIAL_REQ_SIZE] = {
	0x61, 0x62, 0x62, 0x61, 0x04, 0x00, 'g', 'u', 'e', 's', 't', '2',
	[70] = 0x70, [71] = 0x41, [72] = 0x0b, [73] = 0x00,
};

TEST(serial_req_decodes_stock_capture)
{
	struct vsf_serial_req req;

	CHECK_ERR(vsf_serial_req_decode(captured_status_guest2,
					sizeof(captured_status_guest2), &req), 0);
	CHECK_ERR(req.op, VSF_OP_STATUS);
	CHECK_STR(req.domain, "guest2");
	CHECK_ERR(req.seqno, 737648);
}

TEST(serial_req_encode_matches_stock_capture)
{
	struct vsf_serial_req req = { .op = VSF_OP_STATUS, .seqno = 737648 };
	uint8_t out[VSF_SERIAL_REQ_SIZE];

	CHECK_ERR(vsf_domain_set(req.domain, "guest2"), 0);
	CHECK_ERR(vsf_serial_req_encode(&req, out), 0);
	CHECK_MEM(out, captured_status_guest2, sizeof(out));
}

TEST(serial_req_rejects_each_kind_of_bad_input)
{
	uint8_t buf[VSF_SERIAL_REQ_SIZE + 1];
	struct vsf_serial_req req;

	memcpy(buf, captured_status_guest2, VSF_SERIAL_REQ_SIZE);
	CHECK_ERR(vsf_serial_req_decode(buf, 73, &req), -ENODATA);
	CHECK_ERR(vsf_serial_req_decode(buf, 75, &req), -EMSGSIZE);
	buf[0] = 'x';
	CHECK_ERR(vsf_serial_req_decode(buf, 74, &req), -EPROTO);
	buf[0] = 'a';
	buf[4] = VSF_OP_METADATA;
	CHECK_ERR(vsf_serial_req_decode(buf, 74, &req), -EBADRQC);
	buf[4] = VSF_OP_OFF;
	memset(buf + 6, 'A', VSF_DOMAIN_LEN);
	CHECK_ERR(vsf_serial_req_decode(buf, 74, &req), -ENAMETOOLONG);
}

TEST(serial_resp_round_trip_and_magic)
{
	uint8_t out[VSF_SERIAL_RESP_SIZE], res = 0xee;

	vsf_serial_resp_encode(VSF_RESULT_OFF, out);
	CHECK_MEM(out, "abba\x02", 5);
	CHECK_ERR(vsf_serial_resp_decode(out, 5, &res), 0);
	CHECK_ERR(res, VSF_RESULT_OFF);
	out[1] = 0;
	CHECK_ERR(vsf_serial_resp_decode(out, 5, &res), -EPROTO);
	CHECK_ERR(vsf_serial_resp_decode(out, 4, &res), -ENODATA);
}

TEST(net_req_layout_offsets)
{
	struct vsf_net_req req = {
		.op = VSF_OP_REBOOT, .hashtype = VSF_HASH_SHA256,
		.addrlen = 4, .flags = VSF_REQ_FLAG_UUID, .port = 1229,
		.seqno = 0x01020304, .family = 2,
	};
	uint8_t out[VSF_NET_REQ_SIZE];

	CHECK_ERR(vsf_domain_set(req.domain, "vm1"), 0);
	req.address[0] = 127;
	req.random[5] = 0x66;
	req.hash[63] = 0x77;
	CHECK_ERR(vsf_net_req_encode(&req, out), 0);
	CHECK_ERR(out[0], 2);
	CHECK_ERR(out[1], 2);
	CHECK_ERR(out[2], 4);
	CHECK_ERR(out[3], 1);
	CHECK_MEM(out + 4, "vm1\0", 4);
	CHECK_ERR(out[68], 127);
	CHECK_ERR(out[96], 1229 & 0xff);
	CHECK_ERR(out[97], 1229 >> 8);
	CHECK_ERR(out[103], 0x66);
	CHECK_ERR(out[104], 0x04);
	CHECK_ERR(out[107], 0x01);
	CHECK_ERR(out[108], 2);
	CHECK_ERR(out[175], 0x77);
}

TEST(net_req_round_trip)
{
	struct vsf_net_req a = { .op = VSF_OP_ON, .hashtype = 3, .seqno = 9 };
	struct vsf_net_req b;
	uint8_t out[VSF_NET_REQ_SIZE];

	CHECK_ERR(vsf_domain_set(a.domain, "a-domain"), 0);
	CHECK_ERR(vsf_net_req_encode(&a, out), 0);
	CHECK_ERR(vsf_net_req_decode(out, sizeof(out), &b), 0);
	CHECK_ERR(b.op, VSF_OP_ON);
	CHECK_ERR(b.hashtype, 3);
	CHECK_ERR(b.seqno, 9);
	CHECK_STR(b.domain, "a-domain");
}

TEST(net_req_rejects_each_kind_of_bad_input)
{
	struct vsf_net_req a = { .op = VSF_OP_OFF }, b;
	uint8_t out[VSF_NET_REQ_SIZE + 1];

	CHECK_ERR(vsf_net_req_encode(&a, out), 0);
	CHECK_ERR(vsf_net_req_decode(out, 175, &b), -ENODATA);
	CHECK_ERR(vsf_net_req_decode(out, 177, &b), -EMSGSIZE);
	out[1] = 4;
	CHECK_ERR(vsf_net_req_decode(out, 176, &b), -EPROTONOSUPPORT);
	out[1] = 0;
	out[0] = 7;
	CHECK_ERR(vsf_net_req_decode(out, 176, &b), -EBADRQC);
	out[0] = 1;
	out[2] = 29;
	CHECK_ERR(vsf_net_req_decode(out, 176, &b), -EINVAL);
	out[2] = 0;
	memset(out + 4, 'z', VSF_DOMAIN_LEN);
	CHECK_ERR(vsf_net_req_decode(out, 176, &b), -ENAMETOOLONG);
}

TEST(domain_set_refuses_64_bytes)
{
	char d[VSF_DOMAIN_LEN];
	char name[65];

	memset(name, 'n', 64);
	name[64] = 0;
	CHECK_ERR(vsf_domain_set(d, name), -ENAMETOOLONG);
	name[63] = 0;
	CHECK_ERR(vsf_domain_set(d, name), 0);
}

TEST(host_record_ignores_stock_garbage_bytes)
{
	uint8_t buf[VSF_HOST_RECORD_SIZE] = { 0 };
	struct vsf_host_record rec;

	memcpy(buf, "guest1", 6);
	memcpy(buf + 64, "6695eb01-0000-4000-8000-000000000001", 36);
	buf[128] = 1;
	buf[127] = 0xc9;	/* seen in a capture of the stock daemon */
	buf[129] = 0x7d;
	CHECK_ERR(vsf_host_record_decode(buf, sizeof(buf), &rec), 0);
	CHECK_STR(rec.name, "guest1");
	CHECK_STR(rec.uuid, "6695eb01-0000-4000-8000-000000000001");
	CHECK_ERR(rec.state, 1);
}

TEST(host_record_terminator_with_garbage_is_terminator)
{
	uint8_t buf[VSF_HOST_RECORD_SIZE] = { 0 };
	struct vsf_host_record rec;

	buf[63] = 0x41;
	buf[127] = 0xc9;
	buf[129] = 0x7d;
	CHECK_ERR(vsf_host_record_decode(buf, sizeof(buf), &rec), 1);
	buf[64] = 'u';	/* a uuid without a name is not a record */
	CHECK_ERR(vsf_host_record_decode(buf, sizeof(buf), &rec), -EINVAL);
}

TEST(host_record_full_length_names_are_cut_at_63)
{
	uint8_t buf[VSF_HOST_RECORD_SIZE];
	struct vsf_host_record rec;

	memset(buf, 'x', sizeof(buf));
	CHECK_ERR(vsf_host_record_decode(buf, sizeof(buf), &rec), 0);
	CHECK_ERR(strlen(rec.name), 63);
	CHECK_ERR(strlen(rec.uuid), 63);
}

TEST(op_names_match_fence_virt_actions)
{
	CHECK_ERR(vsf_op_from_name("monitor"), VSF_OP_DEVSTATUS);
	CHECK_ERR(vsf_op_from_name("list-status"), VSF_OP_HOSTLIST);
	CHECK_ERR(vsf_op_from_name("REBOOT"), VSF_OP_REBOOT);
	CHECK_ERR(vsf_op_from_name("bogus"), -EBADRQC);
	CHECK_STR(vsf_op_name(VSF_OP_OFF), "off");
	CHECK(vsf_op_name(42) == NULL);
}

int main(void)
{
	return RUN_TESTS();
}
