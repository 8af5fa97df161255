/*
 * fuzz_frame_reader - the v1 stream reader (magic resync, partial frames,
 * garbage, a full buffer) fed in arbitrary chunks.
 *
 * Input: byte 0 picks what the caller expects (0 serial requests, 1 serial
 * responses, 2 a response then host records, as a guest reads a list),
 * byte 1 seeds the chunk sizes, the rest is the stream.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "vsf_frame.h"

/* Drain every whole frame the reader holds; bounded by the bytes held. */
static void drain(struct vsf_frame_reader *r, int mode, int *in_list)
{
	struct vsf_serial_req req;
	struct vsf_host_record rec;
	uint8_t res;
	int rc;

	for (int guard = 0; guard < 2 * VSF_FRAME_READER_CAP; guard++) {
		size_t before = r->len;

		if (mode == 0)
			rc = vsf_frame_next_serial_req(r, &req);
		else if (*in_list)
			rc = vsf_frame_next_host_record(r, &rec);
		else
			rc = vsf_frame_next_serial_resp(r, &res);
		FUZZ_ASSERT(r->len <= VSF_FRAME_READER_CAP);
		if (rc == 0)
			return;
		/* Every non-zero return consumed something. */
		FUZZ_ASSERT(r->len < before);
		if (rc == 1 && mode == 0)
			FUZZ_ASSERT(memchr(req.domain, '\0', sizeof(req.domain)));
		if (mode == 2 && !*in_list && rc == 1 &&
		    res == VSF_RESULT_HOSTLIST)
			*in_list = 1;
		else if (*in_list && rc == 2)
			*in_list = 0;
	}
	FUZZ_ASSERT(!"reader made no progress");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vsf_frame_reader r;
	uint32_t seed;
	int mode, in_list = 0, use_tail = 0;

	if (size < 2)
		return 0;
	mode = data[0] % 3;
	seed = data[1] | 0x100u;
	data += 2;
	size -= 2;
	vsf_frame_reader_init(&r);
	while (size > 0) {
		size_t n = 1 + fuzz_next(&seed) % 300, space;

		if (n > size)
			n = size;
		/* Alternate the two ways of getting bytes in. */
		if (use_tail) {
			uint8_t *tail = vsf_frame_reader_tail(&r, &space);

			FUZZ_ASSERT(space > 0);
			if (n > space)
				n = space;
			memcpy(tail, data, n);
			vsf_frame_reader_commit(&r, n);
		} else {
			n = vsf_frame_reader_feed(&r, data, n);
		}
		use_tail = !use_tail;
		data += n;
		size -= n;
		drain(&r, mode, &in_list);
	}
	return 0;
}
