/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Storages (the Kata Storage message) and the container rootfs. A block
 * device is named by its /dev path or by its PCI path ("05" or "02/05", slot
 * numbers from the root bus as kata writes them) and mounted read-only unless
 * the options say "rw". A writable container rootfs is an overlay with a
 * tmpfs upper layer in the container's state directory.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "agent.h"
#include "log.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

static int mkdir_mode(const char *path, mode_t mode)
{
        _cleanup_free_ char *p = xstrdup(path);
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        if (mkdir(p, mode) < 0 && errno != EEXIST)
                                return -errno;
                        *s = '/';
                }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int mkdir_parents(const char *path)
{
        return mkdir_mode(path, 0755);
}

/* AGENT_SHARED_DIR/<name>: a plain name right below the shared directory. */
static bool shared_path_ok(const char *path)
{
        const char *name = path + strlen(AGENT_SHARED_DIR "/");
        return strncmp(path, AGENT_SHARED_DIR "/", strlen(AGENT_SHARED_DIR "/")) == 0 && *name &&
               !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

int storage_copy_file(const Grpc__CopyFileRequest *req, struct coco_error **err)
{
        if (!req->path || !shared_path_ok(req->path))
                return coco_error_set(err, EPERM,
                                      "CopyFile writes only files right below " AGENT_SHARED_DIR
                                      ", not \"%s\"",
                                      req->path ? req->path : "");
        if (req->offset < 0 || req->file_size < 0 || req->offset > req->file_size ||
            (int64_t)req->data.len > req->file_size - req->offset)
                return coco_error_set(err, EINVAL,
                                      "CopyFile %s: %zu bytes at offset %lld do not fit a file of "
                                      "%lld bytes",
                                      req->path, req->data.len, (long long)req->offset,
                                      (long long)req->file_size);
        _cleanup_free_ char *dir = xstrdup(req->path);
        *strrchr(dir, '/') = 0;
        int r = mkdir_mode(dir, req->dir_mode ? (mode_t)(req->dir_mode & 0777) : 0755);
        if (r < 0)
                return coco_error_set(err, -r, "creating %s: %s", dir, strerror(-r));
        int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (req->offset == 0 ? O_TRUNC : 0);
        _cleanup_close_ int fd =
                open(req->path, flags, req->file_mode ? (mode_t)(req->file_mode & 07777) : 0644);
        if (fd < 0)
                return coco_error_set(err, errno, "opening %s: %s", req->path, strerror(errno));
        if (pwrite(fd, req->data.data, req->data.len, req->offset) != (ssize_t)req->data.len ||
            fchown(fd, (uid_t)req->uid, (gid_t)req->gid) < 0)
                return coco_error_set(err, errno, "writing %s: %s", req->path, strerror(errno));
        return 0;
}

/* The files CopyFile wrote for a container: "<id>-<digits>-<name>". */
void storage_remove_shared(const char *container_id)
{
        _cleanup_(closedirp) DIR *d = opendir(AGENT_SHARED_DIR);
        size_t n = strlen(container_id);
        struct dirent *e;
        if (!d)
                return;
        while ((e = readdir(d))) {
                const char *p = e->d_name + n + 1;
                if (strncmp(e->d_name, container_id, n) != 0 || e->d_name[n] != '-' ||
                    !isdigit((unsigned char)*p))
                        continue;
                while (isdigit((unsigned char)*p))
                        p++;
                if (*p == '-')
                        (void)unlinkat(dirfd(d), e->d_name, 0);
        }
}

static void remember_mount(struct container *c, const char *path)
{
        c->mounts = xrealloc(c->mounts, (c->n_mounts + 1) * sizeof(char *));
        c->mounts[c->n_mounts++] = xstrdup(path);
}

/* The block device of a virtio-blk PCI function: /sys/bus/pci/devices/<bdf>/virtio*\/block/<name>.
 */
static char *block_of_pci(const char *bdf)
{
        _cleanup_free_ char *dir = xasprintf("/sys/bus/pci/devices/%s", bdf);
        DIR *d = opendir(dir);
        struct dirent *e;
        char *found = NULL;

        if (!d)
                return NULL;
        while (!found && (e = readdir(d))) {
                if (strncmp(e->d_name, "virtio", 6) != 0)
                        continue;
                _cleanup_free_ char *blk = xasprintf("%s/%s/block", dir, e->d_name);
                DIR *b = opendir(blk);
                struct dirent *be;
                while (b && !found && (be = readdir(b)))
                        if (be->d_name[0] != '.')
                                found = xasprintf("/dev/%s", be->d_name);
                if (b)
                        closedir(b);
        }
        closedir(d);
        return found;
}

/* A PCI path: only devices on the root bus are resolved here ("05", or "00/05" style paths). */
static char *resolve_pci_path(const char *path)
{
        const char *last = strrchr(path, '/');
        unsigned slot;
        char bdf[32];

        if (sscanf(last ? last + 1 : path, "%x", &slot) != 1 || slot > 31)
                return NULL;
        snprintf(bdf, sizeof(bdf), "0000:00:%02x.0", slot);
        return block_of_pci(bdf);
}

static int resolve_device(const char *source, char **ret, struct coco_error **err)
{
        struct timespec step = {.tv_nsec = 50 * 1000 * 1000};

        /* a hot-plugged device can take a moment to appear */
        for (int i = 0; i < 200; i++) {
                struct stat st;
                char *dev = source[0] == '/' ? (stat(source, &st) == 0 ? xstrdup(source) : NULL)
                                             : resolve_pci_path(source);
                if (dev && stat(dev, &st) == 0 && S_ISBLK(st.st_mode)) {
                        *ret = dev;
                        return 0;
                }
                free(dev);
                nanosleep(&step, NULL);
        }
        return coco_error_set(
                err, ENODEV, "block device \"%s\" did not appear in the guest within 10 s", source);
}

static int mount_options(const Grpc__Storage *s, unsigned long *ret_flags, char **ret_data)
{
        unsigned long flags = MS_RDONLY;
        _cleanup_free_ char *data = xstrdup("");

        for (size_t i = 0; i < s->n_options; i++) {
                const char *o = s->options[i];
                if (strcmp(o, "rw") == 0)
                        flags &= ~MS_RDONLY;
                else if (strcmp(o, "ro") == 0)
                        flags |= MS_RDONLY;
                else if (strcmp(o, "nosuid") == 0)
                        flags |= MS_NOSUID;
                else if (strcmp(o, "nodev") == 0)
                        flags |= MS_NODEV;
                else if (strcmp(o, "noexec") == 0)
                        flags |= MS_NOEXEC;
                else {
                        char *d = xasprintf("%s%s%s", data, *data ? "," : "", o);
                        free(data);
                        data = d;
                }
        }
        *ret_flags = flags;
        *ret_data = *data ? TAKE_PTR(data) : NULL;
        return 0;
}

int storage_mount(struct agent *a, struct container *c, const Grpc__Storage *s,
                  struct coco_error **err)
{
        _cleanup_free_ char *dev = NULL, *data = NULL;
        unsigned long flags;
        int r;

        (void)a;
        if (!s->mount_point || s->mount_point[0] != '/')
                return coco_error_set(err, EINVAL,
                                      "storage \"%s\": mount point \"%s\" is not "
                                      "absolute",
                                      s->source, s->mount_point ? s->mount_point : "");
        if (strcmp(s->driver, "image_guest_pull") == 0)
                return coco_error_set(err, EOPNOTSUPP,
                                      "storage \"%s\": this agent cannot pull images inside the "
                                      "guest (driver image_guest_pull); use a guest image whose "
                                      "agent can, or the none class",
                                      s->source);
        r = mkdir_parents(s->mount_point);
        if (r < 0)
                return coco_error_set(err, r, "creating mount point %s: %s", s->mount_point,
                                      strerror(-r));
        mount_options(s, &flags, &data);
        if (strcmp(s->driver, "ephemeral") == 0 || strcmp(s->driver, "local") == 0) {
                if (mount("tmpfs", s->mount_point, "tmpfs", MS_NOSUID | MS_NODEV, data) < 0)
                        return coco_error_set(err, errno, "mounting tmpfs on %s: %s",
                                              s->mount_point, strerror(errno));
        } else if (strcmp(s->driver, "blk") == 0 || strcmp(s->driver, "virtio-blk") == 0 ||
                   strcmp(s->driver, "virtio-blk-pci") == 0) {
                r = resolve_device(s->source, &dev, err);
                if (r < 0)
                        return r;
                /* a disk hot-plugged a moment ago can have its node before it is ready */
                int m;
                for (int i = 0; (m = mount(dev, s->mount_point, s->fstype, flags, data)) < 0 &&
                                (errno == ENXIO || errno == ENODEV) && i < 100;
                     i++)
                        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
                if (m < 0)
                        return coco_error_set(err, errno, "mounting %s (%s, from \"%s\") on %s: %s",
                                              dev, s->fstype, s->source, s->mount_point,
                                              strerror(errno));
        } else
                return coco_error_set(err, EOPNOTSUPP,
                                      "storage \"%s\": driver \"%s\" is not supported (blk, "
                                      "virtio-blk, virtio-blk-pci, ephemeral, local)",
                                      s->source, s->driver);
        remember_mount(c, s->mount_point);
        return 0;
}

int storage_rootfs(struct agent *a, struct container *c, const Grpc__Spec *spec,
                   struct coco_error **err)
{
        struct stat st;

        (void)a;
        if (!spec->root || !spec->root->path || !*spec->root->path)
                return coco_error_set(err, EINVAL, "the OCI spec names no root path");
        const char *lower = spec->root->path;
        if (lower[0] != '/')
                return coco_error_set(err, EINVAL,
                                      "root path \"%s\" must be absolute in the guest (a storage's "
                                      "mount point)",
                                      lower);
        if (stat(lower, &st) < 0 || !S_ISDIR(st.st_mode))
                return coco_error_set(err, ENOENT,
                                      "rootfs \"%s\" does not exist in the guest: no storage "
                                      "mounted it",
                                      lower);
        /*
         * Always an overlay, also for a read-only root: mount points for the
         * spec's mounts may have to be created; the root is remounted
         * read-only after the mounts (spawn.c), as runc does.
         */
        _cleanup_free_ char *upper = xasprintf("%s/upper", c->dir);
        _cleanup_free_ char *work = xasprintf("%s/work", c->dir);
        _cleanup_free_ char *merged = xasprintf("%s/rootfs", c->dir);
        _cleanup_free_ char *opts =
                xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
        if (mkdir(upper, 0755) < 0 || mkdir(work, 0755) < 0 || mkdir(merged, 0755) < 0)
                return coco_error_set(err, errno, "creating overlay directories in %s: %s", c->dir,
                                      strerror(errno));
        if (mount("overlay", merged, "overlay", 0, opts) < 0)
                return coco_error_set(err, errno, "mounting the writable overlay on %s: %s", lower,
                                      strerror(errno));
        remember_mount(c, merged);
        c->rootfs = TAKE_PTR(merged);
        return 0;
}
