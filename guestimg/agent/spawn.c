/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Starting a process in a container. (pivot_root, or MS_MOVE + chroot when
 * the guest runs from its initramfs.)
 *
 * The parent turns the OCI process and spec into a plan (paths joined, flags
 * parsed, capabilities resolved) so that the children only make system calls.
 * Then:
 *   intermediate child: unshare mount/pid/uts/ipc (a container's init) or
 *     setns into the init's namespaces (an exec); fork; report the
 *     grandchild's pid on a pipe; exit.
 *   grandchild (pid 1 of a new pid namespace for init): mounts and
 *     pivot_root, hostname, stdio, rlimits, credentials and capabilities;
 *     resolve the executable; write 'R' on the status pipe; wait for a byte on
 *     the go pipe; execve. Any failure is written on the status pipe as text.
 * The status pipe is close-on-exec, so EOF after 'R' means the exec worked.
 * The orphaned grandchild is reaped by the agent (PID 1 or child subreaper).
 */
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pty.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "util.h"

#define MAX_MOUNTS  64
#define MAX_RLIMITS 16
#define MAX_GROUPS  64
#define MAX_PATHS   64

struct mnt {
        char *src, *dst, *type, *data;
        unsigned long flags;
        unsigned long propagation;
        bool bind;
        bool dev_tmpfs; /* populate /dev after mounting */
};

struct plan {
        bool init;
        int ns_fds[4];
        size_t n_ns;
        const char *rootfs;
        struct mnt mounts[MAX_MOUNTS];
        size_t n_mounts;
        bool readonly_root;
        char *masked[MAX_PATHS], *ro_paths[MAX_PATHS];
        size_t n_masked, n_ro;
        const char *hostname;
        char **argv, **envp;
        const char *cwd;
        char path_env[1024];
        uid_t uid;
        gid_t gid;
        gid_t groups[MAX_GROUPS];
        size_t n_groups;
        cap_t caps;
        bool drop_bounding[64];
        int ambient[64];
        size_t n_ambient;
        struct {
                int resource;
                struct rlimit rl;
        } rlimits[MAX_RLIMITS];
        size_t n_rlimits;
        bool nnp;
        bool terminal;
        int in, out, err; /* the child's stdio */
        int go_read, go_write, status_write, status_read, report_write, report_read;
};

/* --- the children: system calls only, no allocation --- */

static _noreturn_ void fail(const struct plan *p, const char *what, const char *arg)
{
        char msg[768];
        int n = snprintf(msg, sizeof(msg), "E%s%s%s: %s", what, arg ? " " : "", arg ? arg : "",
                         strerror(errno));
        if (n > 0)
                (void)!write(p->status_write, msg,
                             (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg));
        _exit(127);
}

/* Open rel under root without ever leaving it: symlinks and ".." resolve inside root. */
static int open_in_root(int root, const char *rel, int flags)
{
        struct open_how how = {
                .flags = (uint64_t)(flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        return (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
}

/*
 * The mount point dst (a path in the container) as an O_PATH fd under the
 * rootfs, each missing component created beneath it. A symlink in the image
 * (say /x -> /etc) resolves inside the rootfs, so nothing is created or
 * mounted in the guest outside it. The last component is a file for a file
 * bind mount.
 */
static int target_fd(const struct plan *p, int root, const char *dst, bool file)
{
        char buf[PATH_MAX];
        snprintf(buf, sizeof(buf), "%s", dst[0] == '/' ? dst + 1 : dst);
        if (!buf[0])
                return open_in_root(root, ".", O_PATH | O_DIRECTORY);
        size_t len = strlen(buf);
        for (size_t i = 0; i <= len; i++) {
                if (buf[i] != '/' && buf[i] != 0)
                        continue;
                bool last = i == len;
                buf[i] = 0;
                int fd = open_in_root(root, buf, O_PATH);
                if (fd < 0 && errno == ENOENT) {
                        char *slash = strrchr(buf, '/');
                        const char *name = slash ? slash + 1 : buf;
                        if (slash)
                                *slash = 0;
                        int parent = open_in_root(root, slash ? buf : ".", O_PATH | O_DIRECTORY);
                        if (slash)
                                *slash = '/';
                        if (parent < 0)
                                fail(p, "opening the parent of mount point", dst);
                        if (last && file) {
                                int c = openat(parent, name,
                                               O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                                               0644);
                                if (c >= 0)
                                        close(c);
                        } else
                                (void)mkdirat(parent, name, 0755);
                        close(parent);
                        fd = open_in_root(root, buf, O_PATH);
                }
                if (fd < 0)
                        fail(p, "creating mount point", dst);
                if (last)
                        return fd;
                close(fd);
                buf[i] = '/';
        }
        return -1; /* not reached */
}

static const char *fd_path(int fd, char *buf, size_t size)
{
        snprintf(buf, size, "/proc/self/fd/%d", fd);
        return buf;
}

static void populate_dev(const struct plan *p, const char *dev)
{
        static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
        static const char *const links[][2] = {{"/proc/self/fd", "fd"},
                                               {"/proc/self/fd/0", "stdin"},
                                               {"/proc/self/fd/1", "stdout"},
                                               {"/proc/self/fd/2", "stderr"},
                                               {"pts/ptmx", "ptmx"}};
        char src[64], dst[PATH_MAX];

        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                snprintf(src, sizeof(src), "/dev/%s", nodes[i]);
                snprintf(dst, sizeof(dst), "%s/%s", dev, nodes[i]);
                int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
                if (fd >= 0)
                        close(fd);
                if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
                        fail(p, "bind-mounting", src);
        }
        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                snprintf(dst, sizeof(dst), "%s/%s", dev, links[i][1]);
                (void)!symlink(links[i][0], dst);
        }
}

static void setup_rootfs(const struct plan *p)
{
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                fail(p, "making mounts private", NULL);
        if (mount(p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                fail(p, "bind-mounting the rootfs", p->rootfs);
        int root = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                fail(p, "opening the rootfs", p->rootfs);
        for (size_t i = 0; i < p->n_mounts; i++) {
                const struct mnt *m = &p->mounts[i];
                const char *dst = m->dst + strlen(p->rootfs); /* the path in the container */
                struct stat st;
                bool file = m->bind && stat(m->src, &st) == 0 && !S_ISDIR(st.st_mode);
                char at[64];
                int t = target_fd(p, root, dst, file);
                if (m->bind) {
                        if (mount(m->src, fd_path(t, at, sizeof(at)), NULL,
                                  m->flags & (MS_BIND | MS_REC), NULL) < 0)
                                fail(p, "bind-mounting", dst);
                } else if (mount(m->src, fd_path(t, at, sizeof(at)), m->type, m->flags, m->data) <
                           0)
                        fail(p, "mounting", dst);
                close(t);
                /* the new mount's own root, for remounts and for filling /dev */
                t = target_fd(p, root, dst, file);
                unsigned long rest = m->flags & ~(MS_BIND | MS_REC);
                if (m->bind && rest &&
                    mount(NULL, fd_path(t, at, sizeof(at)), NULL, MS_BIND | MS_REMOUNT | rest,
                          NULL) < 0)
                        fail(p, "remounting", dst);
                if (m->propagation &&
                    mount(NULL, fd_path(t, at, sizeof(at)), NULL, m->propagation, NULL) < 0)
                        fail(p, "setting propagation of", dst);
                if (m->dev_tmpfs)
                        populate_dev(p, fd_path(t, at, sizeof(at)));
                close(t);
        }
        close(root);
        if (chdir(p->rootfs) < 0)
                fail(p, "entering the rootfs", p->rootfs);
        if (syscall(SYS_pivot_root, ".", ".") == 0) {
                if (umount2(".", MNT_DETACH) < 0)
                        fail(p, "detaching the old root", NULL);
        } else if (errno == EINVAL) {
                /*
                 * The guest's own root is the initramfs, which pivot_root cannot
                 * leave: move the rootfs over "/" and chroot into it instead, as
                 * runtimes do for initramfs guests. The old root stays covered
                 * and no descriptor to it is passed on.
                 */
                if (mount(p->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
                        fail(p, "moving the rootfs to /", p->rootfs);
                if (chroot(".") < 0)
                        fail(p, "chroot into", p->rootfs);
        } else
                fail(p, "pivot_root into", p->rootfs);
        if (chdir("/") < 0)
                fail(p, "chdir", "/");
        for (size_t i = 0; i < p->n_masked; i++) {
                struct stat st;
                if (stat(p->masked[i], &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode) ? mount("tmpfs", p->masked[i], "tmpfs", MS_RDONLY, NULL)
                                        : mount("/dev/null", p->masked[i], NULL, MS_BIND, NULL))
                        fail(p, "masking", p->masked[i]);
        }
        for (size_t i = 0; i < p->n_ro; i++) {
                if (mount(p->ro_paths[i], p->ro_paths[i], NULL, MS_BIND | MS_REC, NULL) < 0) {
                        if (errno == ENOENT)
                                continue;
                        fail(p, "making read-only", p->ro_paths[i]);
                }
                if (mount(NULL, p->ro_paths[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
                        fail(p, "making read-only", p->ro_paths[i]);
        }
        if (p->readonly_root && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
                fail(p, "making the rootfs read-only", NULL);
}

static void set_credentials(const struct plan *p)
{
        for (int c = 0; c < 64; c++)
                if (p->drop_bounding[c] && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
                    errno != EINVAL)
                        fail(p, "dropping from the bounding set", NULL);
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                fail(p, "keeping capabilities", NULL);
        if (setgroups(p->n_groups, p->groups) < 0)
                fail(p, "setting supplementary groups", NULL);
        if (setresgid(p->gid, p->gid, p->gid) < 0)
                fail(p, "setting the group id", NULL);
        if (setresuid(p->uid, p->uid, p->uid) < 0)
                fail(p, "setting the user id", NULL);
        if (p->caps && cap_set_proc(p->caps) < 0)
                fail(p, "setting capabilities", NULL);
        for (size_t i = 0; i < p->n_ambient; i++)
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, p->ambient[i], 0, 0) < 0)
                        fail(p, "raising an ambient capability", NULL);
        if (p->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                fail(p, "setting no_new_privs", NULL);
}

/* Find argv[0] on the container's PATH; the result is in buf. */
static const char *resolve(const struct plan *p, char *buf, size_t size)
{
        const char *name = p->argv[0];
        struct stat st;

        if (strchr(name, '/')) {
                if (stat(name, &st) < 0)
                        fail(p, "executable", name);
                return name;
        }
        for (const char *d = p->path_env; *d;) {
                size_t len = strcspn(d, ":");
                snprintf(buf, size, "%.*s/%s", (int)len, len ? d : ".", name);
                if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
                        return buf;
                d += len + (d[len] == ':');
        }
        errno = ENOENT;
        fail(p, "executable not found in $PATH:", name);
}

static _noreturn_ void grandchild(const struct plan *p)
{
        char path[PATH_MAX];
        char go;

        if (p->init) {
                setup_rootfs(p);
                if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0)
                        fail(p, "setting the hostname", p->hostname);
        }
        if (setsid() < 0)
                fail(p, "setsid", NULL);
        if (dup2(p->in, 0) < 0 || dup2(p->out, 1) < 0 || dup2(p->err, 2) < 0)
                fail(p, "setting up stdio", NULL);
        if (p->terminal && ioctl(0, TIOCSCTTY, 0) < 0)
                fail(p, "setting the controlling terminal", NULL);
        for (size_t i = 0; i < p->n_rlimits; i++)
                if (setrlimit(p->rlimits[i].resource, &p->rlimits[i].rl) < 0)
                        fail(p, "setting an rlimit", NULL);
        if (p->cwd && chdir(p->cwd) < 0)
                fail(p, "changing to the working directory", p->cwd);
        set_credentials(p);
        const char *exe = resolve(p, path, sizeof(path));

        if (write(p->status_write, "R", 1) != 1)
                _exit(127);
        if (read(p->go_read, &go, 1) != 1)
                _exit(127); /* the agent gave up on us */
        execve(exe, p->argv, p->envp);
        fail(p, "exec", exe);
}

static _noreturn_ void intermediate(const struct plan *p)
{
        static const int types[] = {CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWPID, CLONE_NEWNS};

        close(p->go_write);
        close(p->status_read);
        close(p->report_read);
        if (p->init) {
                if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC) < 0)
                        fail(p, "creating namespaces", NULL);
        } else {
                for (size_t i = 0; i < p->n_ns; i++)
                        if (setns(p->ns_fds[i], types[i]) < 0)
                                fail(p, "joining the container's namespaces", NULL);
        }
        pid_t pid = fork();
        if (pid < 0)
                fail(p, "fork", NULL);
        if (pid == 0) {
                close(p->report_write);
                grandchild(p);
        }
        int32_t v = pid;
        (void)!write(p->report_write, &v, sizeof(v));
        _exit(0);
}

/* --- the parent: build the plan --- */

static const struct {
        const char *name;
        bool clear;
        unsigned long flag;
} mount_flags[] = {
        {"ro", false, MS_RDONLY},         {"rw", true, MS_RDONLY},
        {"nosuid", false, MS_NOSUID},     {"suid", true, MS_NOSUID},
        {"nodev", false, MS_NODEV},       {"dev", true, MS_NODEV},
        {"noexec", false, MS_NOEXEC},     {"exec", true, MS_NOEXEC},
        {"sync", false, MS_SYNCHRONOUS},  {"async", true, MS_SYNCHRONOUS},
        {"noatime", false, MS_NOATIME},   {"nodiratime", false, MS_NODIRATIME},
        {"relatime", false, MS_RELATIME}, {"strictatime", false, MS_STRICTATIME},
        {"bind", false, MS_BIND},         {"rbind", false, MS_BIND | MS_REC},
};

static const struct {
        const char *name;
        unsigned long flag;
} propagation_flags[] = {
        {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
        {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
        {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
        {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

static void parse_mount_options(struct mnt *m, char **opts, size_t n)
{
        _cleanup_free_ char *data = xstrdup("");

        for (size_t i = 0; i < n; i++) {
                bool known = false;
                for (size_t j = 0; j < ELEMENTSOF(mount_flags) && !known; j++)
                        if (strcmp(opts[i], mount_flags[j].name) == 0) {
                                known = true;
                                if (mount_flags[j].clear)
                                        m->flags &= ~mount_flags[j].flag;
                                else
                                        m->flags |= mount_flags[j].flag;
                        }
                for (size_t j = 0; j < ELEMENTSOF(propagation_flags) && !known; j++)
                        if (strcmp(opts[i], propagation_flags[j].name) == 0) {
                                known = true;
                                m->propagation = propagation_flags[j].flag;
                        }
                if (!known) {
                        char *d = xasprintf("%s%s%s", data, *data ? "," : "", opts[i]);
                        free(data);
                        data = d;
                }
        }
        m->bind = m->flags & MS_BIND;
        m->data = *data ? TAKE_PTR(data) : NULL;
}

static int plan_mounts(struct plan *p, const Grpc__Spec *spec, struct coco_error **err)
{
        for (size_t i = 0; i < spec->n_mounts; i++) {
                const Grpc__Mount *om = spec->mounts[i];
                if (p->n_mounts == MAX_MOUNTS)
                        return coco_error_set(err, E2BIG, "more than %d mounts", MAX_MOUNTS);
                if (!om->destination || om->destination[0] != '/')
                        return coco_error_set(err, EINVAL,
                                              "mount %zu: destination \"%s\" is not absolute", i,
                                              om->destination ? om->destination : "");
                struct mnt *m = &p->mounts[p->n_mounts++];
                m->dst = xasprintf("%s%s", p->rootfs, om->destination);
                m->type = xstrdup(om->type && *om->type ? om->type : "none");
                if (strcmp(m->type, "cgroup") == 0) { /* the guest has cgroup v2 only */
                        free(m->type);
                        m->type = xstrdup("cgroup2");
                }
                m->src = xstrdup(om->source && *om->source ? om->source : m->type);
                parse_mount_options(m, om->options, om->n_options);
                m->dev_tmpfs =
                        strcmp(om->destination, "/dev") == 0 && strcmp(m->type, "tmpfs") == 0;
                if (m->bind && access(m->src, F_OK) < 0)
                        return coco_error_set(err, ENOENT,
                                              "bind mount source \"%s\" (for %s) does not exist in "
                                              "the guest",
                                              m->src, om->destination);
        }
        return 0;
}

static int plan_caps(struct plan *p, const Grpc__LinuxCapabilities *c, struct coco_error **err)
{
        static const cap_flag_t flags[] = {CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE};
        char **const lists[] = {c->effective, c->permitted, c->inheritable};
        const size_t counts[] = {c->n_effective, c->n_permitted, c->n_inheritable};
        int last = (int)cap_max_bits();

        p->caps = cap_init();
        for (size_t f = 0; f < ELEMENTSOF(flags); f++)
                for (size_t i = 0; i < counts[f]; i++) {
                        cap_value_t v;
                        if (cap_from_name(lists[f][i], &v) < 0)
                                return coco_error_set(err, EINVAL, "unknown capability \"%s\"",
                                                      lists[f][i]);
                        if (cap_set_flag(p->caps, flags[f], 1, &v, CAP_SET) < 0)
                                return coco_error_set(err, EINVAL, "capability \"%s\"",
                                                      lists[f][i]);
                }
        for (int v = 0; v < last && v < 64; v++)
                p->drop_bounding[v] = true;
        for (size_t i = 0; i < c->n_bounding; i++) {
                cap_value_t v;
                if (cap_from_name(c->bounding[i], &v) < 0)
                        return coco_error_set(err, EINVAL, "unknown capability \"%s\"",
                                              c->bounding[i]);
                if (v < 64)
                        p->drop_bounding[v] = false;
        }
        for (size_t i = 0; i < c->n_ambient && p->n_ambient < 64; i++) {
                cap_value_t v;
                if (cap_from_name(c->ambient[i], &v) < 0)
                        return coco_error_set(err, EINVAL, "unknown capability \"%s\"",
                                              c->ambient[i]);
                p->ambient[p->n_ambient++] = v;
        }
        return 0;
}

static int plan_rlimits(struct plan *p, const Grpc__Process *proc, struct coco_error **err)
{
        static const struct {
                const char *name;
                int res;
        } names[] = {
                {"RLIMIT_AS", RLIMIT_AS},
                {"RLIMIT_CORE", RLIMIT_CORE},
                {"RLIMIT_CPU", RLIMIT_CPU},
                {"RLIMIT_DATA", RLIMIT_DATA},
                {"RLIMIT_FSIZE", RLIMIT_FSIZE},
                {"RLIMIT_LOCKS", RLIMIT_LOCKS},
                {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
                {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
                {"RLIMIT_NICE", RLIMIT_NICE},
                {"RLIMIT_NOFILE", RLIMIT_NOFILE},
                {"RLIMIT_NPROC", RLIMIT_NPROC},
                {"RLIMIT_RSS", RLIMIT_RSS},
                {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
                {"RLIMIT_RTTIME", RLIMIT_RTTIME},
                {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
                {"RLIMIT_STACK", RLIMIT_STACK},
        };
        for (size_t i = 0; i < proc->n_rlimits; i++) {
                const Grpc__POSIXRlimit *rl = proc->rlimits[i];
                size_t j = 0;
                while (j < ELEMENTSOF(names) && strcmp(names[j].name, rl->type) != 0)
                        j++;
                if (j == ELEMENTSOF(names) || p->n_rlimits == MAX_RLIMITS)
                        return coco_error_set(err, EINVAL, "unknown rlimit \"%s\"", rl->type);
                p->rlimits[p->n_rlimits].resource = names[j].res;
                p->rlimits[p->n_rlimits].rl.rlim_cur = rl->soft;
                p->rlimits[p->n_rlimits++].rl.rlim_max = rl->hard;
        }
        return 0;
}

static char **dup_strv(char **v, size_t n)
{
        char **out = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                out[i] = xstrdup(v[i]);
        return out;
}

static void free_strv(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

static void plan_free(struct plan *p)
{
        for (size_t i = 0; i < p->n_mounts; i++) {
                free(p->mounts[i].src);
                free(p->mounts[i].dst);
                free(p->mounts[i].type);
                free(p->mounts[i].data);
        }
        for (size_t i = 0; i < p->n_masked; i++)
                free(p->masked[i]);
        for (size_t i = 0; i < p->n_ro; i++)
                free(p->ro_paths[i]);
        for (size_t i = 0; i < p->n_ns; i++)
                safe_close(p->ns_fds[i]);
        free_strv(p->argv);
        free_strv(p->envp);
        if (p->caps)
                cap_free(p->caps);
}

static int plan_process(struct plan *p, const Grpc__Process *proc, struct coco_error **err)
{
        if (proc->n_args == 0 || !proc->args[0][0])
                return coco_error_set(err, EINVAL, "the process has no arguments (args is empty)");
        p->argv = dup_strv(proc->args, proc->n_args);
        p->envp = dup_strv(proc->env, proc->n_env);
        p->cwd = proc->cwd && *proc->cwd ? proc->cwd : "/";
        snprintf(p->path_env, sizeof(p->path_env), "%s",
                 "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        for (size_t i = 0; i < proc->n_env; i++)
                if (strncmp(proc->env[i], "PATH=", 5) == 0)
                        snprintf(p->path_env, sizeof(p->path_env), "%s", proc->env[i] + 5);
        if (proc->user) {
                p->uid = proc->user->uid;
                p->gid = proc->user->gid;
                for (size_t i = 0; i < proc->user->n_additionalgids && i < MAX_GROUPS; i++)
                        p->groups[p->n_groups++] = proc->user->additionalgids[i];
        }
        p->nnp = proc->nonewprivileges;
        p->terminal = proc->terminal;
        int r = plan_rlimits(p, proc, err);
        if (r >= 0 && proc->capabilities)
                r = plan_caps(p, proc->capabilities, err);
        return r;
}

static int plan_namespaces(struct plan *p, pid_t init_pid, struct coco_error **err)
{
        static const char *const names[] = {"ipc", "uts", "pid", "mnt"};
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/ns/%s", init_pid, names[i]);
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return coco_error_set(err, errno,
                                              "the container's init (pid %d) is gone: %s", init_pid,
                                              strerror(errno));
                p->ns_fds[p->n_ns++] = fd;
        }
        return 0;
}

/* Pipes and stdio for the new process; our ends go to proc. */
static int plan_stdio(struct plan *p, struct process *proc, struct coco_error **err)
{
        int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};

        if (p->terminal) {
                int master, slave;
                if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
                        return coco_error_set(err, errno, "allocating a terminal: %s",
                                              strerror(errno));
                (void)fcntl(master, F_SETFD, FD_CLOEXEC);
                proc->stdout_fd = master;
                proc->stdin_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
                p->in = p->out = p->err = slave;
                return 0;
        }
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0) {
                int e = errno;
                safe_close(in[0]), safe_close(in[1]), safe_close(out[0]), safe_close(out[1]);
                return coco_error_set(err, e, "creating stdio pipes: %s", strerror(e));
        }
        proc->stdin_fd = in[1];
        proc->stdout_fd = out[0];
        proc->stderr_fd = er[0];
        p->in = in[0];
        p->out = out[1];
        p->err = er[1];
        return 0;
}

static void close_child_stdio(struct plan *p)
{
        safe_close(p->in);
        if (p->out != p->in)
                safe_close(p->out);
        if (p->err != p->in && p->err != p->out)
                safe_close(p->err);
}

/* Read the status pipe until 'R' (ready), EOF (exec done) or an error text. */
static int read_status(int fd, const char *what, struct coco_error **err)
{
        char buf[1024];
        size_t n = 0;

        for (;;) {
                ssize_t k = read(fd, buf + n, sizeof(buf) - 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                n += (size_t)k;
                if (buf[0] == 'R')
                        return 1;
                if (n == sizeof(buf) - 1)
                        break;
        }
        if (n == 0)
                return 0;
        buf[n] = 0;
        return coco_error_set(err, buf[0] == 'E' ? EINVAL : EIO, "%s: %s", what,
                              buf[0] == 'E' ? buf + 1 : "the process died during setup");
}

int spawn_process(struct agent *a, struct container *c, const Grpc__Process *proc, bool init,
                  const Grpc__Spec *spec, struct process **ret, struct coco_error **err)
{
        struct plan p = {.init = init, .in = -1, .out = -1, .err = -1};
        struct process *pr = xcalloc(1, sizeof(*pr));
        int go[2] = {-1, -1}, status[2] = {-1, -1}, report[2] = {-1, -1};
        int r;

        pr->stdin_fd = pr->stdout_fd = pr->stderr_fd = pr->go_fd = pr->status_fd = -1;
        pr->wake_fd = -1;
        p.rootfs = c->rootfs;
        if (init) {
                p.hostname = spec->hostname && *spec->hostname ? spec->hostname : a->hostname;
                p.readonly_root = spec->root && spec->root->readonly;
                r = plan_mounts(&p, spec, err);
                if (r >= 0 && spec->linux) {
                        for (size_t i = 0; i < spec->linux->n_maskedpaths && i < MAX_PATHS; i++)
                                p.masked[p.n_masked++] = xstrdup(spec->linux->maskedpaths[i]);
                        for (size_t i = 0; i < spec->linux->n_readonlypaths && i < MAX_PATHS; i++)
                                p.ro_paths[p.n_ro++] = xstrdup(spec->linux->readonlypaths[i]);
                }
        } else {
                pthread_mutex_lock(&a->lock);
                pid_t init_pid = c->procs && !c->procs->exited ? c->procs->pid : 0;
                pthread_mutex_unlock(&a->lock);
                r = init_pid ? plan_namespaces(&p, init_pid, err)
                             : coco_error_set(err, ESRCH, "container \"%s\" is not running", c->id);
        }
        if (r >= 0)
                r = plan_process(&p, proc, err);
        if (r >= 0)
                r = plan_stdio(&p, pr, err);
        pr->terminal = p.terminal;
        if (r >= 0 && (pipe2(go, O_CLOEXEC) < 0 || pipe2(status, O_CLOEXEC) < 0 ||
                       pipe2(report, O_CLOEXEC) < 0))
                r = coco_error_set(err, errno, "creating pipes: %s", strerror(errno));
        if (r < 0)
                goto fail;
        p.go_read = go[0], p.go_write = go[1];
        p.status_read = status[0], p.status_write = status[1];
        p.report_read = report[0], p.report_write = report[1];

        pid_t child = fork();
        if (child < 0) {
                r = coco_error_set(err, errno, "fork: %s", strerror(errno));
                goto fail;
        }
        if (child == 0)
                intermediate(&p);

        close_child_stdio(&p);
        safe_close(go[0]), safe_close(status[1]), safe_close(report[1]);
        go[0] = status[1] = report[1] = -1;
        int32_t gpid = 0;
        ssize_t k = read(report[0], &gpid, sizeof(gpid));
        (void)waitpid(child, NULL, 0); /* the intermediate exits at once */
        if (k != sizeof(gpid)) {
                r = read_status(status[0], "starting the process", err);
                if (r >= 0)
                        r = coco_error_set(err, EIO, "starting the process failed");
                goto fail;
        }
        pr->pid = gpid;
        if (c->cgroup) {
                _cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", c->cgroup);
                int fd = open(procs, O_WRONLY | O_CLOEXEC);
                char num[16];
                int n = snprintf(num, sizeof(num), "%d", gpid);
                if (fd < 0 || write(fd, num, (size_t)n) != n)
                        log_warn("moving pid %d into %s: %s", gpid, c->cgroup, strerror(errno));
                safe_close(fd);
        }
        r = read_status(status[0], init ? "setting up the container" : "setting up the process",
                        err);
        if (r <= 0) {
                if (r == 0)
                        r = coco_error_set(err, EIO, "the process exited during setup");
                kill(gpid, SIGKILL);
                goto fail;
        }
        pr->go_fd = go[1];
        pr->status_fd = status[0];
        safe_close(report[0]);
        plan_free(&p);
        *ret = pr;
        return 0;

fail:
        close_child_stdio(&p);
        for (int i = 0; i < 2; i++)
                safe_close(go[i]), safe_close(status[i]), safe_close(report[i]);
        process_free(pr);
        plan_free(&p);
        return r;
}

int spawn_release(struct agent *a, struct process *p, struct coco_error **err)
{
        (void)a;
        if (p->go_fd < 0)
                return coco_error_set(err, EALREADY, "the process was already started");
        if (write(p->go_fd, "G", 1) != 1)
                return coco_error_set(err, errno, "releasing the process: %s", strerror(errno));
        p->go_fd = safe_close(p->go_fd);
        int r = read_status(p->status_fd, "exec", err);
        p->status_fd = safe_close(p->status_fd);
        return r < 0 ? r : 0;
}
