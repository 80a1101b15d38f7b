/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <string.h>
#include <cmocka.h>

#include "ttrpc.h"
#include "util.h"

static void test_header_layout(void **state)
{
        (void)state;
        struct ttrpc_header h = {
                .length = 0x01020304, .stream_id = 0x0a0b0c0d, .type = 2, .flags = 5};
        const uint8_t want[] = {1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 2, 5};
        uint8_t out[TTRPC_HEADER_SIZE];
        struct ttrpc_header back;

        ttrpc_header_encode(&h, out);
        assert_memory_equal(out, want, sizeof(want));
        /* 0x01020304 is over 4 MiB */
        assert_int_equal(ttrpc_header_decode(out, &back, NULL), -EMSGSIZE);

        h.length = TTRPC_MAX_PAYLOAD;
        ttrpc_header_encode(&h, out);
        assert_int_equal(ttrpc_header_decode(out, &back, NULL), 0);
        assert_int_equal(back.length, TTRPC_MAX_PAYLOAD);
        assert_int_equal(back.stream_id, 0x0a0b0c0d);
        assert_int_equal(back.type, 2);
        assert_int_equal(back.flags, 5);
}

static void test_header_rejects(void **state)
{
        (void)state;
        _cleanup_error_ struct coco_error *err = NULL;
        uint8_t big[] = {0, 0x40, 0, 1, 0, 0, 0, 1, 1, 0}; /* 4 MiB + 1 */
        uint8_t badtype[] = {0, 0, 0, 0, 0, 0, 0, 1, 4, 0};
        uint8_t zerotype[] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0};
        struct ttrpc_header h;

        assert_int_equal(ttrpc_header_decode(big, &h, &err), -EMSGSIZE);
        assert_non_null(strstr(err->message, "4194305"));
        assert_int_equal(ttrpc_header_decode(badtype, &h, NULL), -EPROTO);
        assert_int_equal(ttrpc_header_decode(zerotype, &h, NULL), -EPROTO);
}

static void test_parse_stream(void **state)
{
        (void)state;
        uint8_t buf[64] = {0};
        struct ttrpc_header h1 = {.stream_id = 1, .type = 1, .flags = 1},
                            h2 = {.stream_id = 3, .type = 3};
        struct ttrpc_header got;
        const uint8_t *payload;
        size_t used;

        h1.length = 3;
        ttrpc_header_encode(&h1, buf);
        memcpy(buf + 10, "abc", 3);
        h2.length = 0;
        ttrpc_header_encode(&h2, buf + 13);

        for (size_t n = 0; n < 13; n++)
                assert_int_equal(ttrpc_frame_parse(buf, n, &got, &payload, &used, NULL), -EAGAIN);
        assert_int_equal(ttrpc_frame_parse(buf, 23, &got, &payload, &used, NULL), 0);
        assert_int_equal(used, 13);
        assert_int_equal(got.stream_id, 1);
        assert_memory_equal(payload, "abc", 3);
        assert_int_equal(ttrpc_frame_parse(buf + used, 23 - used, &got, &payload, &used, NULL), 0);
        assert_int_equal(used, 10);
        assert_int_equal(got.type, TTRPC_TYPE_DATA);
}

static void test_read_write_pipe(void **state)
{
        (void)state;
        int p[2];
        struct ttrpc_header h = {.stream_id = 7, .type = TTRPC_TYPE_REQUEST}, got;
        _cleanup_free_ uint8_t *payload = NULL;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(ttrpc_frame_write(p[1], false, &h, "hello", 5, NULL), 0);
        assert_int_equal(ttrpc_frame_read(p[0], &got, &payload, NULL), 0);
        assert_int_equal(got.length, 5);
        assert_int_equal(got.stream_id, 7);
        assert_memory_equal(payload, "hello", 5);

        /* a frame cut short by the end of the stream is a protocol error */
        uint8_t hdr[TTRPC_HEADER_SIZE];
        free(TAKE_PTR(payload));
        h.length = 100;
        ttrpc_header_encode(&h, hdr);
        assert_int_equal(write(p[1], hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
        assert_int_equal(write(p[1], "short", 5), 5);
        close(p[1]);
        _cleanup_error_ struct coco_error *err = NULL;
        assert_int_equal(ttrpc_frame_read(p[0], &got, &payload, &err), -EPROTO);
        assert_non_null(strstr(err->message, "stream ended inside the frame"));
        /* and at a frame boundary the end is clean */
        assert_int_equal(ttrpc_frame_read(p[0], &got, &payload, NULL), -EPIPE);
        close(p[0]);
}

static void test_write_rejects_oversize(void **state)
{
        (void)state;
        struct ttrpc_header h = {.stream_id = 1, .type = 1};
        assert_int_equal(ttrpc_frame_write(-1, false, &h, NULL, TTRPC_MAX_PAYLOAD + 1, NULL),
                         -EMSGSIZE);
}

static void test_request_envelope(void **state)
{
        (void)state;
        Ttrpc__Request r = TTRPC__REQUEST__INIT;
        Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT, *md[] = {&kv};
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        Ttrpc__Request *got = NULL;

        r.service = "containerd.task.v2.Task";
        r.method = "State";
        kv.key = TTRPC_NAMESPACE_KEY;
        kv.value = "k8s.io";
        r.metadata = md;
        r.n_metadata = 1;
        r.timeout_nano = 5;
        ttrpc_pack(&r.base, &buf, &len);
        assert_int_equal(ttrpc_request_decode(buf, len, &got, NULL), 0);
        assert_string_equal(got->service, "containerd.task.v2.Task");
        assert_string_equal(ttrpc_request_metadata(got, TTRPC_NAMESPACE_KEY), "k8s.io");
        assert_null(ttrpc_request_metadata(got, "other"));
        assert_int_equal(got->timeout_nano, 5);
        ttrpc__request__free_unpacked(got, NULL);

        /* no method */
        r.method = "";
        free(TAKE_PTR(buf));
        ttrpc_pack(&r.base, &buf, &len);
        assert_int_equal(ttrpc_request_decode(buf, len, &got, NULL), -EBADMSG);
        /* garbage: a field tag with wire type 7 */
        const uint8_t junk[] = {0x0f, 0xff, 0xff};
        assert_int_equal(ttrpc_request_decode(junk, sizeof(junk), &got, NULL), -EBADMSG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_header_layout),
                cmocka_unit_test(test_header_rejects),
                cmocka_unit_test(test_parse_stream),
                cmocka_unit_test(test_read_write_pipe),
                cmocka_unit_test(test_write_rejects_oversize),
                cmocka_unit_test(test_request_envelope),
        };
        return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
