/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Launch parameters: exactly what a VM of a class is started with. The
 * domain XML and the reference values are both computed from this, so what
 * we launch and what we predict cannot drift apart.
 */
#pragma once

#include "class.h"
#include "initdata.h"

/* Pod-level requests (CRI annotations); 0 keeps the class value. */
struct cfg_overrides {
        unsigned vcpus;
        uint64_t memory_mib;
};

struct cfg_launch {
        const struct cfg_class *cls; /* borrowed */
        unsigned vcpus;
        uint64_t memory_mib;
        char *cmdline;     /* the kernel command line, exactly as passed (owned) */
        uint32_t vcpu_sig; /* snp: CPUID signature of cls->vcpu_model */
        bool has_initdata;
        uint8_t host_data[INITDATA_HOST_DATA_SIZE];   /* snp */
        uint8_t mrconfigid[INITDATA_MRCONFIGID_SIZE]; /* tdx */
};

/* The CPUID signature of a QEMU vCPU model ("EPYC-v4", "EPYC-Milan"...); -ENOENT if unknown. */
int cfg_vcpu_sig(const char *model, uint32_t *ret);

/*
 * The command line is the class's kernel_params followed by the "cmdline" of
 * the guest image's manifest.json when one sits beside the initrd (the
 * parameters the image needs). Free with cfg_launch_done().
 */
int cfg_launch_build(const struct cfg_class *c, const struct initdata *id,
                     const struct cfg_overrides *o, struct cfg_launch *ret,
                     struct coco_error **err);
void cfg_launch_done(struct cfg_launch *l);
