/* SPDX-License-Identifier: Apache-2.0 */
/* The firmware table parser refuses truncated and inconsistent images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "launch.h"
#include "measure.h"
#include "util.h"

#define SIZE (64 * 1024)

static const uint8_t FOOTER[16] = {0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
                                   0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d};
static const uint8_t SEV_META[16] = {0x66, 0x65, 0x88, 0xdc, 0x4a, 0x98, 0x98, 0x47,
                                     0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc};

static void put32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

/* An image whose footer table holds one SEV metadata entry pointing at an ASEV block. */
static uint8_t *image(uint32_t count, uint32_t gpa, uint32_t size, uint32_t type)
{
        uint8_t *img = xcalloc(1, SIZE);
        uint8_t *asev = img + SIZE - 0x1000;
        memcpy(asev, "ASEV", 4);
        put32(asev + 4, 16 + 12);
        put32(asev + 8, 1);
        put32(asev + 12, count);
        put32(asev + 16, gpa);
        put32(asev + 20, size);
        put32(asev + 24, type);
        /* table: [u32 offset][u16 22][GUID] [u16 total][FOOTER] [32 bytes] */
        uint8_t *end = img + SIZE - 32;
        memcpy(end - 16, FOOTER, 16);
        end[-18] = 18 + 22;
        uint8_t *e = end - 18 - 22;
        put32(e, 0x1000);
        e[4] = 22;
        memcpy(e + 6, SEV_META, 16);
        return img;
}

static void expect(uint8_t *img, size_t size, int want, const char *msg)
{
        struct ovmf *fw = NULL;
        _cleanup_error_ struct coco_error *err = NULL;
        int r = measure_ovmf_parse(img, size, &fw, &err);
        assert_int_equal(r, want);
        if (want == 0) {
                assert_true(fw->has_sev_metadata);
                measure_ovmf_free(fw);
        } else if (!strstr(err->message, msg))
                fail_msg("error \"%s\" lacks \"%s\"", err->message, msg);
        free(img);
}

static void test_good_image(void **state)
{
        (void)state;
        expect(image(1, 0x800000, 0x1000, 1), SIZE, 0, NULL);
}

static void test_inconsistent_images(void **state)
{
        (void)state;
        expect(image(1, 0x800000, 0x1000, 1), SIZE - 100, -EINVAL, "not a non-zero multiple");
        expect(image(2, 0x800000, 0x1000, 1), SIZE, -EINVAL, "claims 2 sections in 28 bytes");
        expect(image(1, 0x800100, 0x1000, 1), SIZE, -EINVAL, "is not whole pages");
        expect(image(1, 0xfffff000, 0x2000, 1), SIZE, -EINVAL, "ends above 4 GiB");

        uint8_t *img = image(1, 0x800000, 0x1000, 1);
        memcpy(img + SIZE - 0x1000, "XSEV", 4);
        expect(img, SIZE, -EINVAL, "no \"ASEV\" signature");

        img = image(1, 0x800000, 0x1000, 1);
        put32(img + SIZE - 32 - 18 - 22, SIZE + 4096); /* descriptor offset outside */
        expect(img, SIZE, -EINVAL, "outside the");

        img = image(1, 0x800000, 0x1000, 1);
        img[SIZE - 32 - 18] = 0xff, img[SIZE - 32 - 17] = 0xff; /* table size */
        expect(img, SIZE, -EINVAL, "footer table size");

        img = image(1, 0x800000, 0x1000, 1);
        img[SIZE - 32 - 18 - 22 + 4] = 5; /* entry size < 18 */
        expect(img, SIZE, -EINVAL, "entry of size 5");

        img = image(1, 0x800000, 0x1000, 1);
        put32(img + SIZE - 0x1000 + 8, 2); /* version */
        expect(img, SIZE, -EINVAL, "version 2");
}

static void test_unknown_section_type_fails_measurement(void **state)
{
        (void)state;
        uint8_t *img = image(1, 0x800000, 0x1000, 0x77);
        struct ovmf *fw = NULL;
        _cleanup_error_ struct coco_error *err = NULL;
        struct snp_params p = {.vcpus = 1, .vcpu_sig = 0x800f12, .guest_features = 1};
        uint8_t ld[48];

        assert_int_equal(measure_ovmf_parse(img, SIZE, &fw, NULL), 0);
        assert_int_equal(measure_snp(fw, &p, ld, &err), -EINVAL);
        assert_non_null(strstr(err->message, "unknown type 0x77"));
        measure_ovmf_free(fw);
        free(img);
}

static void test_vcpu_signatures(void **state)
{
        (void)state;
        uint32_t sig;
        assert_int_equal(cfg_vcpu_sig("EPYC-v4", &sig), 0);
        assert_int_equal(sig, 0x800f12);
        assert_int_equal(cfg_vcpu_sig("EPYC-Rome-v3", &sig), 0);
        assert_int_equal(sig, 0x830f10);
        assert_int_equal(cfg_vcpu_sig("EPYC-Milan", &sig), 0);
        assert_int_equal(sig, 0xa00f11);
        assert_int_equal(cfg_vcpu_sig("EPYC-Genoa", &sig), 0);
        assert_int_equal(sig, 0xa10f10);
        assert_int_equal(cfg_vcpu_sig("EPYC-v", &sig), -ENOENT);
        assert_int_equal(cfg_vcpu_sig("Skylake-Server", &sig), -ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good_image),
                cmocka_unit_test(test_inconsistent_images),
                cmocka_unit_test(test_unknown_section_type_fails_measurement),
                cmocka_unit_test(test_vcpu_signatures),
        };
        return cmocka_run_group_tests_name("ovmf", tests, NULL, NULL);
}
