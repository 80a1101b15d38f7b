/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM backend on libvirt. libvirt keeps its last error per thread and
 * prints it unless told otherwise: a no-op error handler keeps it quiet and
 * every failing call is turned into our error at once, with a hint.
 */
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "base64.h"
#include "class.h"
#include "domain-xml.h"
#include "initdata.h"
#include "log.h"
#include "network.h"
#include "preflight.h"
#include "util.h"
#include "vmm.h"

#define QEMU_USER "libvirt-qemu" /* Debian's qemu.conf default */

struct vmm_libvirt {
        virConnectPtr conn;
        char *uri;
        unsigned long version;      /* libvirt */
        unsigned long qemu_version; /* the hypervisor */
};

static void quiet(void *ud, virErrorPtr e)
{
        (void)ud, (void)e;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(virDomainPtr, virDomainFree)

/* The libvirt error of this thread as ours. */
static int lv_error(struct coco_error **err, const char *what)
{
        virErrorPtr e = virGetLastError();
        int code = e ? e->code : VIR_ERR_INTERNAL_ERROR;
        int errnum = code == VIR_ERR_NO_DOMAIN                                    ? ENOENT
                     : code == VIR_ERR_OPERATION_INVALID                          ? EBUSY
                     : code == VIR_ERR_NO_CONNECT || code == VIR_ERR_SYSTEM_ERROR ? ECONNREFUSED
                     : code == VIR_ERR_CONFIG_UNSUPPORTED || code == VIR_ERR_NO_SUPPORT ? EOPNOTSUPP
                                                                                        : EIO;
        int r = coco_error_set(err, errnum, "%s: %s", what,
                               e && e->message ? e->message : "libvirt failed");
        virResetLastError();
        return r;
}

int vmm_libvirt_open(const char *uri, struct vmm_libvirt **ret, struct coco_error **err)
{
        struct vmm_libvirt *l;

        virSetErrorFunc(NULL, quiet);
        if (virInitialize() < 0)
                return lv_error(err, "initialising libvirt");
        virConnectPtr conn = virConnectOpen(uri);
        if (!conn) {
                int r = lv_error(err, "connecting to libvirt");
                return coco_error_wrap(err, r,
                                       "%s (is libvirtd running? start it, or set "
                                       "libvirt_uri in the class file)",
                                       uri);
        }
        l = xcalloc(1, sizeof(*l));
        l->conn = conn;
        l->uri = xstrdup(uri);
        if (virConnectGetLibVersion(conn, &l->version) < 0)
                l->version = 0;
        if (virConnectGetVersion(conn, &l->qemu_version) < 0)
                l->qemu_version = 0;
        virResetLastError();
        *ret = l;
        return 0;
}

void vmm_libvirt_close(struct vmm_libvirt *l)
{
        if (!l)
                return;
        virConnectClose(l->conn);
        free(l->uri);
        free(l);
}

unsigned long vmm_libvirt_version(struct vmm_libvirt *l)
{
        return l->version;
}

unsigned long vmm_libvirt_qemu_version(struct vmm_libvirt *l)
{
        return l->qemu_version;
}

static unsigned xml_uint(const char *xml, const char *tag, unsigned fallback)
{
        _cleanup_free_ char *open = xasprintf("<%s>", tag);
        const char *p = strstr(xml, open);
        unsigned v;
        return p && sscanf(p + strlen(open), "%u", &v) == 1 ? v : fallback;
}

bool vmm_libvirt_sev_params(struct vmm_libvirt *l, unsigned *ret_cbitpos, unsigned *ret_rpb)
{
        _cleanup_free_ char *caps =
                virConnectGetDomainCapabilities(l->conn, NULL, "x86_64", "q35", "kvm", 0);
        virResetLastError();
        if (!caps || !strstr(caps, "<sev supported='yes'>"))
                return false;
        const char *sev = strstr(caps, "<sev supported='yes'>");
        *ret_cbitpos = xml_uint(sev, "cbitpos", 51);
        *ret_rpb = xml_uint(sev, "reducedPhysBits", 1);
        return true;
}

/* QEMU's pid, from the pid file libvirt's QEMU driver keeps. */
static pid_t qemu_pid(const char *name)
{
        _cleanup_free_ char *path = xasprintf("/run/libvirt/qemu/%s.pid", name);
        FILE *f = fopen(path, "re");
        int pid = 0;
        if (f) {
                if (fscanf(f, "%d", &pid) != 1)
                        pid = 0;
                fclose(f);
        }
        return pid;
}

static int fill_info(virDomainPtr dom, const char *run_dir, struct vmm_vm *vm,
                     struct coco_error **err)
{
        _cleanup_free_ char *xml = virDomainGetXMLDesc(dom, 0);
        if (!xml)
                return lv_error(err, "reading the domain XML");
        vm->name = xstrdup(virDomainGetName(dom));
        vm->running = virDomainIsActive(dom) == 1;
        vm->pid = vm->running ? qemu_pid(vm->name) : 0;
        const char *cid = strstr(xml, "<cid auto='yes' address='");
        vm->vsock = strstr(xml, "<vsock") != NULL;
        if (cid)
                vm->cid = (unsigned)strtoul(cid + strlen("<cid auto='yes' address='"), NULL, 10);
        if (!vm->vsock && run_dir)
                vm->agent_socket = xasprintf("%s/" VMM_AGENT_SOCKET, run_dir);
        if (run_dir && strstr(xml, VMM_CONSOLE_LOG))
                vm->console_log = xasprintf("%s/" VMM_CONSOLE_LOG, run_dir);
        return 0;
}

/* The run dir belongs to the user QEMU runs as, so QEMU can create its sockets there. */
static int make_run_dir(const char *dir, struct coco_error **err)
{
        struct passwd *pw = getpwnam(QEMU_USER);

        if (mkdir(dir, 0750) < 0 && errno != EEXIST)
                return coco_error_set(err, errno, "creating run directory %s: %s", dir,
                                      strerror(errno));
        if (pw && chown(dir, pw->pw_uid, pw->pw_gid) < 0)
                return coco_error_set(err, errno, "handing %s to %s: %s", dir, QEMU_USER,
                                      strerror(errno));
        return 0;
}

static int write_initdata(const struct vmm_start *req, const struct cfg_class *c,
                          struct initdata **ret, struct coco_error **err)
{
        _cleanup_(initdata_freep) struct initdata *id = NULL;
        int r;

        *ret = NULL;
        if (req->initdata_annotation)
                r = initdata_from_annotation(req->initdata_annotation, &id, err);
        else if (c->default_initdata)
                r = initdata_from_file(c->default_initdata, &id, err);
        else
                return 0;
        if (r < 0)
                return r;
        _cleanup_free_ uint8_t *img = NULL;
        _cleanup_free_ char *path = xasprintf("%s/" VMM_INITDATA_DISK, req->run_dir);
        size_t len;
        initdata_disk_image(id, &img, &len);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write_all(fd, false, img, len, NULL, 0) < 0)
                return coco_error_set(err, errno, "writing %s: %s", path, strerror(errno));
        *ret = TAKE_PTR(id);
        return 0;
}

/*
 * vsock only when the class asks for it: the shim does not speak vsock yet,
 * so auto means the virtio-serial port, which works on every host.
 */
static bool resolve_vsock(const struct cfg_class *c)
{
        return c->transport == CFG_TRANSPORT_VSOCK;
}

static int lv_start(void *ctx, const struct vmm_start *req, struct vmm_vm *ret,
                    struct coco_error **err)
{
        struct vmm_libvirt *l = ctx;
        _cleanup_free_ char *name = vmm_domain_name(req->sandbox_id);
        _cleanup_(cfg_class_freep) struct cfg_class *c = NULL;
        _cleanup_(initdata_freep) struct initdata *id = NULL;
        _cleanup_(cfg_launch_done) struct cfg_launch launch = {0};
        _cleanup_free_ char *xml = NULL;
        _cleanup_(virDomainFreep) virDomainPtr dom = NULL;
        _cleanup_(vmm_net_done) struct vmm_net net = {0};
        int r;

        _cleanup_(virDomainFreep) virDomainPtr existing = virDomainLookupByName(l->conn, name);
        virResetLastError();
        if (existing && virDomainIsActive(existing) == 1)
                return fill_info(existing, req->run_dir, ret, err); /* already started */

        if ((r = cfg_class_load(req->config_path, &c, err)) < 0)
                return r;
        struct preflight pf;
        vmm_preflight(c, l, NULL, &pf);
        r = vmm_preflight_error(&pf, err);
        vmm_preflight_done(&pf);
        if (r < 0)
                return r; /* nothing created yet */
        if ((r = make_run_dir(req->run_dir, err)) < 0)
                return r;
        if ((r = write_initdata(req, c, &id, err)) < 0 ||
            (r = cfg_launch_build(c, id, &req->overrides, &launch, err)) < 0)
                goto fail;
        if (req->netns &&
            (r = vmm_net_prepare(req->netns, req->sandbox_id, req->run_dir, &net, err)) < 0)
                goto fail;
        struct vmm_domain_spec spec = {
                .launch = &launch,
                .name = name,
                .run_dir = req->run_dir,
                .initdata_disk = id != NULL,
                .vsock = resolve_vsock(c),
                .nics = net.nics,
                .n_nics = net.n,
                .libvirt_version = l->version,
                .cbitpos = c->snp_cbitpos,
                .reduced_phys_bits = c->snp_reduced_phys_bits,
        };
        if (c->tee == CFG_TEE_SNP)
                (void)vmm_libvirt_sev_params(l, &spec.cbitpos, &spec.reduced_phys_bits);
        if ((r = vmm_domain_xml(&spec, &xml, err)) < 0)
                goto fail;
        dom = virDomainCreateXML(l->conn, xml, 0);
        if (!dom) {
                r = lv_error(err, "starting the VM");
                goto fail;
        }
        if (net.n && (r = vmm_net_connect(&net, req->run_dir, err)) < 0)
                goto fail; /* QEMU holds the taps now: they move into the pod's namespace */
        r = fill_info(dom, req->run_dir, ret, err);
        if (r < 0)
                goto fail;
        log_debug("started %s (pid %d)", name, ret->pid);
        return 0;
fail:
        (void)vmm_libvirt_ops.destroy(l, req->sandbox_id, req->run_dir, NULL);
        return r;
}

static int lv_stop(void *ctx, const char *sandbox_id, unsigned timeout_s, struct coco_error **err)
{
        struct vmm_libvirt *l = ctx;
        _cleanup_free_ char *name = vmm_domain_name(sandbox_id);
        _cleanup_(virDomainFreep) virDomainPtr dom = virDomainLookupByName(l->conn, name);
        virResetLastError();
        if (!dom)
                return 0;
        uint64_t until = now_monotonic_ns() + (uint64_t)timeout_s * NSEC_PER_SEC;
        while (virDomainIsActive(dom) == 1 && now_monotonic_ns() < until)
                nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
        if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0)
                return lv_error(err, "stopping the VM");
        virResetLastError();
        return 0;
}

static int lv_destroy(void *ctx, const char *sandbox_id, const char *run_dir,
                      struct coco_error **err)
{
        struct vmm_libvirt *l = ctx;
        _cleanup_free_ char *name = vmm_domain_name(sandbox_id);
        _cleanup_(virDomainFreep) virDomainPtr dom = virDomainLookupByName(l->conn, name);
        virResetLastError();
        if (dom && virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0 &&
            virDomainIsActive(dom) == 1)
                return lv_error(err, "destroying the VM");
        virResetLastError();
        int r = vmm_net_teardown(run_dir, err);
        if (r < 0)
                return r;
        if (run_dir) {
                static const char *const files[] = {VMM_AGENT_SOCKET, VMM_INITDATA_DISK,
                                                    VMM_CONSOLE_LOG};
                for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                        _cleanup_free_ char *p = xasprintf("%s/%s", run_dir, files[i]);
                        (void)unlink(p);
                }
                if (rmdir(run_dir) < 0 && errno != ENOENT)
                        return coco_error_set(err, errno, "removing %s: %s", run_dir,
                                              strerror(errno));
        }
        return 0;
}

/* iommu: a confidential guest, whose devices must use its bounce buffers */
static char *disk_xml(const char *path, unsigned slot, bool readonly, bool iommu)
{
        _cleanup_free_ char *p = vmm_xml_escape(path);
        return xasprintf("<disk type='file' device='disk'>"
                         "<driver name='qemu' type='raw'%s/>"
                         "<source file='%s'/>"
                         "<target dev='vd%c' bus='virtio'/>%s"
                         "<address type='pci' domain='0x0000' bus='0x00' slot='0x%02x' "
                         "function='0x0'/>"
                         "</disk>",
                         iommu ? " iommu='on'" : "", p, 'b' + (slot % 24),
                         readonly ? "<readonly/>" : "", slot);
}

static bool has_disk(virDomainPtr dom, const char *path)
{
        _cleanup_free_ char *xml = virDomainGetXMLDesc(dom, 0);
        _cleanup_free_ char *p = vmm_xml_escape(path);
        _cleanup_free_ char *needle = xasprintf("<source file='%s'", p);
        virResetLastError();
        return xml && strstr(xml, needle);
}

static int lookup_running(struct vmm_libvirt *l, const char *sandbox_id, virDomainPtr *ret,
                          struct coco_error **err)
{
        _cleanup_free_ char *name = vmm_domain_name(sandbox_id);
        virDomainPtr dom = virDomainLookupByName(l->conn, name);
        if (!dom) {
                virResetLastError();
                return coco_error_set(err, ENOENT, "no VM for sandbox \"%s\"", sandbox_id);
        }
        *ret = dom;
        return 0;
}

static int lv_hotplug_disk(void *ctx, const char *sandbox_id, const char *path, unsigned slot,
                           bool readonly, struct coco_error **err)
{
        _cleanup_(virDomainFreep) virDomainPtr dom = NULL;
        int r = lookup_running(ctx, sandbox_id, &dom, err);
        if (r < 0)
                return r;
        if (slot < 3 || slot > 31)
                return coco_error_set(err, EINVAL, "PCI slot %u is not between 3 and 31", slot);
        if (has_disk(dom, path))
                return 0; /* already attached */
        _cleanup_free_ char *live = virDomainGetXMLDesc(dom, 0);
        bool confidential = live && (strstr(live, "<launchSecurity") ||
                                     strstr(live, "confidential-guest-support"));
        virResetLastError();
        _cleanup_free_ char *xml = disk_xml(path, slot, readonly, confidential);
        if (virDomainAttachDeviceFlags(dom, xml, VIR_DOMAIN_AFFECT_LIVE) < 0)
                return lv_error(err, "hot-plugging the disk");
        return 0;
}

static int lv_unplug_disk(void *ctx, const char *sandbox_id, const char *path,
                          struct coco_error **err)
{
        _cleanup_(virDomainFreep) virDomainPtr dom = NULL;
        int r = lookup_running(ctx, sandbox_id, &dom, err);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        _cleanup_free_ char *live = virDomainGetXMLDesc(dom, 0);
        _cleanup_free_ char *p = vmm_xml_escape(path);
        _cleanup_free_ char *needle = xasprintf("<source file='%s'", p);
        const char *at = live ? strstr(live, needle) : NULL;
        if (!at)
                return 0; /* not attached */
        /* detach the <disk> element as libvirt has it */
        const char *start = at;
        while (start > live && strncmp(start, "<disk", 5) != 0)
                start--;
        const char *end = strstr(at, "</disk>");
        if (!end)
                return coco_error_set(err, EPROTO, "unexpected domain XML around %s", path);
        _cleanup_free_ char *xml = xasprintf("%.*s</disk>", (int)(end - start), start);
        if (virDomainDetachDeviceFlags(dom, xml, VIR_DOMAIN_AFFECT_LIVE) < 0)
                return lv_error(err, "unplugging the disk");
        /* the guest acknowledges the removal asynchronously */
        for (int i = 0; i < 200 && has_disk(dom, path); i++)
                nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
        if (has_disk(dom, path))
                return coco_error_set(err, ETIMEDOUT, "the guest did not release disk %s in 10 s",
                                      path);
        return 0;
}

static int lv_inspect(void *ctx, const char *sandbox_id, struct vmm_vm *ret,
                      struct coco_error **err)
{
        _cleanup_(virDomainFreep) virDomainPtr dom = NULL;
        int r = lookup_running(ctx, sandbox_id, &dom, err);
        if (r < 0)
                return r;
        return fill_info(dom, NULL, ret, err);
}

const struct vmm_ops vmm_libvirt_ops = {
        .name = "libvirt",
        .start = lv_start,
        .stop = lv_stop,
        .destroy = lv_destroy,
        .hotplug_disk = lv_hotplug_disk,
        .unplug_disk = lv_unplug_disk,
        .inspect = lv_inspect,
};
