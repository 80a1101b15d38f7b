/* SPDX-License-Identifier: Apache-2.0 */
/* PID 1 duties: the basic file systems, kernel modules, power off. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "util.h"

int boot_mount_basics(struct coco_error **err)
{
        static const struct {
                const char *src, *dst, *type;
                unsigned long flags;
                const char *data;
        } mounts[] = {
                {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
                {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
                {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
                {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                 "ptmxmode=0666,newinstance"},
                {"tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
                {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
                {"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
                {"cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
        };

        for (size_t i = 0; i < ELEMENTSOF(mounts); i++) {
                (void)mkdir(mounts[i].dst, 0755);
                if (mount(mounts[i].src, mounts[i].dst, mounts[i].type, mounts[i].flags,
                          mounts[i].data) < 0 &&
                    errno != EBUSY)
                        return coco_error_set(err, errno, "mounting %s on %s: %s", mounts[i].type,
                                              mounts[i].dst, strerror(errno));
        }
        (void)!symlink("/proc/self/fd", "/dev/fd");
        (void)!symlink("pts/ptmx", "/dev/ptmx");
        return 0;
}

int boot_load_modules(const char *list, struct coco_error **err)
{
        FILE *f = fopen(list, "re");
        char line[512];
        unsigned loaded = 0;

        if (!f)
                return errno == ENOENT ? 0
                                       : coco_error_set(err, errno, "opening %s: %s", list,
                                                        strerror(errno));
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = 0;
                if (!line[0] || line[0] == '#')
                        continue;
                int fd = open(line, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        log_warn("module %s: %s", line, strerror(errno));
                        continue;
                }
                if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
                        log_warn("loading module %s: %s", line, strerror(errno));
                else
                        loaded++;
                close(fd);
        }
        fclose(f);
        log_debug("loaded %u kernel modules", loaded);
        return 0;
}

bool boot_cmdline_has(const char *param)
{
        char buf[4096];
        int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        size_t plen = strlen(param);

        if (fd >= 0)
                close(fd);
        if (n <= 0)
                return false;
        buf[n] = 0;
        for (char *p = buf; (p = strstr(p, param)); p += plen)
                if ((p == buf || p[-1] == ' ') &&
                    (p[plen] == ' ' || p[plen] == '\n' || p[plen] == 0))
                        return true;
        return false;
}

void boot_power_off(void)
{
        sync();
        reboot(RB_POWER_OFF);
        _exit(0); /* only reached when reboot() is not allowed (not PID 1) */
}
