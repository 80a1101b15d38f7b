/* SPDX-License-Identifier: Apache-2.0 */
/*
 * coco-vmm: one VM operation per run, so that the long-lived shim never loads
 * libvirt. One JSON request on stdin, one JSON result on stdout:
 *
 *   {"op": "start", "sandbox": ID, "config": CLASS.json, "run_dir": DIR,
 *    "initdata": ANNOTATION-or-null, "vcpus": N, "memory_mib": N, "netns": PATH-or-null}
 *      with a netns, the answer also has "network": {"interfaces", "routes",
 *      "neighbors"} as the agent's UpdateInterface/UpdateRoutes/AddARPNeighbors take them
 *   {"op": "stop", "sandbox": ID, "config": ..., "timeout_s": N}
 *   {"op": "destroy", "sandbox": ID, "config": ..., "run_dir": DIR}
 *   {"op": "hotplug-disk", "sandbox": ID, "config": ..., "path": P, "slot": N, "readonly": B}
 *   {"op": "unplug-disk", "sandbox": ID, "config": ..., "path": P}
 *   {"op": "inspect", "sandbox": ID, "config": ...}
 *
 *   -> {"ok": true, "elapsed_ms": N, "max_rss_kib": N, "vm": {...}}
 *   -> {"ok": false, "error": {"code": "NotFound", "message": "..."}}   (exit status 1)
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <jansson.h>

#include "class.h"
#include "network.h"
#include "util.h"
#include "version.h"
#include "vmm.h"

static const char *str(json_t *req, const char *key)
{
        json_t *v = json_object_get(req, key);
        return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_int_t num(json_t *req, const char *key)
{
        json_t *v = json_object_get(req, key);
        return json_is_integer(v) ? json_integer_value(v) : 0;
}

static json_t *vm_json(const struct vmm_vm *vm)
{
        json_t *o = json_pack("{s:s, s:i, s:b, s:b}", "name", vm->name ? vm->name : "", "pid",
                              (json_int_t)vm->pid, "running", vm->running, "vsock", vm->vsock);
        if (vm->vsock)
                json_object_set_new(o, "cid", json_integer(vm->cid));
        if (vm->agent_socket)
                json_object_set_new(o, "agent_socket", json_string(vm->agent_socket));
        if (vm->console_log)
                json_object_set_new(o, "console_log", json_string(vm->console_log));
        return o;
}

static int need(const char *v, const char *key, struct coco_error **err)
{
        return v ? 0 : coco_error_set(err, EINVAL, "coco-vmm: the request has no \"%s\"", key);
}

static int run(json_t *req, json_t *out, struct coco_error **err)
{
        const char *op = str(req, "op"), *sandbox = str(req, "sandbox");
        const char *config = str(req, "config");
        _cleanup_(cfg_class_freep) struct cfg_class *c = NULL;
        _cleanup_(vmm_libvirt_closep) struct vmm_libvirt *lv = NULL;
        struct vmm_vm vm = {0};
        int r;

        if ((r = need(op, "op", err)) < 0 || (r = need(sandbox, "sandbox", err)) < 0 ||
            (r = need(config, "config", err)) < 0)
                return r;
        if ((r = cfg_class_load(config, &c, err)) < 0 ||
            (r = vmm_libvirt_open(c->libvirt_uri, &lv, err)) < 0)
                return r;
        const struct vmm_ops *ops = &vmm_libvirt_ops;

        if (strcmp(op, "start") == 0) {
                struct vmm_start s = {
                        .sandbox_id = sandbox,
                        .config_path = config,
                        .run_dir = str(req, "run_dir"),
                        .initdata_annotation = str(req, "initdata"),
                        .netns = str(req, "netns"),
                        .overrides = {(unsigned)num(req, "vcpus"),
                                      (uint64_t)num(req, "memory_mib")},
                };
                if ((r = need(s.run_dir, "run_dir", err)) < 0)
                        return r;
                r = ops->start(lv, &s, &vm, err);
                json_t *net = NULL;
                if (r == 0 && s.netns && (r = vmm_net_describe(s.netns, &net, err)) < 0)
                        (void)ops->destroy(lv, sandbox, s.run_dir, NULL);
                if (net)
                        json_object_set_new(out, "network", net);
        } else if (strcmp(op, "stop") == 0)
                r = ops->stop(lv, sandbox, (unsigned)num(req, "timeout_s"), err);
        else if (strcmp(op, "destroy") == 0)
                r = ops->destroy(lv, sandbox, str(req, "run_dir"), err);
        else if (strcmp(op, "hotplug-disk") == 0) {
                const char *path = str(req, "path");
                if ((r = need(path, "path", err)) < 0)
                        return r;
                r = ops->hotplug_disk(lv, sandbox, path, (unsigned)num(req, "slot"),
                                      json_is_true(json_object_get(req, "readonly")), err);
        } else if (strcmp(op, "unplug-disk") == 0) {
                const char *path = str(req, "path");
                if ((r = need(path, "path", err)) < 0)
                        return r;
                r = ops->unplug_disk(lv, sandbox, path, err);
        } else if (strcmp(op, "inspect") == 0)
                r = ops->inspect(lv, sandbox, &vm, err);
        else
                return coco_error_set(err, EINVAL, "coco-vmm: unknown op \"%s\"", op);
        if (r == 0 && vm.name)
                json_object_set_new(out, "vm", vm_json(&vm));
        vmm_vm_done(&vm);
        return r;
}

int main(int argc, char **argv)
{
        _cleanup_error_ struct coco_error *err = NULL;
        json_error_t je;
        uint64_t t0 = now_monotonic_ns();

        if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0)) {
                printf("coco-vmm %s (%s)\n", COCO_VERSION, COCO_REVISION);
                return 0;
        }
        json_t *out = json_object();
        json_t *req = json_loadf(stdin, JSON_DISABLE_EOF_CHECK, &je);
        int r = req && json_is_object(req)
                        ? run(req, out, &err)
                        : coco_error_set(&err, EINVAL,
                                         "coco-vmm: the request is not a JSON object: "
                                         "%s",
                                         req ? "wrong type" : je.text);
        struct rusage ru;
        json_object_set_new(out, "ok", json_boolean(r == 0));
        if (getrusage(RUSAGE_SELF, &ru) == 0)
                json_object_set_new(out, "max_rss_kib", json_integer(ru.ru_maxrss));
        json_object_set_new(out, "elapsed_ms",
                            json_integer((json_int_t)((now_monotonic_ns() - t0) / NSEC_PER_MSEC)));
        if (r < 0)
                json_object_set_new(out, "error",
                                    json_pack("{s:s, s:i, s:s}", "code",
                                              coco_status_name(coco_error_status(r)), "errno", -r,
                                              "message", coco_error_message(err, r)));
        json_dumpf(out, stdout, JSON_COMPACT);
        printf("\n");
        json_decref(out);
        json_decref(req);
        return r < 0 ? 1 : 0;
}
