/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the ttRPC envelopes (Request, Response) and, through the request's
 * payload, the task-service message the shim unpacks most (CreateTaskRequest).
 * Whatever decodes must re-encode to exactly the size protobuf-c predicts.
 * (A full decode/encode/decode round trip is not an invariant: protobuf-c
 * keeps unknown fields, even number 0, and re-packs them into bytes it then
 * refuses. This runtime never re-packs a message it received.)
 */
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb-c.h"
#include "ttrpc.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reencode(const ProtobufCMessage *m)
{
        size_t len = protobuf_c_message_get_packed_size(m);
        _cleanup_free_ uint8_t *buf = xmalloc(len);

        if (protobuf_c_message_pack(m, buf) != len)
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        Ttrpc__Request *req = NULL;

        if (ttrpc_request_decode(data, size, &req, NULL) == 0) {
                reencode(&req->base);
                Containerd__Task__V2__CreateTaskRequest *ct =
                        containerd__task__v2__create_task_request__unpack(NULL, req->payload.len,
                                                                          req->payload.data);
                if (ct) {
                        reencode(&ct->base);
                        containerd__task__v2__create_task_request__free_unpacked(ct, NULL);
                }
                ttrpc__request__free_unpacked(req, NULL);
        }
        Ttrpc__Response *resp = ttrpc__response__unpack(NULL, size, data);
        if (resp) {
                reencode(&resp->base);
                ttrpc__response__free_unpacked(resp, NULL);
        }
        return 0;
}
