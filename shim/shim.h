/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd-shim-coco-v2: one long-lived process per pod. It serves
 * containerd's task service over ttRPC, starts the pod's VM through the
 * coco-vmm helper (it never loads libvirt) and relays every container
 * operation to the agent in the VM.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "class.h"
#include "error.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb-c.h"
#include "kata/agent.pb-c.h"
#include "ttrpc.h"
#include "vmm.h"

#define SHIM_STATE_FILE "coco-shim.json" /* in the bundle: what delete needs after a crash */

enum task_status { TASK_CREATED, TASK_RUNNING, TASK_STOPPED };

/* A process of a task: its init (exec_id "") or an exec. */
struct proc {
        struct proc *next;
        struct task *task;
        char *exec_id;
        char *stdin_path, *stdout_path, *stderr_path;
        int stdin_fd; /* read end, opened when the process is created so no input is lost */
        bool terminal;
        Grpc__Process *spec; /* execs: kept until Start */
        struct arena *arena;
        enum task_status status;
        uint32_t exit_status;
        uint64_t exited_at_ns;
        pthread_t io[3];
        bool io_started[3];
        pthread_t waiter;
        bool waiter_started;
};

struct task {
        struct task *next;
        char *id;
        char *bundle;
        char *image;   /* the rootfs disk image on the host */
        unsigned slot; /* its PCI slot */
        struct proc init;
        struct proc *execs;
};

struct sandbox {
        char *id;
        char *config_path;
        struct cfg_class *cls;
        char *run_dir;
        struct vmm_vm vm;
        struct ttrpc_client *agent;
        unsigned next_slot;
        pthread_t oom;
        bool oom_started;
        pthread_t watch; /* QEMU's pidfd */
        bool watch_started;
        int watch_stop; /* eventfd that ends the watch at teardown */
};

struct shim {
        char *ns;
        char *address;       /* containerd's gRPC address */
        char *ttrpc_address; /* containerd's ttRPC address, for events */
        char *self_dir;      /* where this binary and coco-vmm live */
        char *socket;        /* our listening socket, removed at exit */
        struct ttrpc_server *server;
        pthread_mutex_t lock;
        pthread_cond_t changed;
        pthread_mutex_t events_lock;
        struct ttrpc_client *events;
        struct sandbox *sandbox;
        struct task *tasks;
};

/* service.c */
void shim_register(struct shim *s);

/* sandbox.c: the VM and the agent connection. */
/* Pod annotations that size the VM (kata's names), bounded by the class. */
#define ANNOTATION_VCPUS  "io.katacontainers.config.hypervisor.default_vcpus"
#define ANNOTATION_MEMORY "io.katacontainers.config.hypervisor.default_memory"
struct sandbox_params {
        const char *id;
        const char *config_path;
        const char *initdata; /* the pod's annotation, or NULL */
        struct cfg_overrides sizes;
        const char *netns;    /* the pod's network namespace, or NULL for none */
        const char *hostname; /* the pod's, or NULL for the sandbox id */
};
int sandbox_ensure(struct shim *s, const struct sandbox_params *p, struct coco_error **err);
void sandbox_teardown(struct shim *s);
int agent_call(struct shim *s, const char *method, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **ret,
               uint64_t timeout_ns, struct coco_error **err);
/*
 * Run coco-vmm with a JSON request; ret_vm (may be NULL) gets the VM it
 * reports, ret_network (may be NULL) the pod network it describes.
 */
int vmm_helper(struct shim *s, const char *request, struct vmm_vm *ret_vm, json_t **ret_network,
               struct coco_error **err);

/* network.c: the pod's interfaces, routes and neighbours (coco-vmm's description) to the agent. */
int network_apply(struct shim *s, json_t *network, struct coco_error **err);
char *default_config_path(const char *self_dir);

/* rootfs.c: containerd's mounts -> a read-only ext4 image. */
int rootfs_image(const char *bundle, const Containerd__Types__Mount *const *mounts, size_t n,
                 const char *image, struct coco_error **err);

/* spec.c: the bundle's config.json as the agent's OCI Spec. */
struct arena;
/* Where the agent keeps copied host files (Kata's directory; the agent allows only it). */
#define SPEC_SHARED_DIR "/run/kata-containers/shared/containers"
#define SPEC_FILE_MAX   (1024 * 1024)
#define SPEC_FILES_MAX  16
struct spec_file {
        char *host_path;
        char *guest_path; /* SPEC_SHARED_DIR/<id>-<n>-<name> */
};
/* What config.json says about the host rather than the guest. */
struct spec_extra {
        char *annotations_json;
        char *netns; /* the network namespace's path, if the spec names one */
        struct spec_file files[SPEC_FILES_MAX]; /* host files to copy in before CreateContainer */
        size_t n_files;
};
void spec_extra_done(struct spec_extra *e);
int spec_load(const char *bundle, const char *id, struct arena **ret_arena, Grpc__Spec **ret_spec,
              struct spec_extra *extra, struct coco_error **err);
/* The same from config.json's text (the fuzz target's entry). */
int spec_parse(const char *text, size_t len, const char *id, struct arena **ret_arena,
               Grpc__Spec **ret_spec, struct spec_extra *extra, struct coco_error **err);
void arena_free(struct arena *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct arena *, arena_free)
const char *spec_annotation(const Grpc__Spec *spec, const char *key);

/* spec.c: a task's new resources (the Any in UpdateTaskRequest: OCI LinuxResources JSON). */
int spec_resources(const uint8_t *json, size_t len, struct arena **ret_arena,
                   Grpc__LinuxResources **ret, struct coco_error **err);

/* spec.c: an exec's process JSON (the Any in ExecProcessRequest.spec). */
int spec_process(const uint8_t *json, size_t len, struct arena **ret_arena, Grpc__Process **ret,
                 struct coco_error **err);

/* io.c */
/* Open the stdin fifo's read end now (when the process is created). */
void io_open_stdin(struct proc *p);
void io_start(struct shim *s, struct proc *p);
void io_join(struct proc *p);

/* events.c */
void event_publish(struct shim *s, const char *topic, const ProtobufCMessage *event,
                   const char *type_url);
