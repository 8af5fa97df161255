/* Unit tests for the stream reader. */
#include "config.h"

#include <errno.h>

#include "check.h"
#include "vsf_frame.h"

static size_t make_req(uint8_t *out, int op, const char *dom, uint32_t seq)
{
	struct vsf_serial_req req = { .op = (uint8_t)op, .seqno = seq };

	vsf_domain_set(req.domain, dom);
	vsf_serial_req_encode(&req, out);
	return VSF_SERIAL_REQ_SIZE;
}

TEST(frame_resyncs_after_garbage)
{
	struct vsf_frame_reader r;
	struct vsf_serial_req req;
	uint8_t buf[VSF_SERIAL_REQ_SIZE];

	vsf_frame_reader_init(&r);
	vsf_frame_reader_feed(&r, "garbage\0ab", 10);
	make_req(buf, VSF_OP_OFF, "vm7", 77);
	vsf_frame_reader_feed(&r, buf, sizeof(buf));
	CHECK_ERR(vsf_frame_next_serial_req(&r, &req), 1);
	CHECK_STR(req.domain, "vm7");
	CHECK_ERR(req.seqno, 77);
	CHECK_ERR(r.skipped, 10);
	CHECK_ERR(r.len, 0);
}

TEST(frame_waits_for_split_request)
{
	struct vsf_frame_reader r;
	struct vsf_serial_req req;
	uint8_t buf[VSF_SERIAL_REQ_SIZE];

	vsf_frame_reader_init(&r);
	make_req(buf, VSF_OP_STATUS, "split", 5);
	for (size_t i = 0; i < sizeof(buf) - 1; i++) {
		vsf_frame_reader_feed(&r, buf + i, 1);
		CHECK_ERR(vsf_frame_next_serial_req(&r, &req), 0);
	}
	vsf_frame_reader_feed(&r, buf + sizeof(buf) - 1, 1);
	CHECK_ERR(vsf_frame_next_serial_req(&r, &req), 1);
	CHECK_ERR(r.skipped, 0);
}

TEST(frame_bad_request_loses_only_its_magic)
{
	struct vsf_frame_reader r;
	struct vsf_serial_req req;
	uint8_t bad[VSF_SERIAL_REQ_SIZE], good[VSF_SERIAL_REQ_SIZE];

	vsf_frame_reader_init(&r);
	make_req(bad, VSF_OP_OFF, "x", 1);
	bad[4] = 0x99;
	make_req(good, VSF_OP_ON, "y", 2);
	/* The good frame starts inside what the bad one would cover. */
	vsf_frame_reader_feed(&r, bad, 10);
	vsf_frame_reader_feed(&r, good, sizeof(good));
	CHECK_ERR(vsf_frame_next_serial_req(&r, &req), -EBADRQC);
	CHECK_ERR(vsf_frame_next_serial_req(&r, &req), 1);
	CHECK_STR(req.domain, "y");
}

TEST(frame_stale_response_then_ours)
{
	struct vsf_frame_reader r;
	uint8_t resp[5], result;

	vsf_frame_reader_init(&r);
	vsf_frame_reader_feed(&r, "\x01\x02", 2);
	vsf_serial_resp_encode(VSF_RESULT_OFF, resp);
	vsf_frame_reader_feed(&r, resp, 5);
	CHECK_ERR(vsf_frame_next_serial_resp(&r, &result), 1);
	CHECK_ERR(result, VSF_RESULT_OFF);
	CHECK_ERR(vsf_frame_next_serial_resp(&r, &result), 0);
}

TEST(frame_full_buffer_of_garbage_makes_room)
{
	struct vsf_frame_reader r;
	uint8_t junk[VSF_FRAME_READER_CAP];
	size_t space;

	memset(junk, 'a', sizeof(junk));	/* partial magic everywhere */
	vsf_frame_reader_init(&r);
	CHECK_ERR(vsf_frame_reader_feed(&r, junk, sizeof(junk)), sizeof(junk));
	vsf_frame_reader_tail(&r, &space);
	CHECK(space > 0);
	CHECK(r.skipped > 0);
}

TEST(host_records_then_terminator)
{
	struct vsf_frame_reader r;
	struct vsf_host_record rec = { .state = 1 }, got;
	uint8_t buf[VSF_HOST_RECORD_SIZE], zero[VSF_HOST_RECORD_SIZE] = { 0 };

	vsf_frame_reader_init(&r);
	vsf_domain_set(rec.name, "g1");
	vsf_domain_set(rec.uuid, "u1");
	vsf_host_record_encode(&rec, buf);
	vsf_frame_reader_feed(&r, buf, sizeof(buf));
	vsf_frame_reader_feed(&r, zero, 100);
	CHECK_ERR(vsf_frame_next_host_record(&r, &got), 1);
	CHECK_STR(got.name, "g1");
	CHECK_ERR(vsf_frame_next_host_record(&r, &got), 0);
	vsf_frame_reader_feed(&r, zero, 30);
	CHECK_ERR(vsf_frame_next_host_record(&r, &got), 2);
}

int main(void)
{
	return RUN_TESTS();
}
