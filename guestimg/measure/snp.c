/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP launch digest. The digest starts as 48 zero bytes; each measured
 * page replaces it with SHA-384(PAGE_INFO), where PAGE_INFO (0x70 bytes) is
 * the current digest, the page's contents hash, its length, type and gpa.
 * Order: the firmware as normal pages ending at 4 GiB; the SEV metadata
 * sections in table order; one VMSA page per vCPU.
 */
#include <fcntl.h>
#include <string.h>

#include <openssl/evp.h>

#include "measure.h"
#include "util.h"

enum page_type {
        PAGE_NORMAL = 1,
        PAGE_VMSA = 2,
        PAGE_ZERO = 3,
        PAGE_UNMEASURED = 4,
        PAGE_SECRETS = 5,
        PAGE_CPUID = 6,
};

#define PAGE_INFO_LEN 0x70
#define VMSA_GPA      0xFFFFFFFFF000ULL
#define BSP_EIP       0xfffffff0u
#define FOUR_GIB      0x100000000ULL

static void sha384(const void *data, size_t len, uint8_t out[MEASURE_DIGEST_SIZE])
{
        if (!EVP_Digest(data, len, out, NULL, EVP_sha384(), NULL))
                abort(); /* libcrypto cannot fail on a fixed algorithm short of OOM */
}

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

/* LD = SHA-384(LD || contents || len || type || is_imi || vmpl3..1 perms || reserved || gpa) */
static void update(uint8_t ld[MEASURE_DIGEST_SIZE], enum page_type type, uint64_t gpa,
                   const uint8_t contents[MEASURE_DIGEST_SIZE])
{
        uint8_t info[PAGE_INFO_LEN] = {0};

        memcpy(info, ld, MEASURE_DIGEST_SIZE);
        if (contents)
                memcpy(info + 48, contents, MEASURE_DIGEST_SIZE);
        put_le(info + 96, PAGE_INFO_LEN, 2);
        info[98] = (uint8_t)type;
        /* 99 is_imi, 100..102 vmpl3..vmpl1 permissions, 103 reserved: all zero */
        put_le(info + 104, gpa, 8);
        sha384(info, sizeof(info), ld);
}

static void update_normal(uint8_t ld[MEASURE_DIGEST_SIZE], uint64_t gpa, const uint8_t *data,
                          size_t len)
{
        for (size_t off = 0; off < len; off += MEASURE_PAGE) {
                uint8_t h[MEASURE_DIGEST_SIZE];
                sha384(data + off, MEASURE_PAGE, h);
                update(ld, PAGE_NORMAL, gpa + off, h);
        }
}

static void update_empty(uint8_t ld[MEASURE_DIGEST_SIZE], enum page_type type, uint64_t gpa,
                         uint64_t len)
{
        for (uint64_t off = 0; off < len; off += MEASURE_PAGE)
                update(ld, type, gpa + off, NULL);
}

/* QEMU's initial register state for a vCPU (sev-snp-measure's QEMU VMM type). */
static void build_vmsa(uint8_t page[MEASURE_PAGE], uint32_t eip, uint32_t vcpu_sig,
                       uint64_t features)
{
        static const struct {
                uint16_t off, attrib;
        } segs[] = {
                {0x00, 0x93}, /* es */ {0x10, 0x9b},   /* cs */ {0x20, 0x93},   /* ss */
                {0x30, 0x93}, /* ds */ {0x40, 0x93},   /* fs */ {0x50, 0x93},   /* gs */
                {0x60, 0x00}, /* gdtr */ {0x70, 0x82}, /* ldtr */ {0x80, 0x00}, /* idtr */
                {0x90, 0x8b},                                                   /* tr */
        };

        memset(page, 0, MEASURE_PAGE);
        for (size_t i = 0; i < ELEMENTSOF(segs); i++) {
                uint8_t *s = page + segs[i].off; /* selector u16, attrib u16, limit u32, base u64 */
                put_le(s + 2, segs[i].attrib, 2);
                put_le(s + 4, 0xffff, 4);
        }
        put_le(page + 0x10, 0xf000, 2);              /* cs.selector */
        put_le(page + 0x18, eip & 0xffff0000u, 8);   /* cs.base */
        put_le(page + 0xd0, 0x1000, 8);              /* efer: SVME */
        put_le(page + 0x148, 0x40, 8);               /* cr4: MCE */
        put_le(page + 0x158, 0x10, 8);               /* cr0: ET */
        put_le(page + 0x160, 0x400, 8);              /* dr7 */
        put_le(page + 0x168, 0xffff0ff0, 8);         /* dr6 */
        put_le(page + 0x170, 0x2, 8);                /* rflags */
        put_le(page + 0x178, eip & 0xffff, 8);       /* rip */
        put_le(page + 0x268, 0x7040600070406ULL, 8); /* g_pat */
        put_le(page + 0x310, vcpu_sig, 8);           /* rdx */
        put_le(page + 0x3b0, features, 8);           /* sev_features */
        put_le(page + 0x3e8, 0x1, 8);                /* xcr0 */
}

int measure_file_sha256(const char *path, uint8_t ret[32], struct coco_error **err)
{
        _cleanup_close_ int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -EBADF;
        EVP_MD_CTX *ctx;
        uint8_t buf[65536];
        int r = 0;

        if (path && fd < 0)
                return coco_error_set(err, errno, "\"%s\": %s", path, strerror(errno));
        ctx = EVP_MD_CTX_new();
        if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
                abort();
        while (fd >= 0) {
                ssize_t k = read(fd, buf, sizeof(buf));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = coco_error_set(err, errno, "reading \"%s\": %s", path, strerror(errno));
                        break;
                }
                if (k == 0)
                        break;
                EVP_DigestUpdate(ctx, buf, (size_t)k);
        }
        if (r == 0)
                EVP_DigestFinal_ex(ctx, ret, NULL);
        EVP_MD_CTX_free(ctx);
        return r;
}

/* GUIDs of the kernel hashes table, little-endian. */
static const uint8_t GUID_HT_HEADER[16] = {0x06, 0xd6, 0x38, 0x94, 0x22, 0x4f, 0xc9, 0x4c,
                                           0xb4, 0x79, 0xa7, 0x93, 0xd4, 0x11, 0xfd, 0x21};
static const uint8_t GUID_HT_CMDLINE[16] = {0xd8, 0x2d, 0xd0, 0x97, 0x20, 0xbd, 0x94, 0x4c,
                                            0xaa, 0x78, 0xe7, 0x71, 0x4d, 0x36, 0xab, 0x2a};
static const uint8_t GUID_HT_INITRD[16] = {0x31, 0xf7, 0xba, 0x44, 0x2f, 0x3a, 0xd7, 0x4b,
                                           0x9a, 0xf1, 0x41, 0xe2, 0x91, 0x69, 0x78, 0x1d};
static const uint8_t GUID_HT_KERNEL[16] = {0x37, 0x94, 0xe7, 0x4d, 0xd2, 0xab, 0x7f, 0x42,
                                           0xb8, 0x35, 0xd5, 0xb1, 0x72, 0xd2, 0x04, 0x5b};

int measure_sev_hash_table(const char *kernel, const char *initrd, const char *append,
                           uint8_t ret_table[SEV_HASH_TABLE_SIZE], struct coco_error **err)
{
        uint8_t t[SEV_HASH_TABLE_SIZE] = {0};
        const uint8_t *guids[3] = {GUID_HT_CMDLINE, GUID_HT_INITRD, GUID_HT_KERNEL};
        uint8_t hashes[3][32];
        int r;

        const char *cmd = append ? append : "";
        if (!EVP_Digest(cmd, strlen(cmd) + 1, hashes[0], NULL, EVP_sha256(), NULL))
                abort();
        r = measure_file_sha256(initrd, hashes[1], err); /* NULL: hash of empty data */
        if (r < 0)
                return coco_error_wrap(err, r, "initrd");
        r = measure_file_sha256(kernel, hashes[2], err);
        if (r < 0)
                return coco_error_wrap(err, r, "kernel");

        memcpy(t, GUID_HT_HEADER, 16);
        put_le(t + 16, 16 + 2 + 3 * (16 + 2 + 32), 2); /* 168 */
        for (size_t i = 0; i < 3; i++) {
                uint8_t *e = t + 18 + i * 50;
                memcpy(e, guids[i], 16);
                put_le(e + 16, 50, 2);
                memcpy(e + 18, hashes[i], 32);
        }
        memcpy(ret_table, t, sizeof(t));
        return 0;
}

static int kernel_hashes_page(const struct ovmf *fw, const struct sev_section *s,
                              const struct snp_params *p, uint8_t ld[MEASURE_DIGEST_SIZE],
                              struct coco_error **err)
{
        uint8_t page[MEASURE_PAGE] = {0};
        uint32_t off = fw->hash_table_gpa & (MEASURE_PAGE - 1);
        uint32_t page_gpa = fw->hash_table_gpa & ~(MEASURE_PAGE - 1);

        if (!fw->has_hash_table)
                return coco_error_set(err, EINVAL,
                                      "firmware has a kernel hashes section but no "
                                      "hash table entry");
        if (page_gpa < s->gpa || page_gpa >= (uint64_t)s->gpa + s->size ||
            off + SEV_HASH_TABLE_SIZE > MEASURE_PAGE)
                return coco_error_set(err, EINVAL,
                                      "firmware: kernel hash table at 0x%x is outside its section "
                                      "(0x%x, 0x%x bytes)",
                                      fw->hash_table_gpa, s->gpa, s->size);
        int r = measure_sev_hash_table(p->kernel, p->initrd, p->append, page + off, err);
        if (r < 0)
                return r;
        update_normal(ld, page_gpa, page, MEASURE_PAGE);
        return 0;
}

int measure_snp(const struct ovmf *fw, const struct snp_params *p,
                uint8_t ret_digest[MEASURE_DIGEST_SIZE], struct coco_error **err)
{
        uint8_t ld[MEASURE_DIGEST_SIZE] = {0};
        uint8_t vmsa[MEASURE_PAGE];
        bool hashes_done = false;
        int r;

        if (p->vcpus == 0 || p->vcpus > 512)
                return coco_error_set(err, EINVAL, "vCPU count %u is not between 1 and 512",
                                      p->vcpus);
        if (!fw->has_sev_metadata)
                return coco_error_set(err, EINVAL,
                                      "firmware has no SEV metadata: it is not an SEV-SNP capable "
                                      "OVMF build");
        if (p->vcpus > 1 && !fw->has_reset_eip)
                return coco_error_set(err, EINVAL,
                                      "firmware has no SEV-ES reset block, so application "
                                      "processors cannot start; use 1 vCPU or another build");

        update_normal(ld, FOUR_GIB - fw->size, fw->data, fw->size);
        for (size_t i = 0; i < fw->n_sev; i++) {
                const struct sev_section *s = &fw->sev[i];
                switch (s->type) {
                case SEV_SECTION_SNP_SEC_MEM:
                case SEV_SECTION_SVSM_CAA:
                        update_empty(ld, PAGE_ZERO, s->gpa, s->size);
                        break;
                case SEV_SECTION_SNP_SECRETS:
                        update_empty(ld, PAGE_SECRETS, s->gpa, MEASURE_PAGE);
                        break;
                case SEV_SECTION_CPUID:
                        update_empty(ld, PAGE_CPUID, s->gpa, MEASURE_PAGE);
                        break;
                case SEV_SECTION_KERNEL_HASHES:
                        if (!p->kernel) {
                                update_empty(ld, PAGE_ZERO, s->gpa, s->size);
                                break;
                        }
                        r = kernel_hashes_page(fw, s, p, ld, err);
                        if (r < 0)
                                return r;
                        hashes_done = true;
                        break;
                default:
                        return coco_error_set(err, EINVAL,
                                              "firmware: SEV metadata section %zu has unknown "
                                              "type 0x%x",
                                              i, s->type);
                }
        }
        if (p->kernel && !hashes_done)
                return coco_error_set(err, EINVAL,
                                      "a kernel is given, but the firmware's SEV metadata has no "
                                      "kernel hashes section: use an AmdSev OVMF build for direct "
                                      "kernel boot with kernel-hashes");

        for (unsigned i = 0; i < p->vcpus; i++) {
                uint8_t h[MEASURE_DIGEST_SIZE];
                if (i == 0 || i == 1)
                        build_vmsa(vmsa, i == 0 ? BSP_EIP : fw->reset_eip, p->vcpu_sig,
                                   p->guest_features);
                sha384(vmsa, MEASURE_PAGE, h);
                update(ld, PAGE_VMSA, VMSA_GPA, h);
        }
        memcpy(ret_digest, ld, MEASURE_DIGEST_SIZE);
        return 0;
}
