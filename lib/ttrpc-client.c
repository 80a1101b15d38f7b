/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttRPC client. Many threads may call at once over one connection: each call
 * takes the next odd stream id, writes its request whole under a lock, and
 * sleeps until the reader thread hands it the response with that stream id
 * or its timeout passes. When the connection ends, every waiting call fails.
 */
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "log.h"
#include "ttrpc.h"
#include "util.h"

struct pending {
        struct pending *next;
        uint32_t stream_id;
        bool done;        /* answered, or failed with the connection */
        bool answered;    /* a Response arrived (it may be empty: OK with no payload) */
        uint8_t *payload; /* the Response envelope */
        size_t len;
};

struct ttrpc_client {
        int fd;
        bool is_socket;
        int stop_fd;
        pthread_t reader;
        pthread_mutex_t lock; /* guards everything below */
        pthread_cond_t cond;
        pthread_mutex_t write_lock;
        uint32_t next_stream_id;
        struct pending *pending;
        int dead; /* 0, or the -errno that ended the connection */
};

static struct pending *take_pending(struct ttrpc_client *c, uint32_t stream_id)
{
        for (struct pending **p = &c->pending; *p; p = &(*p)->next)
                if ((*p)->stream_id == stream_id) {
                        struct pending *found = *p;
                        *p = found->next;
                        return found;
                }
        return NULL;
}

static void fail_all(struct ttrpc_client *c, int error)
{
        pthread_mutex_lock(&c->lock);
        if (!c->dead)
                c->dead = error;
        for (struct pending *p = c->pending; p; p = p->next)
                p->done = true;
        c->pending = NULL; /* the waiters own their entries and see done without payload */
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
}

static void *reader_thread(void *arg)
{
        struct ttrpc_client *c = arg;
        int end = -ECONNRESET;

        for (;;) {
                _cleanup_error_ struct coco_error *err = NULL;
                _cleanup_free_ uint8_t *payload = NULL;
                struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN},
                                      {.fd = c->stop_fd, .events = POLLIN}};
                struct ttrpc_header h;

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        end = -errno;
                        break;
                }
                if (p[1].revents)
                        break;
                int r = ttrpc_frame_read(c->fd, &h, &payload, &err);
                if (r < 0) {
                        if (r != -EPIPE)
                                log_debug("ttrpc client: %s", coco_error_message(err, r));
                        end = r == -EPIPE ? -ECONNRESET : r;
                        break;
                }
                if (h.type != TTRPC_TYPE_RESPONSE) {
                        log_debug("ttrpc client: ignoring frame of type %u on stream %u", h.type,
                                  h.stream_id);
                        continue;
                }
                pthread_mutex_lock(&c->lock);
                struct pending *pd = take_pending(c, h.stream_id);
                if (pd) {
                        pd->payload = TAKE_PTR(payload);
                        pd->len = h.length;
                        pd->answered = pd->done = true;
                        pthread_cond_broadcast(&c->cond);
                } else
                        log_debug("ttrpc client: response for unknown stream %u (timed out?)",
                                  h.stream_id);
                pthread_mutex_unlock(&c->lock);
        }
        fail_all(c, end);
        return NULL;
}

struct ttrpc_client *ttrpc_client_new(int fd)
{
        struct ttrpc_client *c = xcalloc(1, sizeof(*c));
        pthread_condattr_t ca;

        c->fd = fd;
        c->is_socket = fd_is_socket(fd);
        c->next_stream_id = 1;
        c->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        pthread_mutex_init(&c->lock, NULL);
        pthread_mutex_init(&c->write_lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&c->cond, &ca);
        pthread_condattr_destroy(&ca);
        if (c->stop_fd < 0 || pthread_create(&c->reader, NULL, reader_thread, c) != 0) {
                safe_close(c->stop_fd);
                safe_close(c->fd);
                pthread_mutex_destroy(&c->lock);
                pthread_mutex_destroy(&c->write_lock);
                pthread_cond_destroy(&c->cond);
                free(c);
                return NULL;
        }
        return c;
}

int ttrpc_client_dial_unix(const char *path, struct ttrpc_client **ret, struct coco_error **err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;

        if (strlen(path) >= sizeof(sa.sun_path))
                return coco_error_set(err, ENAMETOOLONG, "socket path \"%s\" is too long", path);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return coco_error_set(err, errno, "creating unix socket: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return coco_error_set(err, errno, "connecting to \"%s\": %s", path,
                                      strerror(errno));
        struct ttrpc_client *c = ttrpc_client_new(TAKE_FD(fd));
        if (!c)
                return coco_error_set(err, EAGAIN, "starting ttrpc client for \"%s\"", path);
        *ret = c;
        return 0;
}

static int decode_response(const struct pending *pd, const char *service, const char *method,
                           const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **ret_resp,
                           struct coco_error **err)
{
        _cleanup_pb_ Ttrpc__Response *resp = ttrpc__response__unpack(NULL, pd->len, pd->payload);

        if (!resp)
                return coco_error_set(err, EPROTO, "%s.%s: malformed ttrpc response", service,
                                      method);
        if (resp->status && resp->status->code != COCO_STATUS_OK) {
                const char *m = resp->status->message && *resp->status->message
                                        ? resp->status->message
                                        : coco_status_name(resp->status->code);
                return coco_error_set(err, coco_status_errno(resp->status->code), "%s", m);
        }
        if (!ret_resp)
                return 0;
        ProtobufCMessage *m =
                protobuf_c_message_unpack(resp_desc, NULL, resp->payload.len, resp->payload.data);
        if (!m)
                return coco_error_set(err, EPROTO, "%s.%s: malformed %s in response", service,
                                      method, resp_desc->name);
        *ret_resp = m;
        return 0;
}

/* Pack the Request envelope for one call (everything but the stream id, which is in the header). */
static void pack_request(const char *service, const char *method, const ProtobufCMessage *req,
                         const struct ttrpc_call_opts *opts, uint8_t **ret_buf, size_t *ret_len)
{
        Ttrpc__Request r = TTRPC__REQUEST__INIT;
        Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
        Ttrpc__KeyValue *md[1] = {&kv};
        _cleanup_free_ uint8_t *payload = NULL;
        size_t plen;

        ttrpc_pack(req, &payload, &plen);
        r.service = (char *)service;
        r.method = (char *)method;
        r.payload.data = payload;
        r.payload.len = plen;
        if (opts && opts->timeout_ns)
                r.timeout_nano = (int64_t)opts->timeout_ns;
        if (opts && opts->ns) {
                kv.key = (char *)TTRPC_NAMESPACE_KEY;
                kv.value = (char *)opts->ns;
                r.metadata = md;
                r.n_metadata = 1;
        }
        ttrpc_pack(&r.base, ret_buf, ret_len);
}

/*
 * Take the next stream id, register pd and write the request. The write lock
 * is held across both so that stream ids reach the server in increasing
 * order, as ttRPC requires, however many threads call at once.
 */
static int start_call(struct ttrpc_client *c, struct pending *pd, const uint8_t *buf, size_t len,
                      const char *service, const char *method, struct coco_error **err)
{
        struct ttrpc_header h = {.type = TTRPC_TYPE_REQUEST, .flags = TTRPC_FLAG_REMOTE_CLOSED};
        int r = 0;

        pthread_mutex_lock(&c->write_lock);
        pthread_mutex_lock(&c->lock);
        if (c->dead)
                r = coco_error_set(err, c->dead, "%s.%s: connection is closed", service, method);
        else if (c->next_stream_id >= UINT32_MAX - 2)
                r = coco_error_set(err, EOVERFLOW, "%s.%s: stream ids exhausted; reconnect",
                                   service, method);
        else {
                pd->stream_id = h.stream_id = c->next_stream_id;
                c->next_stream_id += 2;
                pd->next = c->pending;
                c->pending = pd;
        }
        pthread_mutex_unlock(&c->lock);
        if (r == 0) {
                r = ttrpc_frame_write(c->fd, c->is_socket, &h, buf, len, NULL);
                if (r == -EPIPE || r == -ECONNRESET)
                        r = coco_error_set(err, ECONNRESET, "%s.%s: connection is closed", service,
                                           method);
                else if (r < 0)
                        r = coco_error_set(err, r, "%s.%s: sending request: %s", service, method,
                                           strerror(-r));
        }
        pthread_mutex_unlock(&c->write_lock);
        return r;
}

int ttrpc_client_call(struct ttrpc_client *c, const char *service, const char *method,
                      const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                      ProtobufCMessage **ret_resp, const struct ttrpc_call_opts *opts,
                      struct coco_error **err)
{
        _cleanup_free_ uint8_t *buf = NULL;
        struct pending pd = {0};
        struct timespec deadline;
        size_t len;
        int r;

        if (opts && opts->timeout_ns) {
                uint64_t d = now_monotonic_ns() + opts->timeout_ns;
                deadline.tv_sec = (time_t)(d / NSEC_PER_SEC);
                deadline.tv_nsec = (long)(d % NSEC_PER_SEC);
        }
        pack_request(service, method, req, opts, &buf, &len);
        r = start_call(c, &pd, buf, len, service, method, err);

        pthread_mutex_lock(&c->lock);
        while (r == 0 && !pd.done) {
                int w = opts && opts->timeout_ns
                                ? pthread_cond_timedwait(&c->cond, &c->lock, &deadline)
                                : pthread_cond_wait(&c->cond, &c->lock);
                if (w == ETIMEDOUT && !pd.done)
                        r = coco_error_set(err, ETIMEDOUT, "%s.%s: no answer within %llu ms",
                                           service, method,
                                           (unsigned long long)(opts->timeout_ns / NSEC_PER_MSEC));
        }
        if (!pd.done && pd.stream_id)
                (void)take_pending(c, pd.stream_id); /* write failed or timed out */
        int dead = c->dead;
        pthread_mutex_unlock(&c->lock);

        if (r < 0) {
                free(pd.payload);
                return r;
        }
        if (!pd.answered)
                return coco_error_set(err, dead ? dead : -ECONNRESET,
                                      "%s.%s: connection closed before the answer", service,
                                      method);
        r = decode_response(&pd, service, method, resp_desc, ret_resp, err);
        free(pd.payload);
        return r;
}

void ttrpc_client_close(struct ttrpc_client *c)
{
        uint64_t one = 1;

        (void)!write(c->stop_fd, &one, sizeof(one));
        if (c->is_socket)
                (void)shutdown(c->fd, SHUT_RDWR);
        fail_all(c, -ECONNRESET);
}

void ttrpc_client_free(struct ttrpc_client *c)
{
        if (!c)
                return;
        ttrpc_client_close(c);
        pthread_join(c->reader, NULL);
        safe_close(c->fd);
        safe_close(c->stop_fd);
        pthread_mutex_destroy(&c->lock);
        pthread_mutex_destroy(&c->write_lock);
        pthread_cond_destroy(&c->cond);
        free(c);
}
