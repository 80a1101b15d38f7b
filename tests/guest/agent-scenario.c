/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drive an agent through the Kata agent API the way the shim will, checking
 * every answer: health, a sandbox, a container that prints and exits 3, a
 * long-running container with execs (output, stdin, a terminal, signals),
 * statistics, bad requests that must fail clearly while the agent keeps
 * serving, removal and, optionally, DestroySandbox.
 *
 *   agent-scenario --socket PATH (--rootfs-pci SLOT | --rootfs-dir DIR)
 *                  [--expect-cgroups] [--destroy] [--network MAC]
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "client.h"
#include "kata/health.pb-c.h"
#include "util.h"

static void sandbox(void)
{
        Grpc__CreateSandboxRequest r = GRPC__CREATE_SANDBOX_REQUEST__INIT;
        _cleanup_error_ struct coco_error *err = NULL;
        r.hostname = "scenario";
        r.sandbox_id = "sandbox-1";
        check(call("CreateSandbox", &r.base, NULL, NULL, 30 * SEC, NULL) == 0, "CreateSandbox");
        check(call("CreateSandbox", &r.base, NULL, NULL, 30 * SEC, &err) == -EEXIST,
              "a second CreateSandbox is refused as AlreadyExists");
}

static void run_to_exit(void)
{
        struct ctr c;
        static const char *const args[] = {"/bin/sh", "-c", "echo hello; echo oops >&2; exit 3",
                                           NULL};
        _cleanup_error_ struct coco_error *err = NULL;

        ctr_init(&c, "c1", args);
        int rc = create(&c, &err);
        check(rc == 0, "CreateContainer c1%s%s", err ? ": " : "", err ? err->message : "");
        check(start("c1") == 0, "StartContainer c1");
        _cleanup_free_ char *out = read_all_stream("c1", "", false);
        _cleanup_free_ char *errout = read_all_stream("c1", "", true);
        check(strcmp(out, "hello\n") == 0, "c1 stdout is \"hello\\n\" (got \"%s\")", out);
        check(strcmp(errout, "oops\n") == 0, "c1 stderr is \"oops\\n\" (got \"%s\")", errout);
        int st = wait_status("c1", "");
        check(st == 3, "c1 exits with 3 (got %d)", st);
        ctr_free(&c);
}

static const char *net_mac;
static void network(const char *mac);

static void long_running(bool expect_cgroups)
{
        struct ctr c;
        static const char *const args[] = {"/bin/sleep", "1000", NULL};
        _cleanup_error_ struct coco_error *err = NULL;

        ctr_init(&c, "c2", args);
        int rc = create(&c, &err);
        rc = rc == 0 ? start("c2") : rc;
        check(rc == 0, "c2 (sleep 1000) created and started%s%s", err ? ": " : "",
              err ? err->message : "");

        char *echo[] = {"/bin/echo", "exec-ok", NULL};
        check(exec_proc("c2", "e1", echo, false, NULL) == 0, "ExecProcess e1 in c2");
        _cleanup_free_ char *out = read_all_stream("c2", "e1", false);
        check(strcmp(out, "exec-ok\n") == 0, "e1 prints \"exec-ok\" (got \"%s\")", out);
        check(wait_status("c2", "e1") == 0, "e1 exits with 0");

        char *host[] = {"/bin/hostname", NULL};
        exec_proc("c2", "e-host", host, false, NULL);
        _cleanup_free_ char *hn = read_all_stream("c2", "e-host", false);
        check(strcmp(hn, "scenario\n") == 0, "the container has the spec's hostname (got \"%s\")",
              hn);

        char *cat[] = {"/bin/cat", NULL};
        check(exec_proc("c2", "e-cat", cat, false, NULL) == 0, "ExecProcess cat");
        Grpc__WriteStreamRequest w = GRPC__WRITE_STREAM_REQUEST__INIT;
        Grpc__WriteStreamResponse *wr = NULL;
        w.container_id = "c2";
        w.exec_id = "e-cat";
        w.data.data = (uint8_t *)"ping\n";
        w.data.len = 5;
        check(call("WriteStdin", &w.base, &grpc__write_stream_response__descriptor,
                   (ProtobufCMessage **)&wr, 10 * SEC, NULL) == 0 &&
                      wr->len == 5,
              "WriteStdin writes 5 bytes");
        if (wr)
                protobuf_c_message_free_unpacked(&wr->base, NULL);
        Grpc__CloseStdinRequest cs = GRPC__CLOSE_STDIN_REQUEST__INIT;
        cs.container_id = "c2";
        cs.exec_id = "e-cat";
        check(call("CloseStdin", &cs.base, NULL, NULL, 10 * SEC, NULL) == 0, "CloseStdin");
        _cleanup_free_ char *echoed = read_all_stream("c2", "e-cat", false);
        check(strcmp(echoed, "ping\n") == 0, "cat echoes stdin (got \"%s\")", echoed);
        check(wait_status("c2", "e-cat") == 0, "cat exits with 0 at the end of stdin");

        char *tty[] = {"/bin/sh", "-c", "test -t 0 && echo is-a-tty", NULL};
        check(exec_proc("c2", "e-tty", tty, true, NULL) == 0, "ExecProcess with a terminal");
        _cleanup_free_ char *t = read_all_stream("c2", "e-tty", false);
        check(strstr(t, "is-a-tty") != NULL, "the terminal process sees a tty (got \"%s\")", t);
        wait_status("c2", "e-tty");

        char *sl[] = {"/bin/sleep", "1000", NULL};
        exec_proc("c2", "e-sleep", sl, false, NULL);
        check(signal_proc("c2", "e-sleep", SIGTERM) == 0, "SignalProcess SIGTERM to an exec");
        int st = wait_status("c2", "e-sleep");
        check(st == 128 + SIGTERM, "the exec'd sleep ends with 143 (got %d)", st);

        Grpc__StatsContainerRequest sr = GRPC__STATS_CONTAINER_REQUEST__INIT;
        Grpc__StatsContainerResponse *stats = NULL;
        _cleanup_error_ struct coco_error *serr = NULL;
        sr.container_id = "c2";
        int rs = call("StatsContainer", &sr.base, &grpc__stats_container_response__descriptor,
                      (ProtobufCMessage **)&stats, 10 * SEC, &serr);
        if (expect_cgroups)
                check(rs == 0 && stats->cgroup_stats->memory_stats->usage->usage > 0 &&
                              stats->cgroup_stats->pids_stats->current >= 1,
                      "StatsContainer reports memory and pids from the cgroup");
        else
                check(rs == -EOPNOTSUPP, "StatsContainer without cgroups says so");
        if (stats)
                protobuf_c_message_free_unpacked(&stats->base, NULL);

        if (net_mac)
                network(net_mac);
        check(signal_proc("c2", "", SIGKILL) == 0, "SignalProcess SIGKILL to every process of c2");
        st = wait_status("c2", "");
        check(st == 128 + SIGKILL, "c2's init ends with 137 (got %d)", st);
        ctr_free(&c);
}

/* CopyFile writes nowhere but right below the shared directory. */
static void copy_file_confined(void)
{
        static const char *const paths[] = {
                "/etc/passwd",
                "/run/kata-containers/shared/containers/../../../etc/passwd",
                "/run/kata-containers/shared/containers/sub/file",
                "/run/kata-containers/shared/containers/..",
        };
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                _cleanup_error_ struct coco_error *e = NULL;
                Grpc__CopyFileRequest c = GRPC__COPY_FILE_REQUEST__INIT;
                c.path = (char *)paths[i];
                c.file_size = 1;
                c.data.data = (uint8_t *)"x";
                c.data.len = 1;
                int rc = call("CopyFile", &c.base, NULL, NULL, 10 * SEC, &e);
                check(rc == -EPERM && contains(e, "only files right below"),
                      "CopyFile to %s is refused: %s", paths[i], e ? e->message : "(no error)");
        }
}

static void bad_requests(void)
{
        struct ctr c;
        static const char *const sh[] = {"/bin/sh", NULL};
        static const char *const missing[] = {"/bin/no-such-binary", NULL};
        _cleanup_error_ struct coco_error *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;

        ctr_init(&c, "bad-root", sh);
        c.req.storages = NULL;
        c.req.n_storages = 0;
        c.root.path = "/run/no-such-rootfs";
        int rc = create(&c, &e1);
        check(rc == -ENOENT && contains(e1, "does not exist"),
              "a spec with a missing rootfs fails: %s", e1 ? e1->message : "no error");
        ctr_free(&c);

        ctr_init(&c, "bad-bin", missing);
        rc = create(&c, &e2);
        check(rc < 0 && contains(e2, "no-such-binary"), "a missing binary fails at create: %s",
              e2 ? e2->message : "no error");
        ctr_free(&c);

        Grpc__StartContainerRequest r = GRPC__START_CONTAINER_REQUEST__INIT;
        r.container_id = "nope";
        rc = call("StartContainer", &r.base, NULL, NULL, 10 * SEC, &e3);
        check(rc == -ENOENT, "starting an unknown container is NotFound: %s",
              e3 ? e3->message : "");
        rc = call("NoSuchMethod", &r.base, NULL, NULL, 10 * SEC, &e4);
        check(rc == -EOPNOTSUPP, "an unknown method is Unimplemented: %s", e4 ? e4->message : "");
        health("after the bad requests", 10 * SEC);
}

/* Configure the NIC with mac, check it with ListInterfaces and from inside a container. */
static void network(const char *mac)
{
        Types__IPAddress ip = TYPES__IPADDRESS__INIT, *ips[] = {&ip};
        Types__Interface want = TYPES__INTERFACE__INIT;
        Grpc__UpdateInterfaceRequest ui = GRPC__UPDATE_INTERFACE_REQUEST__INIT;
        _cleanup_error_ struct coco_error *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;

        ip.address = "10.0.2.15";
        ip.mask = "24";
        want.name = "eth0";
        want.hwaddr = (char *)mac;
        want.mtu = 1400;
        want.ipaddresses = ips;
        want.n_ipaddresses = 1;
        ui.interface = &want;
        int rc = call("UpdateInterface", &ui.base, &types__interface__descriptor, NULL, 10 * SEC,
                      &e1);
        check(rc == 0, "UpdateInterface configures %s%s%s", mac, e1 ? ": " : "",
              e1 ? e1->message : "");

        Types__Route def = TYPES__ROUTE__INIT, *rts[] = {&def};
        Grpc__Routes routes = GRPC__ROUTES__INIT;
        Grpc__UpdateRoutesRequest ur = GRPC__UPDATE_ROUTES_REQUEST__INIT;
        def.dest = "default";
        def.gateway = "10.0.2.2";
        def.device = "eth0";
        routes.routes = rts;
        routes.n_routes = 1;
        ur.routes = &routes;
        rc = call("UpdateRoutes", &ur.base, &grpc__routes__descriptor, NULL, 10 * SEC, &e2);
        check(rc == 0, "UpdateRoutes adds a default route%s%s", e2 ? ": " : "",
              e2 ? e2->message : "");

        Grpc__ListInterfacesRequest li = GRPC__LIST_INTERFACES_REQUEST__INIT;
        Grpc__Interfaces *ifs = NULL;
        bool seen = false;
        rc = call("ListInterfaces", &li.base, &grpc__interfaces__descriptor,
                  (ProtobufCMessage **)&ifs, 10 * SEC, NULL);
        for (size_t i = 0; rc == 0 && i < ifs->n_interfaces; i++) {
                const Types__Interface *it = ifs->interfaces[i];
                for (size_t j = 0; j < it->n_ipaddresses; j++)
                        seen |= strcmp(it->name, "eth0") == 0 && it->mtu == 1400 &&
                                strcmp(it->ipaddresses[j]->address, "10.0.2.15") == 0 &&
                                strcmp(it->ipaddresses[j]->mask, "24") == 0;
        }
        check(seen, "ListInterfaces shows eth0 with 10.0.2.15/24 and MTU 1400");
        if (ifs)
                protobuf_c_message_free_unpacked(&ifs->base, NULL);

        Types__IPAddress nip = TYPES__IPADDRESS__INIT;
        Types__ARPNeighbor nb = TYPES__ARPNEIGHBOR__INIT, *nbs[] = {&nb};
        Grpc__ARPNeighbors all = GRPC__ARPNEIGHBORS__INIT;
        Grpc__AddARPNeighborsRequest an = GRPC__ADD_ARPNEIGHBORS_REQUEST__INIT;
        nip.address = "10.0.2.7";
        nb.toipaddress = &nip;
        nb.device = "eth0";
        nb.lladdr = "02:00:00:00:00:07";
        all.arpneighbors = nbs;
        all.n_arpneighbors = 1;
        an.neighbors = &all;
        rc = call("AddARPNeighbors", &an.base, NULL, NULL, 10 * SEC, &e4);
        check(rc == 0, "AddARPNeighbors adds a permanent entry%s%s", e4 ? ": " : "",
              e4 ? e4->message : "");

        char *show[] = {"/bin/sh", "-c", "ip route; ip addr show eth0; ip neigh", NULL};
        exec_proc("c2", "e-net", show, false, NULL);
        _cleanup_free_ char *out = read_all_stream("c2", "e-net", false);
        check(strstr(out, "default via 10.0.2.2 dev eth0") && strstr(out, "inet 10.0.2.15/24") &&
                      strstr(out, "10.0.2.7 dev eth0 lladdr 02:00:00:00:00:07") &&
                      strstr(out, "PERMANENT"),
              "a container sees the address, route and neighbour (got \"%s\")", out);

        want.hwaddr = "02:00:00:00:00:99";
        rc = call("UpdateInterface", &ui.base, &types__interface__descriptor, NULL, 10 * SEC, &e3);
        check(rc == -ENOENT && contains(e3, "no interface with MAC"),
              "an unknown MAC is NotFound: %s", e3 ? e3->message : "(no error)");
}

static void removal(void)
{
        _cleanup_error_ struct coco_error *err = NULL;
        check(remove_ctr("c1", NULL) == 0, "RemoveContainer c1");
        check(remove_ctr("c2", NULL) == 0, "RemoveContainer c2");
        check(remove_ctr("c1", &err) == -ENOENT, "removing c1 again is NotFound");
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"socket", required_argument, NULL, 's'},
                {"rootfs-pci", required_argument, NULL, 'p'},
                {"rootfs-dir", required_argument, NULL, 'd'},
                {"expect-cgroups", no_argument, NULL, 'c'},
                {"destroy", no_argument, NULL, 'D'},
                {"network", required_argument, NULL, 'n'},
                {},
        };
        const char *sock = NULL;
        bool cgroups = false, destroy = false;
        int c;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 's':
                        sock = optarg;
                        break;
                case 'p':
                        rootfs_pci = optarg;
                        break;
                case 'd':
                        rootfs_dir = optarg;
                        break;
                case 'c':
                        cgroups = true;
                        break;
                case 'D':
                        destroy = true;
                        break;
                case 'n':
                        net_mac = optarg;
                        break;
                default:
                        return 2;
                }
        }
        if (!sock || !!rootfs_pci == !!rootfs_dir) {
                fprintf(stderr,
                        "usage: %s --socket PATH (--rootfs-pci SLOT | --rootfs-dir DIR) "
                        "[--expect-cgroups] [--destroy]\n",
                        argv[0]);
                return 2;
        }
        if (dial(sock, 60 * SEC) < 0) {
                printf("not ok 1 - cannot connect to %s\n0 passed, 1 failed\n", sock);
                return 1;
        }
        health("at first contact", 120 * SEC);
        sandbox();
        run_to_exit();
        long_running(cgroups);
        bad_requests();
        copy_file_confined();
        removal();
        if (destroy) {
                Grpc__DestroySandboxRequest d = GRPC__DESTROY_SANDBOX_REQUEST__INIT;
                check(call("DestroySandbox", &d.base, NULL, NULL, 30 * SEC, NULL) == 0,
                      "DestroySandbox");
        }
        ttrpc_client_free(cl);
        printf("%u passed, %u failed\n", passed, failed);
        return failed ? 1 : 0;
}
