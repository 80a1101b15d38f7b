/* SPDX-License-Identifier: Apache-2.0 */
#include <libgen.h>
#include <string.h>

#include <jansson.h>

#include "launch.h"
#include "macro.h"
#include "util.h"

/* CPUID Fn0000_0001_EAX: family, model and stepping with their extended fields. */
static uint32_t cpu_sig(unsigned family, unsigned model, unsigned stepping)
{
        unsigned fam_low = family > 0xf ? 0xf : family;
        unsigned fam_high = family > 0xf ? (family - 0xf) & 0xff : 0;

        return fam_high << 20 | (model >> 4 & 0xf) << 16 | fam_low << 8 | (model & 0xf) << 4 |
               (stepping & 0xf);
}

int cfg_vcpu_sig(const char *type, uint32_t *ret)
{
        static const struct {
                const char *name;
                unsigned family, model, stepping;
        } cpus[] = {
                {"EPYC", 23, 1, 2},       {"EPYC-IBPB", 23, 1, 2},   {"EPYC-Rome", 23, 49, 0},
                {"EPYC-Milan", 25, 1, 1}, {"EPYC-Genoa", 25, 17, 0}, {"EPYC-Turin", 26, 0, 0},
        };
        /* a "-vN" version suffix names the same CPU model */
        size_t n = strlen(type);
        const char *v = strrchr(type, '-');
        if (v && v[1] == 'v' && v[2] && strspn(v + 2, "0123456789") == strlen(v + 2))
                n = (size_t)(v - type);
        for (size_t i = 0; i < ELEMENTSOF(cpus); i++)
                if (strlen(cpus[i].name) == n && strncmp(cpus[i].name, type, n) == 0) {
                        *ret = cpu_sig(cpus[i].family, cpus[i].model, cpus[i].stepping);
                        return 0;
                }
        return -ENOENT;
}

/* The image's own kernel parameters, from manifest.json beside the initrd; NULL when none. */
static int image_cmdline(const char *initrd, char **ret, struct coco_error **err)
{
        _cleanup_free_ char *copy = xstrdup(initrd);
        _cleanup_free_ char *path = xasprintf("%s/manifest.json", dirname(copy));
        json_error_t je;

        *ret = NULL;
        if (access(path, F_OK) < 0)
                return 0;
        json_t *m = json_load_file(path, 0, &je);
        if (!m)
                return coco_error_set(err, EINVAL, "guest image manifest \"%s\": %s", path,
                                      je.text);
        json_t *c = json_object_get(m, "cmdline");
        int r = 0;
        if (c && !json_is_string(c))
                r = coco_error_set(err, EINVAL,
                                   "guest image manifest \"%s\": cmdline is not a "
                                   "string",
                                   path);
        else if (c && json_string_length(c))
                *ret = xstrdup(json_string_value(c));
        json_decref(m);
        return r;
}

void cfg_launch_done(struct cfg_launch *l)
{
        free(l->cmdline);
        l->cmdline = NULL;
}

int cfg_launch_build(const struct cfg_class *c, const struct initdata *id,
                     const struct cfg_overrides *o, struct cfg_launch *ret, struct coco_error **err)
{
        struct cfg_launch l = {
                .cls = c,
                .vcpus = c->vcpus,
                .memory_mib = c->memory_mib,
        };
        _cleanup_free_ char *image = NULL;
        int r = image_cmdline(c->initrd, &image, err);
        if (r < 0)
                return r;

        if (o && o->vcpus) {
                if (o->vcpus > c->max_vcpus)
                        return coco_error_set(err, EINVAL,
                                              "the pod asks for %u vCPUs; class \"%s\" allows at "
                                              "most %u (max_vcpus)",
                                              o->vcpus, c->path, c->max_vcpus);
                l.vcpus = o->vcpus;
        }
        if (o && o->memory_mib) {
                if (o->memory_mib > c->max_memory_mib || o->memory_mib < 64)
                        return coco_error_set(err, EINVAL,
                                              "the pod asks for %llu MiB of memory; class \"%s\" "
                                              "allows 64 to %llu MiB (max_memory_mib)",
                                              (unsigned long long)o->memory_mib, c->path,
                                              (unsigned long long)c->max_memory_mib);
                l.memory_mib = o->memory_mib;
        }
        if (c->tee == CFG_TEE_SNP && cfg_vcpu_sig(c->vcpu_model, &l.vcpu_sig) < 0)
                return coco_error_set(err, EINVAL,
                                      "config \"%s\": vcpu_model \"%s\" has no known CPUID "
                                      "signature, so its launch cannot be measured; use an EPYC "
                                      "model",
                                      c->path, c->vcpu_model);
        l.cmdline = xasprintf("%s%s%s", c->kernel_params, *c->kernel_params && image ? " " : "",
                              image ? image : "");
        if (id) {
                l.has_initdata = true;
                initdata_launch_field(id, l.host_data, sizeof(l.host_data));
                initdata_launch_field(id, l.mrconfigid, sizeof(l.mrconfigid));
        }
        *ret = l;
        return 0;
}
