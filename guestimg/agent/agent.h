/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The coco guest agent: PID 1 of the guest. It serves the Kata agent API
 * (grpc.AgentService, grpc.Health) over ttRPC and runs containers itself.
 *
 * Threads: every request runs in its own thread (lib/ttrpc-server.c); one
 * reaper thread collects exit statuses. struct agent's lock guards the
 * container and process tables; nothing blocks while holding it.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "kata/agent.pb-c.h"
#include "ttrpc.h"

#define AGENT_VERSION     "0.1.0"
#define AGENT_VSOCK_PORT  1024
#define AGENT_SERIAL_NAME "agent.channel.0"

struct policy;

struct process {
        struct process *next;
        char *exec_id; /* "" for the container's init */
        pid_t pid;
        bool exited;
        int status; /* exit code, or 128 + signal */
        bool terminal;
        int stdin_fd;  /* our end; -1 when closed */
        int stdout_fd; /* our end (the pty master with a terminal) */
        int stderr_fd;
        int go_fd;     /* init before StartContainer: writing releases exec */
        int status_fd; /* reports an exec failure; EOF when exec succeeded */
        int wake_fd;   /* eventfd that wakes blocked stream reads at removal */
        unsigned readers;
        bool closing;
};

struct container {
        struct container *next;
        char *id;
        char *dir;     /* state dir of the container */
        char *rootfs;  /* what the container pivots into */
        char *cgroup;  /* cgroup directory, or NULL */
        char **mounts; /* to unmount at removal, last first */
        size_t n_mounts;
        struct process *procs; /* init first */
        bool started;
        unsigned long long oom_kills; /* memory.events oom_kill seen so far */
};

struct agent {
        bool pid1;
        bool confidential; /* the restrictive default policy applies */
        char *state_dir;
        char *cgroup_root; /* NULL: no cgroups (host tests on cgroup v1) */
        struct ttrpc_server *server;
        pthread_mutex_t lock;
        pthread_cond_t changed; /* a process exited, an OOM was seen */
        struct container *containers;
        struct policy *policy;
        bool sandbox_created;
        bool any_started;
        bool destroyed;
        char *hostname;
};

/* boot.c: what PID 1 does before serving. */
int boot_mount_basics(struct coco_error **err);
int boot_load_modules(const char *list, struct coco_error **err);
bool boot_cmdline_has(const char *param);
void boot_power_off(void);

/* channel.c: the transports. */
int channel_start(struct agent *a, struct coco_error **err);

/* service.c: the ttRPC services. */
void service_register(struct agent *a);

/* container.c */
int container_create(struct agent *a, const Grpc__CreateContainerRequest *req,
                     struct coco_error **err);
int container_start(struct agent *a, const char *id, struct coco_error **err);
int container_remove(struct agent *a, const char *id, unsigned timeout_s, struct coco_error **err);
/* New cgroup limits for a running container (UpdateContainer). */
int container_update(struct agent *a, const char *id, const Grpc__LinuxResources *res,
                     struct coco_error **err);
void container_remove_all(struct agent *a);
struct container *container_find(struct agent *a, const char *id);
int container_stats(struct agent *a, const char *id, Grpc__StatsContainerResponse *resp,
                    Grpc__CgroupStats *cg, Grpc__MemoryStats *mem, Grpc__MemoryData *usage,
                    Grpc__CpuStats *cpu, Grpc__CpuUsage *cpu_usage, Grpc__PidsStats *pids,
                    struct coco_error **err);
/* Wait until some container's memory.events reports a new OOM kill; returns its id. */
int container_wait_oom(struct agent *a, char **ret_id, struct coco_error **err);

/* process.c */
int process_exec(struct agent *a, const Grpc__ExecProcessRequest *req, struct coco_error **err);
int process_signal(struct agent *a, const char *cid, const char *exec_id, int sig,
                   struct coco_error **err);
int process_wait(struct agent *a, const char *cid, const char *exec_id, int *ret_status,
                 struct coco_error **err);
int process_read(struct agent *a, const char *cid, const char *exec_id, bool stderr_stream,
                 size_t max, uint8_t **ret_data, size_t *ret_len, struct coco_error **err);
int process_write(struct agent *a, const char *cid, const char *exec_id, const uint8_t *data,
                  size_t len, size_t *ret_written, struct coco_error **err);
int process_close_stdin(struct agent *a, const char *cid, const char *exec_id,
                        struct coco_error **err);
int process_resize(struct agent *a, const char *cid, const char *exec_id, unsigned rows,
                   unsigned cols, struct coco_error **err);
/* Find a process; caller holds a->lock. */
struct process *process_find(struct container *c, const char *exec_id);
void process_free(struct process *p);
/* Close a process's streams once no reader is blocked on them (takes and drops a->lock). */
void process_close_streams(struct agent *a, struct process *p);
/* reaper thread */
int reaper_start(struct agent *a);
void reaper_kick(void);

/* spawn.c: start a process in a container. */
int spawn_process(struct agent *a, struct container *c, const Grpc__Process *proc, bool init,
                  const Grpc__Spec *spec, struct process **ret, struct coco_error **err);
int spawn_release(struct agent *a, struct process *p, struct coco_error **err);

/* storage.c */
int storage_mount(struct agent *a, struct container *c, const Grpc__Storage *s,
                  struct coco_error **err);
int storage_rootfs(struct agent *a, struct container *c, const Grpc__Spec *spec,
                   struct coco_error **err);
/*
 * CopyFile: small host files a container bind-mounts (resolv.conf, hosts,
 * hostname under CRI), written as AGENT_SHARED_DIR/<container id>-<n>-<name>
 * only (Kata's directory, so a Kata runtime's copies land there too);
 * removed with the container.
 */
#define AGENT_SHARED_DIR "/run/kata-containers/shared/containers"
int storage_copy_file(const Grpc__CopyFileRequest *req, struct coco_error **err);
void storage_remove_shared(const char *container_id);

/* policy.c */
int policy_load(struct agent *a, const char *text, const char *source, struct coco_error **err);
/* 0 when the request may proceed, -EPERM with a message naming it otherwise. */
int policy_check(struct agent *a, const char *method, struct coco_error **err);
void policy_free(struct policy *p);

/* initdata-boot.c: find the initdata disk and publish its files. */
int agent_load_initdata(struct agent *a, const char *outdir, struct coco_error **err);
/* The same from a disk image file (host tests). */
int agent_load_initdata_from(struct agent *a, const char *path, const char *outdir,
                             struct coco_error **err);
