/* SPDX-License-Identifier: Apache-2.0 */
/*
 * coco-agent. As PID 1 of the guest: mount the basics, load the image's
 * modules, publish initdata, then serve on vsock or virtio-serial. On a host
 * (tests): coco-agent --listen SOCKET --state-dir DIR serves on a unix socket.
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "network.h"
#include "util.h"

#define MODULE_LIST  "/lib/modules/load.list"
#define INITDATA_DIR "/run/confidential-containers/initdata"

/* The server a SIGTERM stops (host mode); the one file-scope pointer, for the handler. */
static struct ttrpc_server *stop_on_signal;

static void on_signal(int sig)
{
        (void)sig;
        if (stop_on_signal)
                ttrpc_server_stop(stop_on_signal); /* async-signal-safe: an eventfd write */
}

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: coco-agent [--listen SOCKET] [--state-dir DIR] [--cgroup-root DIR]\n"
                "                  [--dev|--confidential] [--debug] [--initdata-disk FILE]\n"
                "As PID 1 it boots the guest and serves on vsock port %d or the virtio-serial\n"
                "port %s; --listen serves on a unix socket instead (host tests).\n",
                AGENT_VSOCK_PORT, AGENT_SERIAL_NAME);
}

static void setup_cgroups(struct agent *a)
{
        static const char *const ctl = "+cpu +memory +pids";
        int fd = open("/sys/fs/cgroup/cgroup.subtree_control", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, ctl, strlen(ctl)) < 0)
                log_warn("enabling cgroup controllers: %s", strerror(errno));
        safe_close(fd);
        a->cgroup_root = xstrdup("/sys/fs/cgroup/coco");
        (void)mkdir(a->cgroup_root, 0755);
        _cleanup_free_ char *sub = xasprintf("%s/cgroup.subtree_control", a->cgroup_root);
        fd = open(sub, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, ctl, strlen(ctl)) < 0)
                log_warn("enabling cgroup controllers in %s: %s", a->cgroup_root, strerror(errno));
        safe_close(fd);
}

static int boot(struct agent *a)
{
        _cleanup_error_ struct coco_error *err = NULL;
        int r = boot_mount_basics(&err);
        if (r < 0) {
                log_error("%s", coco_error_message(err, r));
                return r;
        }
        boot_load_modules(MODULE_LIST, NULL);
        a->confidential = !boot_cmdline_has("coco.mode=dev");
        if (boot_cmdline_has("coco.debug=1"))
                log_set_level(LOG_DEBUG);
        setup_cgroups(a);
        if (net_bring_up_loopback() < 0)
                log_warn("bringing up lo failed");
        a->state_dir = xstrdup("/run/coco-agent");
        (void)mkdir(a->state_dir, 0700);
        /* a bad initdata disk is logged and makes the policy fail closed; serving goes on */
        struct coco_error *e = NULL;
        if (agent_load_initdata(a, INITDATA_DIR, &e) < 0)
                log_error("initdata: %s", coco_error_message(e, -EINVAL));
        coco_error_free(e);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"listen", required_argument, NULL, 'l'},
                {"state-dir", required_argument, NULL, 's'},
                {"cgroup-root", required_argument, NULL, 'c'},
                {"dev", no_argument, NULL, 'd'},
                {"confidential", no_argument, NULL, 'C'},
                {"debug", no_argument, NULL, 'D'},
                {"initdata-disk", required_argument, NULL, 'i'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'v'},
                {},
        };
        struct agent a = {.pid1 = getpid() == 1, .confidential = true};
        _cleanup_error_ struct coco_error *err = NULL;
        const char *listen_path = NULL, *initdata_disk = NULL;
        int c, r;

        pthread_mutex_init(&a.lock, NULL);
        pthread_cond_init(&a.changed, NULL);
        signal(SIGPIPE, SIG_IGN);
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'l':
                        listen_path = optarg;
                        break;
                case 's':
                        a.state_dir = xstrdup(optarg);
                        break;
                case 'c':
                        a.cgroup_root = xstrdup(optarg);
                        break;
                case 'd':
                        a.confidential = false;
                        break;
                case 'C':
                        a.confidential = true;
                        break;
                case 'D':
                        log_set_level(LOG_DEBUG);
                        break;
                case 'i':
                        initdata_disk = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case 'v':
                        printf("coco-agent %s\n", AGENT_VERSION);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (a.pid1 && boot(&a) < 0)
                boot_power_off();
        if (!a.pid1 && (!listen_path || !a.state_dir)) {
                fprintf(stderr, "coco-agent: not PID 1: --listen and --state-dir are needed\n");
                return 2;
        }
        if (initdata_disk) {
                /* host tests: a disk image file in place of the guest's block device */
                _cleanup_free_ char *out = xasprintf("%s/initdata", a.state_dir);
                struct coco_error *e = NULL;
                if (agent_load_initdata_from(&a, initdata_disk, out, &e) < 0)
                        log_error("initdata: %s", coco_error_message(e, -EINVAL));
                coco_error_free(e);
        }
        log_info("coco-agent %s starting (%s)", AGENT_VERSION,
                 a.confidential ? "confidential: exec and output reads need policy" : "dev mode");
        if (reaper_start(&a) < 0) {
                log_error("cannot start the reaper thread");
                return 1;
        }
        a.server = ttrpc_server_new();
        service_register(&a);
        if (listen_path) {
                stop_on_signal = a.server;
                signal(SIGTERM, on_signal);
                signal(SIGINT, on_signal);
                r = ttrpc_server_listen_unix(a.server, listen_path, &err);
                if (r >= 0)
                        r = ttrpc_server_run(a.server, &err);
                container_remove_all(&a);
                ttrpc_server_free(a.server);
                (void)unlink(listen_path);
                policy_free(a.policy);
                free(a.hostname);
                free(a.state_dir);
                free(a.cgroup_root);
                if (r < 0) {
                        log_error("%s", coco_error_message(err, r));
                        return 1;
                }
                return 0;
        }
        r = channel_start(&a, &err);
        if (r < 0) {
                log_error("%s", coco_error_message(err, r));
                boot_power_off();
        }
        for (;;)
                pause();
}
