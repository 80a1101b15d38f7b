/* SPDX-License-Identifier: Apache-2.0 */
/* containerd-shim-coco-v2: entry point. */
#include <stdio.h>
#include <string.h>

#include "version.h"

static void print_version(void)
{
        printf("containerd-shim-coco-v2:\n  Version:  %s\n  Revision: %s\n", COCO_VERSION,
               COCO_REVISION);
}

int main(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--version") == 0 ||
                    strcmp(argv[i], "-version") == 0) {
                        print_version();
                        return 0;
                }
        }
        fprintf(stderr, "containerd-shim-coco-v2: the task service is not part of this build "
                        "yet; only --version is available\n");
        return 1;
}
