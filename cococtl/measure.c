/* SPDX-License-Identifier: Apache-2.0 */
/* cococtl measure snp|tdx */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include <jansson.h>

#include "class.h"
#include "cococtl.h"
#include "launch.h"
#include "measure.h"
#include "util.h"

static int parse_u64(const char *s, const char *what, uint64_t *ret)
{
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 0);
        if (errno || end == s || *end || s[0] == '-')
                return usage_error("%s \"%s\" is not a number", what, s);
        *ret = v;
        return 0;
}

static int snp(int argc, char **argv)
{
        static const struct option opts[] = {
                {"ovmf", required_argument, NULL, 'o'},
                {"kernel", required_argument, NULL, 'k'},
                {"initrd", required_argument, NULL, 'i'},
                {"append", required_argument, NULL, 'a'},
                {"vcpus", required_argument, NULL, 'n'},
                {"vcpu-type", required_argument, NULL, 't'},
                {"vcpu-sig", required_argument, NULL, 's'},
                {"guest-features", required_argument, NULL, 'g'},
                {},
        };
        struct snp_params p = {.guest_features = 0x1};
        const char *ovmf = NULL, *type = NULL;
        bool have_sig = false;
        uint64_t v;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'o':
                        ovmf = optarg;
                        break;
                case 'k':
                        p.kernel = optarg;
                        break;
                case 'i':
                        p.initrd = optarg;
                        break;
                case 'a':
                        p.append = optarg;
                        break;
                case 't':
                        type = optarg;
                        break;
                case 'n':
                        if (parse_u64(optarg, "--vcpus", &v) || v == 0 || v > 512)
                                return usage_error("--vcpus must be between 1 and 512");
                        p.vcpus = (unsigned)v;
                        break;
                case 's':
                        if (parse_u64(optarg, "--vcpu-sig", &v) || v > UINT32_MAX)
                                return usage_error("--vcpu-sig must be a 32-bit number");
                        p.vcpu_sig = (uint32_t)v;
                        have_sig = true;
                        break;
                case 'g':
                        if (parse_u64(optarg, "--guest-features", &v))
                                return EXIT_USAGE;
                        p.guest_features = v;
                        break;
                default:
                        return usage_error("measure snp: bad option");
                }
        }
        if (optind != argc)
                return usage_error("measure snp: unexpected argument \"%s\"", argv[optind]);
        if (!ovmf || !p.vcpus)
                return usage_error("measure snp needs --ovmf and --vcpus");
        if (!!type == have_sig)
                return usage_error("measure snp needs exactly one of --vcpu-type and --vcpu-sig");
        if ((p.initrd || p.append) && !p.kernel)
                return usage_error("--initrd and --append need --kernel");
        if (type && cfg_vcpu_sig(type, &p.vcpu_sig) < 0)
                return usage_error("unknown --vcpu-type \"%s\" (EPYC, EPYC-Rome, EPYC-Milan, "
                                   "EPYC-Genoa, EPYC-Turin, with an optional -vN)",
                                   type);

        _cleanup_(measure_ovmf_freep) struct ovmf *fw = NULL;
        _cleanup_error_ struct coco_error *err = NULL;
        uint8_t ld[MEASURE_DIGEST_SIZE];
        int r = measure_ovmf_load(ovmf, &fw, &err);
        if (r >= 0)
                r = measure_snp(fw, &p, ld, &err);
        if (r < 0)
                return fail_with(err, r);
        print_hex(stdout, ld, sizeof(ld));
        printf("\n");
        return 0;
}

static int tdx(int argc, char **argv)
{
        static const struct option opts[] = {
                {"ovmf", required_argument, NULL, 'o'},
                {},
        };
        const char *ovmf = NULL;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                if (c != 'o')
                        return usage_error("measure tdx: bad option");
                ovmf = optarg;
        }
        if (!ovmf || optind != argc)
                return usage_error("measure tdx needs --ovmf and nothing else");

        _cleanup_(measure_ovmf_freep) struct ovmf *fw = NULL;
        _cleanup_error_ struct coco_error *err = NULL;
        uint8_t mrtd[MEASURE_DIGEST_SIZE];
        int r = measure_ovmf_load(ovmf, &fw, &err);
        if (r >= 0)
                r = measure_tdx_mrtd(fw, mrtd, &err);
        if (r < 0)
                return fail_with(err, r);
        print_hex(stdout, mrtd, sizeof(mrtd));
        printf("\n");
        return 0;
}

static char *hex(const uint8_t *p, size_t n)
{
        char *s = xmalloc(2 * n + 1);
        for (size_t i = 0; i < n; i++)
                sprintf(s + 2 * i, "%02x", p[i]);
        return s;
}

static void set_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
        _cleanup_free_ char *h = hex(p, n);
        json_object_set_new(o, key, json_string(h));
}

static int artefact(json_t *arts, const char *name, const char *path, struct coco_error **err)
{
        uint8_t sum[32];
        if (!path)
                return 0;
        int r = measure_file_sha256(path, sum, err);
        if (r < 0)
                return coco_error_wrap(err, r, "%s", name);
        json_t *a = json_object();
        json_object_set_new(a, "path", json_string(path));
        set_hex(a, "sha256", sum, sizeof(sum));
        json_object_set_new(arts, name, a);
        return 0;
}

/* Reference values for exactly what a class launches (docs/reference-values.md). */
static int reference_values(const char *config, const char *initdata_path)
{
        _cleanup_(cfg_class_freep) struct cfg_class *c = NULL;
        _cleanup_(initdata_freep) struct initdata *id = NULL;
        _cleanup_(measure_ovmf_freep) struct ovmf *fw = NULL;
        _cleanup_error_ struct coco_error *err = NULL;
        _cleanup_(json_decrefp) json_t *out = json_object();
        _cleanup_(json_decrefp) json_t *arts = json_object();
        _cleanup_(json_decrefp) json_t *refs = json_object();
        _cleanup_(cfg_launch_done) struct cfg_launch l = {0};
        uint8_t digest[MEASURE_DIGEST_SIZE];
        int r;

        r = cfg_class_load(config, &c, &err);
        if (r < 0)
                return fail_with(err, r);
        if (!initdata_path)
                initdata_path = c->default_initdata;
        if (initdata_path && (r = initdata_from_file(initdata_path, &id, &err)) < 0)
                return fail_with(err, r);
        if ((r = cfg_launch_build(c, id, NULL, &l, &err)) < 0 ||
            (r = artefact(arts, "firmware", c->firmware, &err)) < 0 ||
            (r = artefact(arts, "kernel", c->kernel, &err)) < 0 ||
            (r = artefact(arts, "initrd", c->initrd, &err)) < 0)
                return fail_with(err, r);

        json_object_set_new(out, "tee", json_string(cfg_tee_name(c->tee)));
        json_object_set_new(out, "vcpus", json_integer(l.vcpus));
        json_object_set_new(out, "cmdline", json_string(l.cmdline));
        if (id) {
                json_t *i = json_object();
                json_object_set_new(i, "algorithm", json_string(initdata_alg_name(id->alg)));
                set_hex(i, "digest", id->digest, id->digest_len);
                json_object_set_new(out, "initdata", i);
        }
        if (c->tee == CFG_TEE_NONE) {
                json_object_set_new(out, "note",
                                    json_string("the none class has no hardware "
                                                "measurement; only artefact digests "
                                                "apply"));
        } else {
                r = measure_ovmf_load(c->firmware, &fw, &err);
                if (r < 0)
                        return fail_with(err, r);
        }
        if (c->tee == CFG_TEE_SNP) {
                struct snp_params p = {
                        .kernel = c->kernel,
                        .initrd = c->initrd,
                        .append = l.cmdline,
                        .vcpus = l.vcpus,
                        .vcpu_sig = l.vcpu_sig,
                        .guest_features = c->snp_guest_features,
                };
                if ((r = measure_snp(fw, &p, digest, &err)) < 0)
                        return fail_with(err, r);
                _cleanup_free_ char *policy =
                        xasprintf("0x%llx", (unsigned long long)c->snp_policy);
                json_object_set_new(out, "vcpu_type", json_string(c->vcpu_model));
                json_object_set_new(out, "policy", json_string(policy));
                set_hex(out, "launch_digest", digest, sizeof(digest));
                set_hex(out, "host_data", l.host_data, sizeof(l.host_data));
                json_object_set_new(refs, "snp_launch_measurement",
                                    json_pack("[O]", json_object_get(out, "launch_digest")));
                json_object_set_new(refs, "snp_host_data",
                                    json_pack("[O]", json_object_get(out, "host_data")));
        } else if (c->tee == CFG_TEE_TDX) {
                if ((r = measure_tdx_mrtd(fw, digest, &err)) < 0)
                        return fail_with(err, r);
                set_hex(out, "mrtd", digest, sizeof(digest));
                set_hex(out, "mrconfigid", l.mrconfigid, sizeof(l.mrconfigid));
                json_object_set_new(refs, "mr_td", json_pack("[O]", json_object_get(out, "mrtd")));
                json_object_set_new(refs, "mr_config_id",
                                    json_pack("[O]", json_object_get(out, "mrconfigid")));
        }
        json_object_set(out, "artefacts", arts);
        json_object_set(out, "reference_values", refs);
        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("\n");
        return 0;
}

static int from_config(int argc, char **argv)
{
        static const struct option opts[] = {
                {"config", required_argument, NULL, 'c'},
                {"initdata", required_argument, NULL, 'i'},
                {},
        };
        const char *config = NULL, *initdata = NULL;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                if (c == 'c')
                        config = optarg;
                else if (c == 'i')
                        initdata = optarg;
                else
                        return usage_error("measure: bad option");
        }
        if (!config || optind != argc)
                return usage_error("measure needs snp, tdx or --config CLASS.json");
        return reference_values(config, initdata);
}

int cmd_measure(int argc, char **argv)
{
        if (argc >= 2 && strncmp(argv[1], "--", 2) == 0)
                return from_config(argc, argv);
        if (argc < 2)
                return usage_error("measure needs snp, tdx or --config CLASS.json");
        if (strcmp(argv[1], "snp") == 0)
                return snp(argc - 1, argv + 1);
        if (strcmp(argv[1], "tdx") == 0)
                return tdx(argc - 1, argv + 1);
        return usage_error("unknown measure command \"%s\"", argv[1]);
}
