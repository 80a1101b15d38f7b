/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OVMF footer table: it ends 32 bytes before the end of the image with the
 * footer GUID, preceded by a u16 total size. Entries are read backwards, each
 * laid out [data][u16 size][GUID]. GUIDs are stored little-endian (mixed
 * endian, as EFI writes them).
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "measure.h"
#include "util.h"

/* GUIDs in their on-disk (little-endian) byte order. */
static const uint8_t GUID_FOOTER[16] = {0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
                                        0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d};
static const uint8_t GUID_SEV_METADATA[16] = {0x66, 0x65, 0x88, 0xdc, 0x4a, 0x98, 0x98, 0x47,
                                              0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc};
static const uint8_t GUID_HASH_TABLE[16] = {0x1f, 0x37, 0x55, 0x72, 0x3b, 0x3a, 0x04, 0x4b,
                                            0x92, 0x7b, 0x1d, 0xa6, 0xef, 0xa8, 0xd4, 0x54};
static const uint8_t GUID_RESET_BLOCK[16] = {0xde, 0x71, 0xf7, 0x00, 0x7e, 0x1a, 0xcb, 0x4f,
                                             0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f, 0xb4, 0x4e};
static const uint8_t GUID_TDVF[16] = {0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47,
                                      0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2};

#define FOOTER_TAIL 32 /* bytes after the footer GUID (reset vector area) */

static uint16_t le16(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
        return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

void measure_ovmf_free(struct ovmf *fw)
{
        if (!fw)
                return;
        free(fw->data);
        free(fw->sev);
        free(fw->tdvf);
        free(fw);
}

/* Locate a descriptor that a table entry points at as "u32 offset from the end". */
static int descriptor(const struct ovmf *fw, const uint8_t *entry, size_t len, const char *sig,
                      const char *what, const uint8_t **ret, uint32_t *ret_len, uint32_t *ret_count,
                      struct coco_error **err)
{
        if (len < 4)
                return coco_error_set(err, EINVAL, "firmware: %s table entry is too short", what);
        uint32_t off = le32(entry);
        if (off < 16 || off > fw->size)
                return coco_error_set(err, EINVAL,
                                      "firmware: %s offset %u lies outside the %zu byte image",
                                      what, off, fw->size);
        const uint8_t *d = fw->data + fw->size - off;
        if (memcmp(d, sig, 4) != 0)
                return coco_error_set(err, EINVAL, "firmware: %s has no \"%s\" signature", what,
                                      sig);
        uint32_t dlen = le32(d + 4), version = le32(d + 8);
        if (dlen < 16 || dlen > off)
                return coco_error_set(err, EINVAL, "firmware: %s length %u does not fit the image",
                                      what, dlen);
        if (version != 1)
                return coco_error_set(err, EINVAL, "firmware: %s version %u is not 1", what,
                                      version);
        *ret = d;
        *ret_len = dlen;
        *ret_count = le32(d + 12);
        return 0;
}

static int parse_sev_metadata(struct ovmf *fw, const uint8_t *entry, size_t len,
                              struct coco_error **err)
{
        const uint8_t *d;
        uint32_t dlen, count;
        int r = descriptor(fw, entry, len, "ASEV", "SEV metadata", &d, &dlen, &count, err);
        if (r < 0)
                return r;
        if (count > (dlen - 16) / 12)
                return coco_error_set(err, EINVAL,
                                      "firmware: SEV metadata claims %u sections in %u bytes",
                                      count, dlen);
        fw->sev = xcalloc(count, sizeof(*fw->sev));
        for (uint32_t i = 0; i < count; i++) {
                const uint8_t *s = d + 16 + 12 * i;
                struct sev_section sec = {le32(s), le32(s + 4), le32(s + 8)};
                if (sec.gpa % MEASURE_PAGE || sec.size % MEASURE_PAGE || sec.size == 0)
                        return coco_error_set(err, EINVAL,
                                              "firmware: SEV metadata section %u (gpa 0x%x, size "
                                              "0x%x) is not whole pages",
                                              i, sec.gpa, sec.size);
                if ((uint64_t)sec.gpa + sec.size > 0x100000000ULL)
                        return coco_error_set(err, EINVAL,
                                              "firmware: SEV metadata section %u ends above 4 GiB",
                                              i);
                fw->sev[i] = sec;
        }
        fw->n_sev = count;
        fw->has_sev_metadata = true;
        return 0;
}

static int parse_tdvf(struct ovmf *fw, const uint8_t *entry, size_t len, struct coco_error **err)
{
        const uint8_t *d;
        uint32_t dlen, count;
        int r = descriptor(fw, entry, len, "TDVF", "TDVF metadata", &d, &dlen, &count, err);
        if (r < 0)
                return r;
        if (count > (dlen - 16) / 32)
                return coco_error_set(err, EINVAL,
                                      "firmware: TDVF metadata claims %u sections in %u bytes",
                                      count, dlen);
        fw->tdvf = xcalloc(count, sizeof(*fw->tdvf));
        for (uint32_t i = 0; i < count; i++) {
                const uint8_t *s = d + 16 + 32 * i;
                struct tdvf_section sec = {
                        .data_offset = le32(s),
                        .raw_size = le32(s + 4),
                        .mem_addr = le64(s + 8),
                        .mem_size = le64(s + 16),
                        .type = le32(s + 24),
                        .attributes = le32(s + 28),
                };
                if ((uint64_t)sec.data_offset + sec.raw_size > fw->size)
                        return coco_error_set(err, EINVAL,
                                              "firmware: TDVF section %u data (offset 0x%x, 0x%x "
                                              "bytes) lies outside the image",
                                              i, sec.data_offset, sec.raw_size);
                if (sec.mem_addr % MEASURE_PAGE || sec.mem_size % MEASURE_PAGE ||
                    sec.raw_size > sec.mem_size || sec.mem_size > (1ULL << 40))
                        return coco_error_set(err, EINVAL,
                                              "firmware: TDVF section %u (address 0x%llx, size "
                                              "0x%llx) is not whole pages or is inconsistent",
                                              i, (unsigned long long)sec.mem_addr,
                                              (unsigned long long)sec.mem_size);
                fw->tdvf[i] = sec;
        }
        fw->n_tdvf = count;
        fw->has_tdvf = true;
        return 0;
}

static int parse_entry(struct ovmf *fw, const uint8_t *guid, const uint8_t *data, size_t len,
                       struct coco_error **err)
{
        if (memcmp(guid, GUID_SEV_METADATA, 16) == 0)
                return parse_sev_metadata(fw, data, len, err);
        if (memcmp(guid, GUID_TDVF, 16) == 0)
                return parse_tdvf(fw, data, len, err);
        if (memcmp(guid, GUID_HASH_TABLE, 16) == 0) {
                if (len < 8)
                        return coco_error_set(err, EINVAL,
                                              "firmware: kernel hash table entry is too short");
                fw->hash_table_gpa = le32(data);
                fw->hash_table_size = le32(data + 4);
                fw->has_hash_table = true;
        } else if (memcmp(guid, GUID_RESET_BLOCK, 16) == 0) {
                if (len < 4)
                        return coco_error_set(err, EINVAL,
                                              "firmware: SEV-ES reset block entry is too short");
                fw->reset_eip = le32(data);
                fw->has_reset_eip = true;
        }
        return 0; /* other entries are not ours to judge */
}

static int parse_footer(struct ovmf *fw, struct coco_error **err)
{
        size_t size = fw->size;
        if (size < FOOTER_TAIL + 18 ||
            memcmp(fw->data + size - FOOTER_TAIL - 16, GUID_FOOTER, 16) != 0)
                return 0; /* no table: a plain firmware image */
        fw->has_footer = true;
        size_t total = le16(fw->data + size - FOOTER_TAIL - 18);
        if (total < 18 || total > size - FOOTER_TAIL)
                return coco_error_set(err, EINVAL,
                                      "firmware: footer table size %zu does not fit the image",
                                      total);
        const uint8_t *start = fw->data + size - FOOTER_TAIL - total;
        size_t left = total - 18;
        while (left >= 18) {
                const uint8_t *end = start + left;
                size_t esize = le16(end - 18);
                if (esize < 18 || esize > left)
                        return coco_error_set(err, EINVAL,
                                              "firmware: footer table entry of size %zu is "
                                              "inconsistent",
                                              esize);
                int r = parse_entry(fw, end - 16, end - esize, esize - 18, err);
                if (r < 0)
                        return r;
                left -= esize;
        }
        return 0;
}

int measure_ovmf_parse(const void *data, size_t size, struct ovmf **ret, struct coco_error **err)
{
        _cleanup_(measure_ovmf_freep) struct ovmf *fw = xcalloc(1, sizeof(*fw));

        if (size == 0 || size % MEASURE_PAGE || size > 0x40000000)
                return coco_error_set(err, EINVAL,
                                      "firmware: image size %zu is not a non-zero multiple of 4096 "
                                      "up to 1 GiB",
                                      size);
        fw->data = xmemdup(data, size);
        fw->size = size;
        int r = parse_footer(fw, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(fw);
        return 0;
}

static int read_file(const char *path, size_t limit, uint8_t **ret, size_t *ret_len,
                     struct coco_error **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;

        if (fd < 0)
                return coco_error_set(err, errno, "\"%s\": %s", path, strerror(errno));
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return coco_error_set(err, EINVAL, "\"%s\" is not a regular file", path);
        if ((uint64_t)st.st_size > limit)
                return coco_error_set(err, E2BIG, "\"%s\" is larger than %zu bytes", path, limit);
        uint8_t *buf = xmalloc((size_t)st.st_size + 1);
        int r = read_full(fd, buf, (size_t)st.st_size);
        if (r < 0) {
                free(buf);
                return coco_error_set(err, r, "reading \"%s\": %s", path, strerror(-r));
        }
        *ret = buf;
        *ret_len = (size_t)st.st_size;
        return 0;
}

int measure_ovmf_load(const char *path, struct ovmf **ret, struct coco_error **err)
{
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len = 0;
        int r = read_file(path, 0x40000000, &buf, &len, err);
        if (r < 0)
                return coco_error_wrap(err, r, "firmware");
        r = measure_ovmf_parse(buf, len, ret, err);
        if (r < 0)
                return coco_error_wrap(err, r, "\"%s\"", path);
        return 0;
}
