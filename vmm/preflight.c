/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain-xml.h"
#include "preflight.h"
#include "util.h"

static void add(struct preflight *p, const char *item, enum preflight_status st, const char *fmt,
                ...) _printf_(4, 5);
static void add(struct preflight *p, const char *item, enum preflight_status st, const char *fmt,
                ...)
{
        va_list ap;
        char *d;

        if (p->n == ELEMENTSOF(p->items))
                return;
        va_start(ap, fmt);
        if (vasprintf(&d, fmt, ap) < 0)
                abort();
        va_end(ap);
        p->items[p->n++] = (struct preflight_item){item, st, d};
        if (st == PREFLIGHT_FAIL)
                p->failures++;
}

static bool param_is_y(const char *path)
{
        char c = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        bool y = read(fd, &c, 1) == 1 && (c == 'Y' || c == '1');
        close(fd);
        return y;
}

static void check_file(struct preflight *p, const char *item, const char *path, bool required)
{
        if (!path) {
                if (required)
                        add(p, item, PREFLIGHT_FAIL, "not set in the class file");
                return;
        }
        if (access(path, R_OK) == 0)
                add(p, item, PREFLIGHT_OK, "%s", path);
        else
                add(p, item, PREFLIGHT_FAIL,
                    "%s: %s; install the guest image (make guest-image, "
                    "or the installer) or fix the path in the class file",
                    path, strerror(errno));
}

static void check_dev(struct preflight *p, const char *item, const char *dev, bool required,
                      const char *remedy)
{
        int fd = open(dev, O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
                close(fd);
                add(p, item, PREFLIGHT_OK, "%s usable", dev);
        } else
                add(p, item, required ? PREFLIGHT_FAIL : PREFLIGHT_INFO, "%s: %s; %s", dev,
                    strerror(errno), remedy);
}

static void check_tee(struct preflight *p, const struct cfg_class *c, struct vmm_libvirt *lv)
{
        unsigned long qemu = lv ? vmm_libvirt_qemu_version(lv) : 0;
        unsigned qmaj = (unsigned)(qemu / 1000000), qmin = (unsigned)(qemu / 1000 % 1000);

        if (c->tee == CFG_TEE_SNP) {
                if (!param_is_y("/sys/module/kvm_amd/parameters/sev_snp"))
                        add(p, "sev-snp", PREFLIGHT_FAIL,
                            "this host does not offer SEV-SNP (kvm_amd sev_snp is not enabled); "
                            "enable SEV-SNP in the firmware setup and load kvm_amd with sev_snp=1, "
                            "or use the dev class");
                else
                        add(p, "sev-snp", PREFLIGHT_OK, "kvm_amd has sev_snp enabled");
                if (qemu && (qmaj < 9 || (qmaj == 9 && qmin < 1)))
                        add(p, "qemu", PREFLIGHT_FAIL,
                            "QEMU %u.%u has no sev-snp-guest object; SEV-SNP needs QEMU 9.1 or "
                            "newer",
                            qmaj, qmin);
        } else if (c->tee == CFG_TEE_TDX) {
                if (!param_is_y("/sys/module/kvm_intel/parameters/tdx"))
                        add(p, "tdx", PREFLIGHT_FAIL,
                            "this host does not offer TDX (kvm_intel tdx is not enabled); enable "
                            "TDX in the firmware setup and load kvm_intel with tdx=1, or use the "
                            "dev class");
                else
                        add(p, "tdx", PREFLIGHT_OK, "kvm_intel has tdx enabled");
                if (qemu && (qmaj < 10 || (qmaj == 10 && qmin < 1)))
                        add(p, "qemu", PREFLIGHT_FAIL,
                            "QEMU %u.%u has no tdx-guest object; TDX needs QEMU 10.1 or newer",
                            qmaj, qmin);
        }
}

void vmm_preflight(const struct cfg_class *c, struct vmm_libvirt *lv, const char *lv_error,
                   struct preflight *p)
{
        *p = (struct preflight){0};
        if (lv) {
                unsigned long v = vmm_libvirt_version(lv);
                add(p, "libvirt", PREFLIGHT_OK, "%lu.%lu.%lu at %s", v / 1000000, v / 1000 % 1000,
                    v % 1000, c->libvirt_uri);
        } else
                add(p, "libvirt", PREFLIGHT_FAIL, "%s", lv_error ? lv_error : "not reachable");
        check_dev(p, "kvm", "/dev/kvm", c->accelerator == CFG_ACCEL_KVM,
                  "load kvm_amd or kvm_intel (and enable virtualisation in the firmware setup), "
                  "or use accelerator \"tcg\" in a dev class");
        struct stat st;
        if (stat("/dev/kvm", &st) == 0 && !(st.st_mode & S_IRGRP && st.st_mode & S_IWGRP))
                add(p, "kvm-access",
                    c->accelerator == CFG_ACCEL_KVM ? PREFLIGHT_FAIL : PREFLIGHT_INFO,
                    "/dev/kvm is mode %03o: QEMU's user cannot open it, and libvirt then probes "
                    "QEMU again on every call (starts take a minute); give it group kvm and mode "
                    "0660, as udev's rules do",
                    st.st_mode & 0777);
        check_dev(p, "vhost-vsock", "/dev/vhost-vsock", c->transport == CFG_TRANSPORT_VSOCK,
                  "modprobe vhost_vsock for agent.transport vsock (auto and virtio-serial "
                  "do not need it)");
        check_tee(p, c, lv);
        check_file(p, "firmware", c->firmware, c->tee != CFG_TEE_NONE);
        check_file(p, "kernel", c->kernel, true);
        check_file(p, "initrd", c->initrd, true);
}

void vmm_preflight_done(struct preflight *p)
{
        for (size_t i = 0; i < p->n; i++)
                free(p->items[i].detail);
        p->n = 0;
}

int vmm_preflight_error(const struct preflight *p, struct coco_error **err)
{
        for (size_t i = 0; i < p->n; i++)
                if (p->items[i].status == PREFLIGHT_FAIL)
                        return coco_error_set(err, EOPNOTSUPP, "preflight: %s: %s",
                                              p->items[i].item, p->items[i].detail);
        return 0;
}
