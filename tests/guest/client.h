/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include "kata/agent.pb-c.h"
#include "ttrpc.h"

#define AGENT "grpc.AgentService"
#define SEC   NSEC_PER_SEC

extern struct ttrpc_client *cl;
extern const char *rootfs_pci, *rootfs_dir;
extern unsigned passed, failed;
extern const char *extra_mount; /* a tmpfs mount added to every container when set */

struct ctr {
        Grpc__CreateContainerRequest req;
        Grpc__Spec spec;
        Grpc__Process proc;
        Grpc__Root root;
        Grpc__User user;
        Grpc__Storage storage, *storages[1];
        Grpc__Mount *mounts[5];
        char root_path[128];
        char *args[8];
};

void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int call(const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rd,
         ProtobufCMessage **resp, uint64_t timeout, struct coco_error **err);
void process_init(Grpc__Process *p, Grpc__User *u, char **args, bool terminal);
/* A container request for id running args, on the rootfs given on the command line. */
void ctr_init(struct ctr *c, const char *id, const char *const *args);
void ctr_free(struct ctr *c);
int create(struct ctr *c, struct coco_error **err);
int start(const char *id);
char *read_all_stream(const char *id, const char *exec, bool is_stderr);
int wait_status(const char *id, const char *exec);
int exec_proc(const char *id, const char *exec, char **args, bool terminal,
              struct coco_error **err);
int signal_proc(const char *id, const char *exec, int sig);
int remove_ctr(const char *id, struct coco_error **err);
bool contains(const struct coco_error *e, const char *s);
void health(const char *when, uint64_t timeout);
int dial(const char *path, uint64_t timeout);
