/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pod's VM: started through the coco-vmm helper on the first Create,
 * reached through the agent channel, torn down with the last task. The shim
 * itself never loads libvirt.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "github.com/containerd/containerd/api/events/task.pb-c.h"
#include "kata/health.pb-c.h"
#include "log.h"
#include "shim.h"
#include "util.h"

extern char **environ;

char *default_config_path(const char *self_dir)
{
        /* the build tree (build/bin -> build/config), an install prefix, then /etc */
        char *candidates[] = {
                xasprintf("%s/../config/dev.json", self_dir),
                xasprintf("%s/../etc/coco/dev.json", self_dir),
                xstrdup("/etc/coco/dev.json"),
        };
        char *found = NULL;
        for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
                if (!found && access(candidates[i], R_OK) == 0)
                        found = realpath(candidates[i], NULL);
                free(candidates[i]);
        }
        return found;
}

static char *helper_path(const char *self_dir)
{
        char *p = xasprintf("%s/coco-vmm", self_dir);
        if (access(p, X_OK) == 0)
                return p;
        free(p);
        p = xasprintf("%s/../libexec/coco/coco-vmm", self_dir);
        return p;
}

int vmm_helper(struct shim *s, const char *request, struct vmm_vm *ret_vm, json_t **ret_network,
               struct coco_error **err)
{
        _cleanup_free_ char *path = helper_path(s->self_dir);
        int in[2], out[2];
        posix_spawn_file_actions_t fa;
        pid_t pid;

        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
                return coco_error_set(err, errno, "pipes for coco-vmm: %s", strerror(errno));
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        char *argv[] = {path, NULL};
        int r = posix_spawn(&pid, path, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        safe_close(in[0]);
        safe_close(out[1]);
        if (r != 0) {
                safe_close(in[1]), safe_close(out[0]);
                return coco_error_set(err, r,
                                      "running %s: %s; is coco-vmm installed beside the "
                                      "shim?",
                                      path, strerror(r));
        }
        (void)write_all(in[1], false, request, strlen(request), "\n", 1);
        safe_close(in[1]);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        char chunk[4096];
        ssize_t k;
        while ((k = read(out[0], chunk, sizeof(chunk))) > 0 || (k < 0 && errno == EINTR))
                if (k > 0)
                        fwrite(chunk, 1, (size_t)k, f);
        fclose(f);
        safe_close(out[0]);
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        json_error_t je;
        json_t *res = json_loads(buf, 0, &je);
        free(buf);
        if (!res)
                return coco_error_set(err, EIO, "coco-vmm answered no JSON (exit status %d)",
                                      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        if (!json_is_true(json_object_get(res, "ok"))) {
                json_t *e = json_object_get(res, "error");
                int errnum = (int)json_integer_value(json_object_get(e, "errno"));
                r = coco_error_set(err, errnum ? errnum : EIO, "%s",
                                   json_string_value(json_object_get(e, "message")));
                json_decref(res);
                return r;
        }
        json_t *vm = json_object_get(res, "vm");
        if (ret_vm && vm) {
                const char *sock = json_string_value(json_object_get(vm, "agent_socket"));
                const char *con = json_string_value(json_object_get(vm, "console_log"));
                ret_vm->name = xstrdup(json_string_value(json_object_get(vm, "name")));
                ret_vm->pid = (pid_t)json_integer_value(json_object_get(vm, "pid"));
                ret_vm->running = json_is_true(json_object_get(vm, "running"));
                ret_vm->vsock = json_is_true(json_object_get(vm, "vsock"));
                ret_vm->cid = (unsigned)json_integer_value(json_object_get(vm, "cid"));
                ret_vm->agent_socket = sock ? xstrdup(sock) : NULL;
                ret_vm->console_log = con ? xstrdup(con) : NULL;
        }
        if (ret_network)
                *ret_network = json_incref(json_object_get(res, "network"));
        json_decref(res);
        return 0;
}

int agent_call(struct shim *s, const char *method, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **ret,
               uint64_t timeout_ns, struct coco_error **err)
{
        struct ttrpc_call_opts o = {.timeout_ns = timeout_ns};
        if (!s->sandbox || !s->sandbox->agent)
                return coco_error_set(err, ENOTCONN, "the pod's VM is not running");
        int r = ttrpc_client_call(s->sandbox->agent, "grpc.AgentService", method, req,
                                  resp_desc ? resp_desc : &google__protobuf__empty__descriptor, ret,
                                  &o, err);
        if (r < 0)
                return coco_error_wrap(err, r, "agent %s", method);
        return 0;
}

static int connect_agent(struct sandbox *sb, struct coco_error **err)
{
        uint64_t until = now_monotonic_ns() + (uint64_t)sb->cls->dial_timeout_s * NSEC_PER_SEC;
        Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
        int r;

        if (sb->vm.vsock)
                return coco_error_set(err, EOPNOTSUPP,
                                      "the vsock agent channel is not wired in "
                                      "the shim yet; use agent.transport "
                                      "virtio-serial");
        do {
                r = ttrpc_client_dial_unix(sb->vm.agent_socket, &sb->agent, NULL);
                if (r < 0)
                        nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
        } while (r < 0 && now_monotonic_ns() < until);
        if (r < 0)
                return coco_error_set(err, ETIMEDOUT, "the agent socket %s did not appear",
                                      sb->vm.agent_socket);
        uint64_t left = until > now_monotonic_ns() ? until - now_monotonic_ns() : NSEC_PER_SEC;
        struct ttrpc_call_opts o = {.timeout_ns = left};
        r = ttrpc_client_call(sb->agent, "grpc.Health", "Check", &req.base,
                              &grpc__health_check_response__descriptor, NULL, &o, err);
        if (r < 0)
                return coco_error_wrap(err, r,
                                       "the agent did not answer within %u s (dial_timeout_s)",
                                       sb->cls->dial_timeout_s);
        return 0;
}

static void destroy_vm(struct shim *s, struct sandbox *sb)
{
        _cleanup_free_ char *req = xasprintf(
                "{\"op\":\"destroy\",\"sandbox\":\"%s\",\"config\":\"%s\",\"run_dir\":\"%s\"}",
                sb->id, sb->config_path, sb->run_dir);
        _cleanup_error_ struct coco_error *err = NULL;
        if (vmm_helper(s, req, NULL, NULL, &err) < 0)
                log_error("destroying the VM of sandbox %s: %s", sb->id,
                          coco_error_message(err, -EIO));
}

static void sandbox_free(struct sandbox *sb)
{
        safe_close(sb->watch_stop);
        ttrpc_client_free(sb->agent);
        cfg_class_free(sb->cls);
        vmm_vm_done(&sb->vm);
        free(sb->id);
        free(sb->config_path);
        free(sb->run_dir);
        free(sb);
}

/* The agent's OOM events, as /tasks/oom, until the agent connection closes. */
static void *oom_loop(void *arg)
{
        struct shim *s = arg;
        struct ttrpc_client *agent = s->sandbox->agent;
        struct ttrpc_call_opts o = {0};

        for (;;) {
                Grpc__GetOOMEventRequest req = GRPC__GET_OOMEVENT_REQUEST__INIT;
                Grpc__OOMEvent *ev = NULL;
                if (ttrpc_client_call(agent, "grpc.AgentService", "GetOOMEvent", &req.base,
                                      &grpc__oomevent__descriptor, (ProtobufCMessage **)&ev, &o,
                                      NULL) < 0)
                        break;
                Containerd__Events__TaskOOM oom = CONTAINERD__EVENTS__TASK_OOM__INIT;
                oom.container_id = ev->container_id;
                log_info("container \"%s\" hit its memory limit", ev->container_id);
                event_publish(s, "/tasks/oom", &oom.base, "containerd.events.TaskOOM");
                protobuf_c_message_free_unpacked(&ev->base, NULL);
        }
        return NULL;
}

/*
 * QEMU's pidfd: when the VM dies, close the agent connection so every call
 * waiting on it (WaitProcess above all) fails and each task reports its exit.
 */
static void *watch_vm(void *arg)
{
        struct shim *s = arg;
        struct sandbox *sb = s->sandbox;
        int pidfd = (int)syscall(SYS_pidfd_open, sb->vm.pid, 0);

        if (pidfd < 0) {
                log_warn("watching QEMU (pid %d): %s", sb->vm.pid, strerror(errno));
                return NULL;
        }
        struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN},
                              {.fd = sb->watch_stop, .events = POLLIN}};
        while (poll(p, 2, -1) < 0 && errno == EINTR)
                ;
        if (p[0].revents && !p[1].revents) {
                log_error("the pod's VM (QEMU pid %d) has died; every task ends", sb->vm.pid);
                ttrpc_client_close(sb->agent);
        }
        safe_close(pidfd);
        return NULL;
}

int sandbox_ensure(struct shim *s, const struct sandbox_params *p, struct coco_error **err)
{
        if (s->sandbox)
                return 0;
        struct sandbox *sb = xcalloc(1, sizeof(*sb));
        _cleanup_(json_decrefp) json_t *network = NULL;
        int r;

        sb->watch_stop = -EBADF;
        sb->id = xstrdup(p->id);
        sb->config_path = xstrdup(p->config_path);
        sb->next_slot = 0x10;
        if ((r = cfg_class_load(p->config_path, &sb->cls, err)) < 0) {
                sandbox_free(sb);
                return r;
        }
        if (sb->cls->transport == CFG_TRANSPORT_VSOCK) { /* refused before any VM exists */
                sandbox_free(sb);
                return coco_error_set(err, EOPNOTSUPP,
                                      "class %s: agent.transport \"vsock\" is not wired in the "
                                      "shim yet; use \"auto\" or \"virtio-serial\"",
                                      p->config_path);
        }
        sb->run_dir = xasprintf("%s/%s", sb->cls->state_dir, p->id);
        (void)mkdir(sb->cls->state_dir, 0711);
        json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "op", "start", "sandbox", p->id, "config",
                                p->config_path, "run_dir", sb->run_dir);
        if (p->initdata)
                json_object_set_new(req, "initdata", json_string(p->initdata));
        if (p->sizes.vcpus)
                json_object_set_new(req, "vcpus", json_integer(p->sizes.vcpus));
        if (p->sizes.memory_mib)
                json_object_set_new(req, "memory_mib",
                                    json_integer((json_int_t)p->sizes.memory_mib));
        if (p->netns)
                json_object_set_new(req, "netns", json_string(p->netns));
        char *text = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        uint64_t t0 = now_monotonic_ns();
        r = vmm_helper(s, text, &sb->vm, &network, err);
        free(text);
        if (r < 0) {
                sandbox_free(sb);
                return coco_error_wrap(err, r, "starting the pod's VM");
        }
        log_info("VM %s started (QEMU pid %d) in %llu ms", sb->vm.name, sb->vm.pid,
                 (unsigned long long)((now_monotonic_ns() - t0) / NSEC_PER_MSEC));
        r = connect_agent(sb, err);
        if (r < 0) {
                if (sb->vm.console_log)
                        coco_error_wrap(err, r,
                                        "reaching the agent (guest console: %s, removed "
                                        "with the VM)",
                                        sb->vm.console_log);
                destroy_vm(s, sb);
                sandbox_free(sb);
                return r;
        }
        s->sandbox = sb;
        Grpc__CreateSandboxRequest cs = GRPC__CREATE_SANDBOX_REQUEST__INIT;
        cs.sandbox_id = (char *)p->id;
        cs.hostname = (char *)(p->hostname && *p->hostname ? p->hostname : p->id);
        r = agent_call(s, "CreateSandbox", &cs.base, NULL, NULL,
                       (uint64_t)sb->cls->create_timeout_s * NSEC_PER_SEC, err);
        if (r >= 0 && network)
                r = network_apply(s, network, err);
        if (r < 0) {
                sandbox_teardown(s);
                return r;
        }
        sb->oom_started = pthread_create(&sb->oom, NULL, oom_loop, s) == 0;
        sb->watch_stop = eventfd(0, EFD_CLOEXEC);
        sb->watch_started = sb->vm.pid > 0 && sb->watch_stop >= 0 &&
                            pthread_create(&sb->watch, NULL, watch_vm, s) == 0;
        log_info("agent reached; sandbox %s created in %llu ms", p->id,
                 (unsigned long long)((now_monotonic_ns() - t0) / NSEC_PER_MSEC));
        return 0;
}

void sandbox_teardown(struct shim *s)
{
        struct sandbox *sb = s->sandbox;
        if (!sb)
                return;
        Grpc__DestroySandboxRequest d = GRPC__DESTROY_SANDBOX_REQUEST__INIT;
        (void)agent_call(s, "DestroySandbox", &d.base, NULL, NULL, 10 * NSEC_PER_SEC, NULL);
        if (sb->agent)
                ttrpc_client_close(
                        sb->agent); /* fails the calls still waiting, the OOM loop's too */
        if (sb->oom_started)
                pthread_join(sb->oom, NULL);
        if (sb->watch_started) {
                uint64_t one = 1;
                (void)!write(sb->watch_stop, &one, sizeof(one));
                pthread_join(sb->watch, NULL);
        }
        ttrpc_client_free(sb->agent);
        sb->agent = NULL;
        _cleanup_free_ char *stop =
                xasprintf("{\"op\":\"stop\",\"sandbox\":\"%s\",\"config\":\"%s\",\"timeout_s\":5}",
                          sb->id, sb->config_path);
        (void)vmm_helper(s, stop, NULL, NULL, NULL);
        destroy_vm(s, sb);
        s->sandbox = NULL;
        sandbox_free(sb);
}
