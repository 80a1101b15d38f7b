/* SPDX-License-Identifier: Apache-2.0 */
/* cococtl: the operator's tool (domain XML, measurements, initdata, host checks). */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cococtl.h"
#include "util.h"
#include "version.h"

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: cococtl COMMAND [OPTIONS]\n"
                "\n"
                "Commands:\n"
                "  initdata encode FILE.toml       print the annotation value for a document\n"
                "  initdata decode VALUE|-         print the TOML inside an annotation value\n"
                "  initdata digest FILE.toml|--annotation VALUE [--tee snp|tdx]\n"
                "                                  print the digest (and the launch field)\n"
                "  initdata disk FILE.toml OUTPUT  write the read-only disk image the guest reads\n"
                "  measure --config CLASS.json [--initdata FILE.toml]\n"
                "                                  print the reference values of a class's launch\n"
                "  measure snp --ovmf F --vcpus N (--vcpu-type T|--vcpu-sig 0xN)\n"
                "              [--kernel K [--initrd I] [--append S]] [--guest-features 0xN]\n"
                "                                  print the SEV-SNP launch digest\n"
                "  measure tdx --ovmf F            print the TDX MRTD\n"
                "  domain-xml --config CLASS.json [--initdata F] [--libvirt-version X.Y.Z]\n"
                "             [--transport vsock|virtio-serial] [--name N] [--run-dir D]\n"
                "             [--nic TAP,MAC[,MTU]]...\n"
                "                                  print the libvirt domain a pod VM would get\n"
                "  check [--config CLASS.json]     can this host run the class? (exit 0 when yes)\n"
                "  version                         print the version\n"
                "\n"
                "Exit status: 0 success, 1 the operation failed, 2 the command line was wrong.\n");
}

int fail_with(const struct coco_error *err, int r)
{
        fprintf(stderr, "cococtl: %s\n", coco_error_message(err, r));
        return 1;
}

int usage_error(const char *fmt, ...)
{
        va_list ap;
        fputs("cococtl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("; run 'cococtl --help'\n", stderr);
        return EXIT_USAGE;
}

void print_hex(FILE *f, const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%02x", p[i]);
}

int read_all(const char *path, size_t limit, char **ret, size_t *ret_len, struct coco_error **err)
{
        _cleanup_close_ int fd =
                strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, cap = 0;

        if (fd < 0)
                return coco_error_set(err, errno, "\"%s\": %s", path, strerror(errno));
        for (;;) {
                if (n + 1 >= cap) {
                        if (cap > limit)
                                return coco_error_set(err, E2BIG, "\"%s\" is over %zu bytes", path,
                                                      limit);
                        cap = cap ? cap * 2 : 65536;
                        buf = xrealloc(buf, cap);
                }
                ssize_t k = read(fd, buf + n, cap - n - 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return coco_error_set(err, errno, "reading \"%s\": %s", path,
                                              strerror(errno));
                if (k == 0)
                        break;
                n += (size_t)k;
        }
        if (n > limit)
                return coco_error_set(err, E2BIG, "\"%s\" is over %zu bytes", path, limit);
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = n;
        return 0;
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return EXIT_USAGE;
        }
        const char *cmd = argv[1];
        if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
                printf("cococtl %s (%s)\n", COCO_VERSION, COCO_REVISION);
                return 0;
        }
        if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
                usage(stdout);
                return 0;
        }
        if (strcmp(cmd, "initdata") == 0)
                return cmd_initdata(argc - 1, argv + 1);
        if (strcmp(cmd, "measure") == 0)
                return cmd_measure(argc - 1, argv + 1);
        if (strcmp(cmd, "domain-xml") == 0)
                return cmd_domain_xml(argc - 1, argv + 1);
        if (strcmp(cmd, "check") == 0)
                return cmd_check(argc - 1, argv + 1);
        return usage_error("unknown command \"%s\"", cmd);
}
