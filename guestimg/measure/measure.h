/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Launch measurements: what SEV-SNP and TDX hardware will report for a guest
 * we launch, computed from the firmware, kernel, initrd and command line.
 * Facts: ../shared/docs/protocols.md section 6.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define MEASURE_DIGEST_SIZE 48 /* SHA-384: SNP launch digest, TDX MRTD */
#define MEASURE_PAGE        4096u

/* SEV metadata section types (OVMF "ASEV" table). */
enum sev_section_type {
        SEV_SECTION_SNP_SEC_MEM = 1,
        SEV_SECTION_SNP_SECRETS = 2,
        SEV_SECTION_CPUID = 3,
        SEV_SECTION_SVSM_CAA = 4,
        SEV_SECTION_KERNEL_HASHES = 0x10,
};

struct sev_section {
        uint32_t gpa, size, type;
};

#define TDVF_ATTR_MR_EXTEND 0x1u
#define TDVF_ATTR_PAGE_AUG  0x2u

struct tdvf_section {
        uint32_t data_offset, raw_size;
        uint64_t mem_addr, mem_size;
        uint32_t type, attributes;
};

/* A firmware image and the tables found in it. */
struct ovmf {
        uint8_t *data;
        size_t size;
        bool has_footer;
        struct sev_section *sev;
        size_t n_sev;
        bool has_sev_metadata;
        bool has_hash_table;
        uint32_t hash_table_gpa, hash_table_size;
        bool has_reset_eip;
        uint32_t reset_eip;
        struct tdvf_section *tdvf;
        size_t n_tdvf;
        bool has_tdvf;
};

/* Parse an image (copied); -EINVAL with a message for truncated or inconsistent tables. */
int measure_ovmf_parse(const void *data, size_t size, struct ovmf **ret, struct coco_error **err);
int measure_ovmf_load(const char *path, struct ovmf **ret, struct coco_error **err);
void measure_ovmf_free(struct ovmf *fw);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ovmf *, measure_ovmf_free)

struct snp_params {
        const char *kernel; /* NULL: no kernel hashes (firmware-only boot) */
        const char *initrd; /* NULL: hash of empty data */
        const char *append; /* NULL or "": hash of "\0" */
        unsigned vcpus;
        uint32_t vcpu_sig;       /* CPUID family/model/stepping signature */
        uint64_t guest_features; /* VMSA sev_features; 0x1 is SNP active */
};

/* The 168-byte kernel hashes table (zero-padded to 176) QEMU places for kernel-hashes=on. */
#define SEV_HASH_TABLE_SIZE 176
int measure_sev_hash_table(const char *kernel, const char *initrd, const char *append,
                           uint8_t ret_table[SEV_HASH_TABLE_SIZE], struct coco_error **err);

int measure_snp(const struct ovmf *fw, const struct snp_params *p,
                uint8_t ret_digest[MEASURE_DIGEST_SIZE], struct coco_error **err);
int measure_tdx_mrtd(const struct ovmf *fw, uint8_t ret_mrtd[MEASURE_DIGEST_SIZE],
                     struct coco_error **err);

/* SHA-256 of a file, for manifests and reference values. */
int measure_file_sha256(const char *path, uint8_t ret[32], struct coco_error **err);
