/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Processes: exec, signals, waits, stdio streams, and the reaper thread that
 * collects every exit (the agent is PID 1, or a child subreaper on a host).
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>

#include "agent.h"
#include "log.h"
#include "util.h"

#define MAX_READ (1024 * 1024)

/* The reaper sleeps on this while there are no children (one per process: the agent). */
static sem_t children;

void process_free(struct process *p)
{
        if (!p)
                return;
        safe_close(p->stdin_fd);
        safe_close(p->stdout_fd);
        safe_close(p->stderr_fd);
        safe_close(p->go_fd);
        safe_close(p->status_fd);
        safe_close(p->wake_fd);
        free(p->exec_id);
        free(p);
}

struct process *process_find(struct container *c, const char *exec_id)
{
        for (struct process *p = c->procs; p; p = p->next)
                if (strcmp(p->exec_id, exec_id ? exec_id : "") == 0)
                        return p;
        return NULL;
}

/* Look up a container's process under the lock; -ENOENT with a message when absent. */
static int lookup(struct agent *a, const char *cid, const char *exec_id, struct container **ret_c,
                  struct process **ret_p, struct coco_error **err)
{
        struct container *c = container_find(a, cid);
        if (!c)
                return coco_error_set(err, ENOENT, "container \"%s\" not found", cid);
        struct process *p = process_find(c, exec_id);
        if (!p)
                return coco_error_set(err, ENOENT, "process \"%s\" of container \"%s\" not found",
                                      exec_id, cid);
        if (ret_c)
                *ret_c = c;
        *ret_p = p;
        return 0;
}

int process_exec(struct agent *a, const Grpc__ExecProcessRequest *req, struct coco_error **err)
{
        struct process *p = NULL;
        int r;

        if (!req->exec_id || !*req->exec_id)
                return coco_error_set(err, EINVAL, "ExecProcess needs an exec_id");
        if (!req->process)
                return coco_error_set(err, EINVAL, "ExecProcess needs a process");
        pthread_mutex_lock(&a->lock);
        struct container *c = container_find(a, req->container_id);
        bool dup = c && process_find(c, req->exec_id);
        bool running = c && c->started && c->procs && !c->procs->exited;
        pthread_mutex_unlock(&a->lock);
        if (!c)
                return coco_error_set(err, ENOENT, "container \"%s\" not found", req->container_id);
        if (dup)
                return coco_error_set(err, EEXIST, "exec \"%s\" already exists in container \"%s\"",
                                      req->exec_id, req->container_id);
        if (!running)
                return coco_error_set(err, EBUSY, "container \"%s\" is not running",
                                      req->container_id);

        r = spawn_process(a, c, req->process, false, NULL, &p, err);
        if (r < 0)
                return coco_error_wrap(err, r, "exec \"%s\" in container \"%s\"", req->exec_id,
                                       req->container_id);
        p->exec_id = xstrdup(req->exec_id);
        p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        pthread_mutex_lock(&a->lock);
        p->next = c->procs->next; /* after the init */
        c->procs->next = p;
        pthread_mutex_unlock(&a->lock);
        reaper_kick();
        r = spawn_release(a, p, err);
        if (r < 0)
                return coco_error_wrap(err, r, "exec \"%s\" in container \"%s\"", req->exec_id,
                                       req->container_id);
        log_info("exec \"%s\" in container \"%s\" started (pid %d)", req->exec_id,
                 req->container_id, p->pid);
        return 0;
}

static void signal_cgroup(const char *cgroup, int sig)
{
        _cleanup_free_ char *path = xasprintf("%s/cgroup.procs", cgroup);
        FILE *f = fopen(path, "re");
        int pid;

        if (!f)
                return;
        while (fscanf(f, "%d", &pid) == 1)
                (void)kill(pid, sig);
        fclose(f);
}

int process_signal(struct agent *a, const char *cid, const char *exec_id, int sig,
                   struct coco_error **err)
{
        struct container *c;
        struct process *p;
        int r = 0;

        pthread_mutex_lock(&a->lock);
        if (!exec_id || !*exec_id) {
                /* every process of the container */
                c = container_find(a, cid);
                if (!c)
                        r = coco_error_set(err, ENOENT, "container \"%s\" not found", cid);
                else if (c->cgroup)
                        signal_cgroup(c->cgroup, sig);
                else
                        for (p = c->procs; p; p = p->next)
                                if (!p->exited)
                                        (void)kill(p->pid, sig);
        } else {
                r = lookup(a, cid, exec_id, &c, &p, err);
                if (r == 0 && !p->exited && kill(p->pid, sig) < 0 && errno != ESRCH)
                        r = coco_error_set(err, errno, "signal %d to pid %d: %s", sig, p->pid,
                                           strerror(errno));
        }
        pthread_mutex_unlock(&a->lock);
        return r;
}

int process_wait(struct agent *a, const char *cid, const char *exec_id, int *ret_status,
                 struct coco_error **err)
{
        struct process *p;
        int r;

        pthread_mutex_lock(&a->lock);
        r = lookup(a, cid, exec_id, NULL, &p, err);
        while (r == 0 && !p->exited && !p->closing)
                pthread_cond_wait(&a->changed, &a->lock);
        if (r == 0)
                *ret_status = p->exited ? p->status : 255;
        pthread_mutex_unlock(&a->lock);
        return r;
}

int process_read(struct agent *a, const char *cid, const char *exec_id, bool is_stderr, size_t max,
                 uint8_t **ret_data, size_t *ret_len, struct coco_error **err)
{
        struct process *p;
        int fd = -1, wake = -1, r;

        pthread_mutex_lock(&a->lock);
        r = lookup(a, cid, exec_id, NULL, &p, err);
        if (r == 0) {
                fd = is_stderr ? p->stderr_fd : p->stdout_fd;
                wake = p->wake_fd;
                if (fd < 0) {
                        /* a terminal has no separate stderr; a closed stream is at its end */
                        pthread_mutex_unlock(&a->lock);
                        *ret_data = NULL;
                        *ret_len = 0;
                        return 0;
                }
                p->readers++;
        }
        pthread_mutex_unlock(&a->lock);
        if (r < 0)
                return r;

        size_t n = max == 0 || max > MAX_READ ? MAX_READ : max;
        uint8_t *buf = xmalloc(n);
        ssize_t k = 0;
        for (;;) {
                struct pollfd pf[2] = {{.fd = fd, .events = POLLIN},
                                       {.fd = wake, .events = POLLIN}};
                if (poll(pf, 2, -1) < 0 && errno != EINTR) {
                        k = -errno;
                        break;
                }
                if (pf[1].revents) {
                        k = 0; /* the process is being removed */
                        break;
                }
                if (!pf[0].revents)
                        continue;
                k = read(fd, buf, n);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (k < 0)
                        k = errno == EIO ? 0 : -errno; /* EIO: the terminal's last user left */
                break;
        }
        pthread_mutex_lock(&a->lock);
        p->readers--;
        pthread_cond_broadcast(&a->changed);
        pthread_mutex_unlock(&a->lock);
        if (k < 0) {
                free(buf);
                return coco_error_set(err, (int)-k, "reading the process's output: %s",
                                      strerror((int)-k));
        }
        *ret_data = buf;
        *ret_len = (size_t)k;
        return 0;
}

int process_write(struct agent *a, const char *cid, const char *exec_id, const uint8_t *data,
                  size_t len, size_t *ret_written, struct coco_error **err)
{
        struct process *p;
        int fd = -1, r;

        pthread_mutex_lock(&a->lock);
        r = lookup(a, cid, exec_id, NULL, &p, err);
        if (r == 0 && p->stdin_fd < 0)
                r = coco_error_set(err, EPIPE, "stdin of process \"%s\" is closed", exec_id);
        if (r == 0)
                fd = fcntl(p->stdin_fd, F_DUPFD_CLOEXEC, 3); /* a close cannot pull it away */
        pthread_mutex_unlock(&a->lock);
        if (r < 0)
                return r;
        r = write_all(fd, false, data, len, NULL, 0);
        safe_close(fd);
        if (r < 0)
                return coco_error_set(err, r, "writing to stdin: %s", strerror(-r));
        *ret_written = len;
        return 0;
}

int process_close_stdin(struct agent *a, const char *cid, const char *exec_id,
                        struct coco_error **err)
{
        struct process *p;
        int r;

        pthread_mutex_lock(&a->lock);
        r = lookup(a, cid, exec_id, NULL, &p, err);
        if (r == 0 && p->terminal && p->stdin_fd >= 0)
                (void)!write(p->stdin_fd, "\x04", 1); /* a terminal ends input with EOT */
        else if (r == 0)
                p->stdin_fd = safe_close(p->stdin_fd);
        pthread_mutex_unlock(&a->lock);
        return r;
}

int process_resize(struct agent *a, const char *cid, const char *exec_id, unsigned rows,
                   unsigned cols, struct coco_error **err)
{
        struct process *p;
        int r;

        pthread_mutex_lock(&a->lock);
        r = lookup(a, cid, exec_id, NULL, &p, err);
        if (r == 0 && !p->terminal)
                r = coco_error_set(err, EINVAL, "process \"%s\" has no terminal", exec_id);
        if (r == 0) {
                struct winsize ws = {.ws_row = (unsigned short)rows,
                                     .ws_col = (unsigned short)cols};
                if (ioctl(p->stdout_fd, TIOCSWINSZ, &ws) < 0)
                        r = coco_error_set(err, errno, "resizing the terminal: %s",
                                           strerror(errno));
        }
        pthread_mutex_unlock(&a->lock);
        return r;
}

void process_close_streams(struct agent *a, struct process *p)
{
        uint64_t one = 1;

        pthread_mutex_lock(&a->lock);
        p->closing = true;
        if (p->wake_fd >= 0)
                (void)!write(p->wake_fd, &one, sizeof(one));
        pthread_cond_broadcast(&a->changed);
        while (p->readers > 0)
                pthread_cond_wait(&a->changed, &a->lock);
        p->stdin_fd = safe_close(p->stdin_fd);
        p->stdout_fd = safe_close(p->stdout_fd);
        p->stderr_fd = safe_close(p->stderr_fd);
        pthread_mutex_unlock(&a->lock);
}

static void record_exit(struct agent *a, pid_t pid, int wstatus)
{
        pthread_mutex_lock(&a->lock);
        for (struct container *c = a->containers; c; c = c->next)
                for (struct process *p = c->procs; p; p = p->next)
                        if (p->pid == pid && !p->exited) {
                                p->exited = true;
                                p->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus)
                                                               : 128 + WTERMSIG(wstatus);
                                log_info("process %d (container \"%s\", exec \"%s\") exited "
                                         "with %d",
                                         pid, c->id, p->exec_id, p->status);
                        }
        pthread_cond_broadcast(&a->changed);
        pthread_mutex_unlock(&a->lock);
}

static void *reaper(void *arg)
{
        struct agent *a = arg;

        for (;;) {
                int st;
                pid_t pid = waitpid(-1, &st, __WALL);
                if (pid > 0)
                        record_exit(a, pid, st);
                else if (errno == ECHILD)
                        sem_wait(&children); /* no children: sleep until a spawn */
        }
        return NULL;
}

void reaper_kick(void)
{
        int v = 0;
        if (sem_getvalue(&children, &v) == 0 && v < 1)
                sem_post(&children);
}

int reaper_start(struct agent *a)
{
        pthread_t t;

        (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        sem_init(&children, 0, 0);
        if (pthread_create(&t, NULL, reaper, a) != 0)
                return -EAGAIN;
        pthread_detach(t);
        return 0;
}
