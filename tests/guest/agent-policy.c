/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy and initdata cases against an agent started for each case:
 *   deny-exec     initdata policy.coco denies ExecProcess
 *   rego          initdata carries policy.rego: everything fails closed
 *   bad-disk      the initdata disk is damaged: everything fails closed
 *   confidential  no policy in a confidential VM: exec and output reads denied
 *   setpolicy     confidential; SetPolicy before start allows exec; after start it is denied
 *   health        only Health.Check (the boot benchmark times this)
 *   escape        a mount at /escape/inner where the image's /escape is a symlink out of the
 *                 rootfs: it must land inside the rootfs (the host script checks outside)
 *
 *   agent-policy --socket PATH --rootfs-dir DIR --case NAME
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "util.h"

static int sandbox(struct coco_error **err)
{
        Grpc__CreateSandboxRequest r = GRPC__CREATE_SANDBOX_REQUEST__INIT;
        r.sandbox_id = "policy";
        return call("CreateSandbox", &r.base, NULL, NULL, 30 * SEC, err);
}

static int set_policy(const char *text, struct coco_error **err)
{
        Grpc__SetPolicyRequest r = GRPC__SET_POLICY_REQUEST__INIT;
        r.policy = (char *)text;
        return call("SetPolicy", &r.base, NULL, NULL, 10 * SEC, err);
}

static void expect_denied(int rc, const struct coco_error *e, const char *what, const char *text)
{
        check(rc == -EPERM && contains(e, text), "%s is PermissionDenied naming the reason: %s",
              what, e ? e->message : "(no error)");
}

static void start_sleeper(void)
{
        struct ctr c;
        static const char *const args[] = {"/bin/sleep", "1000", NULL};
        _cleanup_error_ struct coco_error *err = NULL;
        ctr_init(&c, "p1", args);
        int rc = create(&c, &err);
        rc = rc == 0 ? start("p1") : rc;
        check(rc == 0, "a container starts%s%s", err ? ": " : "", err ? err->message : "");
        ctr_free(&c);
}

static int try_exec(struct coco_error **err)
{
        char *echo[] = {"/bin/echo", "allowed", NULL};
        return exec_proc("p1", "x1", echo, false, err);
}

static int try_read(struct coco_error **err)
{
        Grpc__ReadStreamRequest r = GRPC__READ_STREAM_REQUEST__INIT;
        Grpc__ReadStreamResponse *resp = NULL;
        r.container_id = "p1";
        r.exec_id = "";
        r.len = 16;
        int rc = call("ReadStdout", &r.base, &grpc__read_stream_response__descriptor,
                      (ProtobufCMessage **)&resp, 2 * SEC, err);
        if (resp)
                protobuf_c_message_free_unpacked(&resp->base, NULL);
        return rc;
}

static void closed_case(const char *text)
{
        _cleanup_error_ struct coco_error *e = NULL;
        int rc = sandbox(&e);
        expect_denied(rc, e, "CreateSandbox", text);
        health("while failing closed", 10 * SEC);
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"socket", required_argument, NULL, 's'},
                {"rootfs-dir", required_argument, NULL, 'd'},
                {"case", required_argument, NULL, 'c'},
                {},
        };
        const char *sock = NULL, *name = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                if (c == 's')
                        sock = optarg;
                else if (c == 'd')
                        rootfs_dir = optarg;
                else if (c == 'c')
                        name = optarg;
                else
                        return 2;
        }
        if (!sock || !name || (!rootfs_dir && strcmp(name, "health") != 0)) {
                fprintf(stderr, "usage: %s --socket PATH --rootfs-dir DIR --case NAME\n", argv[0]);
                return 2;
        }
        if (dial(sock, 30 * SEC) < 0) {
                printf("not ok 1 - cannot connect to %s\n0 passed, 1 failed\n", sock);
                return 1;
        }
        _cleanup_error_ struct coco_error *e1 = NULL, *e2 = NULL, *e3 = NULL;
        int rc;
        if (strcmp(name, "health") == 0)
                health("", 300 * SEC);
        else if (strcmp(name, "escape") == 0) {
                extra_mount = "/escape/inner";
                check(sandbox(NULL) == 0, "CreateSandbox");
                start_sleeper();
                char *look[] = {"/bin/sh", "-c",
                                "grep -c '/coco-escape-[0-9]*/inner tmpfs' /proc/mounts", NULL};
                check(exec_proc("p1", "look", look, false, NULL) == 0, "exec in the container");
                _cleanup_free_ char *out = read_all_stream("p1", "look", false);
                check(strcmp(out, "1\n") == 0,
                      "the tmpfs is inside the container, where /escape leads (got \"%s\")", out);
        } else if (strcmp(name, "rego") == 0)
                closed_case("Rego");
        else if (strcmp(name, "bad-disk") == 0)
                closed_case("initdata");
        else if (strcmp(name, "deny-exec") == 0) {
                check(sandbox(NULL) == 0, "CreateSandbox is allowed (default allow)");
                start_sleeper();
                rc = try_exec(&e1);
                expect_denied(rc, e1, "ExecProcess", "denied by the agent policy");
        } else if (strcmp(name, "confidential") == 0) {
                check(sandbox(NULL) == 0, "CreateSandbox");
                start_sleeper();
                rc = try_exec(&e1);
                expect_denied(rc, e1, "ExecProcess", "confidential VM");
                rc = try_read(&e2);
                expect_denied(rc, e2, "ReadStdout", "confidential VM");
                rc = set_policy("default allow\n", &e3);
                expect_denied(rc, e3, "SetPolicy after start", "after a container started");
        } else if (strcmp(name, "setpolicy") == 0) {
                check(sandbox(NULL) == 0, "CreateSandbox");
                rc = set_policy("# coco-policy v1\ndefault allow\nallow ExecProcess ReadStdout\n",
                                &e1);
                check(rc == 0, "SetPolicy before any start is allowed%s%s", e1 ? ": " : "",
                      e1 ? e1->message : "");
                rc = set_policy("allow Everything\nbogus line\n", &e2);
                check(rc == -EINVAL && contains(e2, "line 2"),
                      "a malformed policy is refused with its line: %s",
                      e2 ? e2->message : "(no error)");
                start_sleeper();
                check(try_exec(NULL) == 0, "ExecProcess is allowed by the policy");
                _cleanup_free_ char *out = read_all_stream("p1", "x1", false);
                check(strcmp(out, "allowed\n") == 0, "its output can be read (got \"%s\")", out);
                rc = set_policy("default allow\n", &e3);
                expect_denied(rc, e3, "SetPolicy after start", "after a container started");
        } else {
                fprintf(stderr, "unknown case %s\n", name);
                return 2;
        }
        ttrpc_client_free(cl);
        printf("%u passed, %u failed\n", passed, failed);
        return failed ? 1 : 0;
}
