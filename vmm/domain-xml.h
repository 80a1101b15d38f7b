/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libvirt domain XML for a pod VM, one generator for every class:
 *   none: the same shape without launch security (TCG or KVM);
 *   snp:  <launchSecurity type='sev-snp'> on libvirt >= 10.5, else the QEMU
 *         passthrough form (sev-snp-guest object, confidential-guest-support);
 *   tdx:  <launchSecurity type='tdx'> on libvirt >= 11.6, else passthrough
 *         (tdx-guest object, kernel-irqchip=split).
 * Firmware loads as ROM, the kernel boots directly, no shared file systems
 * and no host devices; the agent channel is vsock or a virtio-serial port
 * backed by a unix socket; initdata is a read-only virtio disk; the pod's
 * interfaces are virtio NICs on taps the network code made. In the
 * confidential classes every virtio device has iommu='on' (the guest's
 * memory is private, so devices must go through its bounce buffers).
 */
#pragma once

#include <stdbool.h>

#include "error.h"
#include "launch.h"
#include "network.h"

#define VMM_LIBVIRT_VERSION(major, minor, micro)                                                   \
        ((unsigned long)(major)*1000000 + (unsigned long)(minor)*1000 + (micro))
#define VMM_SNP_NATIVE VMM_LIBVIRT_VERSION(10, 5, 0)
#define VMM_TDX_NATIVE VMM_LIBVIRT_VERSION(11, 6, 0)

#define VMM_AGENT_SOCKET  "agent.sock"
#define VMM_INITDATA_DISK "initdata.img"
#define VMM_CONSOLE_LOG   "console.log"

struct vmm_domain_spec {
        const struct cfg_launch *launch;
        const char *name;    /* the libvirt domain name */
        const char *run_dir; /* holds agent.sock, initdata.img and console.log */
        bool initdata_disk;  /* attach run_dir/initdata.img read-only */
        bool vsock;          /* the agent on vsock; else virtio-serial on run_dir/agent.sock */
        const struct vmm_nic *nics; /* <interface type='ethernet'> on pre-made taps */
        size_t n_nics;
        unsigned long libvirt_version;
        unsigned cbitpos, reduced_phys_bits; /* snp: from the host's capabilities */
};

int vmm_domain_xml(const struct vmm_domain_spec *s, char **ret_xml, struct coco_error **err);
/* Escape text for an XML attribute or element. Caller frees. */
char *vmm_xml_escape(const char *s);
/* "9.0.0" -> VMM_LIBVIRT_VERSION(9, 0, 0); -EINVAL when malformed. */
int vmm_parse_version(const char *s, unsigned long *ret);
