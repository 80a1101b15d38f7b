/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the runtime-class config reader and the launch-parameter builder. */
#include <string.h>

#include "launch.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = xmalloc(size + 1);
        struct cfg_class *c = NULL;
        struct cfg_launch l;

        memcpy(text, data, size);
        text[size] = 0;
        if (cfg_class_parse(text, "fuzz.json", &c, NULL) < 0)
                return 0;
        if (c->vcpus == 0 || c->vcpus > c->max_vcpus || c->memory_mib > c->max_memory_mib ||
            !c->kernel || !c->initrd)
                __builtin_trap();
        struct cfg_overrides o = {.vcpus = c->max_vcpus, .memory_mib = c->max_memory_mib};
        if (cfg_launch_build(c, NULL, &o, &l, NULL) == 0) {
                if (l.vcpus != c->max_vcpus)
                        __builtin_trap();
                cfg_launch_done(&l);
        }
        cfg_class_free(c);
        return 0;
}
