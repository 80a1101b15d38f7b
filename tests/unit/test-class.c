/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "launch.h"
#include "util.h"

#define BASE "\"tee\": \"none\", \"kernel\": \"/k\", \"initrd\": \"/i\""

static struct cfg_class *parse_ok(const char *json)
{
        struct cfg_class *c = NULL;
        _cleanup_error_ struct coco_error *err = NULL;
        if (cfg_class_parse(json, "test.json", &c, &err) < 0)
                fail_msg("parse failed: %s", err->message);
        return c;
}

static void expect_error(const char *json, const char *msg)
{
        struct cfg_class *c = NULL;
        _cleanup_error_ struct coco_error *err = NULL;
        assert_int_equal(cfg_class_parse(json, "test.json", &c, &err), -EINVAL);
        assert_null(c);
        if (!strstr(err->message, msg))
                fail_msg("error \"%s\" lacks \"%s\"", err->message, msg);
}

static void test_defaults_and_values(void **state)
{
        (void)state;
        _cleanup_(cfg_class_freep) struct cfg_class *c = parse_ok("{" BASE "}");
        assert_int_equal(c->tee, CFG_TEE_NONE);
        assert_string_equal(c->libvirt_uri, "qemu:///system");
        assert_int_equal(c->vcpus, 1);
        assert_int_equal(c->memory_mib, 2048);
        assert_int_equal(c->transport, CFG_TRANSPORT_AUTO);
        assert_null(c->firmware);

        _cleanup_(cfg_class_freep) struct cfg_class *s = parse_ok(
                "{\"tee\": \"snp\", \"kernel\": \"/k\", \"initrd\": \"/i\", \"firmware\": \"/f\","
                " \"vcpu_model\": \"EPYC-v4\", \"vcpus\": \"0x2\", \"kernel_params\": \"a b\","
                " \"snp\": {\"policy\": \"0x30000\", \"guest_features\": 33},"
                " \"agent\": {\"transport\": \"virtio-serial\", \"dial_timeout_s\": 5}}");
        assert_int_equal(s->tee, CFG_TEE_SNP);
        assert_int_equal(s->vcpus, 2);
        assert_int_equal(s->snp_policy, 0x30000);
        assert_int_equal(s->snp_guest_features, 33);
        assert_int_equal(s->transport, CFG_TRANSPORT_VIRTIO_SERIAL);
        assert_int_equal(s->dial_timeout_s, 5);
        assert_string_equal(s->kernel_params, "a b");
}

static void test_refusals(void **state)
{
        (void)state;
        expect_error("{" BASE ", \"vcpu\": 2}", "config \"test.json\": key \"vcpu\": unknown key");
        expect_error("{" BASE ", \"agent\": {\"port\": 1}}", "key \"agent.port\": unknown key");
        expect_error("{" BASE ", \"vcpus\": 0}", "key \"vcpus\": must be between 1 and 512");
        expect_error("{" BASE ", \"memory_mib\": 0}", "key \"memory_mib\": must be between 64");
        expect_error("{" BASE ", \"vcpus\": \"two\"}", "key \"vcpus\": must be a number");
        expect_error("{" BASE ", \"vcpus\": 9, \"max_vcpus\": 8}", "larger than max_vcpus");
        expect_error("{\"kernel\": \"/k\", \"initrd\": \"/i\"}", "key \"tee\": is required");
        expect_error("{\"tee\": \"sev\", \"kernel\": \"/k\", \"initrd\": \"/i\"}",
                     "must be one of none, snp, tdx");
        expect_error("{\"tee\": \"none\", \"initrd\": \"/i\"}", "key \"kernel\": is required");
        expect_error("{" BASE ", \"kernel\": \"relative\"}", "duplicate");
        expect_error("{\"tee\": \"none\", \"kernel\": \"k\", \"initrd\": \"/i\"}",
                     "must be an absolute path");
        expect_error("{\"tee\": \"snp\", \"kernel\": \"/k\", \"initrd\": \"/i\", "
                     "\"vcpu_model\": \"EPYC\"}",
                     "key \"firmware\": is required for a confidential class");
        expect_error("{\"tee\": \"snp\", \"kernel\": \"/k\", \"initrd\": \"/i\", \"firmware\": "
                     "\"/f\", \"vcpu_model\": \"EPYC\", \"accelerator\": \"tcg\"}",
                     "must be kvm for a confidential class");
        expect_error("{" BASE ", \"tdx\": {}}", "key \"tdx\": is only allowed when tee is \"tdx\"");
        expect_error("{" BASE, "line 1, column");
        expect_error("[1]", "must be a JSON object");
}

static void test_launch_overrides(void **state)
{
        (void)state;
        _cleanup_(cfg_class_freep) struct cfg_class *c =
                parse_ok("{" BASE ", \"max_vcpus\": 4, \"max_memory_mib\": 4096}");
        _cleanup_(cfg_launch_done) struct cfg_launch l = {0};
        struct cfg_overrides ok = {.vcpus = 4, .memory_mib = 1024}, big = {.vcpus = 5};
        struct cfg_overrides mem = {.memory_mib = 8192};
        _cleanup_error_ struct coco_error *e1 = NULL, *e2 = NULL;

        assert_int_equal(cfg_launch_build(c, NULL, &ok, &l, NULL), 0);
        assert_int_equal(l.vcpus, 4);
        assert_int_equal(l.memory_mib, 1024);
        assert_false(l.has_initdata);
        cfg_launch_done(&l);
        assert_int_equal(cfg_launch_build(c, NULL, &big, &l, &e1), -EINVAL);
        assert_non_null(strstr(e1->message, "asks for 5 vCPUs"));
        assert_int_equal(cfg_launch_build(c, NULL, &mem, &l, &e2), -EINVAL);
        assert_non_null(strstr(e2->message, "8192 MiB"));
}

static void test_shipped_class_files(void **state)
{
        (void)state;
        const char *files[] = {"config/snp.json", "config/tdx.json", "config/dev.json"};
        enum cfg_tee tees[] = {CFG_TEE_SNP, CFG_TEE_TDX, CFG_TEE_NONE};
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                struct cfg_class *c = NULL;
                _cleanup_error_ struct coco_error *err = NULL;
                if (cfg_class_load(files[i], &c, &err) < 0)
                        fail_msg("%s: %s", files[i], err->message);
                assert_int_equal(c->tee, tees[i]);
                cfg_class_free(c);
        }
        struct cfg_class *c = NULL;
        _cleanup_error_ struct coco_error *err = NULL;
        assert_int_equal(cfg_class_load("config/missing.json", &c, &err), -ENOENT);
        assert_non_null(strstr(err->message, "No such file"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults_and_values),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_launch_overrides),
                cmocka_unit_test(test_shipped_class_files),
        };
        return cmocka_run_group_tests_name("class", tests, NULL, NULL);
}
