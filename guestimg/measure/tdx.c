/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TDX MRTD: one SHA-384 stream over the TDVF sections, as the TDX module
 * extends it while QEMU builds the TD. Per 4 KiB page: unless PAGE_AUG, a
 * 128-byte "MEM.PAGE.ADD" block with the gpa; if MR_EXTEND, for each 256-byte
 * chunk a 128-byte "MR.EXTEND" block with the chunk's gpa, then the chunk.
 */
#include <string.h>

#include <openssl/evp.h>

#include "measure.h"
#include "util.h"

static void block(EVP_MD_CTX *ctx, const char *op, uint64_t gpa)
{
        uint8_t b[128] = {0};

        memcpy(b, op, strlen(op)); /* padded with zeros to 16 bytes */
        for (int i = 0; i < 8; i++)
                b[16 + i] = (uint8_t)(gpa >> (8 * i));
        EVP_DigestUpdate(ctx, b, sizeof(b));
}

int measure_tdx_mrtd(const struct ovmf *fw, uint8_t ret_mrtd[MEASURE_DIGEST_SIZE],
                     struct coco_error **err)
{
        EVP_MD_CTX *ctx;

        if (!fw->has_tdvf)
                return coco_error_set(err, EINVAL,
                                      "firmware has no TDVF metadata: it is not a TDX capable OVMF "
                                      "build");
        ctx = EVP_MD_CTX_new();
        if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha384(), NULL))
                abort();
        for (size_t i = 0; i < fw->n_tdvf; i++) {
                const struct tdvf_section *s = &fw->tdvf[i];
                for (uint64_t off = 0; off < s->mem_size; off += MEASURE_PAGE) {
                        uint64_t gpa = s->mem_addr + off;
                        if (!(s->attributes & TDVF_ATTR_PAGE_AUG))
                                block(ctx, "MEM.PAGE.ADD", gpa);
                        if (!(s->attributes & TDVF_ATTR_MR_EXTEND))
                                continue;
                        for (uint64_t c = 0; c < MEASURE_PAGE; c += 256) {
                                uint8_t chunk[256] = {0};
                                uint64_t at = off + c; /* offset inside the section's data */
                                if (at < s->raw_size) {
                                        uint64_t n =
                                                s->raw_size - at < 256 ? s->raw_size - at : 256;
                                        memcpy(chunk, fw->data + s->data_offset + at, n);
                                }
                                block(ctx, "MR.EXTEND", gpa + c);
                                EVP_DigestUpdate(ctx, chunk, sizeof(chunk));
                        }
                }
        }
        EVP_DigestFinal_ex(ctx, ret_mrtd, NULL);
        EVP_MD_CTX_free(ctx);
        return 0;
}
