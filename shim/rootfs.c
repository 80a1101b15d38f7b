/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The none class's container rootfs: containerd's mounts (overlay snapshots)
 * are mounted on the bundle's rootfs, copied into an ext4 image with mke2fs -d
 * (no loop device, no mount of the image), and unmounted again. The image is
 * hot-plugged read-only; writes go to an overlay inside the guest.
 */
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "shim.h"
#include "util.h"

extern char **environ;
/* nftw passes no user pointer: the running total is per thread, so concurrent Creates do not mix */
static _Thread_local uint64_t tree_bytes;

static int count(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)path, (void)flag, (void)ftw;
        tree_bytes += (uint64_t)st->st_blocks * 512 + 256; /* data plus an inode */
        return 0;
}

static int mount_one(const Containerd__Types__Mount *m, const char *target, struct coco_error **err)
{
        unsigned long flags = 0;
        _cleanup_free_ char *data = xstrdup("");
        for (size_t i = 0; i < m->n_options; i++) {
                const char *o = m->options[i];
                if (strcmp(o, "ro") == 0)
                        flags |= MS_RDONLY;
                else if (strcmp(o, "rbind") == 0)
                        flags |= MS_BIND | MS_REC;
                else if (strcmp(o, "bind") == 0)
                        flags |= MS_BIND;
                else if (strcmp(o, "rw") != 0) {
                        char *d = xasprintf("%s%s%s", data, *data ? "," : "", o);
                        free(data);
                        data = d;
                }
        }
        if (strcmp(m->type, "bind") == 0)
                flags |= MS_BIND;
        if (mount(m->source, target, flags & MS_BIND ? NULL : m->type, flags, *data ? data : NULL) <
            0)
                return coco_error_set(err, errno, "mounting the %s rootfs from %s: %s", m->type,
                                      m->source, strerror(errno));
        return 0;
}

static int mke2fs(const char *dir, const char *image, uint64_t kib, struct coco_error **err)
{
        char size[32];
        int errpipe[2];
        pid_t pid;
        posix_spawn_file_actions_t fa;

        snprintf(size, sizeof(size), "%lluk", (unsigned long long)kib);
        if (pipe2(errpipe, O_CLOEXEC) < 0)
                return coco_error_set(err, errno, "pipe: %s", strerror(errno));
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, errpipe[1], 2);
        posix_spawn_file_actions_adddup2(&fa, errpipe[1], 1);
        char *argv[] = {"mke2fs", "-q", "-F",        "-t",          "ext4", "-b",
                        "4096",   "-d", (char *)dir, (char *)image, size,   NULL};
        int r = posix_spawnp(&pid, "mke2fs", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        safe_close(errpipe[1]);
        if (r != 0) {
                safe_close(errpipe[0]);
                return coco_error_set(err, r, "running mke2fs: %s; install e2fsprogs", strerror(r));
        }
        char msg[1024];
        ssize_t n = read(errpipe[0], msg, sizeof(msg) - 1);
        msg[n > 0 ? n : 0] = 0;
        safe_close(errpipe[0]);
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                return coco_error_set(err, EIO, "building the rootfs image with mke2fs: %s",
                                      *msg ? msg : "failed");
        return 0;
}

int rootfs_image(const char *bundle, const Containerd__Types__Mount *const *mounts, size_t n,
                 const char *image, struct coco_error **err)
{
        _cleanup_free_ char *target = xasprintf("%s/rootfs", bundle);
        size_t mounted = 0;
        int r = 0;

        if (n == 0)
                return coco_error_set(err, EINVAL, "containerd gave no rootfs mounts");
        (void)mkdir(target, 0755);
        for (; mounted < n && r == 0; mounted++)
                r = mount_one(mounts[mounted], target, err);
        if (r == 0) {
                tree_bytes = 0;
                (void)nftw(target, count, 64, FTW_PHYS | FTW_MOUNT);
                uint64_t bytes = tree_bytes;
                /* ext4 metadata and journal: a fifth more and 16 MiB */
                uint64_t kib = (bytes + bytes / 5) / 1024 + 16 * 1024;
                uint64_t t0 = now_monotonic_ns();
                r = mke2fs(target, image, kib, err);
                log_debug("rootfs image %s: %llu KiB in %llu ms", image, (unsigned long long)kib,
                          (unsigned long long)((now_monotonic_ns() - t0) / NSEC_PER_MSEC));
        }
        while (mounted-- > 0)
                if (umount2(target, MNT_DETACH) < 0)
                        log_warn("unmounting %s: %s", target, strerror(errno));
        if (r < 0)
                (void)unlink(image);
        return r;
}
