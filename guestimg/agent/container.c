/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Containers: create (storages, rootfs, cgroup, the init process held before
 * exec), start, stats, OOM events and removal. A failed create undoes what it
 * did; removal kills every process, unmounts and deletes the state.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "agent.h"
#include "log.h"
#include "util.h"

struct container *container_find(struct agent *a, const char *id)
{
        for (struct container *c = a->containers; c; c = c->next)
                if (strcmp(c->id, id) == 0)
                        return c;
        return NULL;
}

static bool valid_id(const char *id)
{
        size_t n = strlen(id);
        return n > 0 && n <= 128 && id[0] != '.' &&
               strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int write_file(const char *dir, const char *name, const char *value)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, value, strlen(value)) < 0)
                return -errno;
        return 0;
}

/* memory.max, cpu.max, cpu.weight and pids.max from OCI LinuxResources. */
static int apply_resources(struct container *c, const Grpc__LinuxResources *res,
                           struct coco_error **err)
{
        if (!res || !c->cgroup)
                return 0;
        char v[64];
        int r = 0;
        if (res->memory && res->memory->limit > 0) {
                snprintf(v, sizeof(v), "%lld", (long long)res->memory->limit);
                r = write_file(c->cgroup, "memory.max", v);
        }
        if (r == 0 && res->cpu && (res->cpu->quota > 0 || res->cpu->period > 0)) {
                if (res->cpu->quota > 0)
                        snprintf(
                                v, sizeof(v), "%lld %llu", (long long)res->cpu->quota,
                                (unsigned long long)(res->cpu->period ? res->cpu->period : 100000));
                else
                        snprintf(v, sizeof(v), "max %llu", (unsigned long long)res->cpu->period);
                r = write_file(c->cgroup, "cpu.max", v);
        }
        if (r == 0 && res->cpu && res->cpu->shares >= 2) {
                /* the cgroup v1 shares range mapped onto cpu.weight, as runc does */
                snprintf(v, sizeof(v), "%llu",
                         (unsigned long long)(1 + ((res->cpu->shares - 2) * 9999) / 262142));
                r = write_file(c->cgroup, "cpu.weight", v);
        }
        if (r == 0 && res->pids && res->pids->limit > 0) {
                snprintf(v, sizeof(v), "%lld", (long long)res->pids->limit);
                r = write_file(c->cgroup, "pids.max", v);
        }
        if (r < 0)
                return coco_error_set(err, -r, "applying resource limits in %s: %s", c->cgroup,
                                      strerror(-r));
        return 0;
}

static int setup_cgroup(struct agent *a, struct container *c, const Grpc__Spec *spec,
                        struct coco_error **err)
{
        if (!a->cgroup_root)
                return 0;
        c->cgroup = xasprintf("%s/%s", a->cgroup_root, c->id);
        if (mkdir(c->cgroup, 0755) < 0 && errno != EEXIST)
                return coco_error_set(err, errno, "creating cgroup %s: %s", c->cgroup,
                                      strerror(errno));
        return apply_resources(c, spec->linux ? spec->linux->resources : NULL, err);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st, (void)flag, (void)ftw;
        (void)remove(path);
        return 0;
}

/* Undo everything a container holds; its processes must be gone. */
static void teardown(struct agent *a, struct container *c)
{
        for (struct process *p = c->procs; p; p = p->next)
                process_close_streams(a, p);
        for (size_t i = c->n_mounts; i-- > 0;) {
                if (umount2(c->mounts[i], MNT_DETACH) < 0 && errno != EINVAL)
                        log_warn("unmounting %s: %s", c->mounts[i], strerror(errno));
                free(c->mounts[i]);
        }
        c->n_mounts = 0;
        /* a process killed a moment ago may still be leaving the cgroup */
        for (int i = 0; c->cgroup && i < 50 && rmdir(c->cgroup) < 0 && errno == EBUSY; i++)
                nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
        if (c->cgroup && access(c->cgroup, F_OK) == 0)
                log_warn("removing cgroup %s: %s", c->cgroup, strerror(errno));
        if (c->dir)
                (void)nftw(c->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static void container_free(struct container *c)
{
        while (c->procs) {
                struct process *p = c->procs;
                c->procs = p->next;
                process_free(p);
        }
        free(c->mounts);
        free(c->id);
        free(c->dir);
        free(c->rootfs);
        free(c->cgroup);
        free(c);
}

static void unlink_container(struct agent *a, struct container *c)
{
        for (struct container **pp = &a->containers; *pp; pp = &(*pp)->next)
                if (*pp == c) {
                        *pp = c->next;
                        break;
                }
}

/* Kill every process and wait up to timeout_s (0: 30 s) for them to be reaped. */
static int kill_and_wait(struct agent *a, struct container *c, unsigned timeout_s)
{
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += timeout_s ? timeout_s : 30;

        pthread_mutex_lock(&a->lock);
        for (;;) {
                bool alive = false;
                for (struct process *p = c->procs; p; p = p->next)
                        if (!p->exited) {
                                alive = true;
                                (void)kill(p->pid, SIGKILL);
                        }
                if (!alive)
                        break;
                if (pthread_cond_timedwait(&a->changed, &a->lock, &until) == ETIMEDOUT) {
                        pthread_mutex_unlock(&a->lock);
                        return -ETIMEDOUT;
                }
        }
        pthread_mutex_unlock(&a->lock);
        return 0;
}

int container_create(struct agent *a, const Grpc__CreateContainerRequest *req,
                     struct coco_error **err)
{
        const char *id = req->container_id;
        struct process *init = NULL;
        int r;

        if (!valid_id(id))
                return coco_error_set(err, EINVAL,
                                      "container id \"%s\" is not valid (letters, digits, _ . -)",
                                      id);
        if (!req->oci || !req->oci->process)
                return coco_error_set(err, EINVAL,
                                      "container \"%s\": the request has no OCI spec "
                                      "with a process",
                                      id);
        struct container *c = xcalloc(1, sizeof(*c));
        c->id = xstrdup(id);
        c->dir = xasprintf("%s/%s", a->state_dir, id);

        pthread_mutex_lock(&a->lock);
        if (!a->sandbox_created)
                r = coco_error_set(err, EBUSY, "CreateSandbox must come before CreateContainer");
        else if (container_find(a, id))
                r = coco_error_set(err, EEXIST, "container \"%s\" already exists", id);
        else {
                r = 0;
                c->next = a->containers; /* reserve the id */
                a->containers = c;
        }
        pthread_mutex_unlock(&a->lock);
        if (r < 0) {
                container_free(c);
                return r;
        }

        if (mkdir(c->dir, 0700) < 0)
                r = coco_error_set(err, errno, "creating %s: %s", c->dir, strerror(errno));
        for (size_t i = 0; r >= 0 && i < req->n_storages; i++)
                r = storage_mount(a, c, req->storages[i], err);
        if (r >= 0)
                r = storage_rootfs(a, c, req->oci, err);
        if (r >= 0)
                r = setup_cgroup(a, c, req->oci, err);
        if (r >= 0)
                r = spawn_process(a, c, req->oci->process, true, req->oci, &init, err);
        if (r < 0) {
                pthread_mutex_lock(&a->lock);
                unlink_container(a, c);
                pthread_mutex_unlock(&a->lock);
                teardown(a, c);
                container_free(c);
                return coco_error_wrap(err, r, "creating container \"%s\"", id);
        }
        init->exec_id = xstrdup("");
        init->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        pthread_mutex_lock(&a->lock);
        c->procs = init;
        pthread_mutex_unlock(&a->lock);
        reaper_kick();
        log_info("container \"%s\" created (init pid %d)", id, init->pid);
        return 0;
}

int container_start(struct agent *a, const char *id, struct coco_error **err)
{
        pthread_mutex_lock(&a->lock);
        struct container *c = container_find(a, id);
        struct process *init = c ? c->procs : NULL;
        bool already = c && c->started;
        if (c)
                c->started = true;
        pthread_mutex_unlock(&a->lock);
        if (!c || !init)
                return coco_error_set(err, ENOENT, "container \"%s\" not found", id);
        if (already)
                return coco_error_set(err, EALREADY, "container \"%s\" was already started", id);
        int r = spawn_release(a, init, err);
        if (r < 0)
                return coco_error_wrap(err, r, "starting container \"%s\"", id);
        pthread_mutex_lock(&a->lock);
        a->any_started = true;
        pthread_mutex_unlock(&a->lock);
        log_info("container \"%s\" started", id);
        return 0;
}

int container_update(struct agent *a, const char *id, const Grpc__LinuxResources *res,
                     struct coco_error **err)
{
        pthread_mutex_lock(&a->lock);
        struct container *c = container_find(a, id);
        int r = !c           ? coco_error_set(err, ENOENT, "container \"%s\" not found", id)
                : !c->cgroup ? coco_error_set(err, EOPNOTSUPP,
                                              "container \"%s\" has no cgroup, so its resources "
                                              "cannot change",
                                              id)
                             : apply_resources(c, res, err);
        pthread_mutex_unlock(&a->lock);
        if (r == 0)
                log_info("container \"%s\": resources updated", id);
        return r;
}

int container_remove(struct agent *a, const char *id, unsigned timeout_s, struct coco_error **err)
{
        pthread_mutex_lock(&a->lock);
        struct container *c = container_find(a, id);
        pthread_mutex_unlock(&a->lock);
        if (!c)
                return coco_error_set(err, ENOENT, "container \"%s\" not found", id);
        if (kill_and_wait(a, c, timeout_s) < 0)
                return coco_error_set(err, ETIMEDOUT,
                                      "container \"%s\": processes survived SIGKILL for %u s", id,
                                      timeout_s ? timeout_s : 30);
        pthread_mutex_lock(&a->lock);
        unlink_container(a, c);
        pthread_mutex_unlock(&a->lock);
        teardown(a, c);
        container_free(c);
        storage_remove_shared(id);
        log_info("container \"%s\" removed", id);
        return 0;
}

void container_remove_all(struct agent *a)
{
        for (;;) {
                pthread_mutex_lock(&a->lock);
                char *id = a->containers ? xstrdup(a->containers->id) : NULL;
                pthread_mutex_unlock(&a->lock);
                if (!id)
                        return;
                _cleanup_error_ struct coco_error *err = NULL;
                if (container_remove(a, id, 10, &err) < 0) {
                        log_error("%s", coco_error_message(err, -EIO));
                        pthread_mutex_lock(&a->lock);
                        struct container *c = container_find(a, id);
                        if (c)
                                unlink_container(a, c); /* give up on it; power off follows */
                        pthread_mutex_unlock(&a->lock);
                }
                free(id);
        }
}

static uint64_t read_u64(const char *dir, const char *name, const char *key)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
        FILE *f = fopen(path, "re");
        char k[64];
        unsigned long long v = 0, val;

        if (!f)
                return 0;
        if (!key) {
                if (fscanf(f, "%llu", &v) != 1)
                        v = 0;
        } else
                while (fscanf(f, "%63s %llu", k, &val) == 2)
                        if (strcmp(k, key) == 0)
                                v = val;
        fclose(f);
        return v;
}

int container_stats(struct agent *a, const char *id, Grpc__StatsContainerResponse *resp,
                    Grpc__CgroupStats *cg, Grpc__MemoryStats *mem, Grpc__MemoryData *usage,
                    Grpc__CpuStats *cpu, Grpc__CpuUsage *cpu_usage, Grpc__PidsStats *pids,
                    struct coco_error **err)
{
        pthread_mutex_lock(&a->lock);
        struct container *c = container_find(a, id);
        char *dir = c && c->cgroup ? xstrdup(c->cgroup) : NULL;
        pthread_mutex_unlock(&a->lock);
        if (!c)
                return coco_error_set(err, ENOENT, "container \"%s\" not found", id);
        if (!dir)
                return coco_error_set(err, EOPNOTSUPP,
                                      "container \"%s\" has no cgroup, so no "
                                      "statistics",
                                      id);
        usage->usage = read_u64(dir, "memory.current", NULL);
        usage->limit = read_u64(dir, "memory.max", NULL); /* "max" reads as 0: no limit */
        usage->failcnt = read_u64(dir, "memory.events", "oom_kill");
        mem->usage = usage;
        mem->cache = read_u64(dir, "memory.stat", "file");
        cpu_usage->total_usage = read_u64(dir, "cpu.stat", "usage_usec") * 1000;
        cpu_usage->usage_in_usermode = read_u64(dir, "cpu.stat", "user_usec") * 1000;
        cpu_usage->usage_in_kernelmode = read_u64(dir, "cpu.stat", "system_usec") * 1000;
        cpu->cpu_usage = cpu_usage;
        pids->current = read_u64(dir, "pids.current", NULL);
        pids->limit = read_u64(dir, "pids.max", NULL);
        cg->memory_stats = mem;
        cg->cpu_stats = cpu;
        cg->pids_stats = pids;
        resp->cgroup_stats = cg;
        free(dir);
        return 0;
}

int container_wait_oom(struct agent *a, char **ret_id, struct coco_error **err)
{
        (void)err;
        pthread_mutex_lock(&a->lock);
        for (;;) {
                for (struct container *c = a->containers; c; c = c->next) {
                        if (!c->cgroup)
                                continue;
                        unsigned long long n = read_u64(c->cgroup, "memory.events", "oom_kill");
                        if (n > c->oom_kills) {
                                c->oom_kills = n;
                                *ret_id = xstrdup(c->id);
                                pthread_mutex_unlock(&a->lock);
                                return 0;
                        }
                }
                /* memory.events has no cheap wake-up across containers: look twice a second */
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_nsec += 500 * 1000 * 1000;
                if (until.tv_nsec >= 1000000000) {
                        until.tv_sec++;
                        until.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&a->changed, &a->lock, &until);
        }
}
