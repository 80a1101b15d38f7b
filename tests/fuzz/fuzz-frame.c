/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the ttRPC frame decoder as a stream: split frames off the input the
 * way a connection reader does, decode request envelopes, and write every
 * frame back through the encoder to check that the header round-trips.
 */
#include <string.h>

#include "ttrpc.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        while (size > 0) {
                _cleanup_error_ struct coco_error *err = NULL;
                struct ttrpc_header h;
                const uint8_t *payload;
                size_t used;
                uint8_t again[TTRPC_HEADER_SIZE];

                int r = ttrpc_frame_parse(data, size, &h, &payload, &used, &err);
                if (r < 0)
                        break; /* incomplete or malformed: a reader closes here */
                if (used < TTRPC_HEADER_SIZE || used > size || h.length > TTRPC_MAX_PAYLOAD)
                        __builtin_trap();
                ttrpc_header_encode(&h, again);
                if (memcmp(again, data, TTRPC_HEADER_SIZE) != 0)
                        __builtin_trap();
                if (h.type == TTRPC_TYPE_REQUEST) {
                        Ttrpc__Request *req = NULL;
                        if (ttrpc_request_decode(payload, h.length, &req, NULL) == 0) {
                                (void)ttrpc_request_metadata(req, TTRPC_NAMESPACE_KEY);
                                ttrpc__request__free_unpacked(req, NULL);
                        }
                }
                data += used;
                size -= used;
        }
        return 0;
}
