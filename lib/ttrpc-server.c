/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttRPC server. One reader thread per connection decodes frames; every
 * request runs in its own short-lived thread, so a call that blocks (Wait,
 * WaitProcess) never holds up the others. Responses are written whole under
 * a per-connection lock. A malformed frame or envelope closes that
 * connection only. A thread count lets free() wait for everything in flight.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "log.h"
#include "ttrpc.h"
#include "util.h"

#define MAX_SERVICES  8
#define MAX_LISTENERS 4
#define MAX_INFLIGHT  128 /* requests in flight per connection before reading pauses */
#define THREAD_STACK  (512 * 1024)

struct ttrpc_server {
        const struct ttrpc_service *services[MAX_SERVICES];
        size_t n_services;
        int listeners[MAX_LISTENERS];
        size_t n_listeners;
        int stop_fd; /* eventfd: readable once stop() was called */
        pthread_mutex_t lock;
        pthread_cond_t idle;
        unsigned threads; /* reader and request threads alive */
        unsigned connections;
};

struct conn {
        struct ttrpc_server *server;
        int fd;
        bool is_socket;
        atomic_uint refs; /* the reader and each request in flight */
        pthread_mutex_t write_lock;
        pthread_mutex_t lock;
        pthread_cond_t slot;
        unsigned inflight;
        uint32_t last_stream_id;
};

struct job {
        struct conn *conn;
        Ttrpc__Request *req;
        uint32_t stream_id;
};

struct ttrpc_server *ttrpc_server_new(void)
{
        struct ttrpc_server *s = xcalloc(1, sizeof(*s));

        s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (s->stop_fd < 0) {
                free(s);
                return NULL;
        }
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->idle, NULL);
        return s;
}

int ttrpc_server_register(struct ttrpc_server *s, const struct ttrpc_service *svc)
{
        for (size_t i = 0; i < s->n_services; i++)
                if (strcmp(s->services[i]->name, svc->name) == 0)
                        return -EEXIST;
        if (s->n_services == MAX_SERVICES)
                return -ENOSPC;
        s->services[s->n_services++] = svc;
        return 0;
}

int ttrpc_server_add_listener(struct ttrpc_server *s, int fd, struct coco_error **err)
{
        if (s->n_listeners == MAX_LISTENERS) {
                safe_close(fd);
                return coco_error_set(err, ENOSPC, "ttrpc server: too many listening sockets");
        }
        s->listeners[s->n_listeners++] = fd;
        return 0;
}

int ttrpc_server_listen_unix(struct ttrpc_server *s, const char *path, struct coco_error **err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;

        if (strlen(path) >= sizeof(sa.sun_path))
                return coco_error_set(err, ENAMETOOLONG,
                                      "socket path \"%s\" is longer than %zu bytes; use a shorter "
                                      "state directory",
                                      path, sizeof(sa.sun_path) - 1);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return coco_error_set(err, errno, "creating unix socket: %s", strerror(errno));
        mode_t old = umask(0077);
        int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0)
                return coco_error_set(err, errno, "binding socket \"%s\": %s", path,
                                      strerror(errno));
        if (listen(fd, 128) < 0) {
                r = coco_error_set(err, errno, "listening on \"%s\": %s", path, strerror(errno));
                (void)unlink(path);
                return r;
        }
        return ttrpc_server_add_listener(s, TAKE_FD(fd), err);
}

static bool server_stopping(struct ttrpc_server *s)
{
        struct pollfd p = {.fd = s->stop_fd, .events = POLLIN};
        return poll(&p, 1, 0) > 0;
}

static void thread_exit_accounting(struct ttrpc_server *s)
{
        pthread_mutex_lock(&s->lock);
        s->threads--;
        pthread_cond_broadcast(&s->idle);
        pthread_mutex_unlock(&s->lock);
}

static int spawn(struct ttrpc_server *s, void *(*fn)(void *), void *arg)
{
        pthread_attr_t attr;
        pthread_t t;
        int r;

        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, THREAD_STACK);
        pthread_mutex_lock(&s->lock);
        s->threads++;
        pthread_mutex_unlock(&s->lock);
        r = pthread_create(&t, &attr, fn, arg);
        pthread_attr_destroy(&attr);
        if (r != 0) {
                thread_exit_accounting(s);
                return -r;
        }
        return 0;
}

static void conn_unref(struct conn *c)
{
        if (atomic_fetch_sub(&c->refs, 1) != 1)
                return;
        struct ttrpc_server *s = c->server;
        safe_close(c->fd);
        pthread_mutex_destroy(&c->write_lock);
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->slot);
        free(c);
        pthread_mutex_lock(&s->lock);
        s->connections--;
        pthread_mutex_unlock(&s->lock);
}

static void send_response(struct conn *c, uint32_t stream_id, int code, const char *message,
                          const uint8_t *payload, size_t len)
{
        Ttrpc__Status st = TTRPC__STATUS__INIT;
        Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
        struct ttrpc_header h = {.stream_id = stream_id, .type = TTRPC_TYPE_RESPONSE};
        _cleanup_error_ struct coco_error *err = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t n;

        st.code = code;
        st.message = (char *)(message ? message : "");
        resp.status = &st;
        resp.payload.data = (uint8_t *)payload;
        resp.payload.len = len;
        ttrpc_pack(&resp.base, &buf, &n);

        pthread_mutex_lock(&c->write_lock);
        int r = ttrpc_frame_write(c->fd, c->is_socket, &h, buf, n, &err);
        pthread_mutex_unlock(&c->write_lock);
        if (r < 0)
                log_debug("ttrpc: dropping response on stream %u: %s", stream_id,
                          coco_error_message(err, r));
}

static const struct ttrpc_method *lookup(struct ttrpc_server *s, const char *service,
                                         const char *method, const struct ttrpc_service **ret_svc)
{
        for (size_t i = 0; i < s->n_services; i++) {
                const struct ttrpc_service *svc = s->services[i];
                if (strcmp(svc->name, service) != 0)
                        continue;
                *ret_svc = svc;
                for (size_t j = 0; j < svc->n_methods; j++)
                        if (strcmp(svc->methods[j].name, method) == 0)
                                return &svc->methods[j];
                return NULL;
        }
        *ret_svc = NULL;
        return NULL;
}

static void dispatch(struct conn *c, Ttrpc__Request *req, uint32_t stream_id)
{
        _cleanup_error_ struct coco_error *err = NULL;
        _cleanup_free_ char *message = NULL;
        const struct ttrpc_service *svc;
        struct ttrpc_call call = {
                .request = req,
                .ns = ttrpc_request_metadata(req, TTRPC_NAMESPACE_KEY),
                .stream_id = stream_id,
        };
        ProtobufCMessage *in = NULL;
        int code = COCO_STATUS_OK;

        if (req->timeout_nano > 0)
                call.deadline_ns = now_monotonic_ns() + (uint64_t)req->timeout_nano;

        const struct ttrpc_method *m = lookup(c->server, req->service, req->method, &svc);
        if (!m) {
                code = COCO_STATUS_UNIMPLEMENTED;
                message = svc ? xasprintf("%s: method %s is not implemented", req->service,
                                          req->method)
                              : xasprintf("service %s is not implemented", req->service);
        } else if (!(in = protobuf_c_message_unpack(m->input, NULL, req->payload.len,
                                                    req->payload.data))) {
                code = COCO_STATUS_INVALID_ARGUMENT;
                message = xasprintf("%s.%s: malformed %s message", req->service, req->method,
                                    m->input->name);
        } else {
                int r = m->fn(svc->userdata, &call, in, &err);
                if (r < 0) {
                        code = coco_error_status(r);
                        message = xstrdup(coco_error_message(err, r));
                }
        }
        if (in)
                protobuf_c_message_free_unpacked(in, NULL);
        if (code != COCO_STATUS_OK)
                log_debug("ttrpc: %s.%s: %s: %s", req->service, req->method, coco_status_name(code),
                          message);
        send_response(c, stream_id, code, message, code == COCO_STATUS_OK ? call.reply : NULL,
                      code == COCO_STATUS_OK ? call.reply_len : 0);
        free(call.reply);
}

void ttrpc_call_reply(struct ttrpc_call *call, const ProtobufCMessage *msg)
{
        free(call->reply);
        ttrpc_pack(msg, &call->reply, &call->reply_len);
}

static void *request_thread(void *arg)
{
        struct job *j = arg;
        struct conn *c = j->conn;
        struct ttrpc_server *s = c->server;

        dispatch(c, j->req, j->stream_id);
        ttrpc__request__free_unpacked(j->req, NULL);
        free(j);

        pthread_mutex_lock(&c->lock);
        c->inflight--;
        pthread_cond_signal(&c->slot);
        pthread_mutex_unlock(&c->lock);
        conn_unref(c);
        thread_exit_accounting(s);
        return NULL;
}

/* Handle one request frame; returns < 0 when the connection must close. */
static int handle_request(struct conn *c, const struct ttrpc_header *h, const uint8_t *payload)
{
        _cleanup_error_ struct coco_error *err = NULL;
        Ttrpc__Request *req = NULL;
        int r;

        if (h->stream_id % 2 == 0 || h->stream_id <= c->last_stream_id) {
                send_response(c, h->stream_id, COCO_STATUS_INVALID_ARGUMENT,
                              "ttrpc: client stream ids must be odd and increasing", NULL, 0);
                return 0;
        }
        c->last_stream_id = h->stream_id;
        r = ttrpc_request_decode(payload, h->length, &req, &err);
        if (r < 0) {
                log_debug("ttrpc: closing connection: %s", coco_error_message(err, r));
                return r;
        }

        pthread_mutex_lock(&c->lock);
        while (c->inflight >= MAX_INFLIGHT)
                pthread_cond_wait(&c->slot, &c->lock);
        c->inflight++;
        pthread_mutex_unlock(&c->lock);

        struct job *j = xmalloc(sizeof(*j));
        *j = (struct job){.conn = c, .req = req, .stream_id = h->stream_id};
        atomic_fetch_add(&c->refs, 1);
        r = spawn(c->server, request_thread, j);
        if (r < 0) {
                /* no thread: answer here so the client is not left waiting */
                send_response(c, h->stream_id, COCO_STATUS_RESOURCE_EXHAUSTED,
                              "ttrpc: cannot start a thread for this request", NULL, 0);
                ttrpc__request__free_unpacked(req, NULL);
                free(j);
                pthread_mutex_lock(&c->lock);
                c->inflight--;
                pthread_mutex_unlock(&c->lock);
                conn_unref(c);
        }
        return 0;
}

/* Read and dispatch frames until the peer leaves, a frame is malformed or the server stops. */
static void serve(struct conn *c)
{
        struct ttrpc_server *s = c->server;

        for (;;) {
                _cleanup_error_ struct coco_error *err = NULL;
                _cleanup_free_ uint8_t *payload = NULL;
                struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN},
                                      {.fd = s->stop_fd, .events = POLLIN}};
                struct ttrpc_header h;

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[1].revents)
                        break;
                int r = ttrpc_frame_read(c->fd, &h, &payload, &err);
                if (r < 0) {
                        if (r != -EPIPE)
                                log_debug("ttrpc: closing connection: %s",
                                          coco_error_message(err, r));
                        break;
                }
                if (h.type == TTRPC_TYPE_REQUEST) {
                        if (handle_request(c, &h, payload) < 0)
                                break;
                } else if (h.type == TTRPC_TYPE_DATA) {
                        log_debug("ttrpc: ignoring data frame on stream %u (no streaming methods)",
                                  h.stream_id);
                } else {
                        log_debug("ttrpc: closing connection: client sent a response frame");
                        break;
                }
        }
        if (c->is_socket)
                (void)shutdown(c->fd, SHUT_RD);
        conn_unref(c);
}

static void *conn_thread(void *arg)
{
        struct conn *c = arg;
        struct ttrpc_server *s = c->server;

        serve(c);
        thread_exit_accounting(s);
        return NULL;
}

static struct conn *conn_new(struct ttrpc_server *s, int fd)
{
        struct conn *c = xcalloc(1, sizeof(*c));

        c->server = s;
        c->fd = fd;
        c->is_socket = fd_is_socket(fd);
        atomic_init(&c->refs, 1);
        pthread_mutex_init(&c->write_lock, NULL);
        pthread_mutex_init(&c->lock, NULL);
        pthread_cond_init(&c->slot, NULL);
        pthread_mutex_lock(&s->lock);
        s->connections++;
        pthread_mutex_unlock(&s->lock);
        return c;
}

int ttrpc_server_serve_connection(struct ttrpc_server *s, int fd)
{
        struct conn *c = conn_new(s, fd);

        pthread_mutex_lock(&s->lock);
        s->threads++;
        pthread_mutex_unlock(&s->lock);
        serve(c);
        thread_exit_accounting(s);
        return server_stopping(s) ? -ECANCELED : 0;
}

int ttrpc_server_serve_fd(struct ttrpc_server *s, int fd, struct coco_error **err)
{
        struct conn *c = conn_new(s, fd);
        int r = spawn(s, conn_thread, c);
        if (r < 0) {
                conn_unref(c);
                return coco_error_set(err, r, "starting ttrpc connection thread: %s", strerror(-r));
        }
        return 0;
}

int ttrpc_server_run(struct ttrpc_server *s, struct coco_error **err)
{
        struct pollfd p[MAX_LISTENERS + 1];

        if (s->n_listeners == 0)
                return coco_error_set(err, EINVAL, "ttrpc server has no listening socket");
        for (size_t i = 0; i < s->n_listeners; i++)
                p[i] = (struct pollfd){.fd = s->listeners[i], .events = POLLIN};
        p[s->n_listeners] = (struct pollfd){.fd = s->stop_fd, .events = POLLIN};

        for (;;) {
                if (poll(p, s->n_listeners + 1, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return coco_error_set(err, errno, "ttrpc server: poll: %s",
                                              strerror(errno));
                }
                if (p[s->n_listeners].revents)
                        return 0;
                for (size_t i = 0; i < s->n_listeners; i++) {
                        if (!p[i].revents)
                                continue;
                        int fd = accept4(s->listeners[i], NULL, NULL, SOCK_CLOEXEC);
                        if (fd < 0) {
                                if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
                                        continue;
                                return coco_error_set(err, errno, "ttrpc server: accept: %s",
                                                      strerror(errno));
                        }
                        _cleanup_error_ struct coco_error *e = NULL;
                        if (ttrpc_server_serve_fd(s, fd, &e) < 0)
                                log_debug("ttrpc: %s", coco_error_message(e, -EIO));
                }
        }
}

void ttrpc_server_stop(struct ttrpc_server *s)
{
        uint64_t one = 1;
        (void)!write(s->stop_fd, &one, sizeof(one));
}

unsigned ttrpc_server_connections(struct ttrpc_server *s)
{
        pthread_mutex_lock(&s->lock);
        unsigned n = s->connections;
        pthread_mutex_unlock(&s->lock);
        return n;
}

void ttrpc_server_free(struct ttrpc_server *s)
{
        if (!s)
                return;
        if (!server_stopping(s))
                ttrpc_server_stop(s);
        for (size_t i = 0; i < s->n_listeners; i++)
                safe_close(s->listeners[i]);
        pthread_mutex_lock(&s->lock);
        while (s->threads > 0)
                pthread_cond_wait(&s->idle, &s->lock);
        pthread_mutex_unlock(&s->lock);
        safe_close(s->stop_fd);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->idle);
        free(s);
}
