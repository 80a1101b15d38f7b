/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the shim's OCI spec conversion (config.json -> the agent's Spec), an
 * exec's process JSON and an Update's LinuxResources JSON. Whatever converts
 * must pack as a protobuf message: the shim sends it to the agent as is.
 * Host bind mounts make the converter stat() host paths, harmless here.
 */
#include <string.h>

#include "shim.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void packs(const ProtobufCMessage *m)
{
        size_t len = protobuf_c_message_get_packed_size(m);
        _cleanup_free_ uint8_t *buf = xmalloc(len ? len : 1);
        if (protobuf_c_message_pack(m, buf) != len)
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct arena *a = NULL;
        Grpc__Spec *spec = NULL;
        struct spec_extra extra;
        struct coco_error *err = NULL;

        if (spec_parse((const char *)data, size, "fuzz", &a, &spec, &extra, &err) == 0) {
                packs(&spec->base);
                for (size_t i = 0; i < extra.n_files; i++)
                        if (strncmp(extra.files[i].guest_path, SPEC_SHARED_DIR "/fuzz-",
                                    strlen(SPEC_SHARED_DIR "/fuzz-")) != 0)
                                __builtin_trap();
                spec_extra_done(&extra);
                arena_free(a);
        }
        coco_error_free(err);
        err = NULL;
        Grpc__Process *p = NULL;
        a = NULL;
        if (spec_process(data, size, &a, &p, &err) == 0) {
                packs(&p->base);
                arena_free(a);
        }
        coco_error_free(err);
        err = NULL;
        Grpc__LinuxResources *res = NULL;
        a = NULL;
        if (spec_resources(data, size, &a, &res, &err) == 0) {
                packs(&res->base);
                arena_free(a);
        }
        coco_error_free(err);
        return 0;
}
