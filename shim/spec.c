/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bundle's OCI config.json as the agent's Spec message. Everything the
 * message points to lives in an arena freed at once. Nothing of the host is
 * shared with the guest, so host bind mounts change: a small regular file
 * (resolv.conf, hosts, hostname under CRI) is copied into the guest and
 * bind-mounted from there; a /dev/shm directory becomes a tmpfs; other host
 * directories are left out.
 */
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "log.h"
#include "shim.h"
#include "util.h"

struct arena {
        void **p;
        size_t n;
};

static void *keep(struct arena *a, void *ptr)
{
        a->p = xrealloc(a->p, (a->n + 1) * sizeof(void *));
        a->p[a->n++] = ptr;
        return ptr;
}

static void *aalloc(struct arena *a, size_t size)
{
        return keep(a, xcalloc(1, size));
}

static char *astr(struct arena *a, json_t *v)
{
        return json_is_string(v) ? keep(a, xstrdup(json_string_value(v))) : "";
}

static char **astrv(struct arena *a, json_t *arr, size_t *ret_n)
{
        size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
        char **v = aalloc(a, (n + 1) * sizeof(char *));
        for (size_t i = 0; i < n; i++)
                v[i] = astr(a, json_array_get(arr, i));
        *ret_n = n;
        return v;
}

void arena_free(struct arena *a)
{
        if (!a)
                return;
        for (size_t i = 0; i < a->n; i++)
                free(a->p[i]);
        free(a->p);
        free(a);
}

static Grpc__Process *process(struct arena *a, json_t *p)
{
        Grpc__Process *out = aalloc(a, sizeof(*out));
        Grpc__User *u = aalloc(a, sizeof(*u));
        json_t *user = json_object_get(p, "user"), *caps = json_object_get(p, "capabilities");

        grpc__process__init(out);
        grpc__user__init(u);
        out->terminal = json_is_true(json_object_get(p, "terminal"));
        u->uid = (uint32_t)json_integer_value(json_object_get(user, "uid"));
        u->gid = (uint32_t)json_integer_value(json_object_get(user, "gid"));
        json_t *gids = json_object_get(user, "additionalGids");
        u->n_additionalgids = json_is_array(gids) ? json_array_size(gids) : 0;
        u->additionalgids = aalloc(a, (u->n_additionalgids + 1) * sizeof(uint32_t));
        for (size_t i = 0; i < u->n_additionalgids; i++)
                u->additionalgids[i] = (uint32_t)json_integer_value(json_array_get(gids, i));
        out->user = u;
        out->args = astrv(a, json_object_get(p, "args"), &out->n_args);
        out->env = astrv(a, json_object_get(p, "env"), &out->n_env);
        out->cwd = astr(a, json_object_get(p, "cwd"));
        out->nonewprivileges = json_is_true(json_object_get(p, "noNewPrivileges"));
        if (json_is_object(caps)) {
                Grpc__LinuxCapabilities *c = aalloc(a, sizeof(*c));
                grpc__linux_capabilities__init(c);
                c->bounding = astrv(a, json_object_get(caps, "bounding"), &c->n_bounding);
                c->effective = astrv(a, json_object_get(caps, "effective"), &c->n_effective);
                c->inheritable = astrv(a, json_object_get(caps, "inheritable"), &c->n_inheritable);
                c->permitted = astrv(a, json_object_get(caps, "permitted"), &c->n_permitted);
                c->ambient = astrv(a, json_object_get(caps, "ambient"), &c->n_ambient);
                out->capabilities = c;
        }
        json_t *rl = json_object_get(p, "rlimits");
        out->n_rlimits = json_is_array(rl) ? json_array_size(rl) : 0;
        out->rlimits = aalloc(a, (out->n_rlimits + 1) * sizeof(void *));
        for (size_t i = 0; i < out->n_rlimits; i++) {
                json_t *r = json_array_get(rl, i);
                Grpc__POSIXRlimit *x = aalloc(a, sizeof(*x));
                grpc__posixrlimit__init(x);
                x->type = astr(a, json_object_get(r, "type"));
                x->hard = (uint64_t)json_integer_value(json_object_get(r, "hard"));
                x->soft = (uint64_t)json_integer_value(json_object_get(r, "soft"));
                out->rlimits[i] = x;
        }
        return out;
}

static Grpc__Mount *mount_new(struct arena *a, Grpc__Spec *spec, json_t *m)
{
        Grpc__Mount *x = aalloc(a, sizeof(*x));
        grpc__mount__init(x);
        x->destination = astr(a, json_object_get(m, "destination"));
        x->type = astr(a, json_object_get(m, "type"));
        x->source = astr(a, json_object_get(m, "source"));
        x->options = astrv(a, json_object_get(m, "options"), &x->n_options);
        spec->mounts[spec->n_mounts++] = x;
        return x;
}

/* A host bind mount: copy a small file, make /dev/shm a tmpfs, leave other directories out. */
static void host_bind(struct arena *a, Grpc__Spec *spec, json_t *m, const char *id,
                      struct spec_extra *extra)
{
        const char *dst = json_string_value(json_object_get(m, "destination"));
        const char *src = json_string_value(json_object_get(m, "source"));
        struct stat st;

        if (!dst || !src || stat(src, &st) < 0) {
                log_warn("host bind mount %s: source %s is missing; left out", dst ? dst : "?",
                         src ? src : "?");
                return;
        }
        if (S_ISDIR(st.st_mode) && strcmp(dst, "/dev/shm") == 0) {
                Grpc__Mount *x = mount_new(a, spec, m);
                static char *shm_opts[] = {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"};
                x->type = x->source = "tmpfs";
                x->options = shm_opts;
                x->n_options = ELEMENTSOF(shm_opts);
                return;
        }
        if (!S_ISREG(st.st_mode) || st.st_size > SPEC_FILE_MAX ||
            extra->n_files == SPEC_FILES_MAX) {
                log_info("not passing host %s %s (for %s) into the VM: only regular files up "
                         "to %d KiB are copied",
                         S_ISDIR(st.st_mode) ? "directory" : "file", src, dst,
                         SPEC_FILE_MAX / 1024);
                return;
        }
        _cleanup_free_ char *copy = xstrdup(src);
        struct spec_file *f = &extra->files[extra->n_files];
        f->host_path = xstrdup(src);
        f->guest_path = xasprintf(SPEC_SHARED_DIR "/%s-%zu-%s", id, extra->n_files, basename(copy));
        extra->n_files++;
        Grpc__Mount *x = mount_new(a, spec, m);
        x->source = keep(a, xstrdup(f->guest_path));
}

static void mounts(struct arena *a, json_t *arr, Grpc__Spec *spec, const char *id,
                   struct spec_extra *extra)
{
        size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
        spec->mounts = aalloc(a, (n + 1) * sizeof(void *));
        for (size_t i = 0; i < n; i++) {
                json_t *m = json_array_get(arr, i);
                const char *type = json_string_value(json_object_get(m, "type"));
                if (!type || strcmp(type, "bind") == 0)
                        host_bind(a, spec, m, id, extra);
                else
                        (void)mount_new(a, spec, m);
        }
}

void spec_extra_done(struct spec_extra *e)
{
        free(e->annotations_json);
        free(e->netns);
        for (size_t i = 0; i < e->n_files; i++) {
                free(e->files[i].host_path);
                free(e->files[i].guest_path);
        }
        *e = (struct spec_extra){0};
}

/* OCI LinuxResources: the memory, CPU and pids limits the guest's cgroup applies. */
static Grpc__LinuxResources *resources(struct arena *a, json_t *res)
{
        Grpc__LinuxResources *r = aalloc(a, sizeof(*r));
        grpc__linux_resources__init(r);
        json_t *mem = json_object_get(res, "memory"), *cpu = json_object_get(res, "cpu");
        json_t *pids = json_object_get(res, "pids");
        if (json_is_object(mem)) {
                r->memory = aalloc(a, sizeof(*r->memory));
                grpc__linux_memory__init(r->memory);
                r->memory->limit = json_integer_value(json_object_get(mem, "limit"));
        }
        if (json_is_object(cpu)) {
                r->cpu = aalloc(a, sizeof(*r->cpu));
                grpc__linux_cpu__init(r->cpu);
                r->cpu->shares = (uint64_t)json_integer_value(json_object_get(cpu, "shares"));
                r->cpu->quota = json_integer_value(json_object_get(cpu, "quota"));
                r->cpu->period = (uint64_t)json_integer_value(json_object_get(cpu, "period"));
        }
        if (json_is_object(pids)) {
                r->pids = aalloc(a, sizeof(*r->pids));
                grpc__linux_pids__init(r->pids);
                r->pids->limit = json_integer_value(json_object_get(pids, "limit"));
        }
        return r;
}

int spec_resources(const uint8_t *json, size_t len, struct arena **ret_arena,
                   Grpc__LinuxResources **ret, struct coco_error **err)
{
        json_error_t je;
        json_t *res = json_loadb((const char *)json, len, 0, &je);
        if (!json_is_object(res)) {
                json_decref(res);
                return coco_error_set(err, EINVAL,
                                      "the task's new resources are not an OCI LinuxResources "
                                      "JSON object");
        }
        struct arena *a = xcalloc(1, sizeof(*a));
        *ret = resources(a, res);
        json_decref(res);
        *ret_arena = a;
        return 0;
}

static Grpc__Linux *linux_section(struct arena *a, json_t *l)
{
        Grpc__Linux *out = aalloc(a, sizeof(*out));
        json_t *res = json_object_get(l, "resources");

        grpc__linux__init(out);
        out->maskedpaths = astrv(a, json_object_get(l, "maskedPaths"), &out->n_maskedpaths);
        out->readonlypaths = astrv(a, json_object_get(l, "readonlyPaths"), &out->n_readonlypaths);
        /*
         * Namespaces by type only: host paths mean nothing in the guest, and the
         * network namespace is the VM's own, which every container of the pod shares.
         */
        json_t *nss = json_object_get(l, "namespaces"), *ns;
        size_t i;
        out->namespaces = aalloc(a, (json_array_size(nss) + 1) * sizeof(void *));
        json_array_foreach(nss, i, ns)
        {
                const char *type = json_string_value(json_object_get(ns, "type"));
                if (!type || strcmp(type, "network") == 0)
                        continue;
                Grpc__LinuxNamespace *n = aalloc(a, sizeof(*n));
                grpc__linux_namespace__init(n);
                n->type = keep(a, xstrdup(type));
                out->namespaces[out->n_namespaces++] = n;
        }
        if (json_is_object(res))
                out->resources = resources(a, res);
        return out;
}

/* The path of the spec's network namespace (CNI's, under CRI), or NULL. */
static char *netns_path(json_t *linux_json)
{
        json_t *ns;
        size_t i;
        json_array_foreach(json_object_get(linux_json, "namespaces"), i, ns)
        {
                const char *type = json_string_value(json_object_get(ns, "type"));
                const char *path = json_string_value(json_object_get(ns, "path"));
                if (type && strcmp(type, "network") == 0 && path && *path)
                        return xstrdup(path);
        }
        return NULL; /* a new, empty namespace: the VM gets no interface */
}

/* Takes cfg's reference. */
static int spec_from_json(json_t *cfg, const char *path, const char *id, struct arena **ret_arena,
                          Grpc__Spec **ret_spec, struct spec_extra *extra, struct coco_error **err)
{
        if (!json_is_object(cfg)) {
                json_decref(cfg);
                return coco_error_set(err, EINVAL, "OCI spec %s is not a JSON object", path);
        }
        json_t *proc = json_object_get(cfg, "process");
        if (!json_is_object(proc) || !json_is_array(json_object_get(proc, "args")) ||
            json_array_size(json_object_get(proc, "args")) == 0) {
                json_decref(cfg);
                return coco_error_set(err, EINVAL, "OCI spec %s has no process args", path);
        }
        struct arena *a = xcalloc(1, sizeof(*a));
        Grpc__Spec *spec = aalloc(a, sizeof(*spec));
        grpc__spec__init(spec);
        spec->version = astr(a, json_object_get(cfg, "ociVersion"));
        spec->hostname = astr(a, json_object_get(cfg, "hostname"));
        spec->process = process(a, proc);
        spec->root = aalloc(a, sizeof(*spec->root));
        grpc__root__init(spec->root);
        spec->root->readonly =
                json_is_true(json_object_get(json_object_get(cfg, "root"), "readonly"));
        *extra = (struct spec_extra){0};
        mounts(a, json_object_get(cfg, "mounts"), spec, id, extra);
        json_t *ann = json_object_get(cfg, "annotations");
        spec->annotations = aalloc(a, (json_object_size(ann) + 1) * sizeof(void *));
        const char *k;
        json_t *v;
        json_object_foreach(ann, k, v)
        {
                Grpc__Spec__AnnotationsEntry *e = aalloc(a, sizeof(*e));
                grpc__spec__annotations_entry__init(e);
                e->key = keep(a, xstrdup(k));
                e->value = astr(a, v);
                spec->annotations[spec->n_annotations++] = e;
        }
        json_t *l = json_object_get(cfg, "linux");
        if (json_is_object(l))
                spec->linux = linux_section(a, l);
        extra->netns = netns_path(l);
        extra->annotations_json = ann ? json_dumps(ann, JSON_COMPACT) : NULL;
        json_decref(cfg);
        *ret_arena = a;
        *ret_spec = spec;
        return 0;
}

int spec_load(const char *bundle, const char *id, struct arena **ret_arena, Grpc__Spec **ret_spec,
              struct spec_extra *extra, struct coco_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
        json_error_t je;
        json_t *cfg = json_load_file(path, 0, &je);
        if (!cfg)
                return coco_error_set(err, EINVAL, "OCI spec %s: line %d: %s", path, je.line,
                                      je.text);
        return spec_from_json(cfg, path, id, ret_arena, ret_spec, extra, err);
}

int spec_parse(const char *text, size_t len, const char *id, struct arena **ret_arena,
               Grpc__Spec **ret_spec, struct spec_extra *extra, struct coco_error **err)
{
        json_error_t je;
        json_t *cfg = json_loadb(text, len, 0, &je);
        if (!cfg)
                return coco_error_set(err, EINVAL, "OCI spec: line %d: %s", je.line, je.text);
        return spec_from_json(cfg, "config.json", id, ret_arena, ret_spec, extra, err);
}

int spec_process(const uint8_t *json, size_t len, struct arena **ret_arena, Grpc__Process **ret,
                 struct coco_error **err)
{
        json_error_t je;
        json_t *p = json_loadb((const char *)json, len, 0, &je);
        if (!p || !json_is_array(json_object_get(p, "args")) ||
            json_array_size(json_object_get(p, "args")) == 0) {
                json_decref(p);
                return coco_error_set(err, EINVAL,
                                      "the exec's process spec is not valid JSON with "
                                      "args%s%s",
                                      p ? "" : ": ", p ? "" : je.text);
        }
        struct arena *a = xcalloc(1, sizeof(*a));
        *ret = process(a, p);
        json_decref(p);
        *ret_arena = a;
        return 0;
}

const char *spec_annotation(const Grpc__Spec *spec, const char *key)
{
        for (size_t i = 0; i < spec->n_annotations; i++)
                if (strcmp(spec->annotations[i]->key, key) == 0)
                        return spec->annotations[i]->value;
        return NULL;
}
