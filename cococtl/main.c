/* SPDX-License-Identifier: Apache-2.0 */
/* cococtl: the operator's tool (domain XML, measurements, initdata, host checks). */
#include <stdio.h>
#include <string.h>

#include "version.h"

static void usage(FILE *f)
{
        fprintf(f, "Usage: cococtl COMMAND [OPTIONS]\n"
                   "\n"
                   "Commands:\n"
                   "  version     print the version\n"
                   "\n"
                   "Options:\n"
                   "  -h, --help     show this help\n"
                   "  --version      print the version\n");
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return 2;
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
        fprintf(stderr, "cococtl: unknown command \"%s\"; run 'cococtl --help' for the list\n",
                cmd);
        return 2;
}
