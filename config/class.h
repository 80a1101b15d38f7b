/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runtime-class configuration: one JSON file per class (docs/configuration.md).
 * Strict: an unknown key, a wrong type or an out-of-range value is an error
 * naming the file, the key and what is expected.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

enum cfg_tee { CFG_TEE_NONE, CFG_TEE_SNP, CFG_TEE_TDX };
enum cfg_accel { CFG_ACCEL_KVM, CFG_ACCEL_TCG };
enum cfg_transport { CFG_TRANSPORT_AUTO, CFG_TRANSPORT_VSOCK, CFG_TRANSPORT_VIRTIO_SERIAL };

struct cfg_class {
        char *path; /* the file it came from, for messages */
        enum cfg_tee tee;
        char *libvirt_uri;
        enum cfg_accel accelerator;
        char *firmware; /* NULL: the VMM's default firmware (none class only) */
        char *kernel;
        char *initrd;
        char *kernel_params;
        unsigned vcpus, max_vcpus;
        uint64_t memory_mib, max_memory_mib;
        char *vcpu_model;
        /* snp */
        uint64_t snp_policy;
        uint64_t snp_guest_features;
        unsigned snp_cbitpos, snp_reduced_phys_bits;
        /* tdx */
        uint64_t tdx_attributes;
        char *tdx_quote_socket;
        /* agent */
        enum cfg_transport transport;
        unsigned dial_timeout_s, create_timeout_s;
        char *state_dir;
        char *default_initdata;
};

int cfg_class_load(const char *path, struct cfg_class **ret, struct coco_error **err);
int cfg_class_parse(const char *json, const char *name, struct cfg_class **ret,
                    struct coco_error **err);
void cfg_class_free(struct cfg_class *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cfg_class *, cfg_class_free)

const char *cfg_tee_name(enum cfg_tee tee);
