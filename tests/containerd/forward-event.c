/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Publish one /tasks/exit event to containerd through its ttRPC Events.Forward
 * service, with this project's ttRPC client. Used by tests/containerd/events.sh
 * to prove the client against a real containerd.
 *
 *   forward-event TTRPC_SOCKET NAMESPACE CONTAINER_ID EXIT_STATUS
 */
#include <stdio.h>
#include <stdlib.h>

#include "github.com/containerd/containerd/api/events/task.pb-c.h"
#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb-c.h"
#include "ttrpc.h"
#include "util.h"

int main(int argc, char **argv)
{
        _cleanup_(ttrpc_client_freep) struct ttrpc_client *c = NULL;
        _cleanup_error_ struct coco_error *err = NULL;
        _cleanup_free_ uint8_t *event = NULL;
        size_t event_len;
        uint64_t now = now_realtime_ns();
        int r;

        if (argc != 5) {
                fprintf(stderr, "usage: %s TTRPC_SOCKET NAMESPACE CONTAINER_ID EXIT_STATUS\n",
                        argv[0]);
                return 2;
        }

        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        ts.seconds = (int64_t)(now / NSEC_PER_SEC);
        ts.nanos = (int32_t)(now % NSEC_PER_SEC);

        Containerd__Events__TaskExit exit_ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
        exit_ev.container_id = argv[3];
        exit_ev.id = argv[3];
        exit_ev.pid = 4242;
        exit_ev.exit_status = (uint32_t)strtoul(argv[4], NULL, 10);
        exit_ev.exited_at = &ts;
        ttrpc_pack(&exit_ev.base, &event, &event_len);

        Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
        any.type_url = "containerd.events.TaskExit";
        any.value.data = event;
        any.value.len = event_len;

        Containerd__Services__Events__Ttrpc__V1__Envelope env =
                CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
        env.timestamp = &ts;
        env.namespace_ = argv[2];
        env.topic = "/tasks/exit";
        env.event = &any;

        Containerd__Services__Events__Ttrpc__V1__ForwardRequest req =
                CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
        req.envelope = &env;

        r = ttrpc_client_dial_unix(argv[1], &c, &err);
        if (r >= 0) {
                struct ttrpc_call_opts opts = {.ns = argv[2], .timeout_ns = 10 * NSEC_PER_SEC};
                r = ttrpc_client_call(c, "containerd.services.events.ttrpc.v1.Events", "Forward",
                                      &req.base, &google__protobuf__empty__descriptor, NULL, &opts,
                                      &err);
        }
        if (r < 0) {
                fprintf(stderr, "forward-event: %s\n", coco_error_message(err, r));
                return 1;
        }
        return 0;
}
