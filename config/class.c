/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include <jansson.h>

#include "class.h"
#include "util.h"

#define MAX_VCPUS      512
#define MAX_MEMORY_MIB (4u * 1024 * 1024)

const char *cfg_tee_name(enum cfg_tee tee)
{
        static const char *const names[] = {"none", "snp", "tdx"};
        return names[tee];
}

void cfg_class_free(struct cfg_class *c)
{
        if (!c)
                return;
        free(c->path);
        free(c->libvirt_uri);
        free(c->firmware);
        free(c->kernel);
        free(c->initrd);
        free(c->kernel_params);
        free(c->vcpu_model);
        free(c->tdx_quote_socket);
        free(c->state_dir);
        free(c->default_initdata);
        free(c);
}

struct ctx {
        const char *file;
        struct coco_error **err;
};

static int bad(struct ctx *x, const char *key, const char *what)
{
        return coco_error_set(x->err, EINVAL, "config \"%s\": key \"%s\": %s", x->file, key, what);
}

static int get_string(struct ctx *x, json_t *obj, const char *key, char **ret)
{
        json_t *v = json_object_get(obj, key);
        if (!v)
                return 0;
        if (!json_is_string(v) || json_string_length(v) == 0)
                return bad(x, key, "must be a non-empty string");
        free(*ret);
        *ret = xstrdup(json_string_value(v));
        return 0;
}

static int get_path(struct ctx *x, json_t *obj, const char *key, char **ret)
{
        int r = get_string(x, obj, key, ret);
        if (r == 0 && *ret && (*ret)[0] != '/')
                return bad(x, key, "must be an absolute path");
        return r;
}

/* A number given as an integer or as a "0x..." / decimal string. */
static int get_u64(struct ctx *x, json_t *obj, const char *key, uint64_t min, uint64_t max,
                   uint64_t *ret)
{
        json_t *v = json_object_get(obj, key);
        uint64_t n;

        if (!v)
                return 0;
        if (json_is_integer(v) && json_integer_value(v) >= 0)
                n = (uint64_t)json_integer_value(v);
        else if (json_is_string(v)) {
                const char *s = json_string_value(v);
                char *end;
                errno = 0;
                n = strtoull(s, &end, 0);
                if (errno || end == s || *end || s[0] == '-')
                        return bad(x, key, "must be a number (an integer or a \"0x...\" string)");
        } else
                return bad(x, key, "must be a non-negative number");
        if (n < min || n > max) {
                _cleanup_free_ char *m =
                        xasprintf("must be between %llu and %llu", (unsigned long long)min,
                                  (unsigned long long)max);
                return bad(x, key, m);
        }
        *ret = n;
        return 0;
}

static int get_unsigned(struct ctx *x, json_t *obj, const char *key, unsigned min, unsigned max,
                        unsigned *ret)
{
        uint64_t v = *ret;
        int r = get_u64(x, obj, key, min, max, &v);
        if (r == 0)
                *ret = (unsigned)v;
        return r;
}

static int get_enum(struct ctx *x, json_t *obj, const char *key, const char *const *names, size_t n,
                    int *ret)
{
        json_t *v = json_object_get(obj, key);
        if (!v)
                return 0;
        for (size_t i = 0; json_is_string(v) && i < n; i++)
                if (strcmp(json_string_value(v), names[i]) == 0) {
                        *ret = (int)i;
                        return 0;
                }
        _cleanup_free_ char *m =
                xasprintf("must be one of %s%s%s%s%s", names[0], n > 1 ? ", " : "",
                          n > 1 ? names[1] : "", n > 2 ? ", " : "", n > 2 ? names[2] : "");
        return bad(x, key, m);
}

/* Every key of obj must be in allowed (NULL-terminated). */
static int only_keys(struct ctx *x, json_t *obj, const char *prefix, const char *const *allowed)
{
        const char *key;
        json_t *v;

        json_object_foreach(obj, key, v)
        {
                bool ok = false;
                for (size_t i = 0; allowed[i] && !ok; i++)
                        ok = strcmp(key, allowed[i]) == 0;
                if (!ok) {
                        _cleanup_free_ char *full = xasprintf("%s%s", prefix, key);
                        return bad(x, full, "unknown key; see docs/configuration.md");
                }
        }
        return 0;
}

static int section(struct ctx *x, json_t *root, const char *name, const char *const *allowed,
                   json_t **ret)
{
        json_t *s = json_object_get(root, name);
        *ret = NULL;
        if (!s)
                return 0;
        if (!json_is_object(s))
                return bad(x, name, "must be an object");
        _cleanup_free_ char *prefix = xasprintf("%s.", name);
        int r = only_keys(x, s, prefix, allowed);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

static void defaults(struct cfg_class *c)
{
        c->tee = CFG_TEE_NONE;
        c->libvirt_uri = xstrdup("qemu:///system");
        c->accelerator = CFG_ACCEL_KVM;
        c->kernel_params = xstrdup("");
        c->vcpus = 1;
        c->max_vcpus = 8;
        c->memory_mib = 2048;
        c->max_memory_mib = 16384;
        c->snp_policy = 0x30000;
        c->snp_guest_features = 0x1;
        c->snp_cbitpos = 51;
        c->snp_reduced_phys_bits = 1;
        c->tdx_attributes = 0x10000000; /* SEPT_VE_DISABLE */
        c->transport = CFG_TRANSPORT_AUTO;
        c->dial_timeout_s = 30;
        c->create_timeout_s = 120;
        c->state_dir = xstrdup("/run/coco");
}

static int fill(struct ctx *x, json_t *root, struct cfg_class *c)
{
        static const char *const top[] = {
                "tee",
                "libvirt_uri",
                "accelerator",
                "firmware",
                "kernel",
                "initrd",
                "kernel_params",
                "vcpus",
                "max_vcpus",
                "memory_mib",
                "max_memory_mib",
                "vcpu_model",
                "snp",
                "tdx",
                "agent",
                "state_dir",
                "default_initdata",
                NULL,
        };
        static const char *const snp_keys[] = {"policy", "guest_features", "cbitpos",
                                               "reduced_phys_bits", NULL};
        static const char *const tdx_keys[] = {"attributes", "quote_generation_socket", NULL};
        static const char *const agent_keys[] = {"transport", "dial_timeout_s", "create_timeout_s",
                                                 NULL};
        static const char *const tees[] = {"none", "snp", "tdx"};
        static const char *const accels[] = {"kvm", "tcg"};
        static const char *const transports[] = {"auto", "vsock", "virtio-serial"};
        json_t *snp, *tdx, *agent;
        int tee = CFG_TEE_NONE, accel = CFG_ACCEL_KVM, transport = CFG_TRANSPORT_AUTO;
        int r;

        if ((r = only_keys(x, root, "", top)) < 0 ||
            (r = section(x, root, "snp", snp_keys, &snp)) < 0 ||
            (r = section(x, root, "tdx", tdx_keys, &tdx)) < 0 ||
            (r = section(x, root, "agent", agent_keys, &agent)) < 0)
                return r;
        if (!json_object_get(root, "tee"))
                return bad(x, "tee", "is required (snp, tdx or none)");
        if ((r = get_enum(x, root, "tee", tees, 3, &tee)) < 0 ||
            (r = get_enum(x, root, "accelerator", accels, 2, &accel)) < 0 ||
            (r = get_string(x, root, "libvirt_uri", &c->libvirt_uri)) < 0 ||
            (r = get_path(x, root, "firmware", &c->firmware)) < 0 ||
            (r = get_path(x, root, "kernel", &c->kernel)) < 0 ||
            (r = get_path(x, root, "initrd", &c->initrd)) < 0 ||
            (r = get_path(x, root, "state_dir", &c->state_dir)) < 0 ||
            (r = get_path(x, root, "default_initdata", &c->default_initdata)) < 0 ||
            (r = get_string(x, root, "vcpu_model", &c->vcpu_model)) < 0 ||
            (r = get_unsigned(x, root, "max_vcpus", 1, MAX_VCPUS, &c->max_vcpus)) < 0 ||
            (r = get_unsigned(x, root, "vcpus", 1, MAX_VCPUS, &c->vcpus)) < 0 ||
            (r = get_u64(x, root, "max_memory_mib", 64, MAX_MEMORY_MIB, &c->max_memory_mib)) < 0 ||
            (r = get_u64(x, root, "memory_mib", 64, MAX_MEMORY_MIB, &c->memory_mib)) < 0)
                return r;
        json_t *kp = json_object_get(root, "kernel_params");
        if (kp && !json_is_string(kp))
                return bad(x, "kernel_params", "must be a string");
        if (kp) {
                free(c->kernel_params);
                c->kernel_params = xstrdup(json_string_value(kp));
        }
        if (snp &&
            ((r = get_u64(x, snp, "policy", 0, UINT64_MAX, &c->snp_policy)) < 0 ||
             (r = get_u64(x, snp, "guest_features", 0, UINT64_MAX, &c->snp_guest_features)) < 0 ||
             (r = get_unsigned(x, snp, "cbitpos", 32, 63, &c->snp_cbitpos)) < 0 ||
             (r = get_unsigned(x, snp, "reduced_phys_bits", 0, 63, &c->snp_reduced_phys_bits)) < 0))
                return r;
        if (tdx && ((r = get_u64(x, tdx, "attributes", 0, UINT64_MAX, &c->tdx_attributes)) < 0 ||
                    (r = get_path(x, tdx, "quote_generation_socket", &c->tdx_quote_socket)) < 0))
                return r;
        if (agent &&
            ((r = get_enum(x, agent, "transport", transports, 3, &transport)) < 0 ||
             (r = get_unsigned(x, agent, "dial_timeout_s", 1, 3600, &c->dial_timeout_s)) < 0 ||
             (r = get_unsigned(x, agent, "create_timeout_s", 1, 3600, &c->create_timeout_s)) < 0))
                return r;
        c->tee = (enum cfg_tee)tee;
        c->accelerator = (enum cfg_accel)accel;
        c->transport = (enum cfg_transport)transport;

        /* cross-field rules */
        if (c->vcpus > c->max_vcpus)
                return bad(x, "vcpus", "is larger than max_vcpus");
        if (c->memory_mib > c->max_memory_mib)
                return bad(x, "memory_mib", "is larger than max_memory_mib");
        if (!c->kernel)
                return bad(x, "kernel", "is required: the guest kernel to boot directly");
        if (!c->initrd)
                return bad(x, "initrd", "is required: the guest initramfs with the agent");
        if (c->tee != CFG_TEE_NONE) {
                if (!c->firmware)
                        return bad(x, "firmware",
                                   "is required for a confidential class (a "
                                   "measured OVMF build)");
                if (c->accelerator != CFG_ACCEL_KVM)
                        return bad(x, "accelerator", "must be kvm for a confidential class");
                if (!c->vcpu_model && c->tee == CFG_TEE_SNP)
                        return bad(x, "vcpu_model",
                                   "is required for snp: it is part of the launch "
                                   "measurement (e.g. \"EPYC-v4\")");
        }
        if (snp && c->tee != CFG_TEE_SNP)
                return bad(x, "snp", "is only allowed when tee is \"snp\"");
        if (tdx && c->tee != CFG_TEE_TDX)
                return bad(x, "tdx", "is only allowed when tee is \"tdx\"");
        return 0;
}

static int from_root(json_t *root, const json_error_t *je, const char *name, struct cfg_class **ret,
                     struct coco_error **err)
{
        _cleanup_(cfg_class_freep) struct cfg_class *c = NULL;
        struct ctx x = {.file = name, .err = err};

        if (!root)
                return coco_error_set(err, EINVAL, "config \"%s\": line %d, column %d: %s", name,
                                      je->line, je->column, je->text);
        if (!json_is_object(root))
                return coco_error_set(err, EINVAL, "config \"%s\": must be a JSON object", name);
        c = xcalloc(1, sizeof(*c));
        c->path = xstrdup(name);
        defaults(c);
        int r = fill(&x, root, c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int cfg_class_parse(const char *json, const char *name, struct cfg_class **ret,
                    struct coco_error **err)
{
        json_error_t je;
        _cleanup_(json_decrefp) json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
        return from_root(root, &je, name, ret, err);
}

int cfg_class_load(const char *path, struct cfg_class **ret, struct coco_error **err)
{
        json_error_t je;
        FILE *f = fopen(path, "re");

        if (!f)
                return coco_error_set(err, errno, "config \"%s\": %s", path, strerror(errno));
        _cleanup_(json_decrefp) json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
        fclose(f);
        return from_root(root, &je, path, ret, err);
}
