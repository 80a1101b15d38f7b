/* SPDX-License-Identifier: Apache-2.0 */
/* grpc.Health and grpc.AgentService over ttRPC. Methods not listed answer Unimplemented. */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "kata/health.pb-c.h"
#include "log.h"
#include "network.h"
#include "util.h"

#define HANDLER(name)                                                                              \
        static int name(void *ud, struct ttrpc_call *call, const ProtobufCMessage *in,             \
                        struct coco_error **err)

#define EMPTY_OK                                                                                   \
        do {                                                                                       \
                (void)call;                                                                        \
                return 0;                                                                          \
        } while (0)

/* Every AgentService request passes the policy first. */
#define POLICY(a, method)                                                                          \
        do {                                                                                       \
                int _r = policy_check(a, method, err);                                             \
                if (_r < 0)                                                                        \
                        return _r;                                                                 \
        } while (0)

HANDLER(health_check)
{
        (void)ud, (void)in, (void)err;
        Grpc__HealthCheckResponse resp = GRPC__HEALTH_CHECK_RESPONSE__INIT;
        resp.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        ttrpc_call_reply(call, &resp.base);
        return 0;
}

HANDLER(health_version)
{
        (void)ud, (void)in, (void)err;
        Grpc__VersionCheckResponse resp = GRPC__VERSION_CHECK_RESPONSE__INIT;
        resp.grpc_version = "ttrpc";
        resp.agent_version = AGENT_VERSION;
        ttrpc_call_reply(call, &resp.base);
        return 0;
}

HANDLER(create_sandbox)
{
        struct agent *a = ud;
        const Grpc__CreateSandboxRequest *req = (const void *)in;
        POLICY(a, "CreateSandbox");
        pthread_mutex_lock(&a->lock);
        bool exists = a->sandbox_created;
        if (!exists) {
                a->sandbox_created = true;
                free(a->hostname);
                a->hostname = req->hostname && *req->hostname ? xstrdup(req->hostname) : NULL;
        }
        pthread_mutex_unlock(&a->lock);
        if (exists)
                return coco_error_set(err, EEXIST, "the sandbox was already created");
        if (a->pid1 && req->hostname && *req->hostname)
                (void)!sethostname(req->hostname, strlen(req->hostname));
        log_info("sandbox \"%s\" created", req->sandbox_id);
        EMPTY_OK;
}

static void *power_off_later(void *arg)
{
        struct agent *a = arg;
        struct timespec ts = {.tv_nsec = 200 * 1000 * 1000}; /* let the answer leave first */
        nanosleep(&ts, NULL);
        if (a->pid1)
                boot_power_off();
        ttrpc_server_stop(a->server);
        return NULL;
}

HANDLER(destroy_sandbox)
{
        struct agent *a = ud;
        (void)in;
        POLICY(a, "DestroySandbox");
        container_remove_all(a);
        pthread_mutex_lock(&a->lock);
        bool again = a->destroyed;
        a->destroyed = true;
        pthread_mutex_unlock(&a->lock);
        if (!again) {
                pthread_t t;
                log_info("sandbox destroyed; %s", a->pid1 ? "powering off" : "stopping");
                if (pthread_create(&t, NULL, power_off_later, a) == 0)
                        pthread_detach(t);
        }
        EMPTY_OK;
}

HANDLER(create_container)
{
        struct agent *a = ud;
        POLICY(a, "CreateContainer");
        const Grpc__CreateContainerRequest *req = (const void *)in;
        int r = container_create(a, req, err);
        if (r < 0 && r != -EEXIST)
                storage_remove_shared(req->container_id); /* its CopyFile files */
        if (r < 0)
                return r;
        EMPTY_OK;
}

HANDLER(start_container)
{
        struct agent *a = ud;
        POLICY(a, "StartContainer");
        int r = container_start(a, ((const Grpc__StartContainerRequest *)in)->container_id, err);
        if (r < 0)
                return r;
        EMPTY_OK;
}

HANDLER(remove_container)
{
        struct agent *a = ud;
        const Grpc__RemoveContainerRequest *req = (const void *)in;
        POLICY(a, "RemoveContainer");
        int r = container_remove(a, req->container_id, req->timeout, err);
        if (r < 0)
                return r;
        EMPTY_OK;
}

HANDLER(update_container)
{
        struct agent *a = ud;
        const Grpc__UpdateContainerRequest *req = (const void *)in;
        POLICY(a, "UpdateContainer");
        int r = container_update(a, req->container_id, req->resources, err);
        if (r < 0)
                return r;
        EMPTY_OK;
}

HANDLER(exec_process)
{
        struct agent *a = ud;
        POLICY(a, "ExecProcess");
        int r = process_exec(a, (const Grpc__ExecProcessRequest *)in, err);
        if (r < 0)
                return r;
        EMPTY_OK;
}

HANDLER(signal_process)
{
        struct agent *a = ud;
        const Grpc__SignalProcessRequest *req = (const void *)in;
        POLICY(a, "SignalProcess");
        if (req->signal == 0 || req->signal > 64)
                return coco_error_set(err, EINVAL, "signal %u is not valid", req->signal);
        int r = process_signal(a, req->container_id, req->exec_id, (int)req->signal, err);
        if (r < 0)
                return r;
        EMPTY_OK;
}

HANDLER(wait_process)
{
        struct agent *a = ud;
        const Grpc__WaitProcessRequest *req = (const void *)in;
        Grpc__WaitProcessResponse resp = GRPC__WAIT_PROCESS_RESPONSE__INIT;
        int status;
        POLICY(a, "WaitProcess");
        int r = process_wait(a, req->container_id, req->exec_id, &status, err);
        if (r < 0)
                return r;
        resp.status = status;
        ttrpc_call_reply(call, &resp.base);
        return 0;
}

static int read_stream(struct agent *a, struct ttrpc_call *call, const ProtobufCMessage *in,
                       bool is_stderr, struct coco_error **err)
{
        const Grpc__ReadStreamRequest *req = (const void *)in;
        Grpc__ReadStreamResponse resp = GRPC__READ_STREAM_RESPONSE__INIT;
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        POLICY(a, is_stderr ? "ReadStderr" : "ReadStdout");
        int r = process_read(a, req->container_id, req->exec_id, is_stderr, req->len, &data, &len,
                             err);
        if (r < 0)
                return r;
        resp.data.data = data;
        resp.data.len = len; /* 0 bytes: end of stream */
        ttrpc_call_reply(call, &resp.base);
        return 0;
}

HANDLER(read_stdout)
{
        return read_stream(ud, call, in, false, err);
}

HANDLER(read_stderr)
{
        return read_stream(ud, call, in, true, err);
}

HANDLER(write_stdin)
{
        struct agent *a = ud;
        const Grpc__WriteStreamRequest *req = (const void *)in;
        Grpc__WriteStreamResponse resp = GRPC__WRITE_STREAM_RESPONSE__INIT;
        size_t n;
        POLICY(a, "WriteStdin");
        int r = process_write(a, req->container_id, req->exec_id, req->data.data, req->data.len, &n,
                              err);
        if (r < 0)
                return r;
        resp.len = (uint32_t)n;
        ttrpc_call_reply(call, &resp.base);
        return 0;
}

HANDLER(close_stdin)
{
        struct agent *a = ud;
        const Grpc__CloseStdinRequest *req = (const void *)in;
        POLICY(a, "CloseStdin");
        int r = process_close_stdin(a, req->container_id, req->exec_id, err);
        if (r < 0)
                return r;
        EMPTY_OK;
}

HANDLER(tty_win_resize)
{
        struct agent *a = ud;
        const Grpc__TtyWinResizeRequest *req = (const void *)in;
        POLICY(a, "TtyWinResize");
        int r = process_resize(a, req->container_id, req->exec_id, req->row, req->column, err);
        if (r < 0)
                return r;
        EMPTY_OK;
}

HANDLER(stats_container)
{
        struct agent *a = ud;
        Grpc__StatsContainerResponse resp = GRPC__STATS_CONTAINER_RESPONSE__INIT;
        Grpc__CgroupStats cg = GRPC__CGROUP_STATS__INIT;
        Grpc__MemoryStats mem = GRPC__MEMORY_STATS__INIT;
        Grpc__MemoryData usage = GRPC__MEMORY_DATA__INIT;
        Grpc__CpuStats cpu = GRPC__CPU_STATS__INIT;
        Grpc__CpuUsage cpu_usage = GRPC__CPU_USAGE__INIT;
        Grpc__PidsStats pids = GRPC__PIDS_STATS__INIT;
        POLICY(a, "StatsContainer");
        int r = container_stats(a, ((const Grpc__StatsContainerRequest *)in)->container_id, &resp,
                                &cg, &mem, &usage, &cpu, &cpu_usage, &pids, err);
        if (r < 0)
                return r;
        ttrpc_call_reply(call, &resp.base);
        return 0;
}

HANDLER(get_oom_event)
{
        struct agent *a = ud;
        Grpc__OOMEvent resp = GRPC__OOMEVENT__INIT;
        _cleanup_free_ char *id = NULL;
        (void)in;
        POLICY(a, "GetOOMEvent");
        int r = container_wait_oom(a, &id, err);
        if (r < 0)
                return r;
        resp.container_id = id;
        ttrpc_call_reply(call, &resp.base);
        return 0;
}

HANDLER(get_guest_details)
{
        struct agent *a = ud;
        Grpc__GuestDetailsResponse resp = GRPC__GUEST_DETAILS_RESPONSE__INIT;
        Grpc__AgentDetails details = GRPC__AGENT_DETAILS__INIT;
        static char *storage[] = {"blk", "virtio-blk", "ephemeral", "local"};
        (void)in;
        POLICY(a, "GetGuestDetails");
        details.version = AGENT_VERSION;
        details.init_daemon = a->pid1;
        details.storage_handlers = storage;
        details.n_storage_handlers = ELEMENTSOF(storage);
        resp.agent_details = &details;
        resp.mem_block_size_bytes = (uint64_t)sysconf(_SC_PAGESIZE);
        ttrpc_call_reply(call, &resp.base);
        return 0;
}

HANDLER(set_policy)
{
        struct agent *a = ud;
        POLICY(a, "SetPolicy");
        int r = policy_load(a, ((const Grpc__SetPolicyRequest *)in)->policy, "SetPolicy", err);
        if (r < 0)
                return r;
        EMPTY_OK;
}

HANDLER(update_interface)
{
        struct agent *a = ud;
        const Grpc__UpdateInterfaceRequest *req = (const void *)in;
        POLICY(a, "UpdateInterface");
        int r = net_update_interface(req->interface, err);
        if (r < 0)
                return r;
        ttrpc_call_reply(call, &req->interface->base);
        return 0;
}

HANDLER(update_routes)
{
        struct agent *a = ud;
        const Grpc__UpdateRoutesRequest *req = (const void *)in;
        Grpc__Routes none = GRPC__ROUTES__INIT;
        POLICY(a, "UpdateRoutes");
        int r = net_update_routes(req->routes, err);
        if (r < 0)
                return r;
        ttrpc_call_reply(call, req->routes ? &req->routes->base : &none.base);
        return 0;
}

HANDLER(copy_file)
{
        struct agent *a = ud;
        POLICY(a, "CopyFile");
        int r = storage_copy_file((const Grpc__CopyFileRequest *)in, err);
        if (r < 0)
                return r;
        EMPTY_OK;
}

HANDLER(add_arp_neighbors)
{
        struct agent *a = ud;
        const Grpc__AddARPNeighborsRequest *req = (const void *)in;
        POLICY(a, "AddARPNeighbors");
        int r = net_add_neighbours(req->neighbors, err);
        if (r < 0)
                return r;
        EMPTY_OK;
}

HANDLER(list_interfaces)
{
        struct agent *a = ud;
        (void)in;
        POLICY(a, "ListInterfaces");
        return net_list_interfaces(call, err);
}

#define M(name, type, fn)                                                                          \
        {                                                                                          \
                name, &grpc__##type##__descriptor, fn                                              \
        }

static const struct ttrpc_method health_methods[] = {
        M("Check", check_request, health_check),
        M("Version", check_request, health_version),
};

static const struct ttrpc_method agent_methods[] = {
        M("CreateSandbox", create_sandbox_request, create_sandbox),
        M("DestroySandbox", destroy_sandbox_request, destroy_sandbox),
        M("CreateContainer", create_container_request, create_container),
        M("StartContainer", start_container_request, start_container),
        M("RemoveContainer", remove_container_request, remove_container),
        M("ExecProcess", exec_process_request, exec_process),
        M("SignalProcess", signal_process_request, signal_process),
        M("WaitProcess", wait_process_request, wait_process),
        M("ReadStdout", read_stream_request, read_stdout),
        M("ReadStderr", read_stream_request, read_stderr),
        M("WriteStdin", write_stream_request, write_stdin),
        M("CloseStdin", close_stdin_request, close_stdin),
        M("TtyWinResize", tty_win_resize_request, tty_win_resize),
        M("StatsContainer", stats_container_request, stats_container),
        M("GetOOMEvent", get_oomevent_request, get_oom_event),
        M("GetGuestDetails", guest_details_request, get_guest_details),
        M("SetPolicy", set_policy_request, set_policy),
        M("UpdateInterface", update_interface_request, update_interface),
        M("UpdateRoutes", update_routes_request, update_routes),
        M("ListInterfaces", list_interfaces_request, list_interfaces),
        M("AddARPNeighbors", add_arpneighbors_request, add_arp_neighbors),
        M("CopyFile", copy_file_request, copy_file),
        M("UpdateContainer", update_container_request, update_container),
};

void service_register(struct agent *a)
{
        static struct ttrpc_service health = {"grpc.Health", health_methods,
                                              ELEMENTSOF(health_methods), NULL};
        static struct ttrpc_service agent = {"grpc.AgentService", agent_methods,
                                             ELEMENTSOF(agent_methods), NULL};
        health.userdata = agent.userdata = a;
        (void)ttrpc_server_register(a->server, &health);
        (void)ttrpc_server_register(a->server, &agent);
}
