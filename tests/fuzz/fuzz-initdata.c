/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the initdata decoders: the input is tried as an annotation value
 * (base64 of gzip) and as a disk image. Whatever decodes must survive a
 * disk-image round trip with the same digest.
 */
#include <string.h>

#include "initdata.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct initdata *id)
{
        _cleanup_free_ uint8_t *img = NULL;
        struct initdata *back = NULL;
        size_t len;

        initdata_disk_image(id, &img, &len);
        if (len % INITDATA_SECTOR || initdata_from_disk(img, len, &back, NULL) < 0)
                __builtin_trap();
        if (back->digest_len != id->digest_len || memcmp(back->digest, id->digest, id->digest_len))
                __builtin_trap();
        initdata_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct initdata *id = NULL;
        _cleanup_free_ char *text = xmalloc(size + 1);

        memcpy(text, data, size);
        text[size] = 0;
        if (initdata_from_annotation(text, &id, NULL) == 0) {
                round_trip(id);
                initdata_free(TAKE_PTR(id));
        }
        if (initdata_from_disk(data, size, &id, NULL) == 0) {
                round_trip(id);
                initdata_free(id);
        }
        return 0;
}
