/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttRPC (containerd/ttrpc): frames, the request/response envelope, a server
 * that dispatches requests concurrently, and a client that multiplexes calls
 * over one connection. Works on unix sockets and on any connected stream fd
 * (vsock, a virtio-serial port).
 *
 * Frame: u32 BE payload length (<= 4 MiB), u32 BE stream id, u8 type, u8 flags.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "error.h"
#include "ttrpc.pb-c.h"

#define TTRPC_HEADER_SIZE 10
#define TTRPC_MAX_PAYLOAD (4u * 1024 * 1024)

enum ttrpc_type {
        TTRPC_TYPE_REQUEST = 1,
        TTRPC_TYPE_RESPONSE = 2,
        TTRPC_TYPE_DATA = 3,
};

#define TTRPC_FLAG_REMOTE_CLOSED 0x01
#define TTRPC_FLAG_REMOTE_OPEN   0x02
#define TTRPC_FLAG_NO_DATA       0x04

/* The metadata key under which containerd passes its namespace. */
#define TTRPC_NAMESPACE_KEY "containerd-namespace-ttrpc"

struct ttrpc_header {
        uint32_t length;
        uint32_t stream_id;
        uint8_t type;
        uint8_t flags;
};

/* --- frames (ttrpc-frame.c) --- */

void ttrpc_header_encode(const struct ttrpc_header *h, uint8_t out[TTRPC_HEADER_SIZE]);
/* Decode a header: -EMSGSIZE when the length is over the limit, -EPROTO for an unknown type. */
int ttrpc_header_decode(const uint8_t in[TTRPC_HEADER_SIZE], struct ttrpc_header *ret,
                        struct coco_error **err);
/*
 * Split the first frame off a byte buffer. Returns 0 and sets the header, a
 * pointer to its payload inside buf and the bytes consumed; -EAGAIN when buf
 * holds no complete frame yet; a header error otherwise.
 */
int ttrpc_frame_parse(const uint8_t *buf, size_t len, struct ttrpc_header *ret_header,
                      const uint8_t **ret_payload, size_t *ret_consumed, struct coco_error **err);
/* Read one frame; -EPIPE at a clean end of stream. The payload is malloc'd (NULL when empty). */
int ttrpc_frame_read(int fd, struct ttrpc_header *ret_header, uint8_t **ret_payload,
                     struct coco_error **err);
/* Write one frame; h->length is taken from len. */
int ttrpc_frame_write(int fd, bool is_socket, const struct ttrpc_header *h, const void *payload,
                      size_t len, struct coco_error **err);

/* --- envelope (ttrpc-frame.c) --- */

/* Unpack a Request and check that it names a service and a method. */
int ttrpc_request_decode(const uint8_t *buf, size_t len, Ttrpc__Request **ret,
                         struct coco_error **err);
const char *ttrpc_request_metadata(const Ttrpc__Request *r, const char *key);
/* Pack a message into a malloc'd buffer. */
void ttrpc_pack(const ProtobufCMessage *msg, uint8_t **ret_buf, size_t *ret_len);

/* --- server (ttrpc-server.c) --- */

struct ttrpc_call {
        const Ttrpc__Request *request;
        const char *ns;       /* containerd namespace from the metadata, or NULL */
        uint64_t deadline_ns; /* CLOCK_MONOTONIC deadline from timeout_nano, 0 when none */
        uint32_t stream_id;
        uint8_t *reply; /* packed response, set by ttrpc_call_reply() */
        size_t reply_len;
};

/* Set the response of a call (packs msg now, so msg may live on the stack). */
void ttrpc_call_reply(struct ttrpc_call *call, const ProtobufCMessage *msg);

/* A handler: in is the unpacked request; on failure return -errno and fill *err. */
typedef int (*ttrpc_method_fn)(void *userdata, struct ttrpc_call *call, const ProtobufCMessage *in,
                               struct coco_error **err);

struct ttrpc_method {
        const char *name;
        const ProtobufCMessageDescriptor *input;
        ttrpc_method_fn fn;
};

struct ttrpc_service {
        const char *name; /* e.g. "containerd.task.v2.Task" */
        const struct ttrpc_method *methods;
        size_t n_methods;
        void *userdata;
};

struct ttrpc_server;

struct ttrpc_server *ttrpc_server_new(void);
/* Register a service (the struct must outlive the server); -EEXIST or -ENOSPC on misuse. */
int ttrpc_server_register(struct ttrpc_server *s, const struct ttrpc_service *svc);
/* Create a listening unix socket at path (mode 0600). */
int ttrpc_server_listen_unix(struct ttrpc_server *s, const char *path, struct coco_error **err);
/* Accept on an already listening socket (takes the fd). */
int ttrpc_server_add_listener(struct ttrpc_server *s, int fd, struct coco_error **err);
/* Serve one connected stream fd (takes the fd): socket, vsock or a virtio-serial port. */
int ttrpc_server_serve_fd(struct ttrpc_server *s, int fd, struct coco_error **err);
/*
 * Serve one connected fd (taken) in the calling thread until the peer leaves;
 * returns 0, or -ECANCELED when the server was stopped. For a virtio-serial
 * port, which has to be reopened for every host connection.
 */
int ttrpc_server_serve_connection(struct ttrpc_server *s, int fd);
/* Accept connections until ttrpc_server_stop(). Returns 0 after a stop. */
int ttrpc_server_run(struct ttrpc_server *s, struct coco_error **err);
/* Ask run() to return and every connection to close. Async-signal-safe. */
void ttrpc_server_stop(struct ttrpc_server *s);
/* Number of connections currently open (for tests and diagnostics). */
unsigned ttrpc_server_connections(struct ttrpc_server *s);
/* Stop, wait until every connection and request in flight has finished, free. */
void ttrpc_server_free(struct ttrpc_server *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ttrpc_server *, ttrpc_server_free)

/* --- client (ttrpc-client.c) --- */

struct ttrpc_client;

struct ttrpc_call_opts {
        const char *ns;      /* sent as containerd-namespace-ttrpc metadata when set */
        uint64_t timeout_ns; /* 0: wait for ever */
};

/* Wrap a connected stream fd (taken) and start its reader. */
struct ttrpc_client *ttrpc_client_new(int fd);
int ttrpc_client_dial_unix(const char *path, struct ttrpc_client **ret, struct coco_error **err);
/*
 * One unary call. ret_resp (may be NULL to discard) receives the unpacked
 * response, to free with protobuf_c_message_free_unpacked(). A non-OK status
 * from the peer is returned as -errno with the peer's message in *err.
 */
int ttrpc_client_call(struct ttrpc_client *c, const char *service, const char *method,
                      const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                      ProtobufCMessage **ret_resp, const struct ttrpc_call_opts *opts,
                      struct coco_error **err);
/* Fail calls in flight with -ECONNRESET and refuse new ones; the fd is shut down. */
void ttrpc_client_close(struct ttrpc_client *c);
/* Close, wait for the reader, free. No call may be in flight in another thread. */
void ttrpc_client_free(struct ttrpc_client *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ttrpc_client *, ttrpc_client_free)
