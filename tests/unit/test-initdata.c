/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "base64.h"
#include "initdata.h"
#include "util.h"

#define DOC                                                                                        \
        "version = \"0.1.0\"\nalgorithm = \"%s\"\n[data]\n\"aa.toml\" = '''\nurl = "               \
        "\"http://kbs\"\n'''\n\"policy.rego\" = \"package agent_policy\"\n"

static char *doc(const char *alg)
{
        return xasprintf(DOC, alg);
}

static char *annotation_of(const char *text)
{
        uint8_t *gz;
        size_t n;
        initdata_gzip((const uint8_t *)text, strlen(text), &gz, &n);
        char *b64 = base64_encode(gz, n);
        free(gz);
        return b64;
}

static void expect_annotation_error(const char *value, const char *msg)
{
        struct initdata *id = NULL;
        _cleanup_error_ struct coco_error *err = NULL;
        assert_true(initdata_from_annotation(value, &id, &err) < 0);
        assert_null(id);
        if (!strstr(err->message, msg))
                fail_msg("error \"%s\" lacks \"%s\"", err->message, msg);
}

static void test_digest_each_algorithm(void **state)
{
        (void)state;
        static const struct {
                const char *name;
                size_t len;
        } algs[] = {{"sha256", 32}, {"sha384", 48}, {"sha512", 64}};

        for (size_t i = 0; i < ELEMENTSOF(algs); i++) {
                _cleanup_free_ char *text = doc(algs[i].name);
                _cleanup_free_ char *value = annotation_of(text);
                _cleanup_(initdata_freep) struct initdata *id = NULL;
                uint8_t want[64];
                unsigned n;

                assert_int_equal(initdata_from_annotation(value, &id, NULL), 0);
                assert_int_equal(id->digest_len, algs[i].len);
                EVP_Digest(text, strlen(text), want, &n, EVP_get_digestbyname(algs[i].name), NULL);
                assert_memory_equal(id->digest, want, n);
                assert_memory_equal(id->toml, text, strlen(text));
                assert_string_equal(initdata_file(id, "policy.rego"), "package agent_policy");
                assert_null(initdata_file(id, "cdh.toml"));

                /* launch fields: truncated or zero-padded */
                uint8_t host_data[32], mrconfigid[48];
                initdata_launch_field(id, host_data, sizeof(host_data));
                initdata_launch_field(id, mrconfigid, sizeof(mrconfigid));
                assert_memory_equal(host_data, want, 32);
                assert_memory_equal(mrconfigid, want, n < 48 ? n : 48);
                for (size_t j = n; j < 48; j++)
                        assert_int_equal(mrconfigid[j], 0);
        }
}

static void test_disk_round_trip(void **state)
{
        (void)state;
        _cleanup_free_ char *text = doc("sha384");
        _cleanup_(initdata_freep) struct initdata *id = NULL, *back = NULL;
        _cleanup_free_ uint8_t *img = NULL;
        size_t len;

        assert_int_equal(initdata_from_toml(text, strlen(text), &id, NULL), 0);
        initdata_disk_image(id, &img, &len);
        assert_int_equal(len % 512, 0);
        assert_memory_equal(img, "initdata", 8);
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--)
                n = n << 8 | img[8 + i];
        assert_int_equal(n, id->gz_len);
        for (size_t i = 16 + id->gz_len; i < len; i++)
                assert_int_equal(img[i], 0);
        assert_int_equal(initdata_from_disk(img, len, &back, NULL), 0);
        assert_memory_equal(back->digest, id->digest, 48);

        /* gzip output is reproducible: same bytes for the same document */
        _cleanup_(initdata_freep) struct initdata *again = NULL;
        assert_int_equal(initdata_from_toml(text, strlen(text), &again, NULL), 0);
        assert_int_equal(again->gz_len, id->gz_len);
        assert_memory_equal(again->gz, id->gz, id->gz_len);

        /* damaged disks */
        _cleanup_error_ struct coco_error *e1 = NULL, *e2 = NULL;
        img[0] = 'X';
        assert_int_equal(initdata_from_disk(img, len, &back, &e1), -EINVAL);
        assert_non_null(strstr(e1->message, "no \"initdata\" magic"));
        img[0] = 'i';
        img[8] = 0xff, img[9] = 0xff, img[10] = 0xff;
        assert_int_equal(initdata_from_disk(img, len, &back, &e2), -EINVAL);
        assert_non_null(strstr(e2->message, "does not fit"));
}

static void test_bad_annotations(void **state)
{
        (void)state;
        _cleanup_free_ char *bad_alg = doc("md5"), *v1 = annotation_of(bad_alg);
        expect_annotation_error(v1, "unknown algorithm \"md5\" (line 2)");
        _cleanup_free_ char *v2 = annotation_of("version = \"0.2.0\"\nalgorithm = \"sha256\"\n");
        expect_annotation_error(v2, "unsupported version \"0.2.0\"");
        _cleanup_free_ char *v3 = annotation_of("algorithm = \"sha256\"\n");
        expect_annotation_error(v3, "missing version");
        _cleanup_free_ char *v4 = annotation_of("version = \"0.1.0\"\n");
        expect_annotation_error(v4, "missing algorithm");
        _cleanup_free_ char *v5 =
                annotation_of("version = \"0.1.0\"\nalgorithm = \"sha256\"\nextra = \"x\"\n");
        expect_annotation_error(v5, "unknown key \"extra\" (line 3)");
        _cleanup_free_ char *v6 = annotation_of("version = \"0.1.0\"\nalgorithm = \"sha256\"\n"
                                                "[other]\nx = \"y\"\n");
        expect_annotation_error(v6, "unknown table [other]");
        _cleanup_free_ char *v7 = annotation_of("version = 0.1\n");
        expect_annotation_error(v7, "initdata: TOML line 1, column 11");

        expect_annotation_error("", "empty");
        expect_annotation_error("not base64!", "not standard base64");
        expect_annotation_error("aGVsbG8=", "not valid gzip");
        /* a valid gzip stream cut short */
        _cleanup_free_ char *text = doc("sha256");
        uint8_t *gz;
        size_t n;
        initdata_gzip((const uint8_t *)text, strlen(text), &gz, &n);
        _cleanup_free_ char *cut = base64_encode(gz, n - 6);
        expect_annotation_error(cut, "truncated");
        /* trailing garbage after the stream */
        gz = xrealloc(gz, n + 3);
        memcpy(gz + n, "abc", 3);
        _cleanup_free_ char *trail = base64_encode(gz, n + 3);
        free(gz);
        expect_annotation_error(trail, "trailing data");
}

static void test_zip_bomb_is_bounded(void **state)
{
        (void)state;
        size_t big = INITDATA_MAX_TOML + 4096;
        _cleanup_free_ uint8_t *zeros = xcalloc(1, big);
        _cleanup_free_ uint8_t *gz = NULL;
        size_t n;
        initdata_gzip(zeros, big, &gz, &n);
        assert_true(n < 16384); /* compresses to almost nothing */
        _cleanup_free_ char *value = base64_encode(gz, n);
        expect_annotation_error(value, "expands beyond");

        /* an oversized annotation is refused before decoding */
        _cleanup_free_ char *huge = xmalloc(INITDATA_MAX_ANNOTATION + 5);
        memset(huge, 'A', INITDATA_MAX_ANNOTATION + 4);
        huge[INITDATA_MAX_ANNOTATION + 4] = 0;
        expect_annotation_error(huge, "over the 262144 byte limit");
}

static void test_base64(void **state)
{
        (void)state;
        const char *cases[][2] = {{"", ""},        {"f", "Zg=="},        {"fo", "Zm8="},
                                  {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}};
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *e = base64_encode(cases[i][0], strlen(cases[i][0]));
                _cleanup_free_ uint8_t *d = NULL;
                size_t n;
                assert_string_equal(e, cases[i][1]);
                assert_int_equal(base64_decode(e, strlen(e), &d, &n, NULL), 0);
                assert_int_equal(n, strlen(cases[i][0]));
                assert_memory_equal(d, cases[i][0], n);
        }
        const char *bad[] = {"Zg=", "Z===", "Zg=a", "Zm9v Yg==", "Zm9-", "=Zm9"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                uint8_t *d = NULL;
                size_t n;
                assert_int_equal(base64_decode(bad[i], strlen(bad[i]), &d, &n, NULL), -EINVAL);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_digest_each_algorithm),
                cmocka_unit_test(test_disk_round_trip),
                cmocka_unit_test(test_bad_annotations),
                cmocka_unit_test(test_zip_bomb_is_bounded),
                cmocka_unit_test(test_base64),
        };
        return cmocka_run_group_tests_name("initdata", tests, NULL, NULL);
}
