/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives vmm/network.c without a VM, for tests/vmm/network.sh:
 *   net-plumb up NETNS RUN_DIR SANDBOX    prepare the taps, then connect them
 *   net-plumb down RUN_DIR                teardown from RUN_DIR's state
 *   net-plumb describe NETNS              the JSON the shim hands the agent
 * (A tap is moved the same way whether or not QEMU holds it.)
 */
#include <stdio.h>
#include <string.h>

#include "network.h"

int main(int argc, char **argv)
{
        _cleanup_error_ struct coco_error *err = NULL;
        int r = -EINVAL;

        if (argc == 5 && strcmp(argv[1], "up") == 0) {
                _cleanup_(vmm_net_done) struct vmm_net net = {0};
                r = vmm_net_prepare(argv[2], argv[4], argv[3], &net, &err);
                if (r >= 0)
                        r = vmm_net_connect(&net, argv[3], &err);
                if (r >= 0)
                        for (size_t i = 0; i < net.n; i++)
                                printf("%s %s %s %u\n", net.nics[i].name, net.nics[i].tap,
                                       net.nics[i].mac, net.nics[i].mtu);
        } else if (argc == 3 && strcmp(argv[1], "down") == 0) {
                r = vmm_net_teardown(argv[2], &err);
        } else if (argc == 3 && strcmp(argv[1], "describe") == 0) {
                json_t *j = NULL;
                r = vmm_net_describe(argv[2], &j, &err);
                if (r >= 0) {
                        json_dumpf(j, stdout, JSON_INDENT(1) | JSON_SORT_KEYS);
                        putchar('\n');
                        json_decref(j);
                }
        } else {
                fprintf(stderr, "usage: net-plumb up NETNS RUN_DIR SANDBOX | down RUN_DIR | "
                                "describe NETNS\n");
                return 2;
        }
        if (r < 0) {
                fprintf(stderr, "net-plumb: %s\n", coco_error_message(err, r));
                return 1;
        }
        return 0;
}
