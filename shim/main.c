/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd-shim-coco-v2 entry point (containerd docs/runtime-v2.md):
 *   -namespace NS -address ADDR -publish-binary BIN -id ID [-bundle DIR] [-debug] start|delete
 * start: serve (or reuse) the pod's shim and print its address; delete: clean
 * up after a shim that is gone, from the state saved in the bundle.
 */
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "github.com/containerd/containerd/runtime/v2/task/shim.pb-c.h"
#include "log.h"
#include "shim.h"
#include "util.h"
#include "version.h"

#define SOCKET_DIR "/run/containerd/s"

struct args {
        const char *ns, *address, *id, *bundle;
        bool debug;
        const char *action;
};

static int parse_args(int argc, char **argv, struct args *a)
{
        for (int i = 1; i < argc; i++) {
                const char *f = argv[i];
                if (f[0] == '-' && f[1] == '-')
                        f++; /* Go's flag package accepts -x and --x */
                const char **dst = strcmp(f, "-namespace") == 0 ? &a->ns
                                   : strcmp(f, "-address") == 0 ? &a->address
                                   : strcmp(f, "-id") == 0      ? &a->id
                                   : strcmp(f, "-bundle") == 0  ? &a->bundle
                                                                : NULL;
                if (dst) {
                        if (++i == argc)
                                return -EINVAL;
                        *dst = argv[i];
                } else if (strcmp(f, "-publish-binary") == 0) {
                        if (++i == argc)
                                return -EINVAL;
                } else if (strcmp(f, "-debug") == 0)
                        a->debug = true;
                else if (f[0] != '-' && !a->action)
                        a->action = argv[i];
                else
                        return -EINVAL;
        }
        return 0;
}

/* containerd's convention: /run/containerd/s/sha256(address/namespace/id). */
static char *socket_path(const char *address, const char *ns, const char *id)
{
        _cleanup_free_ char *key = xasprintf("%s/%s/%s", address, ns, id);
        uint8_t d[32];
        char hex[65];
        EVP_Digest(key, strlen(key), d, NULL, EVP_sha256(), NULL);
        for (int i = 0; i < 32; i++)
                sprintf(hex + 2 * i, "%02x", d[i]);
        return xasprintf(SOCKET_DIR "/%s", hex);
}

/* CRI groups the containers of a pod: a "container" goes to its sandbox's shim. */
static char *group_id(const char *id)
{
        json_error_t je;
        json_t *cfg = json_load_file("config.json", 0, &je);
        json_t *ann = cfg ? json_object_get(cfg, "annotations") : NULL;
        const char *type =
                json_string_value(json_object_get(ann, "io.kubernetes.cri.container-type"));
        const char *sb = json_string_value(json_object_get(ann, "io.kubernetes.cri.sandbox-id"));
        char *out = xstrdup(type && sb && strcmp(type, "container") == 0 ? sb : id);
        json_decref(cfg);
        return out;
}

static bool connectable(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        safe_close(fd);
        return ok;
}

static void print_address(const char *path)
{
        const char *max = getenv("MAX_SHIM_VERSION");
        /* containerd 1.6/1.7 read a bare address; 2.x asks for JSON through MAX_SHIM_VERSION */
        if (max && atoi(max) >= 2)
                printf("{\"version\":%d,\"address\":\"unix://%s\",\"protocol\":\"ttrpc\"}\n",
                       atoi(max) >= 3 ? 3 : 2, path);
        else
                printf("unix://%s\n", path);
        fflush(stdout);
}

static int serve(struct shim *s);

/* The bundle's "address" file: containerd reads it to reconnect after it restarts. */
static void write_address(const char *path)
{
        FILE *f = fopen("address", "we");
        if (f) {
                fprintf(f, "unix://%s", path);
                fclose(f);
        }
}

static int cmd_start(const struct args *a, struct shim *s)
{
        _cleanup_free_ char *gid = group_id(a->id);
        _cleanup_free_ char *path = socket_path(a->address, a->ns, gid);
        _cleanup_error_ struct coco_error *err = NULL;

        (void)mkdir("/run/containerd", 0711);
        (void)mkdir(SOCKET_DIR, 0711);
        if (connectable(path)) { /* the pod's shim already runs */
                write_address(path);
                print_address(path);
                return 0;
        }
        (void)unlink(path);
        struct ttrpc_server *srv = ttrpc_server_new();
        if (!srv || ttrpc_server_listen_unix(srv, path, &err) < 0) {
                fprintf(stderr, "containerd-shim-coco-v2: %s\n", coco_error_message(err, -EIO));
                return 1;
        }
        write_address(path);
        pid_t pid = fork();
        if (pid < 0) {
                perror("containerd-shim-coco-v2: fork");
                return 1;
        }
        if (pid == 0) {
                /* the daemon: own session, no terminal, stdio away from containerd's pipes */
                setsid();
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                dup2(null, 0), dup2(null, 1), dup2(null, 2);
                safe_close(null);
                s->server = srv;
                s->socket = xstrdup(path);
                _exit(serve(s) < 0 ? 1 : 0);
        }
        print_address(path);
        return 0;
}

static int serve(struct shim *s)
{
        _cleanup_error_ struct coco_error *err = NULL;
        if (log_open("log") < 0) /* the bundle's fifo; containerd copies it into its log */
                log_set_fd(STDERR_FILENO);
        signal(SIGPIPE, SIG_IGN);
        shim_register(s);
        log_info("coco shim %s serving (namespace \"%s\")", COCO_VERSION, s->ns);
        int r = ttrpc_server_run(s->server, &err);
        if (r < 0)
                log_error("%s", coco_error_message(err, r));
        sandbox_teardown(s);
        if (s->socket)
                (void)unlink(s->socket);
        return r;
}

/* After a crash: destroy the VM and clean up from the bundle's state; print a DeleteResponse. */
static int cmd_delete(const struct args *a, struct shim *s)
{
        Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        json_error_t je;
        json_t *st = json_load_file(SHIM_STATE_FILE, 0, &je);
        uint64_t now = now_realtime_ns();
        _cleanup_free_ char *gid = a->id ? group_id(a->id) : NULL;
        _cleanup_free_ char *sock = gid ? socket_path(s->address, s->ns, gid) : NULL;
        bool alive = sock && connectable(sock);

        if (alive) {
                /* the pod's shim is alive and serves other containers: leave its VM alone */
                fprintf(stderr,
                        "containerd-shim-coco-v2: the pod's shim still serves %s; not "
                        "destroying its VM\n",
                        sock);
                json_decref(st);
                st = NULL;
        }
        if (st) {
                const char *sb = json_string_value(json_object_get(st, "sandbox"));
                const char *cfg = json_string_value(json_object_get(st, "config"));
                const char *run = json_string_value(json_object_get(st, "run_dir"));
                const char *image = json_string_value(json_object_get(st, "image"));
                if (image && *image) /* our file in the run directory: gone before the VM's */
                        (void)unlink(image);
                if (sb && cfg && run && json_is_true(json_object_get(st, "owns_vm"))) {
                        _cleanup_free_ char *req = xasprintf(
                                "{\"op\":\"destroy\",\"sandbox\":\"%s\",\"config\":\"%s\","
                                "\"run_dir\":\"%s\"}",
                                sb, cfg, run);
                        _cleanup_error_ struct coco_error *err = NULL;
                        if (vmm_helper(s, req, NULL, NULL, &err) < 0)
                                fprintf(stderr, "containerd-shim-coco-v2: %s\n",
                                        coco_error_message(err, -EIO));
                }
                json_decref(st);
                (void)unlink(SHIM_STATE_FILE);
        }
        if (sock && !alive) /* the dead shim's socket */
                (void)unlink(sock);
        resp.exit_status = 128 + SIGKILL;
        ts.seconds = (int64_t)(now / NSEC_PER_SEC);
        ts.nanos = (int32_t)(now % NSEC_PER_SEC);
        resp.exited_at = &ts;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        ttrpc_pack(&resp.base, &buf, &len);
        fwrite(buf, 1, len, stdout);
        return 0;
}

int main(int argc, char **argv)
{
        struct args a = {0};
        struct shim s = {0};
        char self[4096];

        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--version") == 0 ||
                    strcmp(argv[i], "-version") == 0) {
                        printf("containerd-shim-coco-v2:\n  Version:  %s\n  Revision: %s\n",
                               COCO_VERSION, COCO_REVISION);
                        return 0;
                }
        if (parse_args(argc, argv, &a) < 0 || !a.action) {
                fprintf(stderr, "usage: containerd-shim-coco-v2 -namespace NS -address ADDR "
                                "-publish-binary BIN -id ID [-bundle DIR] [-debug] start|delete\n");
                return 2;
        }
        if (a.bundle && chdir(a.bundle) < 0) {
                fprintf(stderr, "containerd-shim-coco-v2: bundle %s: %s\n", a.bundle,
                        strerror(errno));
                return 1;
        }
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        self[n > 0 ? n : 0] = 0;
        s.self_dir = xstrdup(dirname(self));
        s.ns = xstrdup(a.ns ? a.ns : getenv("NAMESPACE") ? getenv("NAMESPACE") : "default");
        s.address = xstrdup(a.address ? a.address : "/run/containerd/containerd.sock");
        const char *tt = getenv("TTRPC_ADDRESS");
        s.ttrpc_address = tt ? xstrdup(tt) : xasprintf("%s.ttrpc", s.address);
        pthread_mutex_init(&s.lock, NULL);
        pthread_cond_init(&s.changed, NULL);
        pthread_mutex_init(&s.events_lock, NULL);
        if (a.debug)
                log_set_level(LOG_DEBUG);
        if (strcmp(a.action, "start") == 0) {
                if (!a.id) {
                        fprintf(stderr, "containerd-shim-coco-v2: start needs -id\n");
                        return 2;
                }
                return cmd_start(&a, &s);
        }
        if (strcmp(a.action, "delete") == 0)
                return cmd_delete(&a, &s);
        fprintf(stderr, "containerd-shim-coco-v2: unknown action \"%s\" (start or delete)\n",
                a.action);
        return 2;
}
