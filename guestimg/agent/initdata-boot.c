/* SPDX-License-Identifier: Apache-2.0 */
/*
 * At boot: find the read-only initdata disk (magic "initdata" in its first
 * bytes), validate it and publish the document where the guest components
 * expect it: initdata.toml, aa.toml, cdh.toml. Its policy (policy.coco, or a
 * policy.rego this agent cannot evaluate) becomes the agent policy.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "agent.h"
#include "initdata.h"
#include "log.h"
#include "util.h"

void policy_close(struct agent *a, const char *reason);

static int write_file(const char *dir, const char *name, const void *data, size_t len,
                      struct coco_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write_all(fd, false, data, len, NULL, 0) < 0)
                return coco_error_set(err, errno, "writing %s: %s", path, strerror(errno));
        return 0;
}

/* Read a device that starts with the magic; 0 and no data when it does not. */
static int read_disk(const char *dev, uint8_t **ret, size_t *ret_len, struct coco_error **err)
{
        _cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);
        uint8_t head[INITDATA_DISK_HEADER];
        uint64_t size = 0;

        *ret = NULL;
        if (fd < 0 || read_full(fd, head, sizeof(head)) < 0 ||
            memcmp(head, INITDATA_DISK_MAGIC, 8) != 0)
                return 0;
        if (ioctl(fd, BLKGETSIZE64, &size) < 0 || size > INITDATA_MAX_TOML + 65536)
                return coco_error_set(err, EINVAL, "initdata disk %s: size %llu is not plausible",
                                      dev, (unsigned long long)size);
        uint8_t *buf = xmalloc(size ? size : 1);
        if (lseek(fd, 0, SEEK_SET) < 0 || read_full(fd, buf, size) < 0) {
                free(buf);
                return coco_error_set(err, EIO, "reading initdata disk %s", dev);
        }
        *ret = buf;
        *ret_len = size;
        return 0;
}

static int publish(struct agent *a, const char *found, const uint8_t *img, size_t len,
                   const char *outdir, struct coco_error **err)
{
        _cleanup_(initdata_freep) struct initdata *id = NULL;
        int r = initdata_from_disk(img, len, &id, err);
        if (r < 0) {
                coco_error_wrap(err, r, "%s", found);
                policy_close(a, (*err)->message);
                return r;
        }
        (void)mkdir("/run/confidential-containers", 0700);
        (void)mkdir(outdir, 0700);
        if ((r = write_file(outdir, "initdata.toml", id->toml, id->toml_len, err)) < 0)
                return r;
        static const char *const files[] = {"aa.toml", "cdh.toml"};
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                const char *v = initdata_file(id, files[i]);
                if (v && (r = write_file(outdir, files[i], v, strlen(v), err)) < 0)
                        return r;
        }
        log_info("initdata from %s (%s digest) published in %s", found, initdata_alg_name(id->alg),
                 outdir);

        const char *pol = initdata_file(id, "policy.coco");
        const char *src = "initdata policy.coco";
        if (!pol) {
                pol = initdata_file(id, "policy.rego");
                src = "initdata policy.rego";
        }
        if (pol && (r = policy_load(a, pol, src, err)) < 0) {
                policy_close(a, (*err)->message);
                return r;
        }
        return 0;
}

int agent_load_initdata(struct agent *a, const char *outdir, struct coco_error **err)
{
        DIR *d = opendir("/sys/block");
        struct dirent *e;
        _cleanup_free_ uint8_t *img = NULL;
        _cleanup_free_ char *found = NULL;
        size_t len = 0;
        int r = 0;

        if (!d)
                return 0;
        while (!img && r == 0 && (e = readdir(d))) {
                if (strncmp(e->d_name, "vd", 2) != 0)
                        continue;
                free(found);
                found = xasprintf("/dev/%s", e->d_name);
                r = read_disk(found, &img, &len, err);
        }
        closedir(d);
        if (r < 0) {
                policy_close(a, (*err)->message);
                return r;
        }
        if (!img)
                return 0; /* no initdata: nothing to publish */
        return publish(a, found, img, len, outdir, err);
}

int agent_load_initdata_from(struct agent *a, const char *path, const char *outdir,
                             struct coco_error **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0)
                return coco_error_set(err, errno, "initdata disk %s: %s", path, strerror(errno));
        if ((uint64_t)st.st_size > INITDATA_MAX_TOML + 65536) {
                coco_error_set(err, E2BIG, "initdata disk %s is too large", path);
                policy_close(a, (*err)->message);
                return -E2BIG;
        }
        _cleanup_free_ uint8_t *img = xmalloc((size_t)st.st_size + 1);
        int r = read_full(fd, img, (size_t)st.st_size);
        if (r < 0)
                return coco_error_set(err, r, "reading %s: %s", path, strerror(-r));
        return publish(a, path, img, (size_t)st.st_size, outdir, err);
}
