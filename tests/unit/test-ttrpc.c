/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ttRPC server and client against each other over real unix sockets:
 * round trips, metadata, status codes, concurrency (a blocked call does not
 * hold up others), many calls multiplexed on one connection, timeouts, and
 * malformed input closing only the offending connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>

#include "github.com/containerd/containerd/runtime/v2/task/shim.pb-c.h"
#include "ttrpc.h"
#include "util.h"

#define SVC "coco.test.Svc"
#define SEC NSEC_PER_SEC

struct fixture {
        char dir[64];
        char path[128];
        struct ttrpc_server *server;
        pthread_t runner;
        sem_t release; /* Block waits on it */
        sem_t entered; /* Block posts it when it starts waiting */
};

typedef Containerd__Task__V2__StateRequest StateRequest;
typedef Containerd__Task__V2__StateResponse StateResponse;

/* Echo: id comes back as id, the namespace as bundle, exec_id as stdin. */
static int m_echo(void *ud, struct ttrpc_call *call, const ProtobufCMessage *in,
                  struct coco_error **err)
{
        (void)ud, (void)err;
        const StateRequest *req = (const StateRequest *)in;
        StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;

        resp.id = req->id;
        resp.bundle = (char *)(call->ns ? call->ns : "");
        resp.stdin = req->exec_id;
        resp.pid = call->deadline_ns ? 1 : 0;
        ttrpc_call_reply(call, &resp.base);
        return 0;
}

static int m_fail(void *ud, struct ttrpc_call *call, const ProtobufCMessage *in,
                  struct coco_error **err)
{
        (void)ud, (void)call;
        return coco_error_set(err, ENOENT, "container \"%s\" not found",
                              ((const StateRequest *)in)->id);
}

static int m_block(void *ud, struct ttrpc_call *call, const ProtobufCMessage *in,
                   struct coco_error **err)
{
        struct fixture *f = ud;
        sem_post(&f->entered);
        sem_wait(&f->release);
        return m_echo(ud, call, in, err);
}

static const struct ttrpc_method methods[] = {
        {"Echo", &containerd__task__v2__state_request__descriptor, m_echo},
        {"Fail", &containerd__task__v2__state_request__descriptor, m_fail},
        {"Block", &containerd__task__v2__state_request__descriptor, m_block},
};

static void *run_server(void *arg)
{
        struct fixture *f = arg;
        assert_int_equal(ttrpc_server_run(f->server, NULL), 0);
        return NULL;
}

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));
        static struct ttrpc_service svc = {SVC, methods, ELEMENTSOF(methods), NULL};

        strcpy(f->dir, "/tmp/coco-ttrpc-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof(f->path), "%s/s.sock", f->dir);
        sem_init(&f->release, 0, 0);
        sem_init(&f->entered, 0, 0);
        svc.userdata = f;
        f->server = ttrpc_server_new();
        assert_non_null(f->server);
        assert_int_equal(ttrpc_server_register(f->server, &svc), 0);
        assert_int_equal(ttrpc_server_register(f->server, &svc), -EEXIST);
        assert_int_equal(ttrpc_server_listen_unix(f->server, f->path, NULL), 0);
        assert_int_equal(pthread_create(&f->runner, NULL, run_server, f), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        ttrpc_server_stop(f->server);
        pthread_join(f->runner, NULL);
        ttrpc_server_free(f->server);
        unlink(f->path);
        rmdir(f->dir);
        sem_destroy(&f->release);
        sem_destroy(&f->entered);
        free(f);
        return 0;
}

static struct ttrpc_client *dial(struct fixture *f)
{
        struct ttrpc_client *c = NULL;
        assert_int_equal(ttrpc_client_dial_unix(f->path, &c, NULL), 0);
        return c;
}

static int call_echo(struct ttrpc_client *c, const char *method, const char *id, const char *ns,
                     uint64_t timeout, StateResponse **ret, struct coco_error **err)
{
        StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
        struct ttrpc_call_opts opts = {.ns = ns, .timeout_ns = timeout};

        req.id = (char *)id;
        req.exec_id = "exec";
        return ttrpc_client_call(c, SVC, method, &req.base,
                                 &containerd__task__v2__state_response__descriptor,
                                 (ProtobufCMessage **)ret, &opts, err);
}

static void test_round_trip_and_metadata(void **state)
{
        struct fixture *f = *state;
        _cleanup_(ttrpc_client_freep) struct ttrpc_client *c = dial(f);
        _cleanup_pb_ StateResponse *resp = NULL;

        assert_int_equal(call_echo(c, "Echo", "ctr-1", "k8s.io", 5 * SEC, &resp, NULL), 0);
        assert_string_equal(resp->id, "ctr-1");
        assert_string_equal(resp->bundle, "k8s.io");
        assert_string_equal(resp->stdin, "exec");
        assert_int_equal(resp->pid, 1); /* the timeout reached the handler as a deadline */

        protobuf_c_message_free_unpacked(&TAKE_PTR(resp)->base, NULL);
        assert_int_equal(call_echo(c, "Echo", "x", NULL, 0, &resp, NULL), 0);
        assert_string_equal(resp->bundle, "");
        assert_int_equal(resp->pid, 0);
}

static void test_status_codes(void **state)
{
        struct fixture *f = *state;
        _cleanup_(ttrpc_client_freep) struct ttrpc_client *c = dial(f);
        _cleanup_error_ struct coco_error *e1 = NULL, *e2 = NULL, *e3 = NULL;

        assert_int_equal(call_echo(c, "Fail", "ctr-9", NULL, 5 * SEC, NULL, &e1), -ENOENT);
        assert_string_equal(e1->message, "container \"ctr-9\" not found");

        assert_int_equal(call_echo(c, "Nope", "x", NULL, 5 * SEC, NULL, &e2), -EOPNOTSUPP);
        assert_non_null(strstr(e2->message, "method Nope is not implemented"));

        StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
        assert_int_equal(ttrpc_client_call(c, "no.Such", "Echo", &req.base, NULL, NULL, NULL, &e3),
                         -EOPNOTSUPP);
        assert_non_null(strstr(e3->message, "service no.Such is not implemented"));

        /* the connection is still fine afterwards */
        assert_int_equal(call_echo(c, "Echo", "ok", NULL, 5 * SEC, NULL, NULL), 0);
}

struct blocked_call {
        struct ttrpc_client *c;
        int r;
};

static void *do_block(void *arg)
{
        struct blocked_call *b = arg;
        b->r = call_echo(b->c, "Block", "slow", NULL, 0, NULL, NULL);
        return NULL;
}

static void test_blocked_call_does_not_stall_others(void **state)
{
        struct fixture *f = *state;
        _cleanup_(ttrpc_client_freep) struct ttrpc_client *c = dial(f);
        struct blocked_call b = {.c = c, .r = 1};
        pthread_t t;

        assert_int_equal(pthread_create(&t, NULL, do_block, &b), 0);
        sem_wait(&f->entered); /* Block is now running in the server */
        /* on the same connection: would time out if the server were serial */
        assert_int_equal(call_echo(c, "Echo", "fast", NULL, 5 * SEC, NULL, NULL), 0);
        /* and on another connection */
        _cleanup_(ttrpc_client_freep) struct ttrpc_client *c2 = dial(f);
        assert_int_equal(call_echo(c2, "Echo", "fast2", NULL, 5 * SEC, NULL, NULL), 0);
        assert_int_equal(b.r, 1); /* still blocked */
        sem_post(&f->release);
        pthread_join(t, NULL);
        assert_int_equal(b.r, 0);
}

#define THREADS 16
#define CALLS   50

struct hammer {
        struct ttrpc_client *c;
        int idx;
        int bad;
};

static void *do_hammer(void *arg)
{
        struct hammer *h = arg;
        for (int i = 0; i < CALLS; i++) {
                char id[32];
                StateResponse *resp = NULL;
                snprintf(id, sizeof(id), "t%d-c%d", h->idx, i);
                if (call_echo(h->c, "Echo", id, NULL, 10 * SEC, &resp, NULL) < 0 ||
                    strcmp(resp->id, id) != 0)
                        h->bad++;
                if (resp)
                        protobuf_c_message_free_unpacked(&resp->base, NULL);
        }
        return NULL;
}

static void test_many_calls_multiplexed(void **state)
{
        struct fixture *f = *state;
        _cleanup_(ttrpc_client_freep) struct ttrpc_client *c = dial(f);
        struct hammer h[THREADS];
        pthread_t t[THREADS];

        for (int i = 0; i < THREADS; i++) {
                h[i] = (struct hammer){.c = c, .idx = i};
                assert_int_equal(pthread_create(&t[i], NULL, do_hammer, &h[i]), 0);
        }
        for (int i = 0; i < THREADS; i++) {
                pthread_join(t[i], NULL);
                assert_int_equal(h[i].bad, 0);
        }
}

static void test_timeout_then_connection_still_usable(void **state)
{
        struct fixture *f = *state;
        _cleanup_(ttrpc_client_freep) struct ttrpc_client *c = dial(f);
        _cleanup_error_ struct coco_error *err = NULL;

        assert_int_equal(call_echo(c, "Block", "x", NULL, 50 * NSEC_PER_MSEC, NULL, &err),
                         -ETIMEDOUT);
        assert_non_null(strstr(err->message, "no answer within 50 ms"));
        sem_wait(&f->entered);
        sem_post(&f->release); /* its late answer is dropped by the client */
        assert_int_equal(call_echo(c, "Echo", "after", NULL, 5 * SEC, NULL, NULL), 0);
}

static int raw_connect(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        strcpy(sa.sun_path, path);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        return fd;
}

static void wait_closed_by_server(int fd)
{
        struct timeval tv = {.tv_sec = 5};
        char b;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        assert_int_equal(read(fd, &b, 1), 0); /* EOF, not a timeout */
}

static void test_malformed_frames_close_only_that_connection(void **state)
{
        struct fixture *f = *state;
        _cleanup_(ttrpc_client_freep) struct ttrpc_client *good = dial(f);
        const uint8_t bad_type[] = {0, 0, 0, 0, 0, 0, 0, 1, 9, 0};
        const uint8_t too_big[] = {0x7f, 0, 0, 0, 0, 0, 0, 1, 1, 0};
        const uint8_t bad_envelope[] = {0, 0, 0, 3, 0, 0, 0, 1, 1, 0, 0x0f, 0xff, 0xff};
        const struct {
                const uint8_t *b;
                size_t n;
        } cases[] = {{bad_type, sizeof(bad_type)},
                     {too_big, sizeof(too_big)},
                     {bad_envelope, sizeof(bad_envelope)}};

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_close_ int fd = raw_connect(f->path);
                assert_int_equal(write(fd, cases[i].b, cases[i].n), (ssize_t)cases[i].n);
                wait_closed_by_server(fd);
        }
        assert_int_equal(call_echo(good, "Echo", "still-here", NULL, 5 * SEC, NULL, NULL), 0);
}

static void test_bad_payload_and_stream_ids(void **state)
{
        struct fixture *f = *state;
        _cleanup_close_ int fd = raw_connect(f->path);
        Ttrpc__Request r = TTRPC__REQUEST__INIT;
        _cleanup_free_ uint8_t *buf = NULL, *payload = NULL;
        _cleanup_pb_ Ttrpc__Response *resp = NULL;
        const uint8_t junk[] = {0x0f, 0xff};
        struct ttrpc_header h = {.type = TTRPC_TYPE_REQUEST, .stream_id = 1}, got;
        size_t len;

        r.service = SVC;
        r.method = "Echo";
        r.payload.data = (uint8_t *)junk;
        r.payload.len = sizeof(junk);
        ttrpc_pack(&r.base, &buf, &len);

        /* a payload that is not a StateRequest: InvalidArgument */
        assert_int_equal(ttrpc_frame_write(fd, true, &h, buf, len, NULL), 0);
        assert_int_equal(ttrpc_frame_read(fd, &got, &payload, NULL), 0);
        assert_int_equal(got.type, TTRPC_TYPE_RESPONSE);
        assert_int_equal(got.stream_id, 1);
        resp = ttrpc__response__unpack(NULL, got.length, payload);
        assert_int_equal(resp->status->code, COCO_STATUS_INVALID_ARGUMENT);

        /* an even stream id, then a repeated one: InvalidArgument, connection kept */
        for (uint32_t id = 2; id > 0; id--) {
                h.stream_id = id;
                free(TAKE_PTR(payload));
                protobuf_c_message_free_unpacked(&TAKE_PTR(resp)->base, NULL);
                assert_int_equal(ttrpc_frame_write(fd, true, &h, buf, len, NULL), 0);
                assert_int_equal(ttrpc_frame_read(fd, &got, &payload, NULL), 0);
                resp = ttrpc__response__unpack(NULL, got.length, payload);
                assert_int_equal(resp->status->code, COCO_STATUS_INVALID_ARGUMENT);
                assert_non_null(strstr(resp->status->message, "odd and increasing"));
        }
}

static void test_peer_closing_fails_pending_calls(void **state)
{
        (void)state;
        int sp[2];
        _cleanup_error_ struct coco_error *err = NULL;
        StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        struct ttrpc_client *c = ttrpc_client_new(sp[0]);
        assert_non_null(c);
        close(sp[1]); /* the peer goes away without answering */
        assert_int_equal(ttrpc_client_call(c, SVC, "Echo", &req.base,
                                           &containerd__task__v2__state_response__descriptor, NULL,
                                           NULL, &err),
                         -ECONNRESET);
        ttrpc_client_free(c);
}

static void *answer_empty(void *arg)
{
        int fd = *(int *)arg;
        struct ttrpc_header h, resp = {.type = TTRPC_TYPE_RESPONSE};
        uint8_t *payload = NULL;

        if (ttrpc_frame_read(fd, &h, &payload, NULL) == 0) {
                resp.stream_id = h.stream_id;
                (void)ttrpc_frame_write(fd, true, &resp, NULL, 0, NULL);
        }
        free(payload);
        return NULL;
}

/* containerd answers Empty results with a zero-length Response: that is OK. */
static void test_empty_response_is_ok(void **state)
{
        (void)state;
        int sp[2];
        pthread_t t;
        StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
        _cleanup_pb_ StateResponse *resp = NULL;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        assert_int_equal(pthread_create(&t, NULL, answer_empty, &sp[1]), 0);
        struct ttrpc_client *c = ttrpc_client_new(sp[0]);
        assert_int_equal(ttrpc_client_call(c, SVC, "Echo", &req.base,
                                           &containerd__task__v2__state_response__descriptor,
                                           (ProtobufCMessage **)&resp, NULL, NULL),
                         0);
        assert_string_equal(resp->id, "");
        pthread_join(t, NULL);
        close(sp[1]);
        ttrpc_client_free(c);
}

static void test_serve_fd_and_free_with_open_connection(void **state)
{
        (void)state;
        static const struct ttrpc_service svc = {SVC, methods, 2, NULL};
        struct ttrpc_server *s = ttrpc_server_new();
        int sp[2];

        assert_int_equal(ttrpc_server_register(s, &svc), 0);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        assert_int_equal(ttrpc_server_serve_fd(s, sp[1], NULL), 0);
        struct ttrpc_client *c = ttrpc_client_new(sp[0]);
        assert_int_equal(call_echo(c, "Echo", "fd", NULL, 5 * SEC, NULL, NULL), 0);
        assert_int_equal(ttrpc_server_connections(s), 1);
        ttrpc_server_free(s); /* must not hang with the connection still open */
        _cleanup_error_ struct coco_error *err = NULL;
        assert_int_equal(call_echo(c, "Echo", "gone", NULL, 5 * SEC, NULL, &err), -ECONNRESET);
        ttrpc_client_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_round_trip_and_metadata, setup, teardown),
                cmocka_unit_test_setup_teardown(test_status_codes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_blocked_call_does_not_stall_others, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_many_calls_multiplexed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeout_then_connection_still_usable, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_malformed_frames_close_only_that_connection,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_payload_and_stream_ids, setup, teardown),
                cmocka_unit_test(test_peer_closing_fails_pending_calls),
                cmocka_unit_test(test_empty_response_is_ok),
                cmocka_unit_test(test_serve_fd_and_free_with_open_connection),
        };
        return cmocka_run_group_tests_name("ttrpc", tests, NULL, NULL);
}
