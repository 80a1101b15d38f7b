/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM backend interface. The shim drives it without loading libvirt (its
 * implementation runs the coco-vmm helper); coco-vmm and cococtl use the
 * libvirt implementation directly. Every operation is idempotent, so a retry
 * after a crash is safe.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "launch.h"

struct vmm_start {
        const char *sandbox_id;
        const char *config_path;
        const char *run_dir;             /* created; agent socket, initdata disk, console log */
        const char *initdata_annotation; /* the pod's value, or NULL for the class default */
        const char *netns;               /* the pod's network namespace, or NULL for none */
        struct cfg_overrides overrides;
};

struct vmm_vm {
        char *name; /* libvirt domain name */
        pid_t pid;  /* QEMU, for the shim's pidfd */
        bool running;
        bool vsock;
        unsigned cid;       /* vsock */
        char *agent_socket; /* virtio-serial: the host end */
        char *console_log;  /* none class only */
};

struct vmm_ops {
        const char *name;
        int (*start)(void *ctx, const struct vmm_start *req, struct vmm_vm *ret,
                     struct coco_error **err);
        /* Wait up to timeout_s for the guest to power off (after DestroySandbox), then destroy. */
        int (*stop)(void *ctx, const char *sandbox_id, unsigned timeout_s, struct coco_error **err);
        /* Destroy the VM if it runs and remove every file start created in run_dir. */
        int (*destroy)(void *ctx, const char *sandbox_id, const char *run_dir,
                       struct coco_error **err);
        /* A read-only (or not) raw disk image on a PCI slot of the root bus. */
        int (*hotplug_disk)(void *ctx, const char *sandbox_id, const char *path, unsigned slot,
                            bool readonly, struct coco_error **err);
        int (*unplug_disk)(void *ctx, const char *sandbox_id, const char *path,
                           struct coco_error **err);
        int (*inspect)(void *ctx, const char *sandbox_id, struct vmm_vm *ret,
                       struct coco_error **err);
};

void vmm_vm_done(struct vmm_vm *vm);
/* The libvirt domain name of a sandbox. Caller frees. */
char *vmm_domain_name(const char *sandbox_id);

/* vmm/libvirt.c */
extern const struct vmm_ops vmm_libvirt_ops;
struct vmm_libvirt;
int vmm_libvirt_open(const char *uri, struct vmm_libvirt **ret, struct coco_error **err);
void vmm_libvirt_close(struct vmm_libvirt *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vmm_libvirt *, vmm_libvirt_close)
unsigned long vmm_libvirt_version(struct vmm_libvirt *l);
unsigned long vmm_libvirt_qemu_version(struct vmm_libvirt *l);
/* The host's SEV C-bit position and reduced physical bits, when libvirt reports SEV. */
bool vmm_libvirt_sev_params(struct vmm_libvirt *l, unsigned *ret_cbitpos, unsigned *ret_rpb);
