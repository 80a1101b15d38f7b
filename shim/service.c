/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd's task service (v2 and v3: the same messages). Methods not
 * listed answer Unimplemented with the reason. Events go out in the order
 * create, start, exit, delete.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "github.com/containerd/cgroups/stats/v1/metrics.pb-c.h"
#include "github.com/containerd/containerd/api/events/task.pb-c.h"
#include "initdata.h"
#include "log.h"
#include "runtimeoptions.pb-c.h"
#include "shim.h"
#include "util.h"

#define HANDLER(name)                                                                              \
        static int name(void *ud, struct ttrpc_call *call, const ProtobufCMessage *in,             \
                        struct coco_error **err)
#define GUEST_ROOT "/run/kata-containers/%s/rootfs"

typedef Containerd__Task__V2__CreateTaskRequest CreateReq;

static struct task *find(struct shim *s, const char *id)
{
        for (struct task *t = s->tasks; t; t = t->next)
                if (strcmp(t->id, id) == 0)
                        return t;
        return NULL;
}

static void set_time(Google__Protobuf__Timestamp *ts, uint64_t ns)
{
        ts->seconds = (int64_t)(ns / NSEC_PER_SEC);
        ts->nanos = (int32_t)(ns % NSEC_PER_SEC);
}

static uint32_t task_pid(struct shim *s)
{
        return s->sandbox ? (uint32_t)s->sandbox->vm.pid : 0;
}

/* ConfigPath from the runtime options, else the built-in default. */
static char *config_path(struct shim *s, const CreateReq *req, struct coco_error **err)
{
        if (req->options && req->options->value.len) {
                Runtimeoptions__V1__Options *o = runtimeoptions__v1__options__unpack(
                        NULL, req->options->value.len, req->options->value.data);
                char *p = o && o->config_path && *o->config_path ? xstrdup(o->config_path) : NULL;
                if (o)
                        runtimeoptions__v1__options__free_unpacked(o, NULL);
                if (p)
                        return p;
        }
        char *d = default_config_path(s->self_dir);
        if (!d)
                coco_error_set(err, ENOENT,
                               "no runtime class file: set ConfigPath in the runtime "
                               "options (ctr --runtime-config-path) or install "
                               "/etc/coco/dev.json");
        return d;
}

static void save_state(const struct task *t, const struct sandbox *sb, bool owns_vm)
{
        _cleanup_free_ char *path = xasprintf("%s/" SHIM_STATE_FILE, t->bundle);
        json_t *st = json_pack("{s:s, s:s, s:s, s:b, s:s}", "sandbox", sb->id, "config",
                               sb->config_path, "run_dir", sb->run_dir, "owns_vm", owns_vm, "image",
                               t->image ? t->image : "");
        if (json_dump_file(st, path, JSON_COMPACT) < 0)
                log_warn("saving %s failed", path);
        json_decref(st);
}

static int hotplug(struct shim *s, struct task *t, bool plug, struct coco_error **err)
{
        struct sandbox *sb = s->sandbox;
        _cleanup_free_ char *req =
                plug ? xasprintf("{\"op\":\"hotplug-disk\",\"sandbox\":\"%s\",\"config\":\"%s\","
                                 "\"path\":\"%s\",\"slot\":%u,\"readonly\":true}",
                                 sb->id, sb->config_path, t->image, t->slot)
                     : xasprintf("{\"op\":\"unplug-disk\",\"sandbox\":\"%s\",\"config\":\"%s\","
                                 "\"path\":\"%s\"}",
                                 sb->id, sb->config_path, t->image);
        return vmm_helper(s, req, NULL, NULL, err);
}

/* The rootfs: an image of containerd's snapshot (none class) or an in-guest pull. */
static int prepare_rootfs(struct shim *s, struct task *t, const CreateReq *req, Grpc__Spec *spec,
                          Grpc__Storage *st, struct coco_error **err)
{
        struct sandbox *sb = s->sandbox;
        static char *ro[] = {"ro"};
        char *root = xasprintf(GUEST_ROOT, t->id);

        grpc__storage__init(st);
        st->mount_point = root;
        spec->root->path = root;
        if (sb->cls->tee != CFG_TEE_NONE) {
                /* nothing of the image is shared from the host: the guest pulls it */
                const char *image = spec_annotation(spec, "io.kubernetes.cri.image-name");
                st->driver = "image_guest_pull";
                st->source = (char *)(image ? image : "");
                st->fstype = "overlay";
                return 0;
        }
        if (sb->next_slot > 0x1f)
                return coco_error_set(err, ENOSPC,
                                      "the pod's VM has no free PCI slot for another "
                                      "container (16 at most)");
        t->slot = sb->next_slot++;
        t->image = xasprintf("%s/%s.img", sb->run_dir, t->id);
        int r = rootfs_image(t->bundle, (const Containerd__Types__Mount *const *)req->rootfs,
                             req->n_rootfs, t->image, err);
        if (r >= 0)
                r = hotplug(s, t, true, err);
        if (r < 0)
                return r;
        st->driver = "blk";
        st->source = xasprintf("%02x", t->slot);
        st->fstype = "ext4";
        st->options = ro;
        st->n_options = 1;
        return 0;
}

static void proc_done(struct proc *p)
{
        safe_close(p->stdin_fd); /* never started: the read end is still ours */
        free(p->exec_id);
        free(p->stdin_path);
        free(p->stdout_path);
        free(p->stderr_path);
        arena_free(p->arena);
}

static void task_free(struct task *t);
static void task_free(struct task *t)
{
        while (t->execs) {
                struct proc *p = t->execs;
                t->execs = p->next;
                proc_done(p);
                free(p);
        }
        proc_done(&t->init);
        free(t->id);
        free(t->bundle);
        free(t->image);
        free(t);
}

static void release_rootfs(struct shim *s, struct task *t)
{
        if (!t->image)
                return;
        if (s->sandbox)
                (void)hotplug(s, t, false, NULL);
        (void)unlink(t->image);
}

/* vCPUs and memory (MiB) the pod asks for; the class's limits are checked at launch. */
static int pod_sizes(const Grpc__Spec *spec, struct cfg_overrides *ret, struct coco_error **err)
{
        static const char *const keys[] = {ANNOTATION_VCPUS, ANNOTATION_MEMORY};
        uint64_t v[2] = {0, 0};
        for (int i = 0; i < 2; i++) {
                const char *a = spec_annotation(spec, keys[i]);
                char *end;
                if (!a)
                        continue;
                errno = 0;
                v[i] = strtoull(a, &end, 10);
                if (errno || end == a || *end || v[i] == 0 || v[i] > UINT32_MAX)
                        return coco_error_set(err, EINVAL,
                                              "pod annotation %s=\"%s\" is not a positive number",
                                              keys[i], a);
        }
        ret->vcpus = (unsigned)v[0];
        ret->memory_mib = v[1];
        return 0;
}

/* The host files the container bind-mounts, into the guest (CopyFile, in chunks). */
static int copy_files(struct shim *s, const struct spec_extra *extra, struct coco_error **err)
{
        enum { CHUNK = 256 * 1024 };
        for (size_t i = 0; i < extra->n_files; i++) {
                const struct spec_file *f = &extra->files[i];
                _cleanup_close_ int fd = open(f->host_path, O_RDONLY | O_CLOEXEC);
                struct stat st;
                if (fd < 0 || fstat(fd, &st) < 0)
                        return coco_error_set(err, errno, "reading %s for the VM: %s", f->host_path,
                                              strerror(errno));
                size_t size = st.st_size < SPEC_FILE_MAX ? (size_t)st.st_size : SPEC_FILE_MAX;
                _cleanup_free_ uint8_t *buf = xmalloc(size ? size : 1);
                ssize_t n = read(fd, buf, size);
                if (n < 0)
                        return coco_error_set(err, errno, "reading %s for the VM: %s", f->host_path,
                                              strerror(errno));
                int64_t off = 0;
                do {
                        Grpc__CopyFileRequest c = GRPC__COPY_FILE_REQUEST__INIT;
                        size_t len =
                                (size_t)n - (size_t)off < CHUNK ? (size_t)n - (size_t)off : CHUNK;
                        c.path = f->guest_path;
                        c.file_size = n;
                        c.file_mode = st.st_mode & 07777;
                        c.dir_mode = 0750;
                        c.uid = (int32_t)st.st_uid;
                        c.gid = (int32_t)st.st_gid;
                        c.offset = off;
                        c.data.data = buf + off;
                        c.data.len = len;
                        int r = agent_call(s, "CopyFile", &c.base, NULL, NULL, 10 * NSEC_PER_SEC,
                                           err);
                        if (r < 0)
                                return coco_error_wrap(err, r, "copying %s into the VM",
                                                       f->host_path);
                        off += (int64_t)len;
                } while (off < n);
        }
        return 0;
}

HANDLER(task_create)
{
        struct shim *s = ud;
        const CreateReq *req = (const void *)in;
        _cleanup_(arena_freep) struct arena *arena = NULL;
        _cleanup_free_ char *cfg = NULL;
        _cleanup_(spec_extra_done) struct spec_extra extra = {0};
        Grpc__Spec *spec = NULL;
        Grpc__Storage st, *sts[1] = {&st};
        int r;

        pthread_mutex_lock(&s->lock);
        bool dup = find(s, req->id) != NULL;
        pthread_mutex_unlock(&s->lock);
        if (dup)
                return coco_error_set(err, EEXIST, "task \"%s\" already exists", req->id);
        if ((r = spec_load(req->bundle, req->id, &arena, &spec, &extra, err)) < 0)
                return r;
        if (!(cfg = config_path(s, req, err)))
                return -ENOENT;
        const char *sbid = spec_annotation(spec, "io.kubernetes.cri.sandbox-id");
        const char *initdata = spec_annotation(spec, INITDATA_ANNOTATION);
        if (!initdata)
                initdata = spec_annotation(spec, INITDATA_ANNOTATION_OLD);
        if (initdata) { /* refuse bad initdata before any VM exists, with the reason */
                _cleanup_(initdata_freep) struct initdata *id = NULL;
                if ((r = initdata_from_annotation(initdata, &id, err)) < 0)
                        return coco_error_wrap(err, r, "pod annotation %s", INITDATA_ANNOTATION);
        }
        struct sandbox_params sp = {
                .id = sbid ? sbid : req->id,
                .config_path = cfg,
                .initdata = initdata,
                .netns = extra.netns,
                .hostname = spec->hostname,
        };
        if ((r = pod_sizes(spec, &sp.sizes, err)) < 0)
                return r;
        bool started_vm = !s->sandbox;
        if ((r = sandbox_ensure(s, &sp, err)) < 0)
                return r;

        struct task *t = xcalloc(1, sizeof(*t));
        t->id = xstrdup(req->id);
        t->bundle = xstrdup(req->bundle);
        t->init.task = t;
        t->init.exec_id = xstrdup("");
        t->init.stdin_path = xstrdup(req->stdin);
        t->init.stdout_path = xstrdup(req->stdout);
        t->init.stderr_path = xstrdup(req->stderr);
        t->init.terminal = req->terminal;
        io_open_stdin(&t->init);
        spec->process->terminal = req->terminal;

        Grpc__CreateContainerRequest cc = GRPC__CREATE_CONTAINER_REQUEST__INIT;
        r = prepare_rootfs(s, t, req, spec, &st, err);
        if (r >= 0)
                r = copy_files(s, &extra, err);
        if (r >= 0) {
                cc.container_id = t->id;
                cc.exec_id = t->id;
                cc.oci = spec;
                cc.storages = sts;
                cc.n_storages = 1;
                r = agent_call(s, "CreateContainer", &cc.base, NULL, NULL,
                               (uint64_t)s->sandbox->cls->create_timeout_s * NSEC_PER_SEC, err);
        }
        free(st.mount_point);
        if (t->image)
                free(st.source);
        if (r < 0) {
                release_rootfs(s, t);
                task_free(t);
                if (started_vm && !s->tasks)
                        sandbox_teardown(s);
                return coco_error_wrap(err, r, "creating task \"%s\"", req->id);
        }
        save_state(t, s->sandbox, started_vm);
        pthread_mutex_lock(&s->lock);
        t->next = s->tasks;
        s->tasks = t;
        pthread_mutex_unlock(&s->lock);

        Containerd__Events__TaskCreate ev = CONTAINERD__EVENTS__TASK_CREATE__INIT;
        Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;
        io.stdin = t->init.stdin_path;
        io.stdout = t->init.stdout_path;
        io.stderr = t->init.stderr_path;
        io.terminal = t->init.terminal;
        ev.container_id = t->id;
        ev.bundle = t->bundle;
        ev.io = &io;
        ev.pid = task_pid(s);
        ev.rootfs = req->rootfs;
        ev.n_rootfs = req->n_rootfs;
        event_publish(s, "/tasks/create", &ev.base, "containerd.events.TaskCreate");

        Containerd__Task__V2__CreateTaskResponse resp =
                CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
        resp.pid = task_pid(s);
        ttrpc_call_reply(call, &resp.base);
        log_info("task \"%s\" created", t->id);
        return 0;
}

struct waiter {
        struct shim *s;
        struct proc *p;
};

static void *wait_exit(void *arg)
{
        struct waiter *w = arg;
        struct shim *s = w->s;
        struct proc *p = w->p;
        struct task *t = p->task;
        Grpc__WaitProcessRequest req = GRPC__WAIT_PROCESS_REQUEST__INIT;
        Grpc__WaitProcessResponse *resp = NULL;
        uint32_t status = 255; /* the VM or the agent went away */

        free(w);
        req.container_id = t->id;
        req.exec_id = p->exec_id;
        if (agent_call(s, "WaitProcess", &req.base, &grpc__wait_process_response__descriptor,
                       (ProtobufCMessage **)&resp, 0, NULL) == 0) {
                status = (uint32_t)resp->status;
                protobuf_c_message_free_unpacked(&resp->base, NULL);
        }
        io_join(p); /* all output is written before the exit is reported */
        pthread_mutex_lock(&s->lock);
        p->status = TASK_STOPPED;
        p->exit_status = status;
        p->exited_at_ns = now_realtime_ns();
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->lock);

        Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        set_time(&ts, p->exited_at_ns);
        ev.container_id = t->id;
        ev.id = *p->exec_id ? p->exec_id : t->id;
        ev.pid = task_pid(s);
        ev.exit_status = status;
        ev.exited_at = &ts;
        event_publish(s, "/tasks/exit", &ev.base, "containerd.events.TaskExit");
        log_info("task \"%s\"%s%s%s exited with %u", t->id, *p->exec_id ? " exec \"" : "",
                 p->exec_id, *p->exec_id ? "\"" : "", status);
        return NULL;
}

static void start_waiter(struct shim *s, struct proc *p)
{
        struct waiter *w = xmalloc(sizeof(*w));
        *w = (struct waiter){s, p};
        p->waiter_started = pthread_create(&p->waiter, NULL, wait_exit, w) == 0;
        if (!p->waiter_started)
                free(w);
}

static struct proc *find_exec(struct task *t, const char *exec_id)
{
        for (struct proc *p = t->execs; p; p = p->next)
                if (strcmp(p->exec_id, exec_id) == 0)
                        return p;
        return NULL;
}

/* The task and the process named by exec_id (its init when empty). */
static int lookup(struct shim *s, const char *id, const char *exec_id, struct task **ret_t,
                  struct proc **ret_p, struct coco_error **err)
{
        pthread_mutex_lock(&s->lock);
        struct task *t = find(s, id);
        struct proc *p = !t ? NULL : exec_id && *exec_id ? find_exec(t, exec_id) : &t->init;
        pthread_mutex_unlock(&s->lock);
        if (!t)
                return coco_error_set(err, ENOENT, "task \"%s\" not found", id);
        if (!p)
                return coco_error_set(err, ENOENT, "exec \"%s\" of task \"%s\" not found", exec_id,
                                      id);
        *ret_t = t;
        if (ret_p)
                *ret_p = p;
        return 0;
}

HANDLER(task_start)
{
        struct shim *s = ud;
        const Containerd__Task__V2__StartRequest *req = (const void *)in;
        struct task *t;
        struct proc *p;
        int r = lookup(s, req->id, req->exec_id, &t, &p, err);
        if (r < 0)
                return r;
        if (p->status != TASK_CREATED)
                return coco_error_set(err, EBUSY, "\"%s\" was already started",
                                      *p->exec_id ? p->exec_id : t->id);
        if (!*p->exec_id) {
                Grpc__StartContainerRequest sc = GRPC__START_CONTAINER_REQUEST__INIT;
                sc.container_id = t->id;
                io_start(s, p); /* the container exists: its output can be read from now on */
                r = agent_call(s, "StartContainer", &sc.base, NULL, NULL, 30 * NSEC_PER_SEC, err);
        } else {
                Grpc__ExecProcessRequest ep = GRPC__EXEC_PROCESS_REQUEST__INIT;
                ep.container_id = t->id;
                ep.exec_id = p->exec_id;
                ep.process = p->spec;
                r = agent_call(s, "ExecProcess", &ep.base, NULL, NULL, 30 * NSEC_PER_SEC, err);
                if (r == 0)
                        io_start(s, p); /* the agent knows the process now */
        }
        if (r < 0)
                return r;
        pthread_mutex_lock(&s->lock);
        p->status = TASK_RUNNING;
        pthread_mutex_unlock(&s->lock);
        if (!*p->exec_id) {
                Containerd__Events__TaskStart ev = CONTAINERD__EVENTS__TASK_START__INIT;
                ev.container_id = t->id;
                ev.pid = task_pid(s);
                event_publish(s, "/tasks/start", &ev.base, "containerd.events.TaskStart");
        } else {
                Containerd__Events__TaskExecStarted ev =
                        CONTAINERD__EVENTS__TASK_EXEC_STARTED__INIT;
                ev.container_id = t->id;
                ev.exec_id = p->exec_id;
                ev.pid = task_pid(s);
                event_publish(s, "/tasks/exec-started", &ev.base,
                              "containerd.events.TaskExecStarted");
        }
        start_waiter(s, p);
        Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
        resp.pid = task_pid(s);
        ttrpc_call_reply(call, &resp.base);
        return 0;
}

HANDLER(task_exec)
{
        struct shim *s = ud;
        const Containerd__Task__V2__ExecProcessRequest *req = (const void *)in;
        struct task *t;
        int r = lookup(s, req->id, NULL, &t, NULL, err);
        if (r < 0)
                return r;
        if (!req->exec_id || !*req->exec_id)
                return coco_error_set(err, EINVAL, "Exec needs an exec id");
        if (!req->spec || !req->spec->value.len)
                return coco_error_set(err, EINVAL, "Exec needs a process spec");
        struct proc *p = xcalloc(1, sizeof(*p));
        r = spec_process(req->spec->value.data, req->spec->value.len, &p->arena, &p->spec, err);
        if (r < 0) {
                free(p);
                return r;
        }
        p->task = t;
        p->exec_id = xstrdup(req->exec_id);
        p->stdin_path = xstrdup(req->stdin);
        p->stdout_path = xstrdup(req->stdout);
        p->stderr_path = xstrdup(req->stderr);
        p->terminal = req->terminal;
        p->spec->terminal = req->terminal;
        io_open_stdin(p);
        pthread_mutex_lock(&s->lock);
        bool dup = find_exec(t, req->exec_id) != NULL;
        if (!dup) {
                p->next = t->execs;
                t->execs = p;
        }
        pthread_mutex_unlock(&s->lock);
        if (dup) {
                proc_done(p);
                free(p);
                return coco_error_set(err, EEXIST, "exec \"%s\" already exists in task \"%s\"",
                                      req->exec_id, t->id);
        }
        Containerd__Events__TaskExecAdded ev = CONTAINERD__EVENTS__TASK_EXEC_ADDED__INIT;
        ev.container_id = t->id;
        ev.exec_id = p->exec_id;
        event_publish(s, "/tasks/exec-added", &ev.base, "containerd.events.TaskExecAdded");
        (void)call;
        return 0;
}

HANDLER(task_wait)
{
        struct shim *s = ud;
        const Containerd__Task__V2__WaitRequest *req = (const void *)in;
        struct task *t;
        struct proc *p;
        int r = lookup(s, req->id, req->exec_id, &t, &p, err);
        if (r < 0)
                return r;
        Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        pthread_mutex_lock(&s->lock);
        while (p->status != TASK_STOPPED)
                pthread_cond_wait(&s->changed, &s->lock);
        resp.exit_status = p->exit_status;
        set_time(&ts, p->exited_at_ns);
        pthread_mutex_unlock(&s->lock);
        resp.exited_at = &ts;
        ttrpc_call_reply(call, &resp.base);
        return 0;
}

HANDLER(task_state)
{
        struct shim *s = ud;
        const Containerd__Task__V2__StateRequest *req = (const void *)in;
        struct task *t;
        struct proc *p;
        int r = lookup(s, req->id, req->exec_id, &t, &p, err);
        if (r < 0)
                return r;
        static const Containerd__V1__Types__Status map[] = {
                [TASK_CREATED] = CONTAINERD__V1__TYPES__STATUS__CREATED,
                [TASK_RUNNING] = CONTAINERD__V1__TYPES__STATUS__RUNNING,
                [TASK_STOPPED] = CONTAINERD__V1__TYPES__STATUS__STOPPED,
        };
        Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        pthread_mutex_lock(&s->lock);
        resp.id = *p->exec_id ? p->exec_id : t->id;
        resp.exec_id = p->exec_id;
        resp.bundle = t->bundle;
        resp.pid = task_pid(s);
        resp.status = map[p->status];
        resp.stdin = p->stdin_path;
        resp.stdout = p->stdout_path;
        resp.stderr = p->stderr_path;
        resp.terminal = p->terminal;
        resp.exit_status = p->exit_status;
        if (p->status == TASK_STOPPED) {
                set_time(&ts, p->exited_at_ns);
                resp.exited_at = &ts;
        }
        ttrpc_call_reply(call, &resp.base);
        pthread_mutex_unlock(&s->lock);
        return 0;
}

HANDLER(task_kill)
{
        struct shim *s = ud;
        const Containerd__Task__V2__KillRequest *req = (const void *)in;
        struct task *t;
        struct proc *p;
        int r = lookup(s, req->id, req->exec_id, &t, &p, err);
        if (r < 0)
                return r;
        if (p->status == TASK_STOPPED)
                return coco_error_set(err, ENOENT, "process \"%s\" has already exited",
                                      *p->exec_id ? p->exec_id : t->id);
        Grpc__SignalProcessRequest sp = GRPC__SIGNAL_PROCESS_REQUEST__INIT;
        sp.container_id = t->id;
        sp.exec_id = p->exec_id; /* empty: every process of the container */
        sp.signal = req->signal;
        (void)call;
        return agent_call(s, "SignalProcess", &sp.base, NULL, NULL, 10 * NSEC_PER_SEC, err);
}

static int delete_exec(struct shim *s, struct task *t, struct proc *p, struct ttrpc_call *call,
                       struct coco_error **err)
{
        if (p->status == TASK_RUNNING)
                return coco_error_set(err, EBUSY, "exec \"%s\" is running; kill it first",
                                      p->exec_id);
        if (p->waiter_started)
                pthread_join(p->waiter, NULL);
        pthread_mutex_lock(&s->lock);
        for (struct proc **pp = &t->execs; *pp; pp = &(*pp)->next)
                if (*pp == p) {
                        *pp = p->next;
                        break;
                }
        pthread_mutex_unlock(&s->lock);
        Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        set_time(&ts, p->exited_at_ns ? p->exited_at_ns : now_realtime_ns());
        resp.pid = task_pid(s);
        resp.exit_status = p->exit_status;
        resp.exited_at = &ts;
        ttrpc_call_reply(call, &resp.base);
        proc_done(p);
        free(p);
        return 0;
}

HANDLER(task_delete)
{
        struct shim *s = ud;
        const Containerd__Task__V2__DeleteRequest *req = (const void *)in;
        struct task *t;
        struct proc *p;
        int r = lookup(s, req->id, req->exec_id, &t, &p, err);
        if (r < 0)
                return r;
        if (p != &t->init)
                return delete_exec(s, t, p, call, err);
        if (t->init.status == TASK_RUNNING)
                return coco_error_set(err, EBUSY, "task \"%s\" is running; kill it first", t->id);
        if (t->init.waiter_started)
                pthread_join(t->init.waiter, NULL);
        for (struct proc *e = t->execs; e; e = e->next)
                if (e->waiter_started) { /* the container's end ends its execs */
                        pthread_join(e->waiter, NULL);
                        e->waiter_started = false;
                }
        Grpc__RemoveContainerRequest rc = GRPC__REMOVE_CONTAINER_REQUEST__INIT;
        rc.container_id = t->id;
        _cleanup_error_ struct coco_error *rerr = NULL;
        if (agent_call(s, "RemoveContainer", &rc.base, NULL, NULL, 60 * NSEC_PER_SEC, &rerr) < 0)
                log_warn("%s", coco_error_message(rerr, -EIO));
        release_rootfs(s, t);

        pthread_mutex_lock(&s->lock);
        for (struct task **pp = &s->tasks; *pp; pp = &(*pp)->next)
                if (*pp == t) {
                        *pp = t->next;
                        break;
                }
        bool last = !s->tasks;
        pthread_mutex_unlock(&s->lock);

        Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        set_time(&ts, t->init.exited_at_ns ? t->init.exited_at_ns : now_realtime_ns());
        resp.pid = task_pid(s);
        resp.exit_status = t->init.exit_status;
        resp.exited_at = &ts;
        Containerd__Events__TaskDelete ev = CONTAINERD__EVENTS__TASK_DELETE__INIT;
        ev.container_id = t->id;
        ev.id = t->id;
        ev.pid = resp.pid;
        ev.exit_status = resp.exit_status;
        ev.exited_at = &ts;
        if (last)
                sandbox_teardown(s);
        _cleanup_free_ char *state = xasprintf("%s/" SHIM_STATE_FILE, t->bundle);
        (void)unlink(state);
        event_publish(s, "/tasks/delete", &ev.base, "containerd.events.TaskDelete");
        ttrpc_call_reply(call, &resp.base);
        log_info("task \"%s\" deleted%s", t->id, last ? "; the pod's VM is gone" : "");
        task_free(t);
        return 0;
}

HANDLER(task_pids)
{
        struct shim *s = ud;
        const Containerd__Task__V2__PidsRequest *req = (const void *)in;
        struct task *t;
        int r = lookup(s, req->id, NULL, &t, NULL, err);
        if (r < 0)
                return r;
        Containerd__V1__Types__ProcessInfo pi = CONTAINERD__V1__TYPES__PROCESS_INFO__INIT;
        Containerd__V1__Types__ProcessInfo *list[] = {&pi};
        Containerd__Task__V2__PidsResponse resp = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
        pi.pid = task_pid(s);
        resp.processes = list;
        resp.n_processes = 1;
        ttrpc_call_reply(call, &resp.base);
        return 0;
}

HANDLER(task_connect)
{
        struct shim *s = ud;
        (void)in, (void)err;
        Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
        resp.shim_pid = (uint32_t)getpid();
        resp.task_pid = task_pid(s);
        ttrpc_call_reply(call, &resp.base);
        return 0;
}

HANDLER(task_close_io)
{
        struct shim *s = ud;
        const Containerd__Task__V2__CloseIORequest *req = (const void *)in;
        struct task *t;
        struct proc *p;
        int r = lookup(s, req->id, req->exec_id, &t, &p, err);
        if (r < 0)
                return r;
        Grpc__CloseStdinRequest c = GRPC__CLOSE_STDIN_REQUEST__INIT;
        c.container_id = t->id;
        c.exec_id = p->exec_id;
        (void)call;
        return agent_call(s, "CloseStdin", &c.base, NULL, NULL, 10 * NSEC_PER_SEC, err);
}

HANDLER(task_resize_pty)
{
        struct shim *s = ud;
        const Containerd__Task__V2__ResizePtyRequest *req = (const void *)in;
        struct task *t;
        struct proc *p;
        int r = lookup(s, req->id, req->exec_id, &t, &p, err);
        if (r < 0)
                return r;
        Grpc__TtyWinResizeRequest w = GRPC__TTY_WIN_RESIZE_REQUEST__INIT;
        w.container_id = t->id;
        w.exec_id = p->exec_id;
        w.row = req->height;
        w.column = req->width;
        (void)call;
        return agent_call(s, "TtyWinResize", &w.base, NULL, NULL, 10 * NSEC_PER_SEC, err);
}

HANDLER(task_shutdown)
{
        struct shim *s = ud;
        (void)in, (void)call, (void)err;
        pthread_mutex_lock(&s->lock);
        bool idle = !s->tasks;
        pthread_mutex_unlock(&s->lock);
        if (idle) {
                log_info("shutting down");
                ttrpc_server_stop(s->server);
        }
        return 0;
}

/* The container's cgroup in the guest, as containerd's cgroups v1 Metrics. */
HANDLER(task_stats)
{
        struct shim *s = ud;
        const Containerd__Task__V2__StatsRequest *req = (const void *)in;
        struct task *t;
        int r = lookup(s, req->id, NULL, &t, NULL, err);
        if (r < 0)
                return r;
        Grpc__StatsContainerRequest sr = GRPC__STATS_CONTAINER_REQUEST__INIT;
        Grpc__StatsContainerResponse *st = NULL;
        sr.container_id = t->id;
        r = agent_call(s, "StatsContainer", &sr.base, &grpc__stats_container_response__descriptor,
                       (ProtobufCMessage **)&st, 10 * NSEC_PER_SEC, err);
        if (r < 0)
                return r;
        Io__Containerd__Cgroups__V1__Metrics m = IO__CONTAINERD__CGROUPS__V1__METRICS__INIT;
        Io__Containerd__Cgroups__V1__PidsStat pids = IO__CONTAINERD__CGROUPS__V1__PIDS_STAT__INIT;
        Io__Containerd__Cgroups__V1__CPUStat cpu = IO__CONTAINERD__CGROUPS__V1__CPUSTAT__INIT;
        Io__Containerd__Cgroups__V1__CPUUsage usage = IO__CONTAINERD__CGROUPS__V1__CPUUSAGE__INIT;
        Io__Containerd__Cgroups__V1__MemoryStat mem =
                IO__CONTAINERD__CGROUPS__V1__MEMORY_STAT__INIT;
        Io__Containerd__Cgroups__V1__MemoryEntry mu =
                IO__CONTAINERD__CGROUPS__V1__MEMORY_ENTRY__INIT;
        const Grpc__CgroupStats *cg = st->cgroup_stats;
        if (cg && cg->pids_stats) {
                pids.current = cg->pids_stats->current;
                pids.limit = cg->pids_stats->limit;
                m.pids = &pids;
        }
        if (cg && cg->cpu_stats && cg->cpu_stats->cpu_usage) {
                usage.total = cg->cpu_stats->cpu_usage->total_usage;
                usage.kernel = cg->cpu_stats->cpu_usage->usage_in_kernelmode;
                usage.user = cg->cpu_stats->cpu_usage->usage_in_usermode;
                cpu.usage = &usage;
                m.cpu = &cpu;
        }
        if (cg && cg->memory_stats) {
                mem.cache = cg->memory_stats->cache;
                if (cg->memory_stats->usage) {
                        mu.usage = cg->memory_stats->usage->usage;
                        mu.limit = cg->memory_stats->usage->limit;
                        mu.failcnt = cg->memory_stats->usage->failcnt;
                        mem.usage = &mu;
                }
                m.memory = &mem;
        }
        _cleanup_free_ uint8_t *packed = NULL;
        size_t len;
        ttrpc_pack(&m.base, &packed, &len);
        protobuf_c_message_free_unpacked(&st->base, NULL);
        Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
        any.type_url = "io.containerd.cgroups.v1.Metrics";
        any.value.data = packed;
        any.value.len = len;
        Containerd__Task__V2__StatsResponse resp = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
        resp.stats = &any;
        ttrpc_call_reply(call, &resp.base);
        return 0;
}

static int unsupported(const char *what, struct coco_error **err)
{
        return coco_error_set(err, EOPNOTSUPP, "%s is not supported by the coco runtime", what);
}

HANDLER(task_pause)
{
        (void)ud, (void)call, (void)in;
        return unsupported("pausing a task", err);
}

/* New cgroup limits for a running container (kubelet's UpdateContainerResources). */
HANDLER(task_update)
{
        struct shim *s = ud;
        const Containerd__Task__V2__UpdateTaskRequest *req = (const void *)in;
        _cleanup_(arena_freep) struct arena *arena = NULL;
        Grpc__LinuxResources *res = NULL;
        int r;

        pthread_mutex_lock(&s->lock);
        bool known = find(s, req->id) != NULL;
        pthread_mutex_unlock(&s->lock);
        if (!known)
                return coco_error_set(err, ENOENT, "task \"%s\" not found", req->id);
        if (!req->resources)
                return coco_error_set(err, EINVAL, "Update for task \"%s\" has no resources",
                                      req->id);
        if ((r = spec_resources(req->resources->value.data, req->resources->value.len, &arena, &res,
                                err)) < 0)
                return r;
        Grpc__UpdateContainerRequest u = GRPC__UPDATE_CONTAINER_REQUEST__INIT;
        u.container_id = req->id;
        u.resources = res;
        (void)call; /* answered with Empty */
        if ((r = agent_call(s, "UpdateContainer", &u.base, NULL, NULL, 30 * NSEC_PER_SEC, err)) < 0)
                return r;
        log_info("task \"%s\": resources updated", req->id);
        return 0;
}

HANDLER(task_checkpoint)
{
        (void)ud, (void)call, (void)in;
        return unsupported("checkpointing a confidential VM's task", err);
}

#define T(name, type, fn)                                                                          \
        {                                                                                          \
                name, &containerd__task__v2__##type##__descriptor, fn                              \
        }

static const struct ttrpc_method task_methods[] = {
        T("Create", create_task_request, task_create),
        T("Start", start_request, task_start),
        T("Exec", exec_process_request, task_exec),
        T("Wait", wait_request, task_wait),
        T("State", state_request, task_state),
        T("Kill", kill_request, task_kill),
        T("Delete", delete_request, task_delete),
        T("Pids", pids_request, task_pids),
        T("Stats", stats_request, task_stats),
        T("Connect", connect_request, task_connect),
        T("CloseIO", close_iorequest, task_close_io),
        T("ResizePty", resize_pty_request, task_resize_pty),
        T("Shutdown", shutdown_request, task_shutdown),
        T("Pause", pause_request, task_pause),
        T("Resume", resume_request, task_pause),
        T("Checkpoint", checkpoint_task_request, task_checkpoint),
        T("Update", update_task_request, task_update),
};

void shim_register(struct shim *s)
{
        static struct ttrpc_service v2 = {"containerd.task.v2.Task", task_methods,
                                          ELEMENTSOF(task_methods), NULL};
        static struct ttrpc_service v3 = {"containerd.task.v3.Task", task_methods,
                                          ELEMENTSOF(task_methods), NULL};
        v2.userdata = v3.userdata = s;
        (void)ttrpc_server_register(s->server, &v2);
        (void)ttrpc_server_register(s->server, &v3);
}
