/* SPDX-License-Identifier: Apache-2.0 */
/*
 * initdata: the pod's attestation and policy configuration.
 * Annotation value = base64(gzip(TOML)); the TOML names a version ("0.1.0"),
 * a digest algorithm (sha256 | sha384 | sha512) and a [data] table of files
 * (aa.toml, cdh.toml, policy.rego...). The digest over the raw TOML bytes is
 * bound into the launch (SNP HOST_DATA, TDX MRCONFIGID); the document reaches
 * the guest on a read-only disk: "initdata" | u64 LE length | gzip | zero pad.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "toml.h"

#define INITDATA_ANNOTATION     "io.katacontainers.config.hypervisor.cc_init_data"
#define INITDATA_ANNOTATION_OLD "io.katacontainers.config.runtime.cc_init_data"
#define INITDATA_VERSION        "0.1.0"

/* Limits against oversized and zip-bomb input. */
#define INITDATA_MAX_ANNOTATION (256u * 1024)      /* Kubernetes' cap on all annotations */
#define INITDATA_MAX_TOML       (4u * 1024 * 1024) /* decompressed document */

#define INITDATA_DISK_MAGIC  "initdata"
#define INITDATA_DISK_HEADER 16
#define INITDATA_SECTOR      512

#define INITDATA_HOST_DATA_SIZE  32 /* SEV-SNP HOST_DATA */
#define INITDATA_MRCONFIGID_SIZE 48 /* TDX MRCONFIGID */

enum initdata_alg {
        INITDATA_SHA256,
        INITDATA_SHA384,
        INITDATA_SHA512,
};

struct initdata {
        uint8_t *toml; /* the raw document: the digest input */
        size_t toml_len;
        uint8_t *gz; /* its gzip form, as carried in the annotation and on the disk */
        size_t gz_len;
        struct toml_doc *doc;
        enum initdata_alg alg;
        uint8_t digest[64];
        size_t digest_len;
};

/* From the annotation value. */
int initdata_from_annotation(const char *value, struct initdata **ret, struct coco_error **err);
/* From a TOML document (a class's default initdata file, `cococtl initdata encode`). */
int initdata_from_toml(const void *toml, size_t len, struct initdata **ret,
                       struct coco_error **err);
int initdata_from_file(const char *path, struct initdata **ret, struct coco_error **err);
/* From a disk image in the upstream format (what the guest reads). */
int initdata_from_disk(const void *image, size_t len, struct initdata **ret,
                       struct coco_error **err);
void initdata_free(struct initdata *id);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct initdata *, initdata_free)

const char *initdata_alg_name(enum initdata_alg alg);
/* The digest truncated or zero-padded to size bytes (32 HOST_DATA, 48 MRCONFIGID). */
void initdata_launch_field(const struct initdata *id, uint8_t *out, size_t size);
/* The disk image; its length is a multiple of 512. */
void initdata_disk_image(const struct initdata *id, uint8_t **ret_image, size_t *ret_len);
/* The value of a [data] entry (e.g. "aa.toml"), or NULL. */
const char *initdata_file(const struct initdata *id, const char *name);

/* gzip helpers, bounded. */
int initdata_gunzip(const uint8_t *in, size_t len, size_t limit, uint8_t **ret_out, size_t *ret_len,
                    struct coco_error **err);
void initdata_gzip(const uint8_t *in, size_t len, uint8_t **ret_out, size_t *ret_len);
