/* SPDX-License-Identifier: Apache-2.0 */
/* cococtl measure snp|tdx */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cococtl.h"
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
        if (type && measure_vcpu_sig(type, &p.vcpu_sig) < 0)
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

int cmd_measure(int argc, char **argv)
{
        if (argc < 2)
                return usage_error("measure needs snp or tdx");
        if (strcmp(argv[1], "snp") == 0)
                return snp(argc - 1, argv + 1);
        if (strcmp(argv[1], "tdx") == 0)
                return tdx(argc - 1, argv + 1);
        return usage_error("unknown measure command \"%s\"", argv[1]);
}
