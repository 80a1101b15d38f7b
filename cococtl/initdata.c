/* SPDX-License-Identifier: Apache-2.0 */
/* cococtl initdata encode|decode|digest */
#include <getopt.h>
#include <string.h>

#include "base64.h"
#include "cococtl.h"
#include "initdata.h"
#include "util.h"

static int encode(int argc, char **argv)
{
        _cleanup_(initdata_freep) struct initdata *id = NULL;
        _cleanup_error_ struct coco_error *err = NULL;

        if (argc != 2)
                return usage_error("initdata encode takes one FILE.toml");
        int r = initdata_from_file(argv[1], &id, &err);
        if (r < 0)
                return fail_with(err, r);
        _cleanup_free_ char *b64 = base64_encode(id->gz, id->gz_len);
        printf("%s\n", b64);
        return 0;
}

static int disk(int argc, char **argv)
{
        _cleanup_(initdata_freep) struct initdata *id = NULL;
        _cleanup_error_ struct coco_error *err = NULL;
        _cleanup_free_ uint8_t *img = NULL;
        size_t len;

        if (argc != 3)
                return usage_error("initdata disk takes FILE.toml and OUTPUT");
        int r = initdata_from_file(argv[1], &id, &err);
        if (r < 0)
                return fail_with(err, r);
        initdata_disk_image(id, &img, &len);
        FILE *f = fopen(argv[2], "we");
        if (!f || fwrite(img, 1, len, f) != len || fclose(f) != 0) {
                fprintf(stderr, "cococtl: writing %s: %s\n", argv[2], strerror(errno));
                return 1;
        }
        return 0;
}

static int load_annotation(const char *arg, struct initdata **ret, struct coco_error **err)
{
        _cleanup_free_ char *value = NULL;
        size_t len;

        if (strcmp(arg, "-") == 0) {
                int r = read_all("-", INITDATA_MAX_ANNOTATION + 2, &value, &len, err);
                if (r < 0)
                        return r;
                while (len > 0 && (value[len - 1] == '\n' || value[len - 1] == '\r'))
                        value[--len] = 0;
                arg = value;
        }
        return initdata_from_annotation(arg, ret, err);
}

static int decode(int argc, char **argv)
{
        _cleanup_(initdata_freep) struct initdata *id = NULL;
        _cleanup_error_ struct coco_error *err = NULL;

        if (argc != 2)
                return usage_error("initdata decode takes one VALUE (or - for stdin)");
        int r = load_annotation(argv[1], &id, &err);
        if (r < 0)
                return fail_with(err, r);
        fwrite(id->toml, 1, id->toml_len, stdout);
        return 0;
}

static int digest(int argc, char **argv)
{
        static const struct option opts[] = {
                {"annotation", required_argument, NULL, 'a'},
                {"tee", required_argument, NULL, 't'},
                {},
        };
        _cleanup_(initdata_freep) struct initdata *id = NULL;
        _cleanup_error_ struct coco_error *err = NULL;
        const char *annotation = NULL, *tee = NULL;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                if (c == 'a')
                        annotation = optarg;
                else if (c == 't')
                        tee = optarg;
                else
                        return usage_error("initdata digest: bad option");
        }
        if ((annotation != NULL) == (optind < argc) || optind + 1 < argc)
                return usage_error("initdata digest takes one FILE.toml or --annotation VALUE");
        if (tee && strcmp(tee, "snp") != 0 && strcmp(tee, "tdx") != 0)
                return usage_error("--tee must be snp or tdx, not \"%s\"", tee);

        r = annotation ? load_annotation(annotation, &id, &err)
                       : initdata_from_file(argv[optind], &id, &err);
        if (r < 0)
                return fail_with(err, r);
        printf("algorithm=%s\ndigest=", initdata_alg_name(id->alg));
        print_hex(stdout, id->digest, id->digest_len);
        printf("\n");
        if (tee) {
                bool snp = strcmp(tee, "snp") == 0;
                uint8_t field[INITDATA_MRCONFIGID_SIZE];
                size_t n = snp ? INITDATA_HOST_DATA_SIZE : INITDATA_MRCONFIGID_SIZE;
                initdata_launch_field(id, field, n);
                _cleanup_free_ char *b64 = base64_encode(field, n);
                printf("%s=%s\n", snp ? "host_data" : "mrconfigid", b64);
        }
        return 0;
}

int cmd_initdata(int argc, char **argv)
{
        if (argc < 2)
                return usage_error("initdata needs encode, decode, digest or disk");
        if (strcmp(argv[1], "encode") == 0)
                return encode(argc - 1, argv + 1);
        if (strcmp(argv[1], "decode") == 0)
                return decode(argc - 1, argv + 1);
        if (strcmp(argv[1], "digest") == 0)
                return digest(argc - 1, argv + 1);
        if (strcmp(argv[1], "disk") == 0)
                return disk(argc - 1, argv + 1);
        return usage_error("unknown initdata command \"%s\"", argv[1]);
}
