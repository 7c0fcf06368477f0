/*
 * test_harbor_frames.c: the slave-to-slave frame format of harbor mode
 * (spec/harbor-protocol.md §6): the worked examples of §6.1 byte for byte,
 * trailer decoding, and the length checks a receiver applies.
 */
#include "harbor.h"
#include "skynet.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

/* Encodes body with the given trailer fields and compares with want. */
static void check_frame(const uint8_t *body, size_t sz, uint32_t source,
			uint32_t destination, int type, int session,
			const uint8_t *want, size_t want_size)
{
	struct harbor_trailer t = {
		.source = source,
		.destination = destination,
		.type = type,
		.session = session,
	};
	size_t size = 0;
	uint8_t *frame = harbor_frame_encode(body, sz, &t, &size);
	assert_non_null(frame);
	assert_int_equal(size, want_size);
	assert_memory_equal(frame, want, want_size);
	skynet_free(frame);
}

/* harbor 1's :0100000a calls :02000008 "lua" "ping" with session 3. */
static void request_example(void **state)
{
	(void)state;
	static const uint8_t body[] = { 0x24, 0x70, 0x69, 0x6e, 0x67 };
	static const uint8_t want[] = {
		0x00, 0x00, 0x00, 0x11, 0x24, 0x70, 0x69, 0x6e, 0x67,
		0x01, 0x00, 0x00, 0x0a, 0x0a, 0x00, 0x00, 0x08,
		0x00, 0x00, 0x00, 0x03,
	};
	check_frame(body, sizeof(body), 0x0100000a, 0x02000008,
		    PTYPE_RESERVED_LUA, 3, want, sizeof(want));
}

/* The answer "pong": the destination's harbor byte is not sent. */
static void response_example(void **state)
{
	(void)state;
	static const uint8_t body[] = { 0x24, 0x70, 0x6f, 0x6e, 0x67 };
	static const uint8_t want[] = {
		0x00, 0x00, 0x00, 0x11, 0x24, 0x70, 0x6f, 0x6e, 0x67,
		0x02, 0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 0x0a,
		0x00, 0x00, 0x00, 0x03,
	};
	check_frame(body, sizeof(body), 0x02000008, 0x0100000a,
		    PTYPE_RESPONSE, 3, want, sizeof(want));
}

/* The error sent back when :02000008 does not exist: an empty body. */
static void error_example(void **state)
{
	(void)state;
	static const uint8_t want[] = {
		0x00, 0x00, 0x00, 0x0c, 0x02, 0x00, 0x00, 0x08,
		0x07, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x03,
	};
	check_frame(NULL, 0, 0x02000008, 0x0100000a, PTYPE_ERROR, 3, want,
		    sizeof(want));
}

static void trailer_decodes_the_example(void **state)
{
	(void)state;
	static const uint8_t content[] = {
		0x24, 0x70, 0x69, 0x6e, 0x67, 0x01, 0x00, 0x00, 0x0a,
		0x0a, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x03,
	};
	struct harbor_trailer t;
	harbor_trailer_decode(content, sizeof(content), &t);
	assert_int_equal(t.source, 0x0100000a);
	assert_int_equal(t.destination, 0x000008);
	assert_int_equal(t.type, PTYPE_RESERVED_LUA);
	assert_int_equal(t.session, 3);
}

/* Any type, a negative session, a harbor id >= 128: encode then decode. */
static void trailer_round_trip(void **state)
{
	(void)state;
	struct harbor_trailer in = {
		.source = 0xff123456,
		.destination = 0x80abcdef,
		.type = 255,
		.session = -2,
	};
	size_t size;
	uint8_t *frame = harbor_frame_encode("x", 1, &in, &size);
	assert_non_null(frame);
	assert_int_equal(harbor_frame_length(frame), 13);
	struct harbor_trailer out;
	harbor_trailer_decode(frame + HARBOR_HEADER_SIZE, 13, &out);
	assert_int_equal(out.source, 0xff123456);
	assert_int_equal(out.destination, 0xabcdef);
	assert_int_equal(out.type, 255);
	assert_int_equal(out.session, -2);
	skynet_free(frame);
}

static void length_checks(void **state)
{
	(void)state;
	static const uint8_t smallest[] = { 0, 0, 0, 12 };
	static const uint8_t largest[] = { 0, 0xff, 0xff, 0xff };
	static const uint8_t too_long[] = { 1, 0, 0, 0 };
	static const uint8_t too_short[] = { 0, 0, 0, 11 };
	static const uint8_t empty[] = { 0, 0, 0, 0 };
	assert_int_equal(harbor_frame_length(smallest), 12);
	assert_int_equal(harbor_frame_length(largest), 0xffffff);
	assert_int_equal(harbor_frame_length(too_long), -1);
	assert_int_equal(harbor_frame_length(too_short), -1);
	assert_int_equal(harbor_frame_length(empty), -1);
}

/* A body the receiver would refuse is not encoded at all. */
static void oversized_body_refused(void **state)
{
	(void)state;
	struct harbor_trailer t = { 0x01000001, 0x02000002, PTYPE_TEXT, 0 };
	size_t size = 0;
	static const char byte = 0;
	assert_null(harbor_frame_encode(&byte, (size_t)HARBOR_BODY_MAX + 1, &t,
					&size));
	assert_int_equal(size, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_example),
		cmocka_unit_test(response_example),
		cmocka_unit_test(error_example),
		cmocka_unit_test(trailer_decodes_the_example),
		cmocka_unit_test(trailer_round_trip),
		cmocka_unit_test(length_checks),
		cmocka_unit_test(oversized_body_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
