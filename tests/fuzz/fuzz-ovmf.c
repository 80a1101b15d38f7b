/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the firmware table parser. The input becomes the end of a zero-filled
 * image (tables live at the end), then both measurements run when the
 * sections are small enough to finish quickly.
 */
#include <string.h>

#include "measure.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SMALL (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        size_t img_size = (size + MEASURE_PAGE - 1) / MEASURE_PAGE * MEASURE_PAGE;
        struct ovmf *fw = NULL;
        uint8_t out[MEASURE_DIGEST_SIZE];

        if (img_size == 0)
                return 0;
        _cleanup_free_ uint8_t *img = xcalloc(1, img_size);
        memcpy(img + img_size - size, data, size);
        if (measure_ovmf_parse(img, img_size, &fw, NULL) < 0)
                return 0;
        bool small = true;
        for (size_t i = 0; i < fw->n_sev; i++)
                small &= fw->sev[i].size <= SMALL;
        for (size_t i = 0; i < fw->n_tdvf; i++)
                small &= fw->tdvf[i].mem_size <= SMALL;
        if (small) {
                struct snp_params p = {.vcpus = 2, .vcpu_sig = 0x800f12, .guest_features = 1};
                (void)measure_snp(fw, &p, out, NULL);
                (void)measure_tdx_mrtd(fw, out, NULL);
        }
        measure_ovmf_free(fw);
        return 0;
}
