/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the agent test clients: checks, calls and request builders. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "google/protobuf/empty.pb-c.h"
#include "kata/health.pb-c.h"
#include "util.h"

struct ttrpc_client *cl;
const char *rootfs_pci, *rootfs_dir;
unsigned passed, failed;
const char *extra_mount;

void check(bool ok, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        printf("%s %u - ", ok ? "ok" : "not ok", passed + failed + 1);
        for (const char *m = msg; *m; m++) /* one line per check */
                fputs(*m == '\n' ? "\\n" : *m == '\r' ? "\\r" : (char[]){*m, 0}, stdout);
        printf("\n");
        fflush(stdout);
        if (ok)
                passed++;
        else
                failed++;
}

int call(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd,
         ProtobufCMessage **resp, uint64_t timeout, struct coco_error **err)
{
        struct ttrpc_call_opts o = {.timeout_ns = timeout};
        return ttrpc_client_call(cl, AGENT, method, req,
                                 rd ? rd : &google__protobuf__empty__descriptor, resp, &o, err);
}

/* --- building requests --- */

static Grpc__Mount *mnt(const char *dst, const char *type, const char *src, char **opts, size_t n)
{
        Grpc__Mount *m = xcalloc(1, sizeof(*m));
        grpc__mount__init(m);
        m->destination = (char *)dst;
        m->type = (char *)type;
        m->source = (char *)src;
        m->options = opts;
        m->n_options = n;
        return m;
}

static char *env_path[] = {"PATH=/bin:/usr/bin", "HOME=/"};
static char *opt_ro[] = {"nosuid", "nodev", "noexec", "ro"};
static char *opt_dev[] = {"nosuid", "strictatime", "mode=755", "size=65536k"};
static char *opt_pts[] = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"};

void process_init(Grpc__Process *p, Grpc__User *u, char **args, bool terminal)
{
        grpc__process__init(p);
        grpc__user__init(u);
        p->user = u;
        p->args = args;
        while (args[p->n_args])
                p->n_args++;
        p->env = env_path;
        p->n_env = ELEMENTSOF(env_path);
        p->cwd = "/";
        p->terminal = terminal;
}

void ctr_init(struct ctr *c, const char *id, const char *const *args)
{
        memset(c, 0, sizeof(*c));
        for (size_t i = 0; args[i] && i < 7; i++)
                c->args[i] = (char *)args[i];
        grpc__create_container_request__init(&c->req);
        grpc__spec__init(&c->spec);
        grpc__root__init(&c->root);
        process_init(&c->proc, &c->user, c->args, false);
        c->req.container_id = (char *)id;
        c->req.oci = &c->spec;
        c->spec.process = &c->proc;
        c->spec.root = &c->root;
        c->spec.hostname = "scenario";
        c->mounts[0] = mnt("/proc", "proc", "proc", NULL, 0);
        c->mounts[1] = mnt("/dev", "tmpfs", "tmpfs", opt_dev, ELEMENTSOF(opt_dev));
        c->mounts[2] = mnt("/dev/pts", "devpts", "devpts", opt_pts, ELEMENTSOF(opt_pts));
        c->mounts[3] = mnt("/sys", "sysfs", "sysfs", opt_ro, ELEMENTSOF(opt_ro));
        c->spec.mounts = c->mounts;
        c->spec.n_mounts = 4;
        if (extra_mount)
                c->mounts[c->spec.n_mounts++] = mnt(extra_mount, "tmpfs", "tmpfs", NULL, 0);
        if (rootfs_pci) {
                static char *ro[] = {"ro"};
                snprintf(c->root_path, sizeof(c->root_path), "/run/kata-containers/%s/rootfs", id);
                grpc__storage__init(&c->storage);
                c->storage.driver = "blk";
                c->storage.source = (char *)rootfs_pci;
                c->storage.fstype = "ext4";
                c->storage.options = ro;
                c->storage.n_options = 1;
                c->storage.mount_point = c->root_path;
                c->storages[0] = &c->storage;
                c->req.storages = c->storages;
                c->req.n_storages = 1;
        } else
                snprintf(c->root_path, sizeof(c->root_path), "%s", rootfs_dir);
        c->root.path = c->root_path;
}

void ctr_free(struct ctr *c)
{
        for (size_t i = 0; i < c->spec.n_mounts; i++)
                free(c->mounts[i]);
}

/* --- steps --- */

int create(struct ctr *c, struct coco_error **err)
{
        return call("CreateContainer", &c->req.base, NULL, NULL, 60 * SEC, err);
}

int start(const char *id)
{
        Grpc__StartContainerRequest r = GRPC__START_CONTAINER_REQUEST__INIT;
        r.container_id = (char *)id;
        return call("StartContainer", &r.base, NULL, NULL, 30 * SEC, NULL);
}

/* Read a stream until its end; returns what was read (NUL-terminated). */
char *read_all_stream(const char *id, const char *exec, bool is_stderr)
{
        char *out = xstrdup("");
        size_t n = 0;
        for (;;) {
                Grpc__ReadStreamRequest r = GRPC__READ_STREAM_REQUEST__INIT;
                Grpc__ReadStreamResponse *resp = NULL;
                r.container_id = (char *)id;
                r.exec_id = (char *)exec;
                r.len = 4096;
                if (call(is_stderr ? "ReadStderr" : "ReadStdout", &r.base,
                         &grpc__read_stream_response__descriptor, (ProtobufCMessage **)&resp,
                         30 * SEC, NULL) < 0)
                        break;
                size_t len = resp->data.len;
                if (len) {
                        out = xrealloc(out, n + len + 1);
                        memcpy(out + n, resp->data.data, len);
                        n += len;
                        out[n] = 0;
                }
                protobuf_c_message_free_unpacked(&resp->base, NULL);
                if (len == 0)
                        break;
        }
        return out;
}

int wait_status(const char *id, const char *exec)
{
        Grpc__WaitProcessRequest r = GRPC__WAIT_PROCESS_REQUEST__INIT;
        Grpc__WaitProcessResponse *resp = NULL;
        r.container_id = (char *)id;
        r.exec_id = (char *)exec;
        if (call("WaitProcess", &r.base, &grpc__wait_process_response__descriptor,
                 (ProtobufCMessage **)&resp, 60 * SEC, NULL) < 0)
                return -1;
        int s = resp->status;
        protobuf_c_message_free_unpacked(&resp->base, NULL);
        return s;
}

int exec_proc(const char *id, const char *exec, char **args, bool terminal, struct coco_error **err)
{
        Grpc__ExecProcessRequest r = GRPC__EXEC_PROCESS_REQUEST__INIT;
        Grpc__Process p;
        Grpc__User u;
        process_init(&p, &u, args, terminal);
        r.container_id = (char *)id;
        r.exec_id = (char *)exec;
        r.process = &p;
        return call("ExecProcess", &r.base, NULL, NULL, 30 * SEC, err);
}

int signal_proc(const char *id, const char *exec, int sig)
{
        Grpc__SignalProcessRequest r = GRPC__SIGNAL_PROCESS_REQUEST__INIT;
        r.container_id = (char *)id;
        r.exec_id = (char *)exec;
        r.signal = (uint32_t)sig;
        return call("SignalProcess", &r.base, NULL, NULL, 10 * SEC, NULL);
}

int remove_ctr(const char *id, struct coco_error **err)
{
        Grpc__RemoveContainerRequest r = GRPC__REMOVE_CONTAINER_REQUEST__INIT;
        r.container_id = (char *)id;
        return call("RemoveContainer", &r.base, NULL, NULL, 60 * SEC, err);
}

bool contains(const struct coco_error *e, const char *s)
{
        return e && strstr(e->message, s);
}

void health(const char *when, uint64_t timeout)
{
        Grpc__CheckRequest r = GRPC__CHECK_REQUEST__INIT;
        Grpc__HealthCheckResponse *resp = NULL;
        struct ttrpc_call_opts o = {.timeout_ns = timeout};
        _cleanup_error_ struct coco_error *err = NULL;
        int rc = ttrpc_client_call(cl, "grpc.Health", "Check", &r.base,
                                   &grpc__health_check_response__descriptor,
                                   (ProtobufCMessage **)&resp, &o, &err);
        bool serving =
                rc == 0 && resp->status == GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        check(serving, "Health.Check answers SERVING %s%s%s", when, err ? ": " : "",
              err ? err->message : "");
        if (resp)
                protobuf_c_message_free_unpacked(&resp->base, NULL);
}

int dial(const char *path, uint64_t timeout)
{
        uint64_t until = now_monotonic_ns() + timeout;
        struct timespec step = {.tv_nsec = 100 * 1000 * 1000};
        do {
                if (ttrpc_client_dial_unix(path, &cl, NULL) == 0)
                        return 0;
                nanosleep(&step, NULL);
        } while (now_monotonic_ns() < until);
        return -ETIMEDOUT;
}
